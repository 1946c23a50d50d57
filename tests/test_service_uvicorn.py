"`mlwb serve` as a real uvicorn process on 127.0.0.1: load, every row logged across a clean shutdown, hot reload under load, admin."
import json
import re
import signal
import threading
import time

import httpx
import numpy as np
import orjson
import pytest

from conftest import ADMIN_TOKEN
from mlworkbench.workbench.loadgen import http_request, load
from mlworkbench.serve.predictor import Predictor
from mlworkbench.monitor.snapshot import read_log
from mlworkbench.serve.predlog import sqlite_path
from mlworkbench.serve.registry import Registry, load_version
from mlworkbench.workbench.testing import demo_model

pytestmark = pytest.mark.slow


def rows(n, seed=0):
    rng = np.random.default_rng(seed)
    return [{'distance': round(float(rng.uniform(50, 3000)), 2), 'temp': None if i % 7 == 0 else round(float(rng.normal(60, 15)), 1),
             'airline': ['AA', 'B6', 'DL', 'UA', 'ZZ'][i % 5], 'hour': int(rng.integers(0, 24))} for i in range(n)]


def requests_mix(n=400, seed=0):
    "Prepared requests: (bytes, rows served if accepted, expected status) — single rows, batches, MLflow bodies, CSV and bad input."
    out, recs = [], rows(n, seed)
    for i, r in enumerate(recs):
        if i % 50 == 7: out.append((http_request('POST', '/predict', 'localhost', orjson.dumps({'records': [r | {'distance': 'far'}]})), 0, 422))
        elif i % 20 == 3: out.append((http_request('POST', '/predict', 'localhost', orjson.dumps({'records': recs[i:i + 8]})), len(recs[i:i + 8]), 200))
        elif i % 20 == 5:
            cols = list(r)
            body = {'dataframe_split': {'columns': cols, 'data': [[x[c] for c in cols] for x in recs[i:i + 3]]}}
            out.append((http_request('POST', '/invocations', 'localhost', orjson.dumps(body)), len(recs[i:i + 3]), 200))
        elif i % 20 == 9:
            text = 'distance,airline,hour\n' + ''.join(f"{x['distance']},{x['airline']},{x['hour']}\n" for x in recs[i:i + 2])
            out.append((http_request('POST', '/invocations', 'localhost', text.encode(), 'text/csv'), len(recs[i:i + 2]), 200))
        else: out.append((http_request('POST', '/predict', 'localhost', orjson.dumps({'records': [r]})), 1, 200))
    return out


def logged_rows(project) -> int:
    return len(read_log(sqlite_path('sqlite:///logs/predictions.db', project.root)))


def test_load_20000_requests_no_5xx_and_every_row_logged(served, server_factory):
    server = server_factory(served)
    mix = requests_mix()
    res = load('127.0.0.1', server.port, [m[0] for m in mix], concurrency=32, total=20_000, keep_bodies=True)
    assert res.requests == 20_000 and not res.errors, res.summary()
    assert res.server_errors == 0, res.summary()
    wrong = [(i, s) for i, s, _ in res.bodies if s != mix[i % len(mix)][2]]
    assert not wrong, wrong[:5]
    served_rows = sum(mix[i % len(mix)][1] for i, s, _ in res.bodies if s == 200)
    ids = {p['request_id'] for i, s, b in res.bodies if s == 200 and b.startswith(b'{"model_version"') for p in orjson.loads(b)['predictions']}
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    assert 'Application shutdown complete.' in server.log.read_text()  # a clean shutdown writes every queued row
    assert logged_rows(served) == served_rows
    log = read_log(sqlite_path('sqlite:///logs/predictions.db', served.root))
    assert log['request_id'].is_unique and ids <= set(log['request_id'])


def test_answers_equal_the_model_in_process(served, server_factory):
    server = server_factory(served)
    batch = rows(300, seed=3)
    with httpx.Client(base_url=server.url) as c:
        got = c.post('/predict', json={'records': batch}).json()['predictions']
        inv = c.post('/invocations', json={'dataframe_records': batch}).json()['predictions']
    model, record = load_version(Registry(served.root / 'models' / 'registry', 'delay').get('champion'))
    slow = Predictor(model, record, fast=False)
    expected = model.predict(slow.schema.frame(slow.schema.columns(batch)))
    np.testing.assert_allclose([p['prediction'] for p in got], expected, rtol=1e-12)
    np.testing.assert_allclose(inv, expected, rtol=1e-12)


def predicted_rows(client) -> float:
    "Rows the server has predicted on /predict, from its Prometheus counter."
    found = re.search(r'^mlwb_predictions_total\{route="predict"\} ([0-9.e+]+)$', client.get('/metrics').text, re.M)
    return float(found.group(1)) if found else 0.0


