"The pipeline through DVC, as `make repro` runs it: reproducible bytes, nothing reruns when nothing changed, experiments."
import json
import re

import pytest

from conftest import REPO, Project, commit, copy_of, git_dvc, warm_log  # noqa: F401 (test_loop imports commit and git_dvc from here)

pytestmark = pytest.mark.xdist_group('shared')  # one xdist worker builds the session's pipeline run and docs for all of them (conftest makes loadgroup work on pytest 9.2)


def quick(project):
    "The default pipeline on a 3000-flight sample with a smaller search: the real stages, in seconds."
    project.set(train__candidates__hist_gradient_boosting__n_iter=2, train__candidates__random_forest__n_iter=1,
                evaluate__n_resamples=300, evaluate__importance_rows=300)
    return project


def outputs_digest(project: Project) -> dict:
    return project.digest('data/prepared') | project.digest('models') | project.digest('reports')


def test_repro_is_byte_identical_and_idempotent(reproduced, tmp_path, warm_dir):
    p = copy_of(reproduced, tmp_path / 'p')
    first = outputs_digest(reproduced)
    assert json.loads((p.root / 'reports' / 'metrics.json').read_text())['test_rows'] > 0
    again = p.run('repro', cmd='dvc')  # collect starts a warm interpreter
    # only the log snapshot runs every time; it wrote the same bytes, so the monitor stage after it did not rerun
    assert re.findall(r"Running stage '(\w+)'", again.stdout) == ['collect'], again.stdout
    p.run('repro', '-f', cmd='dvc')
    assert outputs_digest(p) == first  # reports too: no timestamps; and another folder, the shell's thread count
    # each report is a page for a person: its charts are in it (as images), its code folded, no raw dict at the end
    import nbformat
    stages = ('ingest', 'prep', 'train', 'evaluate', 'estimator', 'backtest', 'monitor')
    # the model card's own charts (files in reports/model_card/, drawn by the library) also show in the evaluate report's card
    shown = {n: len(re.findall(r'<img alt=(?![^>]*src="model_card/)', (p.root / 'reports' / f'{n}.html').read_text())) for n in stages}
    made = {n: sum('image/png' in o.get('data', {}) for c in nbformat.read(p.root / 'reports' / f'{n}.ipynb', 4).cells for o in c.get('outputs', []))
            for n in stages}
    assert shown == made, (shown, made)  # the page shows every chart the stage drew
    residuals_by = len(p.params['evaluate']['residuals_by'])  # one chart each: metrics, predicted vs actual, importance, residuals
    assert made['prep'] == 3 and made['train'] == 2 and made['evaluate'] >= 3 + residuals_by and made['backtest'] in (2, 3) and made['estimator'] == 1, made  # backtest: the policies, and one or two replays
    for n in ('prep', 'train', 'evaluate', 'estimator', 'backtest', 'monitor'):
        page = (p.root / 'reports' / f'{n}.html').read_text()
        assert '<details class="mlwb-code">' in page and "<pre>{'" not in page, n  # a printed dict: code output, not a table
    # the backtest ranked every retraining policy against never retraining on the sample, and recommended one the evidence supports
    bt = json.loads((p.root / 'reports' / 'backtest.json').read_text())
    assert len(bt['policies']) == 19 and bt['policies']['never'] == bt['policies']['never'] | {'difference': 0.0, 'ci_low': 0.0, 'ci_high': 0.0}
    assert bt['recommended'] == 'never' or bt['policies'][bt['recommended']]['better'], bt
    assert bt['verdict'].startswith(bt['recommended'] if bt['recommended'] != 'never' else 'No policy beats never retraining'), bt['verdict']
    assert sorted(p['rank'] for p in bt['policies'].values()) == list(range(1, 20))
    # and that second run was served warm, stage by stage, from this project: warm and plain give the same bytes
    ran = re.findall(rf'mlwb (stage \w+|collect) \(in {re.escape(str(p.root))}\)', warm_log(warm_dir))
    assert ran[-8:] == ['stage ingest', 'stage prep', 'stage train', 'stage evaluate', 'stage estimator', 'stage backtest', 'collect', 'stage monitor'], ran


