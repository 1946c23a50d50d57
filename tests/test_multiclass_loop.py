"""A multi-class model (three classes of lateness) through the production loop: served by the real app, its log,
feedback, the monitor's drift of the called class and live performance with intervals, an old log upgraded, and the
backtest's replay with the gate."""
import json
import signal
import urllib.request

import numpy as np
import pandas as pd
import pytest

from mlworkbench.config.params import MonitorParams, RetrainParams
from mlworkbench.model.metrics import bootstrap_metrics
from mlworkbench.model.modelfile import load_model
from mlworkbench.model.record import ModelRecord
from mlworkbench.monitor.backtest import backtest
from mlworkbench.monitor.monitor import monitor
from mlworkbench.monitor.snapshot import snapshot_log
from mlworkbench.monitor.snapshot import read_log
from mlworkbench.serve.predlog import sqlite_path
from mlworkbench.serve.registry import Registry
from mlworkbench.workbench.testing import demo_model
from test_service import make_client, rows

CLASSES = ['early', 'late', 'on_time']
LOG = 'sqlite:///logs/predictions.db'


@pytest.fixture
def multiclass(project):
    "A project serving a three-class demo model as delay/1, champion."
    project.set(registry={'root': 'models/registry', 'name': 'delay'}, serve={'database_url': LOG, 'log_flush_seconds': 0.05})
    demo_model(project.root / 'models', task='classification', n_classes=3)
    Registry(project.root / 'models' / 'registry', 'delay').register(project.root / 'models', None, alias='champion')
    return project


def frame(records) -> pd.DataFrame:
    "Records as the model's input columns."
    df = pd.DataFrame(records)
    return df.assign(hour=pd.array(df['hour'], dtype='Int64'), airline=df['airline'].astype('str'))


def outcomes(proba: np.ndarray, seed: int) -> list[str]:
    "Outcomes drawn from the model's own probabilities: a model as good as it says it is."
    rng = np.random.default_rng(seed)
    return [CLASSES[rng.choice(3, p=p / p.sum())] for p in proba]


def test_predict_invocations_feedback_and_the_log(multiclass):
    c, _ = make_client(multiclass)
    batch = rows(20)
    with c:
        r = c.post('/predict', json={'records': batch}).json()
        inv = c.post('/invocations', json={'dataframe_records': batch})
        ids = [p['request_id'] for p in r['predictions']]
        ok = c.post('/feedback', json={'feedback': [{'request_id': ids[0], 'actual': 'on_time'}, {'request_id': ids[1], 'actual': 'early'}]})
        bad = c.post('/feedback', json={'feedback': [{'request_id': ids[2], 'actual': 'late-ish'}]})
        spec = c.get('/openapi.json').json()
    first = r['predictions'][0]
    assert sorted(first['probabilities']) == CLASSES and abs(sum(first['probabilities'].values()) - 1) < 1e-5
    assert all(p['prediction'] == max(p['probabilities'], key=p['probabilities'].get) for p in r['predictions'])  # the most probable class
    assert inv.status_code == 200 and inv.json() == {'predictions': [p['prediction'] for p in r['predictions']]}  # MLflow: predict()'s labels
    assert ok.status_code == 200 and ok.json()['stored'] == 2
    assert bad.status_code == 422 and bad.json()['field'] == 'feedback[0].actual' and str(CLASSES) in bad.json()['detail']
    item = spec['paths']['/predict']['post']['responses']['200']['content']['application/json']['schema']['properties']['predictions']['items']
    assert item['properties']['prediction'] == {'enum': CLASSES} and item['properties']['probabilities']['required'] == CLASSES
    log = read_log(sqlite_path(LOG, multiclass.root)).set_index('request_id')
    row = log.loc[ids[0]]
    assert row['probabilities'] == first['probabilities'] and row['label'] == first['prediction']
    assert row['prediction'] == first['probabilities'][first['prediction']]  # the called class' probability
    assert log.loc[ids[:2], 'actual_label'].tolist() == ['on_time', 'early']
    assert log['probabilities'].notna().sum() == 40  # /predict's and /invocations' rows