def test_hot_reload_under_load_drops_nothing(served, server_factory):
    "A reload in the middle of a fixed number of requests: every one answered 200, by one version or the other, and none dropped."
    reg = Registry(served.root / 'models' / 'registry', 'delay')
    demo_model(served.root / 'models', seed=1, shift=100.0)
    reg.register(served.root / 'models', None)
    server = server_factory(served)
    single = [http_request('POST', '/predict', 'localhost', orjson.dumps({'records': [r]})) for r in rows(200, seed=4)]
    total, result = 8000, {}
    def run(): result['load'] = load('127.0.0.1', server.port, single, concurrency=16, total=total, keep_bodies=True)
    t = threading.Thread(target=run)
    t.start()
    with httpx.Client(base_url=server.url, timeout=60) as c:
        for _ in range(600):  # reload once the load is under way: a few hundred of its requests answered
            if predicted_rows(c) >= 300 or not t.is_alive(): break
            time.sleep(0.05)
        reg.promote(2)
        r = c.post('/admin/reload', headers={'Authorization': f'Bearer {ADMIN_TOKEN}'})
        t.join(300)
        assert r.status_code == 200 and r.json()['serving'] == 'delay/2', r.text
        assert c.get('/health').json()['model_version'] == 'delay/2'
    res = result['load']
    assert res.requests == total and res.statuses == {200: total} and not res.errors, res.summary()  # none dropped, none refused
    assert len(res.bodies) == total
    versions = [orjson.loads(b)['model_version'] for _, _, b in sorted(res.bodies)]
    assert versions[0] == 'delay/1' and versions[-1] == 'delay/2'
    switch = versions.index('delay/2')
    assert set(versions[switch + 100:]) == {'delay/2'}  # once swapped, the old model answers only requests already in flight
    # every answer is the prediction of the version it names
    preds = {}
    for ref in ('1', '2'):
        model, record = load_version(reg.get(ref))
        preds[f'delay/{ref}'] = Predictor(model, record, fast=False)
    for i, _, b in sorted(res.bodies)[::97]:
        body = orjson.loads(b)
        p = preds[body['model_version']]
        req = orjson.loads(single[i % len(single)].split(b'\r\n\r\n', 1)[1])
        assert body['predictions'][0]['prediction'] == pytest.approx(float(p.predict_records(req['records'])['prediction'][0]), rel=1e-12)


def test_reload_of_a_tampered_version_is_refused_and_admin_needs_the_token(served, server_factory):
    server = server_factory(served)
    reg = Registry(served.root / 'models' / 'registry', 'delay')
    demo_model(served.root / 'models', seed=2)
    v2, _ = reg.register(served.root / 'models', None)
    f = v2.path / 'model.skops'
    f.chmod(0o644)
    data = bytearray(f.read_bytes())
    data[100:110] = b'0123456789'
    f.write_bytes(bytes(data))
    reg.promote(2)
    with httpx.Client(base_url=server.url) as c:
        assert c.post('/admin/reload').status_code == 401
        assert c.post('/admin/reload', headers={'Authorization': 'Bearer nope'}).status_code == 401
        r = c.post('/admin/reload', headers={'X-Admin-Token': ADMIN_TOKEN})
        assert r.status_code == 409 and 'changed after registration' in r.json()['detail'] and r.json()['serving'] == 'delay/1'
        assert c.post('/predict', json={'records': rows(1)}).json()['model_version'] == 'delay/1'
    r = served.run('serve', check=False)  # the champion now is the tampered version: refused at start, in one line
    assert r.returncode == 2 and 'delay/2: model.skops was changed after registration' in r.stderr and 'Traceback' not in r.stderr
    no_token = server_factory(served, token=None, args=('--model', '1'))
    assert httpx.post(no_token.url + '/admin/reload', headers={'Authorization': f'Bearer {ADMIN_TOKEN}'}).status_code == 403


def test_serve_refuses_what_it_cannot_serve(served):
    r = served.run('serve', '--model', 'challenger', check=False)
    assert r.returncode == 2 and 'mlwb serve: delay has no challenger yet' in r.stderr and 'Traceback' not in r.stderr
    r = served.run('serve', '--database-url', 'nosuchdb://x', check=False)
    assert r.returncode == 2 and 'mlwb serve:' in r.stderr and 'Traceback' not in r.stderr


def test_several_workers_follow_a_reload_and_share_metrics(served, server_factory):
    reg = Registry(served.root / 'models' / 'registry', 'delay')
    demo_model(served.root / 'models', seed=1, shift=100.0)
    reg.register(served.root / 'models', None)
    server = server_factory(served, args=('--workers', '2'))
    body = {'records': rows(1)}
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for _ in range(20): assert c.post('/predict', json=body).status_code == 200
        reg.promote(2)
        assert c.post('/admin/reload', headers={'Authorization': f'Bearer {ADMIN_TOKEN}'}).json()['serving'] == 'delay/2'
        deadline, versions = time.monotonic() + 20, set()
        while time.monotonic() < deadline:  # new connections land on either worker
            with httpx.Client(base_url=server.url, timeout=30) as fresh:
                versions = {fresh.post('/predict', json=body).json()['model_version'] for _ in range(10)}
            if versions == {'delay/2'}: break
            time.sleep(0.5)
        assert versions == {'delay/2'}
        text = c.get('/metrics').text
    served_total = sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith('mlwb_predictions_total{'))
    assert served_total >= 30  # counted across both workers
    assert server.stop() in (0, -signal.SIGTERM)


