"Ingest and prep on partitions, on a real Dask cluster (a LocalCluster of two worker processes on 127.0.0.1): the default data gives prepare's rows exactly, and a worker killed mid-prep changes nothing."
import os
import threading

import pandas as pd
import pytest

from conftest import REPO, kill_a_busy_worker

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def flights():
    "The default data as ingest reads it, and params.yaml's prep."
    from mlworkbench.config.params import load_params
    from mlworkbench.data.ingest import read_table
    p = load_params(REPO / 'params.yaml')
    return {name: read_table(location, name) for name, location in p.ingest.tables.items() if name in p.prep.columns}, p


def test_default_data_gives_prepares_rows_on_a_cluster_also_when_a_worker_is_killed(dask_client, flights, tmp_path):
    "The scheduler reruns a lost worker's tasks on the other (its nanny restarts it): the run completes with prepare's rows, counts and notes."
    import dask.dataframe as dd
    from mlworkbench.data.partitions import prepare_partitions
    from mlworkbench.data.prep import prepare
    raw, p = flights
    local = prepare(raw, p.data, p.prep)
    done = {}
    parts = raw | {'flights': dd.from_pandas(raw['flights'], npartitions=12)}
    run = threading.Thread(target=lambda: done.update(result=prepare_partitions(parts, p.data, p.prep, tmp_path / 'prepared')))
    run.start()
    victim = kill_a_busy_worker(dask_client, run)
    run.join(timeout=240)
    assert not run.is_alive() and 'result' in done
    dask_client.wait_for_workers(2, timeout=60)
    assert victim not in dask_client.run(os.getpid).values()  # killed, and its nanny started another
    for name, df in local.splits.items():
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / 'prepared' / f'{name}.parquet'), df)
    assert done['result'].log.steps == local.log.steps and done['result'].log.notes == local.log.notes
    assert done['result'].summary() == local.summary()


def test_the_data_stages_on_dask_write_what_the_local_backend_writes(tmp_path):
    "A user changes only `compute.backend`: `mlwb stage ingest` and `mlwb stage prep` on a LocalCluster write prepare's rows and summary, and the report says where they ran."
    from conftest import Project, fast
    from mlworkbench.config.params import load_params
    from mlworkbench.data.stages import prep_stage
    p = fast(Project(tmp_path))  # a seeded sample of 3,000 flights: on Dask, the same rows are picked
    p.set(compute__backend='dask', compute__memory_limit='1GiB')
    p.run('stage', 'ingest'); p.run('stage', 'prep')
    local = load_params(p.root / 'params.yaml').model_copy(update={'compute': load_params(REPO / 'params.yaml').compute})  # the same params, backend local
    assert local.compute.backend == 'local'
    prep_stage(local, p.root / 'data' / 'raw', tmp_path / 'local', tmp_path / 'local.json')
    for name in ('train', 'test', 'production'):
        assert (p.root / 'data' / 'prepared' / f'{name}.parquet').is_dir()  # a folder of parts, written by the workers
        pd.testing.assert_frame_equal(pd.read_parquet(p.root / 'data' / 'prepared' / f'{name}.parquet'), pd.read_parquet(tmp_path / 'local' / f'{name}.parquet'))
    assert (p.root / 'reports' / 'prep.json').read_text() == (tmp_path / 'local.json').read_text()
    report = (p.root / 'reports' / 'prep.html').read_text()
    assert 'Ran on the Dask cluster at tcp://127.0.0.1:' in report and 'dashboard, live while the stage runs: ' in report
    assert 'distributed.shuffle' not in report  # no scheduler chatter in a stakeholder's page


def test_a_random_split_on_a_cluster_picks_the_rows_prepare_picks(dask_client, flights, tmp_path):
    "A table without a time column, deduplicated (a shuffle that loses the file order) and split at random: the workers write prepare's rows."
    import dask.dataframe as dd
    from mlworkbench.config.params import DataParams, SplitParams
    from mlworkbench.data.partitions import prepare_partitions
    from mlworkbench.data.prep import prepare
    raw, p = flights
    raw = raw | {'flights': raw['flights'].iloc[:30_000]}
    data = DataParams(target=p.data.target, task=p.data.task)
    prep = p.prep.model_copy(update={'split': SplitParams(method='random', seed=11), 'time_features': {'parts': []}, 'dedupe': True})
    local = prepare(raw, data, prep)
    parted = prepare_partitions(raw | {'flights': dd.from_pandas(raw['flights'], npartitions=7)}, data, prep, tmp_path / 'prepared')
    for name, df in local.splits.items():
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / 'prepared' / f'{name}.parquet'), df)
    assert parted.summary() == local.summary()