def test_params_metrics_plots_and_experiments(reproduced, tmp_path):
    p = copy_of(reproduced, tmp_path / 'p')
    p.set(prep__dedupe=False)
    assert 'prep.dedupe' in p.run('params', 'diff', cmd='dvc').stdout
    assert 'ingest' not in p.run('status', cmd='dvc').stdout.split('prep:')[0]  # only prep and after are stale
    p.run('checkout', 'params.yaml', cmd='/usr/bin/git')
    p.run('exp', 'run', '-n', 'stronger-l2', '-S', 'train.candidates.linear.space.alpha.log_uniform=[100,10000]', cmd='dvc')
    shown = json.loads(p.run('exp', 'show', '--json', cmd='dvc').stdout)
    names = [e.get('name') for rev in shown for e in (rev.get('experiments') or []) for e in [e] + (e.get('revs') or [])]
    assert 'stronger-l2' in names, names  # the experiment's name, as `dvc exp show` lists it under its baseline
    shown_metrics = p.run('metrics', 'show', cmd='dvc').stdout
    assert 'test.mae.value' in shown_metrics, shown_metrics  # reports/metrics.json's nested keys, flattened
    diff = p.run('metrics', 'diff', 'HEAD', '--all', cmd='dvc').stdout
    assert 'metrics.json' in diff
    out = p.root / 'plots_out'
    p.run('plots', 'diff', 'HEAD', '-o', str(out), cmd='dvc')
    page = (out / 'index.html').read_text()
    assert '<script src="http' not in page and 'vega' in page  # renders offline: vega inlined, no CDN
    # every plot once, each drawing its data on axes of the right kind (names and days are no numbers)
    shown = json.loads(p.run('plots', 'show', '--json', cmd='dvc').stdout)
    assert shown.get('errors') in (None, []), shown['errors']
    assert len(shown['data']) == 4, list(shown['data'])
    assert [t for t, views in shown['data'].items() if not views] == ['Monitor, share of drifted features per window']  # nothing served yet
    specs = {title: views[0]['content'] for title, views in shown['data'].items() if views}
    assert all(s['data']['values'] for s in specs.values()) and len({s['title']['text'] for s in specs.values()}) == 3, list(specs)
    kinds = {t.split(',')[0]: (s['encoding']['x']['type'], s['encoding']['y']['type']) for t, s in specs.items()}
    assert kinds['Cross-validated score per fold'] == ('quantitative', 'nominal') and kinds['Backtest'][0] == 'ordinal', kinds


def stage_deps(*args, cwd=REPO):
    import subprocess, sys
    return subprocess.run([sys.executable, str(REPO / 'tools' / 'stage_deps.py'), *args], cwd=cwd, capture_output=True, text=True)


def test_stage_deps_are_the_import_closure_of_each_stage():
    "dvc.yaml's mlworkbench/*.py deps are what each stage's code imports, transitively: edit any of them and DVC reruns the stage."
    r = stage_deps()
    assert r.returncode == 0, f'{r.stdout}\n{r.stderr}'
    import yaml
    deps = {name: s['deps'] for name, s in yaml.safe_load((REPO / 'dvc.yaml').read_text())['stages'].items()}
    assert 'mlworkbench/model/threshold.py' in deps['train']  # decision_threshold calls threshold.choose_threshold (lazily)
    assert 'mlworkbench/model/metrics.py' in deps['train']  # ... which imports metrics: the closure is transitive
    assert 'mlworkbench/model/candidates.py' in deps['evaluate']  # evaluate scores importance with candidates.SCORERS


def test_stage_deps_tool_finds_a_missing_dep_and_rewrites_dvc_yaml_keeping_its_layout(project):
    original = (project.root / 'dvc.yaml').read_text()
    (project.root / 'dvc.yaml').write_text(original.replace('      - mlworkbench/model/metrics.py\n', '', 1))
    r = stage_deps('--dvc-yaml', str(project.root / 'dvc.yaml'))
    assert r.returncode == 1 and '+      - mlworkbench/model/metrics.py' in r.stdout and 'make deps' in r.stderr, r.stdout + r.stderr
    assert stage_deps('--dvc-yaml', str(project.root / 'dvc.yaml'), '--write').returncode == 0
    assert (project.root / 'dvc.yaml').read_text() == original  # comments, blank lines and order as they were


@pytest.mark.slow
def test_train_gives_the_same_bytes_whatever_the_thread_count(small_flights, monkeypatch):
    "OpenBLAS adds a long dot product's partial sums per thread: 1 and 2 threads once gave a different linear baseline and metrics."
    p = quick(small_flights)
    p.set(prep__sample_rows=12000, train__candidates__hist_gradient_boosting__params__max_iter=40)  # long enough that OpenBLAS splits its dot products
    params = p.params; del params['train']['candidates']['random_forest']; p.params = params
    monkeypatch.setenv('MLWB_WARM', '0')
    p.run('stage', 'ingest'); p.run('stage', 'prep')
    runs = []
    for threads in ('1', '2'):
        for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): monkeypatch.setenv(var, threads)
        p.run('stage', 'train')
        runs.append(p.digest('models') | {f: p.digest('reports')[f] for f in ('train.json', 'candidates.csv', 'train.ipynb')})
    assert runs[0] == runs[1]
