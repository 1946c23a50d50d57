"Ingest and prep on partitions, on a real Dask cluster (a LocalCluster of two worker processes on 127.0.0.1): the default data gives prepare's rows exactly, and a worker killed mid-prep changes nothing."
import os
import signal
import threading
import time

import pandas as pd
import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def client():
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host='127.0.0.1', dashboard_address=None, memory_limit='2GiB') as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope='module')
def flights():
    "The default data as ingest reads it, and params.yaml's prep."
    from mlworkbench.config.params import load_params
    from mlworkbench.data.ingest import read_table
    p = load_params(REPO / 'params.yaml')
    return {name: read_table(location, name) for name, location in p.ingest.tables.items() if name in p.prep.columns}, p


def test_default_data_gives_prepares_rows_on_a_cluster(client, flights, tmp_path):
    import dask.dataframe as dd
    from mlworkbench.data.partitions import prepare_partitions
    from mlworkbench.data.prep import prepare
    raw, p = flights
    local = prepare(raw, p.data, p.prep)
    parted = prepare_partitions(raw | {'flights': dd.from_pandas(raw['flights'], npartitions=12)}, p.data, p.prep, tmp_path / 'prepared')
    for name, df in local.splits.items():
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / 'prepared' / f'{name}.parquet'), df)
    assert parted.log.steps == local.log.steps and parted.log.notes == local.log.notes
    assert parted.summary() == local.summary()


def test_a_worker_killed_mid_prep_changes_nothing(client, flights, tmp_path):
    "The scheduler reruns a lost worker's tasks on the other (its nanny restarts it): the run completes with the same rows."
    import dask.dataframe as dd
    from mlworkbench.data.partitions import prepare_partitions
    raw, p = flights
    parts = raw | {'flights': dd.from_pandas(raw['flights'], npartitions=12)}
    expected = prepare_partitions(parts, p.data, p.prep, tmp_path / 'before').summary()
    pids = client.run(os.getpid)
    done = {}
    run = threading.Thread(target=lambda: done.update(result=prepare_partitions(parts, p.data, p.prep, tmp_path / 'prepared')))
    run.start()
    deadline = time.monotonic() + 30
    while not client.processing() or not any(client.processing().values()):  # wait until the workers hold tasks
        assert time.monotonic() < deadline, 'no task ever ran'
        time.sleep(0.05)
    victim = next(iter(pids.values()))
    os.kill(victim, signal.SIGKILL)
    run.join(timeout=240)
    assert not run.is_alive() and 'result' in done
    assert done['result'].summary() == expected
    for name in ('train', 'test', 'production'):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / 'prepared' / f'{name}.parquet'), pd.read_parquet(tmp_path / 'before' / f'{name}.parquet'))
    assert victim not in client.run(os.getpid).values()