def test_monitor_drift_of_the_called_class_and_live_performance(multiclass, tmp_path):
    "Two weeks served with event times and outcomes; in the second the inputs move, and so do the classes called."
    model, record = load_model(multiclass.root / 'models/model.skops'), ModelRecord.read(multiclass.root / 'models/model.json')
    reference = frame(rows(600, seed=1))
    ref_proba = model.predict_proba(reference[record.feature_names])
    y_ref = record.outcome(pd.Series(outcomes(ref_proba, 0)))
    test_metrics = {r['metric']: r for r in bootstrap_metrics('classification', y_ref, ref_proba, n_resamples=200, metrics=['log_loss', 'roc_auc']).to_dict('records')}
    week1, week2 = rows(300, seed=2), [r | {'distance': r['distance'] + 1500} for r in rows(300, seed=3)]  # longer flights: later classes
    c, _ = make_client(multiclass)
    with c:
        for week, (batch, day) in enumerate([(week1, '2024-03-04'), (week2, '2024-03-11')]):
            times = [f'{day}T{h:02d}:00:00Z' for h in np.arange(len(batch)) % 24]
            answer = c.post('/predict', json={'records': batch, 'event_times': times}).json()['predictions']
            proba = np.array([[p['probabilities'][k] for k in CLASSES] for p in answer])
            actual = outcomes(proba, 10 + week)
            c.post('/feedback', json={'feedback': [{'request_id': p['request_id'], 'actual': a} for p, a in zip(answer, actual)]})
    snapshot_log(sqlite_path(LOG, multiclass.root), tmp_path / 'production')
    log = pd.read_parquet(tmp_path / 'production/log.parquet')
    assert log['probabilities'].notna().all()
    params = MonitorParams(window='7D', min_rows=50, min_labelled_rows=50, n_resamples=200, metric='log_loss')
    result = monitor(log, reference, record, test_metrics, params, reference_predictions=ref_proba)  # evaluate's probabilities: called here
    pred = [r.prediction for r in result.drift.reports]
    assert [p['role'] for p in pred] == ['categorical'] * 2 and pred[0]['status'] == 'no drift' and pred[1]['status'] == 'drift'
    perf = result.performance.set_index(['window', 'metric'])
    assert set(result.performance['metric']) == {'log_loss'} and (result.performance['labelled'] == 300).all()
    assert ((perf['ci_low'] <= perf['value']) & (perf['value'] <= perf['ci_high'])).all()
    summary = result.summary()
    assert summary['labelled'] == 600 and summary['windows'][1]['prediction_drift'] == 'drift'
    assert any(reason.startswith('predicted classes drifted') for reason in summary['reasons'])
    assert summary['windows'][0]['performance_status'] == 'no significant change'  # outcomes as likely as the model says


def test_an_old_schema_log_is_upgraded_and_keeps_its_rows(multiclass):
    "A log created before multi-class models (schema version 2): the service adds the probabilities column on start."
    import sqlalchemy as sa
    url = sqlite_path(LOG, multiclass.root)
    (multiclass.root / 'logs').mkdir()
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the tables as version 2 created them
        conn.exec_driver_sql('CREATE TABLE mlwb_schema (version INTEGER NOT NULL)'); conn.exec_driver_sql('INSERT INTO mlwb_schema VALUES (1), (2)')
        conn.exec_driver_sql('CREATE TABLE mlwb_predictions (request_id VARCHAR(64) PRIMARY KEY, created_at DATETIME NOT NULL, event_time DATETIME, '
                             'model_version VARCHAR(200) NOT NULL, route VARCHAR(32) NOT NULL, features JSON NOT NULL, prediction FLOAT, label VARCHAR(200))')
        conn.exec_driver_sql('CREATE TABLE mlwb_feedback (request_id VARCHAR(64) PRIMARY KEY, received_at DATETIME NOT NULL, actual FLOAT, actual_label VARCHAR(200))')
        conn.exec_driver_sql("""INSERT INTO mlwb_predictions VALUES ('old-0', '2024-01-01 10:00:00.000000', NULL, 'delay/0', 'predict', '{"distance": 1.0}', 12.5, NULL)""")
    engine.dispose()
    c, _ = make_client(multiclass)
    with c:
        new = c.post('/predict', json={'records': rows(1)}).json()['predictions'][0]
        assert c.post('/feedback', json={'feedback': [{'request_id': new['request_id'], 'actual': 'late'}]}).status_code == 200
    log = read_log(url).set_index('request_id')
    assert log.loc['old-0', 'prediction'] == 12.5 and log.loc['old-0', 'probabilities'] is None
    assert log.loc[new['request_id'], 'probabilities'] == new['probabilities'] and log.loc[new['request_id'], 'actual_label'] == 'late'
    with sa.create_engine(url).connect() as conn: assert conn.exec_driver_sql('SELECT max(version) FROM mlwb_schema').scalar() == 3


