"The prediction service in-process (FastAPI's test client): answers, bad input, feedback, health, metrics, admin."
import json
import os

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mlworkbench.config.params import RegistryParams, ServeParams
from mlworkbench.serve.app import create_app
from mlworkbench.serve.predictor import Predictor
from mlworkbench.monitor.snapshot import read_log
from mlworkbench.serve.predlog import COLUMNS, sqlite_path
from mlworkbench.serve.registry import Registry, load_version
from mlworkbench.serve.service import Service
from mlworkbench.workbench.testing import demo_model

ROW = {'distance': 500.0, 'temp': 61.5, 'airline': 'AA', 'hour': 5}


def make_client(project, token='tok', **serve):
    settings = ServeParams(database_url='sqlite:///logs/predictions.db', admin_token_env='MLWB_TEST_TOKEN', log_flush_seconds=0.05, **serve)
    svc = Service(settings, RegistryParams(root='models/registry', name='delay'), project.root, environ={'MLWB_TEST_TOKEN': token or ''})
    return TestClient(create_app(svc)), svc


@pytest.fixture
def client(served):
    c, svc = make_client(served)
    with c: yield c


def in_process(project, version='champion'):
    model, record = load_version(Registry(project.root / 'models' / 'registry', 'delay').get(version))
    return model, Predictor(model, record, fast=False)


def rows(n, seed=0):
    rng = np.random.default_rng(seed)
    return [{'distance': float(rng.uniform(50, 3000)), 'temp': None if i % 5 == 0 else float(rng.normal(60, 15)),
             'airline': ['AA', 'B6', 'DL', 'UA', 'ZZ-never-seen'][i % 5], 'hour': int(rng.integers(0, 24))} for i in range(n)]


def test_predict_equals_the_model_in_process(client, served):
    batch = rows(50)
    r = client.post('/predict', json={'records': batch})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body['model_version'] == 'delay/1'
    model, slow = in_process(served)
    expected = model.predict(slow.schema.frame(slow.schema.columns(batch)))
    np.testing.assert_allclose([p['prediction'] for p in body['predictions']], expected, rtol=1e-12)
    ids = [p['request_id'] for p in body['predictions']]
    assert len(set(ids)) == 50
    one = client.post('/predict', json={'records': [batch[3]]}).json()['predictions'][0]['prediction']
    assert one == body['predictions'][3]['prediction']  # alone or in a batch: the same number


@pytest.mark.parametrize('form', ['dataframe_split', 'dataframe_records', 'instances', 'inputs', 'csv'])
def test_invocations_speaks_mlflow(client, form):
    batch = [r | {'temp': 1.0} for r in rows(4)]
    expected = [p['prediction'] for p in client.post('/predict', json={'records': batch}).json()['predictions']]
    cols = list(batch[0])
    if form == 'csv':
        text = ','.join(cols) + '\n' + '\n'.join(','.join(str(r[c]) for c in cols) for r in batch) + '\n'
        r = client.post('/invocations', content=text, headers={'content-type': 'text/csv'})
    else:
        body = {'dataframe_split': {'columns': cols, 'data': [[r[c] for c in cols] for r in batch]},
                'dataframe_records': batch, 'instances': batch, 'inputs': {c: [r[c] for r in batch] for c in cols}}[form]
        r = client.post('/invocations', json={form: body})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()['predictions'], expected, rtol=1e-12)
    assert r.headers['x-model-version'] == 'delay/1'


def test_invocations_ignores_extra_columns_like_mlflow(client):
    r = client.post('/invocations', json={'dataframe_records': [ROW | {'y': 3.0, 'flight_id': 'x'}]})
    assert r.status_code == 200


