"The prediction log on a real PostgreSQL 15 server that the tests start themselves (initdb + pg_ctl in a temp dir)."
import signal
import uuid

import numpy as np
import orjson
import pytest
import sqlalchemy as sa

from mlworkbench.loadgen import http_request, load
from mlworkbench.predlog import PredictionLog, make_engine, migrate, read_log, utcnow

pytestmark = pytest.mark.slow


@pytest.fixture
def pg(postgres_url):
    "A fresh database on the session's server for each test."
    name = f'mlwb_{uuid.uuid4().hex[:8]}'
    admin = sa.create_engine(postgres_url, isolation_level='AUTOCOMMIT')
    with admin.connect() as c: c.exec_driver_sql(f'CREATE DATABASE {name}')
    yield postgres_url.rsplit('/', 1)[0] + '/' + name
    with admin.connect() as c: c.exec_driver_sql(f'DROP DATABASE {name} WITH (FORCE)')
    admin.dispose()


def test_log_writes_batches_migrates_and_joins_feedback(pg):
    log = PredictionLog(pg, batch_rows=100, flush_seconds=0.05)
    now = utcnow()
    log.add([{'request_id': f'r{i}', 'created_at': now, 'model_version': 'delay/1', 'route': 'predict',
              'features': {'distance': float(i), 'airline': 'AA', 'temp': None}, 'prediction': i / 2, 'label': None} for i in range(1050)])
    assert log.add_feedback([{'request_id': 'r3', 'actual': 2.0}, {'request_id': 'nope', 'actual': 1.0}]) == ['nope']
    assert log.add_feedback([{'request_id': 'r3', 'actual': 2.0}]) == [] and log.add_feedback([{'request_id': 'r3', 'actual': 2.5}]) == []
    log.close()
    df = read_log(pg)
    assert len(df) == 1050 and df['request_id'].is_unique
    assert df.set_index('request_id').loc['r3', 'actual'] == 2.5
    assert df['feature.temp'].isna().all()
    engine = make_engine(pg)
    assert migrate(engine) == 1  # already current
    with engine.connect() as c:
        kind = c.exec_driver_sql("SELECT data_type FROM information_schema.columns WHERE table_name = 'mlwb_predictions' AND column_name = 'features'").scalar()
    assert kind == 'jsonb'


def test_service_logs_every_row_to_postgres(served, server_factory, pg):
    server = server_factory(served, args=('--database-url', pg))
    rng = np.random.default_rng(0)
    reqs, sizes = [], []
    for i in range(300):
        n = 1 if i % 10 else 5
        recs = [{'distance': float(rng.uniform(50, 3000)), 'temp': None, 'airline': 'B6', 'hour': int(rng.integers(0, 24))} for _ in range(n)]
        reqs.append(http_request('POST', '/predict', 'localhost', orjson.dumps({'records': recs}))); sizes.append(n)
    res = load('127.0.0.1', server.port, reqs, concurrency=16, total=3000, keep_bodies=True)
    assert res.statuses == {200: 3000} and not res.errors, res.summary()
    first = orjson.loads(res.bodies[0][2])['predictions'][0]['request_id']
    import httpx
    fb = httpx.post(server.url + '/feedback', json={'feedback': [{'request_id': first, 'actual': 4.0}]})
    assert fb.status_code == 200, fb.text
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM) and 'Application shutdown complete.' in server.log.read_text()
    df = read_log(pg)
    assert len(df) == sum(sizes[i % len(sizes)] for i, _, _ in res.bodies)
    assert df.set_index('request_id').loc[first, 'actual'] == 4.0 and set(df['model_version']) == {'delay/1'}