def test_nothing_answered_is_lost_after_kill_9(multiclass, server_factory):
    "Rows whose feedback was accepted are in the log, probabilities included, even if the server is killed right after."
    server = server_factory(multiclass)
    def post(path, body):
        req = urllib.request.Request(server.url + path, json.dumps(body).encode(), {'content-type': 'application/json'})
        with urllib.request.urlopen(req, timeout=30) as r: return json.loads(r.read())
    answer = post('/predict', {'records': rows(50)})['predictions']
    post('/feedback', {'feedback': [{'request_id': p['request_id'], 'actual': p['prediction']} for p in answer[:5]]})  # waits for the log
    server.stop(signal.SIGKILL)
    log = read_log(sqlite_path(LOG, multiclass.root)).set_index('request_id')
    assert len(log) == 50 and log.loc[[p['request_id'] for p in answer], 'probabilities'].tolist() == [p['probabilities'] for p in answer]


def test_backtest_and_gate_replay_a_multiclass_model():
    "Three classes of a score whose relation with x flips in production: the policy retrains, the gate promotes, and it pays."
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from mlworkbench.config.params import FeaturesParams
    from mlworkbench.model.features import build_features
    def world(n, start, slope, seed):
        r = np.random.default_rng(seed)
        df = pd.DataFrame({'t': pd.date_range(start, periods=n, freq='h', tz='UTC'), 'x': r.normal(size=n)})
        score = slope * df['x'] + r.normal(0, 0.5, n)
        return df.assign(y=np.asarray(['low', 'mid', 'high'], dtype=object)[np.digitize(score, [-0.5, 0.5])])
    hist, test = world(1500, '2021-01-01', 1.0, 1), world(500, '2021-03-05', 1.0, 2)
    prod = pd.concat([world(500, '2021-03-26', 1.0, 3), world(1000, '2021-04-16', -1.0, 4)], ignore_index=True)
    model = Pipeline([('features', build_features({'numeric': ['x'], 'categorical': [], 'cyclical': []}, FeaturesParams())),
                      ('model', HistGradientBoostingClassifier(max_iter=20, random_state=0))]).fit(hist[['x']], hist['y'])
    record = ModelRecord(task='classification', target='y', time_column='t', metric='log_loss', classes=sorted(hist['y'].unique()),
                         features=[{'name': 'x', 'role': 'numeric', 'kind': 'number'}])
    tm = {r['metric']: r for r in bootstrap_metrics('classification', record.outcome(test['y']), model.predict_proba(test[['x']]), n_resamples=200).to_dict('records')}
    res = backtest(model, record, pd.concat([hist, test], ignore_index=True), test, prod, tm,
                   MonitorParams(window='14D', n_resamples=200, min_rows=50, min_labelled_rows=50), RetrainParams(n_resamples=300, min_labelled_rows=100))
    s = res.summary()
    assert s['metric'] == 'log_loss' and s['rows'] == len(prod) and s['promoted'] >= 1
    assert s['policy_better'] and s['ci_high'] < 0  # log loss: the policy's is lower, the whole interval below zero
    assert res.windows['retrained'].iloc[0] == False and set(res.predictions['policy']) <= set(record.classes)
