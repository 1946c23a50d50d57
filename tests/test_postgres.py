"The prediction log on a real PostgreSQL 15 server that the tests start themselves (initdb + pg_ctl in a temp dir)."
import signal
import uuid

import numpy as np
import orjson
import pytest
import sqlalchemy as sa

from mlworkbench.workbench.loadgen import http_request, load
from mlworkbench.monitor.snapshot import read_log
from mlworkbench.serve.predlog import SCHEMA_VERSION, PredictionLog, feedback, make_engine, metadata, migrate, utcnow

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
    log.add([{'request_id': 'nul', 'created_at': now, 'model_version': 'delay/1', 'route': 'predict',  # PostgreSQL cannot store U+0000
              'features': {'airline': 'A\x00'}, 'prediction': 0.0, 'label': None}])
    assert log.add_feedback([{'request_id': 'r3', 'actual': 2.0}, {'request_id': 'nope', 'actual': 1.0}]) == ['nope']
    assert log.add_feedback([{'request_id': 'r3', 'actual': 2.0}]) == [] and log.add_feedback([{'request_id': 'r3', 'actual': 1.0}, {'request_id': 'r3', 'actual': 2.5}]) == []
    assert (log.rejected, log.healthy) == (1, True)  # left out alone; the writer goes on
    log.close()
    df = read_log(pg)
    assert len(df) == 1050 and df['request_id'].is_unique
    assert df.set_index('request_id').loc['r3', 'actual'] == 2.5
    assert df['feature.temp'].isna().all()
    engine = make_engine(pg)
    assert migrate(engine) == SCHEMA_VERSION  # already current
    with engine.connect() as c:
        kind = c.exec_driver_sql("SELECT data_type FROM information_schema.columns WHERE table_name = 'mlwb_predictions' AND column_name = 'features'").scalar()
    assert kind == 'jsonb'



def test_an_old_log_is_upgraded_in_place_and_collected(pg, tmp_path):
    "A version-1 log (no event_time) on PostgreSQL: the upgrade keeps its rows, the snapshot for the monitor reads it."
    import datetime as dt
    from mlworkbench.monitor.snapshot import snapshot_log
    engine = make_engine(pg)
    with engine.begin() as c:  # the tables as the first release created them
        c.exec_driver_sql('CREATE TABLE mlwb_schema (version INTEGER NOT NULL)'); c.exec_driver_sql('INSERT INTO mlwb_schema VALUES (1)')
        c.exec_driver_sql('CREATE TABLE mlwb_predictions (request_id VARCHAR(64) PRIMARY KEY, created_at TIMESTAMP WITH TIME ZONE NOT NULL, '
                          'model_version VARCHAR(200) NOT NULL, route VARCHAR(32) NOT NULL, features JSONB NOT NULL, prediction FLOAT, label VARCHAR(200))')
        c.exec_driver_sql("""INSERT INTO mlwb_predictions VALUES ('old-0', '2024-01-01 10:00:00+00', 'delay/1', 'predict', '{"distance": 1.0}', 3.0, NULL)""")
        metadata.create_all(c, tables=[feedback])  # unchanged since version 1
    log = PredictionLog(pg, flush_seconds=0.05)  # what the service does at start-up: migrate
    then = dt.datetime(2013, 12, 2, 7, tzinfo=dt.timezone.utc)
    log.add([{'request_id': 'new-0', 'created_at': utcnow(), 'event_time': then, 'model_version': 'delay/2', 'route': 'predict',
              'features': {'distance': 2.0}, 'prediction': 5.0, 'label': None}])
    assert log.add_feedback([{'request_id': 'old-0', 'actual': 4.0}]) == []
    log.close()
    summary = snapshot_log(pg, tmp_path / 'production')
    assert (summary['rows'], summary['labelled'], summary['versions']) == (2, 1, ['delay/1', 'delay/2'])
    import pandas as pd
    snap = pd.read_parquet(tmp_path / 'production' / 'log.parquet').set_index('request_id')
    assert snap.loc['old-0', 'event_time'] == pd.Timestamp('2024-01-01 10:00', tz='UTC')  # no event time: when it was served
    assert snap.loc['new-0', 'event_time'] == pd.Timestamp(then) and snap.loc['old-0', 'actual'] == 4.0


def test_a_version_2_log_gets_the_probabilities_column_and_keeps_its_rows(pg, tmp_path):
    "A log created before multi-class models on PostgreSQL: the column is added on open, old rows read back without it, new rows keep theirs."
    import pandas as pd
    from mlworkbench.monitor.snapshot import snapshot_log
    engine = make_engine(pg)
    with engine.begin() as c:  # the tables as version 2 created them
        c.exec_driver_sql('CREATE TABLE mlwb_schema (version INTEGER NOT NULL)'); c.exec_driver_sql('INSERT INTO mlwb_schema VALUES (1), (2)')
        c.exec_driver_sql('CREATE TABLE mlwb_predictions (request_id VARCHAR(64) PRIMARY KEY, created_at TIMESTAMP WITH TIME ZONE NOT NULL, '
                          'event_time TIMESTAMP WITH TIME ZONE, model_version VARCHAR(200) NOT NULL, route VARCHAR(32) NOT NULL, features JSONB NOT NULL, '
                          'prediction FLOAT, label VARCHAR(200))')
        c.exec_driver_sql("""INSERT INTO mlwb_predictions VALUES ('old-0', '2024-01-01 10:00:00+00', NULL, 'churn/1', 'predict', '{"distance": 1.0}', 0.8, 'yes')""")
        metadata.create_all(c, tables=[feedback])
    log = PredictionLog(pg, flush_seconds=0.05)
    probs = {'early': 0.1, 'late': 0.7, 'on_time': 0.2}
    log.add([{'request_id': 'new-0', 'created_at': utcnow(), 'model_version': 'lateness/1', 'route': 'predict', 'features': {'distance': 2.0},
              'prediction': 0.7, 'label': 'late', 'probabilities': probs},
             {'request_id': 'new-1', 'created_at': utcnow(), 'model_version': 'delay/1', 'route': 'predict', 'features': {'distance': 2.0},
              'prediction': 3.0, 'label': None}])  # a row without probabilities: SQL NULL
    assert log.add_feedback([{'request_id': 'new-0', 'actual_label': 'early'}]) == []
    log.close()
    df = read_log(pg).set_index('request_id')
    assert df.loc['new-0', 'probabilities'] == probs and df.loc['old-0', 'probabilities'] is None and df.loc['old-0', 'label'] == 'yes'
    with engine.connect() as c:
        assert c.exec_driver_sql('SELECT count(*) FROM mlwb_predictions WHERE probabilities IS NULL').scalar() == 2
        assert c.exec_driver_sql("SELECT data_type FROM information_schema.columns WHERE table_name = 'mlwb_predictions' AND column_name = 'probabilities'").scalar() == 'jsonb'
    assert migrate(engine) == SCHEMA_VERSION == 3
    snapshot_log(pg, tmp_path / 'production')
    snap = pd.read_parquet(tmp_path / 'production' / 'log.parquet').set_index('request_id')
    assert snap.loc['new-0', 'probabilities'] == '{"early": 0.1, "late": 0.7, "on_time": 0.2}' and snap.loc['new-0', 'actual_label'] == 'early'


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
