"Schema-driven fuzzing of a real `mlwb serve`: requests generated from its own OpenAPI schema, valid and broken; never a 5xx."
import datetime as dt
import json
import math

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytestmark = pytest.mark.slow

SENT = []  # (method, path, status) of every generated request, across the tests of this module

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)


@pytest.fixture(scope='module')
def live(tmp_path_factory):
    "One server for the module: a small registered model, its OpenAPI schema and a client."
    from conftest import Project, Server
    from mlworkbench.registry import Registry, demo_model
    project = Project(tmp_path_factory.mktemp('fuzz'))
    project.set(registry={'root': 'models/registry', 'name': 'delay'}, serve={'database_url': 'sqlite:///logs/predictions.db', 'max_rows': 50, 'max_body_bytes': 20000})
    demo_model(project.root / 'models')
    Registry(project.root / 'models' / 'registry', 'delay').register(project.root / 'models', None, alias='champion')
    server = Server(project)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client, client.get('/openapi.json').json()
    server.stop()


def body_schema(spec, path):
    "The JSON schema of a route's request body, its $refs resolved."
    schema = spec['paths'][path]['post']['requestBody']['content']['application/json']['schema']
    text = json.dumps(schema)
    for name, sub in spec.get('components', {}).get('schemas', {}).items():
        text = text.replace(json.dumps({'$ref': f'#/components/schemas/{name}'}), json.dumps(sub))
    return json.loads(text)


def send(client, method, path, content=None, ctype='application/json'):
    r = client.request(method, path, content=content, headers={'content-type': ctype} if ctype else {})
    SENT.append((method, path, r.status_code))
    assert r.status_code < 500, (method, path, content[:300] if content else None, r.status_code, r.text[:500])
    if 400 <= r.status_code < 500 and r.status_code not in (404, 405) or path == '/feedback' and r.status_code == 404:
        assert r.json()['detail'], r.text  # every refusal says why
    return r


def from_schema(schema: dict, max_items: int = 5):
    "A strategy for JSON values valid under `schema` (the subset of JSON Schema an OpenAPI body of this service uses)."
    types = schema.get('type', 'object')
    if isinstance(types, list): return st.one_of([from_schema(schema | {'type': t}, max_items) for t in types])
    if types == 'null': return st.none()
    if types == 'boolean': return st.booleans()
    if types == 'integer': return st.integers(-2**53, 2**53) | st.sampled_from([int(x) for x in schema.get('examples', [0])])
    if types == 'number': return st.floats(allow_nan=False, allow_infinity=False) | st.integers(-2**53, 2**53) | st.sampled_from(schema.get('examples', [0.0]))
    if types == 'string' and schema.get('format') == 'date-time':
        return st.datetimes(timezones=st.none() | st.just(dt.timezone.utc)).map(lambda d: d.isoformat())
    if types == 'string': return st.text(max_size=30) | st.sampled_from(schema.get('examples', ['']))
    if types == 'array':
        return st.lists(from_schema(schema.get('items', {}), max_items), min_size=schema.get('minItems', 0), max_size=min(schema.get('maxItems', max_items), max_items))
    props, required = schema.get('properties', {}), set(schema.get('required', []))
    if not props: return st.dictionaries(st.text(max_size=10), json_values, max_size=4)
    @st.composite
    def obj(draw):
        out = {k: draw(from_schema(sub, max_items)) for k, sub in props.items()
               if 'x-length-of' not in sub and (k in required or draw(st.booleans()))}
        for k, sub in props.items():  # an array with one item per item of a sibling (OpenAPI extension x-length-of)
            if 'x-length-of' in sub and (k in required or draw(st.booleans())):
                n = len(out.get(sub['x-length-of']) or [])
                out[k] = draw(st.lists(from_schema(sub.get('items', {}), max_items), min_size=n, max_size=n))
        return out
    return obj()


@st.composite
def mutated(draw, schema):
    "A body from `schema`, then broken in one way a client might break it: a value replaced, a field dropped or added."
    body = draw(from_schema(schema))
    rows = body.get('records') or body.get('dataframe_records') or body.get('feedback')
    target = draw(st.sampled_from(rows)) if isinstance(rows, list) and rows else body
    how = draw(st.sampled_from(['replace', 'drop', 'add', 'nonfinite']))
    keys = list(target)
    if how == 'replace' and keys: target[draw(st.sampled_from(keys))] = draw(json_values)
    elif how == 'drop' and keys: del target[draw(st.sampled_from(keys))]
    elif how == 'nonfinite' and keys: target[draw(st.sampled_from(keys))] = draw(st.sampled_from([math.nan, math.inf, -math.inf, 10**30, -2**63]))
    else: target[draw(st.text(max_size=12))] = draw(json_values)
    return body


FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.mark.parametrize('path', ['/predict', '/invocations'])
def test_valid_bodies_from_the_schema_are_answered(live, path):
    client, spec = live
    schema = body_schema(spec, path)

    @FUZZ
    @given(body=from_schema(schema))
    def check(body):
        r = send(client, 'POST', path, json.dumps(body).encode())
        assert r.status_code == 200, r.text  # the schema the service publishes is the schema it accepts
    check()


@pytest.mark.parametrize('path', ['/predict', '/invocations', '/feedback'])
def test_broken_bodies_are_refused_with_a_4xx(live, path):
    client, spec = live
    schema = body_schema(spec, path)

    @FUZZ
    @given(body=mutated(schema))
    def check(body):
        send(client, 'POST', path, json.dumps(body, allow_nan=True).encode())
    check()


def test_arbitrary_bytes_json_and_content_types(live):
    client, spec = live
    paths = [p for p, ops in spec['paths'].items() if 'post' in ops and p != '/admin/reload']

    @FUZZ
    @given(path=st.sampled_from(paths), content=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
           ctype=st.sampled_from(['application/json', 'text/csv', 'text/plain', 'application/json; charset=utf-8', None]))
    def check(path, content, ctype):
        send(client, 'POST', path, content, ctype)
    check()


def test_every_route_and_method(live):
    client, spec = live
    for path in [*spec['paths'], '/no/such/route']:
        for method in ('GET', 'POST', 'PUT', 'DELETE'):
            send(client, method, path, b'{}')
    r = send(client, 'POST', '/feedback', json.dumps({'feedback': [{'request_id': 'never-served', 'actual': 1.0}]}).encode())
    assert r.status_code == 404 and 'never-served' in r.json()['detail']


def test_at_least_a_thousand_requests_and_no_5xx():
    from collections import Counter
    counts = Counter(s for *_, s in SENT)
    assert len(SENT) >= 1000, counts
    assert not [s for s in SENT if s[2] >= 500], counts
    assert {200, 400, 404, 405, 422} <= set(counts), counts  # accepted and refused, for several reasons
