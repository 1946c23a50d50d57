"Schema-driven fuzzing of a real `mlwb serve` of the real default model: schemathesis `--checks all` against its own OpenAPI document."
import json
import os
import re
import subprocess

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import BIN, REPO, Project, Server

pytestmark = pytest.mark.slow

HERE = REPO / 'tests'
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)


@pytest.fixture(scope='module')
def live(tmp_path_factory):
    "The default flights model, trained by the real stages on a 3000-flight sample, registered and served by `mlwb serve`."
    project = Project(tmp_path_factory.mktemp('fuzz'))
    project.set(prep__sample_rows=3000, train__candidates__hist_gradient_boosting__n_iter=2, train__candidates__random_forest__n_iter=1,
                train__progress=False, registry={'root': 'models/registry', 'name': 'arr_delay'},
                serve={'database_url': 'sqlite:///logs/predictions.db', 'max_rows': 50, 'max_body_bytes': 100_000, 'body_timeout_seconds': 5})
    for stage in ('ingest', 'prep', 'train'): project.run('stage', stage)
    from mlworkbench.serve.registry import Registry
    Registry(project.root / 'models' / 'registry', 'arr_delay').register(project.root / 'models', None, alias='champion')
    server = Server(project)
    yield project, server
    server.stop()


def server_errors(server) -> int:
    "5xx answers the server has counted so far, on every route."
    text = httpx.get(server.url + '/metrics').text
    return int(sum(float(n) for n in re.findall(r'^mlwb_http_requests_total\{[^}]*status="5\d\d"\} ([0-9.e+]+)$', text, re.M)))


def test_schemathesis_all_checks_find_nothing(live):
    "Every check (no 5xx, answers as documented, valid bodies accepted, invalid ones refused); bounded by examples (--max-time would repeat fuzzing until it is spent) and a timeout."
    project, server = live
    errors_before = server_errors(server)
    env = {**os.environ, 'PYTHONPATH': str(HERE), 'SCHEMATHESIS_HOOKS': 'schemathesis_hooks'}
    from conftest import ADMIN_TOKEN
    r = subprocess.run([str(BIN / 'schemathesis'), '--config-file', str(HERE / 'schemathesis.toml'), 'run', f'{server.url}/openapi.json',
                        '--checks', 'all', '--max-examples', '120', '--seed', '11', '--workers', '1',
                        '-H', f'Authorization: Bearer {ADMIN_TOKEN}'], capture_output=True, text=True, cwd=project.root, env=env, timeout=600)
    assert r.returncode == 0 and 'Failures:' not in r.stdout, r.stdout[-8000:] + r.stderr[-2000:]
    generated = int(re.search(r'(\d+) generated', r.stdout).group(1))
    assert generated >= 500, r.stdout[-2000:]
    assert server_errors(server) == errors_before  # this test's requests, whatever ran before it on the same server
    text = httpx.get(server.url + '/metrics').text
    assert 'mlwb_predlog_write_errors_total 0.0' in text and 'mlwb_predlog_rejected_rows_total 0.0' in text


FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


def documented(client) -> dict:
    "{(path, method): the answers the OpenAPI document lists for it}."
    spec = client.get('/openapi.json').json()
    return {(path, m.upper()): {int(c) for c in op['responses']} for path, ops in spec['paths'].items() for m, op in ops.items()}


def send(client, method, path, content=None, ctype='application/json', answers=None):
    "Send a request; it must be answered as the document says (`answers`), never with a 5xx; a refusal says why."
    r = client.request(method, path, content=content, headers={'content-type': ctype} if ctype else {})
    allowed = {c for c in (answers or {}).get((path, method), {404, 405}) if c < 500}  # 503 is documented, but only for a failing log
    assert r.status_code < 500 and (not answers or r.status_code in allowed | {404, 405}), (method, path, content[:300] if content else None, r.status_code, r.text[:500])
    if 400 <= r.status_code < 500 and r.status_code not in (404, 405): assert r.json()['detail'], r.text  # every refusal says why
    return r