def test_a_lone_surrogate_is_refused_and_the_next_1000_rows_are_all_logged(served, server_factory):
    "Issue 11, finding 1: the row once got a 200 and then killed the log writer, losing it and every row after it."
    server = server_factory(served)
    bad = b'{"records": [{"distance": 500.0, "temp": 61.5, "airline": "\\ud800", "hour": 5}]}'
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post('/predict', content=bad, headers={'content-type': 'application/json'})
        assert r.status_code == 422 and r.json()['field'] == 'records[0].airline', r.text
        ids = []
        for i in range(0, 1000, 100):
            ids += [p['request_id'] for p in c.post('/predict', json={'records': rows(100, seed=i)}).json()['predictions']]
        assert c.get('/v2/health/ready').status_code == 200
        fb = c.post('/feedback', json={'feedback': [{'request_id': ids[-1], 'actual': 3.0}]})
        assert fb.status_code == 200, fb.text  # the last row is in the log already: no 30 s wait, no 404
        text = c.get('/metrics').text
    assert 'mlwb_predlog_write_errors_total 0.0' in text and 'mlwb_predlog_rejected_rows_total 0.0' in text
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert 'could not be written' not in server.log.read_text()
    log = read_log(sqlite_path('sqlite:///logs/predictions.db', served.root))
    assert len(log) == 1000 and set(log['request_id']) == set(ids)


def test_a_body_shorter_than_its_content_length_is_a_408(served, server_factory):
    "Issue 11, finding 2: no read timeout, so the request hung for as long as the client kept the connection."
    import socket
    served.set(serve__body_timeout_seconds=1)
    server = server_factory(served)
    for path in ('/predict', '/feedback'):
        with socket.create_connection(('127.0.0.1', server.port), timeout=30) as s:
            s.sendall(f'POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"rec'.encode())
            answer = b''
            while chunk := s.recv(65536): answer += chunk  # the server closes the connection after answering
        head, _, body = answer.partition(b'\r\n\r\n')
        assert head.startswith(b'HTTP/1.1 408'), answer
        assert json.loads(body)['detail'] == 'body: not received in full within 1 s: 5 bytes arrived of the 100 declared'
    assert httpx.get(server.url + '/v2/health/ready').status_code == 200


def test_serve_refuses_a_bad_log_location_in_one_line(served):
    (served.root / 'afile').touch()
    for url, message in [('notaurl', "database_url 'notaurl' is not a SQLAlchemy URL"), ('sqlite:///afile/p.db', 'cannot create the folder')]:
        r = served.run('serve', '--database-url', url, check=False)
        assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize('workers', [1, 2])
def test_serve_entry_point_passes_its_settings_to_every_worker(served, workers):
    "`mlworkbench.serve.main.serve`: a setting given only as an argument (the log's URL) reaches every worker, and shutdown is clean."
    import os, subprocess, sys, urllib.request
    from conftest import free_port
    port = free_port()
    code = ('from mlworkbench.config.settings import project_settings; from mlworkbench.serve.main import serve; '
            f"serve(project_settings({str(served.root)!r}, serve={{'port': {port}, 'workers': {workers}, 'database_url': 'sqlite:///logs/entry.db'}}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith('MLWB_')} | {'MLWB_ADMIN_TOKEN': ADMIN_TOKEN}
    log = served.root / 'entry.log'
    proc = subprocess.Popen([sys.executable, '-c', code], cwd=served.root, env=env, stdout=open(log, 'w'), stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/v2/health/ready', timeout=2) as r:
                    if r.status == 200: break
            except OSError: pass
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        with httpx.Client(base_url=f'http://127.0.0.1:{port}', timeout=30) as c:
            answers = [c.post('/predict', json={'records': [r]}) for r in rows(40, seed=5)]
        assert [a.status_code for a in answers] == [200] * 40
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode in (0, -signal.SIGTERM) and 'Application shutdown complete.' in log.read_text(), log.read_text()  # uvicorn re-raises the signal it handled
    assert log.read_text().count('Application startup complete.') == workers
    assert len(read_log(sqlite_path('sqlite:///logs/entry.db', served.root))) == 40  # every worker logged where the argument said
    assert not (served.root / 'logs' / 'predictions.db').exists()  # and not where params.yaml says