@pytest.mark.parametrize('body, status, detail', [
    ({'records': [ROW | {'distance': 'far'}]}, 422, "records[0].distance: expected a number, got a string ('far')"),
    ({'records': [ROW, {k: v for k, v in ROW.items() if k != 'airline'}]}, 422, 'records[1].airline: required field is missing'),
    ({'records': [ROW | {'hour': 4.5}]}, 422, 'records[0].hour: expected an integer, got 4.5'),
    ({'records': [ROW | {'hour': 2**60}]}, 422, 'records[0].hour: expected a number between -2**53 and 2**53'),
    ({'records': [ROW | {'tmp': 3}]}, 422, "records[0].tmp: unknown field; did you mean 'temp'?"),
    ({'records': []}, 422, 'records: expected at least one record'),
    ({'records': ROW}, 422, 'records: expected an array of records, got an object'),
    ({'records': [[1, 2]]}, 422, 'records[0]: expected an object of features, got an array'),
    ({'rows': [ROW]}, 422, 'records: required field is missing'),
    ([ROW], 422, 'body: expected an object {"records": [...]}'),
])
def test_bad_input_is_a_4xx_naming_the_field(client, body, status, detail):
    r = client.post('/predict', content=json.dumps(body), headers={'content-type': 'application/json'})
    assert r.status_code == status, r.text
    assert r.json()['detail'].startswith(detail), r.json()


@pytest.mark.parametrize('content, ctype, status, detail', [
    (b'', 'application/json', 400, 'body: empty'),
    (b'{"records": [', 'application/json', 400, 'body: not valid JSON'),
    (b'{"records": [{"distance": NaN, "airline": "AA", "hour": 1}]}', 'application/json', 422, 'records[0].distance: expected a finite number, got nan'),
    (b'{"records": [{"distance": 1e999, "airline": "AA", "hour": 1}]}', 'application/json', 422, 'records[0].distance: expected a finite number, got inf'),
    (b'{"records": [{"distance": 1, "airline": "AA", "hour": 123456789012345678901234567890}]}', 'application/json', 422, 'records[0].hour: expected a number between'),
    (b'distance,airline,hour\ninf,AA,3\n', 'text/csv', 422, 'csv_rows[0].distance: expected a finite number, got inf'),
    (b'\xff\xfe', 'text/csv', 400, 'body: CSV is not valid UTF-8'),
    (b'a,b', 'application/xml', 415, "content-type: expected application/json or text/csv, got 'application/xml'"),
    (b'distance,airline,hour\nfar,AA,3\n', 'text/csv', 422, "csv_rows[0].distance: expected a number, got 'far'"),
    (b'{"instances": [{"distance": 1, "airline": "AA", "hour": "x"}]}', 'application/json', 422, "instances[0].hour: expected an integer, got a string ('x')"),
    (b'{"dataframe_split": {"columns": ["distance"], "data": [[1, 2]]}}', 'application/json', 422, 'dataframe_split.data[0]: expected an array of 1 values'),
])
def test_bad_bodies(client, content, ctype, status, detail):
    path = '/invocations' if ctype != 'application/json' or b'dataframe' in content or b'instances' in content else '/predict'
    r = client.post(path, content=content, headers={'content-type': ctype})
    assert (r.status_code, r.json()['detail'][:len(detail)]) == (status, detail)


def test_oversized_body_is_413(served):
    c, _ = make_client(served, max_body_bytes=2000, max_rows=5)
    with c:
        big = c.post('/predict', json={'records': [ROW] * 40})
        many = c.post('/predict', json={'records': [ROW] * 6})
    assert big.status_code == 413 and 'more than the limit of 2000' in big.json()['detail']
    assert many.status_code == 413 and 'records: 6 records is more than the limit of 5' in many.json()['detail']


def test_unseen_category_and_missing_nullable_are_valid(client):
    r = client.post('/predict', json={'records': [ROW | {'airline': 'NEVER-SEEN', 'temp': None}, {k: v for k, v in ROW.items() if k != 'temp'}]})
    assert r.status_code == 200 and all(np.isfinite(p['prediction']) for p in r.json()['predictions'])