def test_arbitrary_bytes_json_and_content_types(live):
    _, server = live
    with httpx.Client(base_url=server.url, timeout=30) as client:
        paths = [p for p, ops in client.get('/openapi.json').json()['paths'].items() if 'post' in ops and p != '/admin/reload']
        answers = documented(client)

        @FUZZ
        @given(path=st.sampled_from(paths), content=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
               ctype=st.sampled_from(['application/json', 'text/csv', 'text/plain', 'application/json; charset=utf-8', None]))
        def check(path, content, ctype):
            send(client, 'POST', path, content, ctype, answers)
        check()


def test_every_route_and_method(live):
    _, server = live
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answers = documented(client)
        for path in [*client.get('/openapi.json').json()['paths'], '/no/such/route']:
            for method in ('GET', 'POST', 'PUT', 'DELETE'):
                send(client, method, path, b'{}', answers=answers)
        r = send(client, 'POST', '/feedback', json.dumps({'feedback': [{'request_id': 'never-served', 'actual': 1.0}]}).encode())
        assert r.status_code == 404 and 'never-served' in r.json()['detail']


def test_broken_bodies_are_refused_with_a_4xx(live):
    "Each kind of broken body gets its own status and names its field."
    _, server = live
    with httpx.Client(base_url=server.url, timeout=30) as client:
        spec = client.get('/openapi.json').json()
        example = spec['paths']['/predict']['post']['requestBody']['content']['application/json']['example']['records'][0]
        ok = json.dumps({'records': [example]})
        item = {'request_id': 'never-served', 'actual': 1.0}
        cases = [('/predict', b'', 'application/json', 400, 'body'), ('/predict', b'{"records": [', 'application/json', 400, 'body'),
                 ('/predict', b'[]', 'application/json', 422, 'body'), ('/predict', b'{}', 'application/json', 422, 'records'),
                 ('/predict', b'{"records": []}', 'application/json', 422, 'records'), ('/predict', b'{"records": [1]}', 'application/json', 422, 'records[0]'),
                 ('/predict', ok[:-1].encode() + b', "x": 1}', 'application/json', 422, 'x'),
                 ('/predict', json.dumps({'records': [example], 'event_times': ['soon']}).encode(), 'application/json', 422, 'event_times[0]'),
                 ('/predict', json.dumps({'records': [example] * 51}).encode(), 'application/json', 413, 'records'),
                 ('/predict', b'{"records": ["' + b'x' * 100_001 + b'"]}', 'application/json', 413, 'body'),
                 ('/invocations', b'a,b\n1,2\n', 'text/plain', 415, 'content-type'), ('/invocations', b'\xff', 'text/csv', 400, 'body'),
                 ('/invocations', b'{}', 'application/json', 422, 'body'), ('/invocations', b'{"instances": [], "inputs": []}', 'application/json', 422, 'body'),
                 ('/invocations', b'{"params": 1, "instances": []}', 'application/json', 422, 'params'),
                 ('/feedback', b'{}', 'application/json', 422, 'feedback'), ('/feedback', b'{"feedback": []}', 'application/json', 422, 'feedback'),
                 ('/feedback', b'{"feedback": [{"request_id": 5, "actual": 1}]}', 'application/json', 422, 'feedback[0].request_id'),
                 ('/feedback', b'{"feedback": [{"request_id": "x", "actual": "late"}]}', 'application/json', 422, 'feedback[0].actual'),
                 ('/feedback', b'{"feedback": [{"request_id": "x", "actual": 1, "y": 2}]}', 'application/json', 422, 'feedback[0].y'),
                 ('/feedback', json.dumps({'feedback': [item] * 51}).encode(), 'application/json', 413, 'feedback'),
                 ('/feedback', json.dumps({'feedback': [item]}).encode(), 'application/json', 404, 'feedback.request_id')]
        got = []
        for path, body, ctype, status, field in cases:
            r = client.post(path, content=body, headers={'content-type': ctype})
            got.append((path, body[:60], r.status_code, r.json().get('field')))
        assert got == [(path, body[:60], status, field) for path, body, _, status, field in cases]
