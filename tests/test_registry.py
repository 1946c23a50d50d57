"The registry through `mlwb registry` as a user runs it: immutable versions, atomic aliases, clear refusals."
import json
import multiprocessing as mp

import pytest

from mlworkbench.serve.registry import Registry, load_version
from mlworkbench.workbench.testing import demo_model


@pytest.fixture
def reg_project(project):
    project.set(registry={'root': 'models/registry', 'name': 'delay'})
    demo_model(project.root / 'models')
    return project


def test_register_promote_rollback_list(reg_project):
    p = reg_project
    (p.root / 'reports').mkdir(exist_ok=True)
    (p.root / 'reports' / 'metrics.json').write_text('{"mae": 3.2}')
    (p.root / 'reports' / 'model_card.md').write_text('# Model card\n')
    out = p.run('registry', 'register', '--alias', 'champion', '--note', 'first').stdout
    assert out.startswith('registered delay/1; champion -> 1')
    v1 = p.root / 'models' / 'registry' / 'delay' / '1'
    assert sorted(f.name for f in v1.iterdir()) == ['metrics.json', 'model.json', 'model.skops', 'model_card.md', 'version.json']
    info = json.loads((v1 / 'version.json').read_text())
    record = json.loads((v1 / 'model.json').read_text())
    assert info['data_sha256'] == record['training_data']['sha256'] and info['model_sha256'] == record['model_sha256']
    assert 'git_revision' in info and info['note'] == 'first'
    assert all((v1 / f).stat().st_mode & 0o222 == 0 for f in info['files'])  # read-only

    assert 'is already delay/1; nothing copied' in p.run('registry', 'register').stdout  # same model: no silent second copy
    demo_model(p.root / 'models', seed=1)
    assert p.run('registry', 'register', '--alias', 'challenger').stdout.startswith('registered delay/2; challenger -> 2')
    p.run('registry', 'promote', 'challenger')
    aliases = json.loads((p.root / 'models' / 'registry' / 'delay' / 'aliases.json').read_text())
    assert aliases['aliases'] == {'champion': 2, 'challenger': 2}
    assert 'rolled back to 1' in p.run('registry', 'rollback').stdout
    listing = p.run('registry', 'list').stdout.splitlines()
    assert listing[1].split()[0] == '1' and listing[1].endswith('champion') and listing[2].endswith('challenger')
    assert [e['action'] for e in json.loads((p.root / 'models' / 'registry' / 'delay' / 'aliases.json').read_text())['history']] == \
        ['promote', 'promote', 'promote', 'rollback']


@pytest.mark.parametrize('args, message', [
    (('registry', 'promote', '7'), 'mlwb registry: delay has no version 7; versions are [1]'),
    (('registry', 'promote', 'best'), "mlwb registry: expected a version number or one of ['champion', 'challenger'], got 'best'"),
    (('registry', 'rollback'), 'mlwb registry: delay: champion has no earlier version to roll back to'),
    (('registry', 'register', '--models', 'nowhere'), 'mlwb registry: no '),
])
def test_mistakes_are_one_line_and_exit_2(reg_project, args, message):
    Registry(reg_project.root / 'models' / 'registry', 'delay').register(reg_project.root / 'models', None, alias='champion')
    r = reg_project.run(*args, check=False)
    assert r.returncode == 2 and r.stderr.startswith(message) and 'Traceback' not in r.stderr, r.stderr