def test_every_served_row_is_logged_and_feedback_joins(served):
    c, svc = make_client(served)
    with c:
        ids = [p['request_id'] for p in c.post('/predict', json={'records': rows(7)}).json()['predictions']]
        c.post('/invocations', json={'dataframe_records': rows(3)})
        c.post('/predict', json={'records': [ROW | {'distance': 'x'}]})  # refused: not logged
        ok = c.post('/feedback', json={'feedback': [{'request_id': ids[0], 'actual': 12.5}, {'request_id': ids[1], 'actual': -3}]})
        unknown = c.post('/feedback', json={'feedback': [{'request_id': ids[2], 'actual': 1.0}, {'request_id': 'nope', 'actual': 1.0}]})
        bad = c.post('/feedback', json={'feedback': [{'request_id': ids[2], 'actual': 'late'}]})
    assert ok.json() == {'stored': 2}
    assert unknown.status_code == 404 and "never served: ['nope']" in unknown.json()['detail']
    assert bad.status_code == 422 and bad.json()['detail'] == "feedback[0].actual: expected a finite number, got 'late'"
    log = read_log(sqlite_path('sqlite:///logs/predictions.db', served.root))
    assert len(log) == 10 and log['request_id'].is_unique
    assert sorted(log['route'].value_counts().items()) == [('invocations', 3), ('predict', 7)]
    by_id = log.set_index('request_id')
    assert by_id.loc[ids[0], 'actual'] == 12.5 and np.isnan(by_id.loc[ids[2], 'actual'])
    assert by_id.loc[ids[0], 'model_version'] == 'delay/1' and 'feature.airline' in log


def test_health_model_and_metrics(client):
    client.post('/predict', json={'records': [ROW]})
    client.get('/no/such/path')
    assert client.get('/health').json()['model_version'] == 'delay/1'
    assert client.get('/v2/health/live').json() == {'live': True}
    assert client.get('/v2/health/ready').json()['ready'] is True
    m = client.get('/model').json()
    assert m['version'] == 'delay/1' and m['registry']['data_sha256'] and [f['name'] for f in m['features']] == ['distance', 'temp', 'airline', 'hour']
    assert m['prediction_path']['fast'] is True
    text = client.get('/metrics').text
    for line in ['mlwb_http_requests_total{method="POST",route="/predict",status="200"} 1.0', 'mlwb_predictions_total{route="predict"} 1.0',
                 'mlwb_http_requests_total{method="GET",route="other",status="404"} 1.0', 'mlwb_http_request_duration_seconds_bucket{le="0.005",route="/predict"}',
                 'mlwb_model_info{path="fast",sha256=', 'mlwb_predlog_pending_rows', 'mlwb_batch_rows_bucket']:
        assert line in text, line
    spec = client.get('/openapi.json').json()
    record = spec['paths']['/predict']['post']['requestBody']['content']['application/json']['schema']['properties']['records']['items']
    assert record['required'] == ['distance', 'airline', 'hour'] and record['properties']['temp']['type'] == ['number', 'null']


def test_admin_needs_the_token(served):
    c, _ = make_client(served, token='s3cret')
    with c:
        assert c.post('/admin/reload').status_code == 401
        assert c.post('/admin/reload', headers={'Authorization': 'Bearer wrong'}).status_code == 401
        assert c.post('/admin/reload', headers={'Authorization': 'Bearer s3cret'}).status_code == 200
    c, _ = make_client(served, token=None)
    with c:
        r = c.post('/admin/reload', headers={'Authorization': 'Bearer '})
    assert r.status_code == 403 and 'admin endpoints are disabled' in r.json()['detail']


def test_reload_swaps_to_the_new_champion_and_refuses_a_tampered_one(served):
    reg = Registry(served.root / 'models' / 'registry', 'delay')
    demo_model(served.root / 'models', seed=5, shift=100.0)
    v2, _ = reg.register(served.root / 'models', None)
    c, _ = make_client(served, token='s3cret')
    auth = {'Authorization': 'Bearer s3cret'}
    with c:
        before = c.post('/predict', json={'records': [ROW]}).json()
        reg.promote(2)
        r = c.post('/admin/reload', headers=auth)
        assert r.json() == {'previous': 'delay/1', 'serving': 'delay/2', 'fast_path': True}
        after = c.post('/predict', json={'records': [ROW]}).json()
        assert (before['model_version'], after['model_version']) == ('delay/1', 'delay/2')
        assert after['predictions'][0]['prediction'] > before['predictions'][0]['prediction'] + 50  # the shifted model
        demo_model(served.root / 'models', seed=6)
        v3, _ = reg.register(served.root / 'models', None)
        f = v3.path / 'model.skops'
        os.chmod(f, 0o644)
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0xFF  # one flipped byte
        f.write_bytes(bytes(data))
        reg.promote(3)
        refused = c.post('/admin/reload', headers=auth)
        assert refused.status_code == 409 and 'changed after registration' in refused.json()['detail'] and refused.json()['serving'] == 'delay/2'
        assert c.post('/predict', json={'records': [ROW]}).json()['model_version'] == 'delay/2'
        assert 'mlwb_model_reloads_total{result="refused"} 1.0' in c.get('/metrics').text


