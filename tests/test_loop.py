"""The production loop as a user runs it, on a sample of the real flights: serve, replay, monitor, retrain, promote, roll back.

One project goes through the whole documented sequence with a real `mlwb serve` process, DVC and git:
a deliberately weak champion (a constant: the training mean) is served, production is replayed through it over
HTTP, the monitor judges the log, `mlwb retrain` trains the real candidates on the extended window through
`dvc exp run`, the gate promotes the challenger, and the running service swaps it in; a worse challenger is then
refused, and a rollback reaches the service too.
"""
import json
import urllib.request

from conftest import ADMIN_TOKEN, Server
from test_dvc import commit, git_dvc


def health(server) -> dict:
    with urllib.request.urlopen(server.url + '/health', timeout=10) as r: return json.loads(r.read())


def weak_champion(project):
    "Only a constant model to choose from: predicts the training mean, a poor guess for skewed delays."
    project.set(train__candidates={'mean': {'estimator': 'dummy', 'params': {'strategy': 'mean'}}}, train__baselines=[])


def test_serve_replay_monitor_retrain_promote_rollback(small_flights, server_factory, monkeypatch):
    monkeypatch.setenv('MLWB_ADMIN_TOKEN', ADMIN_TOKEN)  # the operator's shell holds the service's admin token
    p = git_dvc(small_flights)
    (p.root / '.gitignore').write_text('/logs/\n/models/registry/\n')  # as the project's own .gitignore
    p.set(prep__sample_rows=8000, train__candidates__hist_gradient_boosting__n_iter=2, train__candidates__random_forest__n_iter=1,
          train__progress=False, evaluate__n_resamples=200, evaluate__importance_rows=300,
          monitor__window='MS', monitor__min_rows=50, monitor__min_labelled_rows=100, monitor__n_resamples=300,
          retrain__min_labelled_rows=300, retrain__n_resamples=500,
          registry={'root': 'models/registry', 'name': 'arr_delay'},
          serve={'database_url': 'sqlite:///logs/predictions.db', 'log_flush_seconds': 0.05})
    full_candidates = {k: v for k, v in p.params['train']['candidates'].items()}
    weak_champion(p)
    p.run('repro', 'evaluate', cmd='dvc')
    # backtest: every retraining policy replayed on the production split and ranked; the recommendation is written into params.yaml
    p.set(policy__trigger='drift')
    out = p.run('backtest', '-q').stdout
    bt = json.loads((p.root / 'reports/backtest.json').read_text())
    assert len(bt['policies']) == 19 and bt['verdict'] in out, out  # never and 6 triggers x 3 window modes
    assert {k: p.params['policy'][k.split('.')[1]] for k in bt['recommendation']} == bt['recommendation']  # params.yaml follows it
    assert ('policy.trigger: drift -> ' in out) == (bt['recommendation']['policy.trigger'] != 'drift'), out
    assert 'already follows' in p.run('backtest', '-q').stdout  # nothing reran (the policy followed is no dependency of the stage), nothing rewritten
    commit(p, 'weak champion')
    p.run('registry', 'register', '--alias', 'champion')
    server = server_factory(p, token=ADMIN_TOKEN)
    url = ['--url', server.url]
    assert health(server)['model_version'] == 'arr_delay/1'

    # replay: every production row over HTTP with its event time, then its outcome
    production = len(__import__('pandas').read_parquet(p.root / 'data/prepared/production.parquet'))
    out = p.run('replay', *url, '-q').stdout
    assert f'replay: {production:,} rows' in out and f'{production:,} outcomes sent as feedback' in out

    # monitor: the log becomes data/production/log.parquet (collect), judged by the monitor stage through DVC
    p.run('monitor', '-q')
    report = json.loads((p.root / 'reports/monitor.json').read_text())
    assert report['rows'] == report['labelled'] == production
    assert report['decision'] in ('ok', 'watch', 'retrain') and report['reasons']
    assert len(report['windows']) == 3 and all(w['rows'] > 0 for w in report['windows'])  # Oct, Nov, Dec
    assert (p.root / 'reports/monitor.html').exists()
    # the same stages on the Dask backend: the log read as partitions on a LocalCluster, their summaries merged; the same report
    on_one, judged = (p.root / 'reports/monitor.json').read_text(), (p.root / 'reports/metrics.json').read_text()
    local = p.params['compute']
    p.set(compute=local | {'backend': 'dask', 'workers': 2, 'memory_limit': '1GiB', 'dashboard_address': None})
    p.run('monitor', '-q')
    assert (p.root / 'reports/monitor.json').read_text() == on_one
    assert (p.root / 'reports/metrics.json').read_text() == judged  # the whole pipeline reran on the cluster (compute changed): the same model and metrics
    assert 'Ran on the Dask cluster at tcp://127.0.0.1:' in (p.root / 'reports/monitor.ipynb').read_text()
    p.set(compute=local)
    # mlwb retrain follows the policy params.yaml names, unless forced
    p.set(policy__trigger='never')
    assert 'nothing to do: never retrain' in p.run('retrain', *url, '-q').stdout
    p.set(policy__trigger='degradation')
    if report['decision'] != 'retrain': assert "nothing to do: retrain when the monitor says retrain" in p.run('retrain', *url, '-q').stdout

    # retrain every window, with the real candidates on the extended window: better than a constant, so promoted and reloaded
    p.set(train__candidates=full_candidates, train__baselines=['dummy', 'linear'], policy={'trigger': 'every', 'every': 2, 'window_mode': 'expanding'})
    commit(p, 'real candidates')
    out = p.run('retrain', *url, '-q').stdout  # three monthly windows since production began: the policy says retrain
    assert 'challenger better by' in out and 'PROMOTED: arr_delay/2 is champion' in out, out
    assert 'service now serves arr_delay/2 (was arr_delay/1)' in out
    assert health(server)['model_version'] == 'arr_delay/2'
    done = json.loads((p.root / 'reports/retrain.json').read_text())
    assert done['promoted'] and done['ci_high'] < 0  # MAE difference challenger − champion, entirely below zero
    assert done['policy'] == 'every2-expanding' and '2 window(s) since the last retraining' in done['why'], done['why']
    split = p.params['prep']['split']
    assert split['train']['start'] == '2013-01-01' and split['train']['end'] > '2013-06-30'  # the window grew
    assert split['test']['start'] > split['train']['end']  # judged on data neither model trained on
    assert done['experiment'] in p.run('exp', 'list', '--all-commits', cmd='dvc').stdout  # recorded by DVC
    assert done['training'] == {'train.recency_half_life_days': None} and p.params['train']['recency_half_life_days'] is None

    # a worse challenger (trained with recency weights: the policy's window mode says so) is registered but not promoted
    p.set(policy__window_mode='weighted', retrain__half_life_days=45)
    commit(p, 'after promotion')
    weak_champion(p)
    out = p.run('retrain', *url, '--force', '-q').stdout
    assert 'challenger not better' in out and 'kept arr_delay/2 as champion' in out, out
    assert 'recency weights, half-life 45 days' in out and p.params['train']['recency_half_life_days'] == 45  # set beside the split, in the experiment's params.yaml
    assert json.loads((p.root / 'models/model.json').read_text())['params']['train']['recency_half_life_days'] == 45  # and trained so
    assert health(server)['model_version'] == 'arr_delay/2'
    assert 'challenger' in p.run('registry', 'list').stdout

    # rollback reaches the running service
    out = p.run('registry', 'rollback', '--reload', *url).stdout
    assert 'rolled back to 1' in out and 'service now serves arr_delay/1' in out
    assert health(server)['model_version'] == 'arr_delay/1'


def test_loop_commands_refuse_what_is_not_ready(small_flights):
    p = small_flights
    r = p.run('replay', '--url', 'http://127.0.0.1:9', check=False)
    assert r.returncode == 2 and r.stderr.startswith('mlwb replay:') and 'Traceback' not in r.stderr
    r = p.run('retrain', check=False)
    assert r.returncode == 2 and 'run `mlwb monitor` first' in r.stderr
    r = p.run('monitor', '--no-dvc', check=False)  # nothing prepared yet: the stage names what is missing
    assert r.returncode == 2 and "stage 'monitor' needs data/prepared/test.parquet" in r.stderr and 'Traceback' not in r.stderr, r.stderr
