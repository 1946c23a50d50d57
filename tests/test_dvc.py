"The pipeline through DVC, as `make repro` runs it: reproducible bytes, and nothing reruns when nothing changed."
from conftest import REPO


def dvc_project(project):
    project.run('init', '--no-scm', '-q', cmd='dvc')
    return project


def test_repro_is_byte_identical_and_idempotent(small_flights):
    p = dvc_project(small_flights)
    p.run('repro', cmd='dvc')
    first = p.digest('data/prepared') | p.digest('reports')
    assert (p.root / 'dvc.lock').exists()
    again = p.run('repro', cmd='dvc')
    assert 'didn\'t change, skipping' in again.stdout and 'Running stage' not in again.stdout
    p.run('repro', '-f', cmd='dvc')
    assert p.digest('data/prepared') | p.digest('reports') == first  # reports too: no timestamps in them


def test_dvc_tracks_each_stages_params(small_flights):
    p = small_flights
    for args in (['init', '-q'], ['config', 'user.email', 't@t'], ['config', 'user.name', 't']): p.run(*args, cmd='/usr/bin/git')
    p.run('init', '-q', cmd='dvc')
    p.run('repro', cmd='dvc')
    p.run('add', '-A', cmd='/usr/bin/git'); p.run('commit', '-qm', 'baseline', cmd='/usr/bin/git')
    p.set(prep__dedupe=False)
    status = p.run('status', cmd='dvc').stdout
    assert 'prep' in status and 'ingest' not in status.split('prep')[0]  # only prep is stale
    assert 'prep.dedupe' in p.run('params', 'diff', cmd='dvc').stdout