def test_a_classifier_answers_labels_and_probabilities(project):
    project.set(registry={'root': 'models/registry', 'name': 'delay'})
    demo_model(project.root / 'models', task='classification')
    Registry(project.root / 'models' / 'registry', 'delay').register(project.root / 'models', None, alias='champion')
    c, _ = make_client(project)
    with c:
        r = c.post('/predict', json={'records': rows(5)}).json()
        fb = c.post('/feedback', json={'feedback': [{'request_id': r['predictions'][0]['request_id'], 'actual': 'late'}]})
        bad = c.post('/feedback', json={'feedback': [{'request_id': r['predictions'][0]['request_id'], 'actual': 'lost'}]})
        inv = c.post('/invocations', json={'instances': rows(5)}).json()
    assert {p['prediction'] for p in r['predictions']} <= {'late', 'on_time'}
    assert all(abs(sum(p['probabilities'].values()) - 1) < 1e-5 for p in r['predictions'])
    assert inv['predictions'] == [p['prediction'] for p in r['predictions']]
    assert fb.status_code == 200 and bad.status_code == 422 and "expected one of the classes ['late', 'on_time']" in bad.json()['detail']
    log = read_log(sqlite_path('sqlite:///logs/predictions.db', project.root))
    assert set(log['label'].dropna()) <= {'late', 'on_time'} and log['actual_label'].dropna().tolist() == ['late']


# --- issue 11: user input that once got a 5xx, or was stored in a form that broke reading the log -------------------
@pytest.mark.parametrize('times', [['9999-12-31T23:59:59-01:00'], ['0001-01-01T00:00:00+01:00'], ['0005-01-01T00:00:00'], ['1899-12-31T23:59:59Z']])
def test_event_times_out_of_range_are_a_422(client, times):
    r = client.post('/predict', json={'records': [ROW], 'event_times': times})
    assert r.status_code == 422 and r.json()['field'] == 'event_times[0]' and 'years 1900 to 2261' in r.json()['reason'], r.text


def test_event_times_are_stored_in_one_format_and_the_log_reads_back(served):
    c, _ = make_client(served)
    with c:
        ok = c.post('/predict', json={'records': [ROW] * 3, 'event_times': ['1900-01-01T00:00:00+01:00', '2261-12-31T23:59:59-23:59', '2013-10-01 14:00']})
        assert ok.status_code == 200, ok.text
    import sqlalchemy as sa
    url = sqlite_path('sqlite:///logs/predictions.db', served.root)
    with sa.create_engine(url).connect() as conn:
        stored = sorted(conn.exec_driver_sql('SELECT event_time FROM mlwb_predictions').scalars())
    assert stored == ['1899-12-31 23:00:00.000000', '2013-10-01 14:00:00.000000', '2262-01-01 23:58:59.000000']
    assert len(read_log(url)) == 3


def test_a_csv_cell_over_the_csv_field_limit_is_a_422(client):
    r = client.post('/invocations', content='distance,airline,hour\n500,' + 'A' * 131_073 + ',5\n', headers={'content-type': 'text/csv'})
    assert r.status_code == 422 and r.json()['field'] == 'csv_rows[0]' and 'field larger than field limit' in r.json()['reason'], r.text


def test_feedback_with_a_400_digit_actual_is_a_422(client):
    rid = client.post('/predict', json={'records': [ROW]}).json()['predictions'][0]['request_id']
    r = client.post('/feedback', content='{"feedback": [{"request_id": "%s", "actual": %s}]}' % (rid, '9' * 400), headers={'content-type': 'application/json'})
    assert r.status_code == 422 and r.json()['field'] == 'feedback[0].actual' and 'expected a finite number' in r.json()['reason'], r.text


