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


def test_schemathesis_all_checks_find_nothing(live):
    "Every check (no 5xx, answers as documented, valid bodies accepted, invalid ones refused); bounded by examples (--max-time would repeat fuzzing until it is spent) and a timeout."
    project, server = live
    env = {**os.environ, 'PYTHONPATH': str(HERE), 'SCHEMATHESIS_HOOKS': 'schemathesis_hooks'}
    from conftest import ADMIN_TOKEN
    r = subprocess.run([str(BIN / 'schemathesis'), '--config-file', str(HERE / 'schemathesis.toml'), 'run', f'{server.url}/openapi.json',
                        '--checks', 'all', '--max-examples', '120', '--seed', '11', '--workers', '1',
                        '-H', f'Authorization: Bearer {ADMIN_TOKEN}'], capture_output=True, text=True, cwd=project.root, env=env, timeout=600)
    assert r.returncode == 0 and 'Failures:' not in r.stdout, r.stdout[-8000:] + r.stderr[-2000:]
    generated = int(re.search(r'(\d+) generated', r.stdout).group(1))
    assert generated >= 500, r.stdout[-2000:]
    text = httpx.get(server.url + '/metrics').text
    assert not re.search(r'mlwb_http_requests_total\{[^}]*status="5\d\d"\}', text), text
    assert 'mlwb_predlog_write_errors_total 0.0' in text and 'mlwb_predlog_rejected_rows_total 0.0' in text


FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


def send(client, method, path, content=None, ctype='application/json'):
    r = client.request(method, path, content=content, headers={'content-type': ctype} if ctype else {})
    assert r.status_code < 500, (method, path, content[:300] if content else None, r.status_code, r.text[:500])
    if 400 <= r.status_code < 500 and r.status_code not in (404, 405): assert r.json()['detail'], r.text  # every refusal says why
    return r


def test_arbitrary_bytes_json_and_content_types(live):
    _, server = live
    with httpx.Client(base_url=server.url, timeout=30) as client:
        paths = [p for p, ops in client.get('/openapi.json').json()['paths'].items() if 'post' in ops and p != '/admin/reload']

        @FUZZ
        @given(path=st.sampled_from(paths), content=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
               ctype=st.sampled_from(['application/json', 'text/csv', 'text/plain', 'application/json; charset=utf-8', None]))
        def check(path, content, ctype):
            send(client, 'POST', path, content, ctype)
        check()


def test_every_route_and_method(live):
    _, server = live
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for path in [*client.get('/openapi.json').json()['paths'], '/no/such/route']:
            for method in ('GET', 'POST', 'PUT', 'DELETE'):
                send(client, method, path, b'{}')
        r = send(client, 'POST', '/feedback', json.dumps({'feedback': [{'request_id': 'never-served', 'actual': 1.0}]}).encode())
        assert r.status_code == 404 and 'never-served' in r.json()['detail']
