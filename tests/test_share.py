"""Sharing results through a DVC remote, as a team does: one person reproduces and pushes a commit, a teammate
clones it elsewhere and pulls every result without rerunning anything. This works only if every output is a
function of the commit, the data and the params alone: no folder, user, host, time or thread count in any output.
"""
import json
import re
import subprocess
import urllib.request

import pandas as pd
import pytest
import yaml

from conftest import THREADS, Project, commit, copy_of

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('shared')]  # on the worker that holds the session's pipeline run

GIT = '/usr/bin/git'


def outputs(project) -> list[str]:
    "Every output dvc.yaml declares (cached or not)."
    stages = yaml.safe_load((project.root / 'dvc.yaml').read_text())['stages']
    return [next(iter(o)) if isinstance(o, dict) else o for s in stages.values() for kind in ('outs', 'metrics', 'plots') for o in s.get(kind, [])]


def digests(project) -> dict:
    "sha256 of every file of every output."
    return {f'{folder}/{name}': h for folder in ('data/raw', 'data/prepared', 'data/production', 'models', 'reports')
            for name, h in project.digest(folder).items() if not name.startswith('registry/')}


def with_threads(monkeypatch, n: str | None):
    "The shell's BLAS/OpenMP thread variables for the commands run next: `n` threads, or unset."
    for var in THREADS:
        if n is None: monkeypatch.delenv(var, raising=False)
        else: monkeypatch.setenv(var, n)


def clone(origin: Project, folder) -> Project:
    "A teammate's `git clone` of the origin's last commit, in a folder of their own."
    folder.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([GIT, 'clone', '-q', str(origin.root), str(folder)], check=True, capture_output=True)
    c = Project.__new__(Project)
    c.root = folder
    for args in (['config', 'user.email', 't@t'], ['config', 'user.name', 't']): c.run(*args, cmd=GIT)
    return c


def clean(project) -> str:
    "What git sees changed in the project ('' when the run reproduced the commit's dvc.lock and metrics byte for byte)."
    return project.run('status', '--porcelain', cmd=GIT).stdout + project.run('diff', '--stat', cmd=GIT).stdout


@pytest.fixture(scope='module')
def origin(reproduced, tmp_path_factory):
    "The commit a team shares: params, dvc.lock and metrics of a `dvc repro` on one thread, a shared remote in .dvc/config."
    p = copy_of(reproduced, tmp_path_factory.mktemp('origin') / 'mlwb')
    p.run('remote', 'add', '-d', 'shared', str(tmp_path_factory.mktemp('shared-remote')), cmd='dvc')
    commit(p, 'the shared remote')
    return p


def test_a_teammate_pulls_what_another_clone_pushed(origin, tmp_path, monkeypatch, server_factory):
    "The shell's OMP/OpenBLAS/MKL threads reach no output either: stages run BLAS and OpenMP on one thread."
    with_threads(monkeypatch, '2')
    alice = clone(origin, tmp_path / 'alice' / 'mlwb')  # reproduces the commit in another folder, on 2 threads, and pushes
    alice.run('repro', cmd='dvc')
    assert clean(alice) == '', f'the same commit run in another folder on 2 threads wrote other bytes than on 1:\n{clean(alice)}'
    assert digests(alice) == digests(origin)
    with_threads(monkeypatch, None)
    alice.run('push', cmd='dvc')

    bob = clone(origin, tmp_path / 'bob' / 'work' / 'project')
    pulled = bob.run('pull', cmd='dvc', check=False)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    missing = [o for o in outputs(bob) if not (bob.root / o).exists()]
    assert missing == [], f'not pulled: {missing}'
    assert digests(bob) == digests(origin)
    # the log snapshot is declared always_changed: it is the only thing `dvc status` names, and rerunning it changes nothing
    assert bob.run('status', cmd='dvc').stdout.split() == ['collect:', 'always', 'changed'], bob.run('status', cmd='dvc').stdout
    again = bob.run('repro', cmd='dvc').stdout
    assert re.findall(r"Running stage '(\w+)'", again) == ['collect'], again
    assert clean(bob) == '' and digests(bob) == digests(origin)

    # the pulled model serves
    record = json.loads((bob.root / 'models' / 'model.json').read_text())
    assert bob.run('registry', 'register', '--alias', 'champion').stdout.startswith('registered arr_delay/1; champion -> 1')
    server = server_factory(bob, token=None)
    rows = pd.read_parquet(bob.root / 'data' / 'prepared' / 'test.parquet', columns=[f['name'] for f in record['features']]).head(3)
    body = f'{{"records": {rows.to_json(orient="records")}}}'.encode()
    request = urllib.request.Request(server.url + '/predict', data=body, headers={'content-type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as r: answer = json.loads(r.read())
    assert answer['model_version'] == 'arr_delay/1' and len(answer['predictions']) == 3, answer
    with urllib.request.urlopen(server.url + '/model', timeout=30) as r: assert json.loads(r.read())['model_sha256'] == record['model_sha256']