@pytest.mark.parametrize('body, field', [
    (b'{"records": [{"distance": 1, "airline": "\\ud800", "hour": 1}]}', 'records[0].airline'),  # a lone surrogate: UTF-8 cannot hold it
    (b'{"records": [{"distance": 1, "airline": "A\\u0000", "hour": 1}]}', 'records[0].airline'),  # NUL: PostgreSQL cannot
    (b'{"records": [{"distance": 1, "airline": "AA", "hour": 1, "\\udcff": 1}]}', 'records[0].\\udcff'),  # named in the answer, as an escape
    (b'{"dataframe_records": [{"distance": 1, "airline": "\\udfff", "hour": 1}]}', 'dataframe_records[0].airline'),
    (b'{"feedback": [{"request_id": "\\ud800", "actual": 1.0}]}', 'feedback[0].request_id'),
    (b'{"feedback": [{"request_id": "a\\u0000", "actual": 1.0}]}', 'feedback[0].request_id'),
])
def test_what_the_log_cannot_store_is_a_422_naming_the_field(client, body, field):
    path = '/feedback' if b'feedback' in body else '/invocations' if b'dataframe' in body else '/predict'
    r = client.post(path, content=body, headers={'content-type': 'application/json'})
    assert r.status_code == 422 and r.json()['field'] == field, r.text


def test_numbers_beyond_2_53_are_refused_for_every_numeric_feature(client):
    r = client.post('/predict', json={'records': [ROW | {'distance': 1e300}]})
    assert r.status_code == 422 and 'records[0].distance: expected a number between -2**53 and 2**53' in r.json()['detail']


def test_health_and_readiness_fail_while_the_log_cannot_be_written(served):
    c, svc = make_client(served)
    with c:
        assert c.get('/health').json()['status'] == 'ok'
        with svc.log.engine.begin() as conn: conn.exec_driver_sql('ALTER TABLE mlwb_predictions RENAME TO moved')
        assert c.post('/predict', json={'records': [ROW]}).status_code == 200  # served; its row waits
        import time
        deadline = time.monotonic() + 30
        while svc.log.healthy and time.monotonic() < deadline: time.sleep(0.05)
        ready, health = c.get('/v2/health/ready'), c.get('/health')
        assert ready.status_code == 503 and 'no such table' in ready.json()['reason'], ready.text
        assert health.status_code == 503 and health.json()['status'] == 'failing'
        assert 'mlwb_predlog_write_errors_total 0.0' not in c.get('/metrics').text
        rid = dict(zip(COLUMNS, svc.log._queue[0]))['request_id']
        fb = c.post('/feedback', json={'feedback': [{'request_id': rid, 'actual': 1.0}]})  # was: a 30 s wait, then 404 'never served'
        assert fb.status_code == 503 and 'rows behind' in fb.json()['detail'], fb.text
        with svc.log.engine.begin() as conn: conn.exec_driver_sql('ALTER TABLE moved RENAME TO mlwb_predictions')
        assert svc.log.flush() and c.get('/v2/health/ready').status_code == 200
    assert len(read_log(sqlite_path('sqlite:///logs/predictions.db', served.root))) == 1


def test_model_card_shows_no_absolute_path(client, served):
    m = client.get('/model').json()
    assert m['registry']['source'] == 'models/model.skops'
    assert str(served.root) not in json.dumps(m) and '"/' not in json.dumps(m)


def test_an_app_in_process_leaves_the_interpreter_as_it_was(served):
    "Process tuning (gc.freeze, the switch interval) belongs to the server's entry point (serve.main), not to an app's startup."
    import gc, sys
    switch, frozen = sys.getswitchinterval(), gc.get_freeze_count()
    c, _ = make_client(served)
    with c: assert c.get('/health').status_code == 200
    assert (sys.getswitchinterval(), gc.get_freeze_count()) == (switch, frozen)


def test_a_predictor_carries_its_registry_record(served):
    "`Predictor.info` is the version's registry record, given to its constructor; /model shows it (empty for an unregistered model)."
    model, record = load_version(Registry(served.root / 'models' / 'registry', 'delay').get('champion'))
    assert Predictor(model, record).info == {}
    svc = Service(ServeParams(database_url='sqlite:///logs/predictions.db'), RegistryParams(root='models/registry', name='delay'), served.root,
                  predictor=Predictor(model, record, 'delay/1', info={'name': 'delay', 'version': 1, 'note': 'given'}))
    with TestClient(create_app(svc)) as c: card = c.get('/model').json()
    assert card['registry'] == {'name': 'delay', 'version': 1, 'note': 'given'} and card['test_metrics'] is None