@pytest.mark.parametrize('args, env, message', [
    (('registry', 'promote', '³'), {}, "mlwb registry: expected a version number or one of ['champion', 'challenger'], got '³'"),  # str.isdigit() says yes
    (('registry', 'list'), {'MLWB_REGISTRY_NAME': '../../evil'}, "mlwb registry: MLWB_REGISTRY_NAME: expected a plain folder name (letters, digits, '_', '.', '-'), not a path, got '../../evil'"),
    (('registry', 'promote', '1'), {'MLWB_REGISTRY_NAME': '../../evil'}, 'mlwb registry: MLWB_REGISTRY_NAME: expected a plain folder name'),
    (('registry', 'promote', '1'), {'MLWB_REGISTRY_NAME': '.hidden'}, 'mlwb registry: MLWB_REGISTRY_NAME: expected a plain folder name'),
])
def test_odd_refs_and_names_are_one_line(reg_project, monkeypatch, args, env, message):
    for k, v in env.items(): monkeypatch.setenv(k, v)
    r = reg_project.run(*args, check=False)
    assert r.returncode == 2 and r.stderr.startswith(message) and r.stderr.count('\n') == 1, r.stderr
    assert not (reg_project.root / 'evil').exists()  # models/registry/../../evil: nothing written outside the registry


def test_register_refuses_a_record_of_another_model(reg_project):
    record = (reg_project.root / 'models' / 'model.json').read_text()
    demo_model(reg_project.root / 'models', seed=3)
    (reg_project.root / 'models' / 'model.json').write_text(record)
    r = reg_project.run('registry', 'register', check=False)
    assert r.returncode == 2 and 'they come from different runs' in r.stderr


def test_register_refuses_a_file_skops_would_not_load(reg_project):
    f = reg_project.root / 'models' / 'model.skops'
    f.write_bytes(b'not a zip at all')
    rec = json.loads((reg_project.root / 'models' / 'model.json').read_text())
    import hashlib
    rec['model_sha256'] = hashlib.sha256(b'not a zip at all').hexdigest()
    (reg_project.root / 'models' / 'model.json').write_text(json.dumps(rec))
    r = reg_project.run('registry', 'register', check=False)
    assert r.returncode == 2 and 'is not a valid .skops model file' in r.stderr
    assert not (reg_project.root / 'models' / 'registry' / 'delay' / '1').exists()


def test_tampered_version_is_refused(reg_project):
    reg = Registry(reg_project.root / 'models' / 'registry', 'delay')
    v, _ = reg.register(reg_project.root / 'models', None)
    j = v.path / 'model.json'
    j.chmod(0o644)
    j.write_text(j.read_text().replace('"task": "regression"', '"task": "classification"'))
    with pytest.raises(ValueError, match='model.json was changed after registration'):
        load_version(v)


def _promote_many(root, name, n, alias, seed):
    reg = Registry(root, name)
    for i in range(n): reg.promote(1 + (i + seed) % 2, alias)


def test_concurrent_promotes_keep_aliases_whole(reg_project):
    "Writers from several processes: aliases.json is always valid and every change is in its history."
    root = reg_project.root / 'models' / 'registry'
    reg = Registry(root, 'delay')
    reg.register(reg_project.root / 'models', None, alias='champion')
    demo_model(reg_project.root / 'models', seed=1)
    reg.register(reg_project.root / 'models', None)
    ctx = mp.get_context('fork')
    procs = [ctx.Process(target=_promote_many, args=(root, 'delay', 25, alias, s)) for s, alias in enumerate(['champion', 'challenger', 'champion'])]
    for pr in procs: pr.start()
    for pr in procs: pr.join(120)
    assert all(pr.exitcode == 0 for pr in procs)
    state = reg.aliases()
    assert set(state['aliases']) == {'champion', 'challenger'}
    assert not list((root / 'delay').glob('.aliases.json.*.tmp'))
    changes = [e for e in state['history'] if e['action'] == 'promote']
    assert all(e['from'] != e['to'] for e in changes)


def test_register_refuses_a_record_listing_other_features(reg_project):
    rec = json.loads((reg_project.root / 'models' / 'model.json').read_text())
    rec['features'] = rec['features'][:2]
    (reg_project.root / 'models' / 'model.json').write_text(json.dumps(rec))
    r = reg_project.run('registry', 'register', check=False)
    assert r.returncode == 2 and 'wrong schema' in r.stderr and 'Traceback' not in r.stderr
