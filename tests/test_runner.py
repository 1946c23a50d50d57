"The stage runner: params reach a notebook with their types, a failing cell fails the stage and restores outputs."
import json
import os
import re
import signal
import subprocess
import time

import nbformat
import pytest
import yaml

from conftest import BIN, warm_log

from mlworkbench.workbench.runner import stage_inputs, stage_spec


def add_stage(project, name, cells, params=('prep',), outs=('reports/echo.json',)):
    "Write pipeline/NAME.ipynb (a parameters cell, then `cells`) and its dvc.yaml entry."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('params = None', metadata={'tags': ['parameters']})]
                                  + [nbformat.v4.new_code_cell(c) for c in cells],
                                  metadata={'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}})
    nbformat.write(nb, project.root / 'pipeline' / f'{name}.ipynb')
    dvc = yaml.safe_load((project.root / 'dvc.yaml').read_text())
    dvc['stages'][name] = {'cmd': f'mlwb stage {name}', 'params': list(params), 'outs': [{o: {'persist': True}} for o in outs]}
    (project.root / 'dvc.yaml').write_text(yaml.safe_dump(dvc))


ECHO = """import json
from mlworkbench.workbench.runner import stage_params
typed = stage_params('echo', params)
kinds = {'dedupe': type(params['prep']['dedupe']).__name__, 'drop_columns': type(params['prep']['drop_columns']).__name__,
         'columns': type(params['prep']['columns']).__name__, 'sample_rows': type(params['prep']['sample_rows']).__name__,
         'joins0': type(params['prep']['joins'][0]).__name__, 'valid_range': type(params['prep']['valid_ranges']['wind_speed'][1]).__name__,
         'test_start': str(typed.prep.split.test.start), 'sections': sorted(params)}
open('reports/echo.json', 'w').write(json.dumps(kinds))"""


def test_params_are_injected_with_their_types(project):
    project.set(prep__dedupe=False, prep__valid_ranges__wind_speed=[0, 99.5])
    add_stage(project, 'echo', [ECHO])
    project.run('stage', 'echo')
    kinds = json.loads((project.root / 'reports' / 'echo.json').read_text())
    assert kinds == {'dedupe': 'bool', 'drop_columns': 'list', 'columns': 'dict', 'sample_rows': 'NoneType',
                     'joins0': 'dict', 'valid_range': 'float', 'test_start': '2013-07-01', 'sections': ['prep']}
    report = nbformat.read(project.root / 'reports' / 'echo.ipynb', as_version=4)
    injected = [c for c in report.cells if 'injected-parameters' in c.metadata.get('tags', [])]
    assert len(injected) == 1 and '"dedupe": False' in injected[0].source
    assert 'start_time' not in report.metadata['papermill']  # no timestamps: same inputs, same bytes
    assert (project.root / 'reports' / 'echo.html').read_text().lstrip().startswith('<!DOCTYPE html>')


def test_a_notebook_opened_without_injection_reads_params_yaml(project):
    "What JupyterLab does: params is None, so the declared keys come from params.yaml."
    add_stage(project, 'echo', [ECHO.replace("params['prep']", "stage_inputs_['prep']").replace(
        "typed = stage_params('echo', params)", "typed = stage_params('echo', None)\nfrom mlworkbench.workbench.runner import stage_inputs\nstage_inputs_ = stage_inputs('echo')").replace("sorted(params)", "sorted(stage_inputs_)")])
    project.run('stage', 'echo')
    assert json.loads((project.root / 'reports' / 'echo.json').read_text())['dedupe'] == 'bool'


def test_stage_reads_only_declared_keys(project):
    assert stage_spec('prep', project.root)['params'] == ['data', 'prep', 'compute']
    assert sorted(stage_inputs('prep', project.root)) == ['compute', 'data', 'prep']
    assert sorted(stage_inputs('ingest', project.root)) == ['compute', 'ingest']


def test_a_failing_cell_fails_the_stage_and_restores_outputs(project):
    add_stage(project, 'echo', ["open('reports/echo.json', 'w').write('first')"])
    project.run('stage', 'echo')
    first = project.digest('reports')
    add_stage(project, 'echo', ["open('reports/echo.json', 'w').write('half')", "1 / 0"])
    r = project.run('stage', 'echo', check=False)
    assert r.returncode == 2
    assert "stage 'echo' failed in cell 3 of pipeline/echo.ipynb: ZeroDivisionError" in r.stderr
    assert '1 / 0' in r.stderr  # the cell's traceback is shown for a bug
    assert {k: v for k, v in project.digest('reports').items() if not k.endswith('failed.ipynb')} == first
    assert (project.root / 'reports' / 'echo.failed.ipynb').exists()


def test_unknown_stage_is_one_line(project):
    r = project.run('stage', 'trian', check=False)
    assert r.returncode == 2 and "dvc.yaml has no stage 'trian'" in r.stderr and 'Traceback' not in r.stderr


def wait_for(condition, seconds=120):
    "Poll `condition` until it holds; fail (not hang) if it never does."
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline: pytest.fail(f'still waiting after {seconds} s')
        time.sleep(0.1)


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_warm_stage_restores_outputs(project, warm_dir, signum):
    "Ctrl-C (forwarded to the fork) or a killed `mlwb` (the fork sees it gone) stops the stage; the old outputs come back."
    add_stage(project, 'echo', ["open('reports/echo.json', 'w').write('first')"])
    project.run('stage', 'echo')
    wait_for(lambda: '(serves this environment)' in project.run('warm').stdout)
    first = project.digest('reports')
    # one cell: the interrupt lands in its sleep, not between cells (where it would skip the cell-failure message)
    add_stage(project, 'echo', ["import time\nopen('reports/echo.json', 'w').write('half')\ntime.sleep(120)"])
    client = subprocess.Popen([str(BIN / 'mlwb'), 'stage', 'echo'], cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    echo = project.root / 'reports' / 'echo.json'
    wait_for(lambda: echo.exists() and echo.read_text() == 'half')  # the stage is in its slow cell
    [fork] = [int(pid) for pid in re.findall(rf'(\d+) mlwb stage echo \(in {re.escape(str(project.root))}\)', warm_log(warm_dir))][-1:]
    client.send_signal(signum)
    out, err = client.communicate(timeout=60)
    wait_for(lambda: f'{fork} exit' in warm_log(warm_dir))  # the fork puts the outputs back, then exits
    assert re.search(rf'{fork} exit [1-9]', warm_log(warm_dir)), warm_log(warm_dir)
    assert client.returncode != 0
    if signum == signal.SIGINT: assert 'KeyboardInterrupt' in err and "stage 'echo' failed" in err, err
    assert {k: v for k, v in project.digest('reports').items() if not k.endswith('failed.ipynb')} == first


def stage_process(project, warm_dir, client):
    "The process running `mlwb stage echo` for `client`: the warm interpreter's fork, or (plain) the client itself."
    if warm_dir is None: return client.pid
    return [int(pid) for pid in re.findall(rf'(\d+) mlwb stage echo \(in {re.escape(str(project.root))}\)', warm_log(warm_dir))][-1]


def slow_echo(project):
    "The echo stage once ('first'), then a version that writes 'half' and sleeps; the digest of the first outputs."
    add_stage(project, 'echo', ["open('reports/echo.json', 'w').write('first')"])
    project.run('stage', 'echo')
    first = project.digest('reports')
    add_stage(project, 'echo', ["import time\nopen('reports/echo.json', 'w').write('half')\ntime.sleep(120)"])
    return first


def echo_is_half(project):
    echo = project.root / 'reports' / 'echo.json'
    return echo.exists() and echo.read_text() == 'half'


@pytest.mark.parametrize('warm', [True, False], ids=['warm', 'plain'])
def test_a_stage_killed_outright_is_put_back_by_the_next_stage(project, warm_dir, monkeypatch, warm):
    "SIGKILL runs no cleanup: the outputs sit in .mlwb/backup-*; the next stage command puts them back first and says so."
    if not warm: monkeypatch.setenv('MLWB_WARM', '0')
    first = slow_echo(project)
    client = subprocess.Popen([str(BIN / 'mlwb'), 'stage', 'echo'], cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: echo_is_half(project))
    os.kill(stage_process(project, warm_dir if warm else None, client), signal.SIGKILL)
    client.communicate(timeout=60)
    assert client.returncode != 0 and project.digest('reports') != first  # the old outputs are only in the backup now
    add_stage(project, 'other', ["open('reports/other.json', 'w').write('x')"], outs=('reports/other.json',))
    r = project.run('stage', 'other')
    assert re.search(r"mlwb: stage 'echo' was interrupted \(process \d+ is gone\): put back its previous outputs \(reports/echo.json, "
                     r"reports/echo.ipynb, reports/echo.html\) from .mlwb/backup-\w+\n", r.stderr), r.stderr
    assert {k: v for k, v in project.digest('reports').items() if not k.startswith('other')} == first
    assert list((project.root / '.mlwb').iterdir()) == []


@pytest.mark.parametrize('warm', [True, False], ids=['warm', 'plain'])
def test_a_stage_stops_and_puts_outputs_back_when_its_dvc_is_killed(project, warm_dir, monkeypatch, warm):
    "kill -9 of `dvc repro`: the stage it started must not run on as an orphan; it stops and its previous outputs come back."
    import psutil
    if not warm: monkeypatch.setenv('MLWB_WARM', '0')
    project.run('init', '--no-scm', '-q', cmd='dvc')
    first = slow_echo(project)
    dvc = subprocess.Popen([str(BIN / 'dvc'), 'repro', 'echo'], cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: echo_is_half(project))
    [client] = [p for p in psutil.Process(dvc.pid).children(recursive=True) if 'stage' in p.cmdline() and 'echo' in p.cmdline()]
    fork = stage_process(project, warm_dir, None) if warm else client.pid
    dvc.kill(); dvc.communicate(timeout=60)
    wait_for(lambda: not psutil.pid_exists(fork) or psutil.Process(fork).status() == psutil.STATUS_ZOMBIE, seconds=60)
    wait_for(lambda: not client.is_running() or client.status() == psutil.STATUS_ZOMBIE, seconds=60)
    assert project.digest('reports') == first | {k: v for k, v in project.digest('reports').items() if k.endswith('failed.ipynb')}
    assert list((project.root / '.mlwb').iterdir()) == []


def test_progress_reaches_the_terminal_and_never_the_report(project):
    "Under `dvc repro` a person sees which cell runs and the library's bars; the report's bytes are the same either way."
    loop = "from mlworkbench.progress import progress_bar\ntotal = sum(progress_bar(range(40), desc='windows', enabled=False))\nprint('total', total)"
    add_stage(project, 'echo', [loop, "open('reports/echo.json', 'w').write('{}')"])
    loud = project.run('stage', 'echo', '--progress')
    assert re.search(r'mlwb stage echo \[3/4\] from mlworkbench\.progress import progress_bar', loud.stderr), loud.stderr
    assert 'mlwb stage echo [2/4] (parameters)' in loud.stderr  # not the whole params dict
    assert 'windows: 100%' in loud.stderr and '40/40' in loud.stderr and 'mlwb stage echo: done in' in loud.stderr, loud.stderr
    reports = {s: (project.root / 'reports' / f'echo.{s}').read_bytes() for s in ('ipynb', 'html')}
    assert b'windows: 100%' not in reports['ipynb'] and b'total 780' in reports['ipynb']  # the cell's own print is the report's
    quiet = project.run('stage', 'echo', '--no-progress')
    assert 'mlwb stage echo [' not in quiet.stderr and 'windows:' not in quiet.stderr, quiet.stderr
    assert {s: (project.root / 'reports' / f'echo.{s}').read_bytes() for s in ('ipynb', 'html')} == reports
    assert 'mlwb stage echo [' not in project.run('stage', 'echo').stderr  # not a terminal (as here): quiet by default
