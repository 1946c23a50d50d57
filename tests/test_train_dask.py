"Training on a real Dask cluster (a LocalCluster of two worker processes on 127.0.0.1): the fits run on the workers with the data sent once, single-threaded, and select what this process selects; `mlwb stage train` on `compute.backend: dask` reads only `train.fit_rows` rows of a folder of parts."
import json

import numpy as np
import pandas as pd
import pytest

from conftest import Project, fast, kill_a_busy_worker

pytestmark = pytest.mark.slow


def _table(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({'t': pd.date_range('2021-01-01', periods=n, freq='h', tz='UTC'), 'x': rng.normal(size=n),
                       'kind': rng.choice(['a', 'b', 'c'], n), 'hour': np.arange(n) % 24})
    return df.assign(y=3 * np.sin(df['x'] * 2) + (df['kind'] == 'b') * 2 + rng.normal(0, 0.3, n))


def _params():
    from mlworkbench.config.params import CVParams, Candidate, FeaturesParams, TrainParams, validate_params
    data = validate_params({'data': {'target': 'y', 'task': 'regression', 'time_column': 't'}}).data
    train = TrainParams(seed=1, progress=False, cv=CVParams(folds=3), tune_rows=1500, candidates={
        'dummy': Candidate(estimator='dummy'), 'linear': Candidate(estimator='linear', space={'alpha': [0.1, 1.0, 10.0]}, n_iter=3),
        'hgb': Candidate(estimator='hist_gradient_boosting', params={'max_iter': 40}, space={'learning_rate': {'log_uniform': [0.05, 0.3]}}, n_iter=3)})
    return data, FeaturesParams(cyclical={'hour': 24}, min_frequency=5), train


def test_a_selection_on_the_cluster_is_the_one_this_process_makes(dask_client):
    "Every cross-validation fit is a task on a worker, the tuning rows and folds are scattered once for all candidates (joblib sends nothing more), and the scores, the choice and the model are identical."
    from distributed import get_task_stream
    from mlworkbench.model.train import select_model
    df = _table()
    data, features, train = _params()
    here = select_model(df, data, features, train)
    scattered, scatter = [], dask_client.scatter
    dask_client.scatter = lambda data, **kw: scattered.append(data) or scatter(data, **kw)
    try:
        with get_task_stream(dask_client) as stream: there = select_model(df, data, features, train, client=dask_client)
    finally: del dask_client.scatter
    pd.testing.assert_frame_equal(there.tried, here.tried)
    pd.testing.assert_frame_equal(there.best_per_candidate, here.best_per_candidate)
    assert there.chosen == here.chosen == 'hgb'
    np.testing.assert_array_equal(there.model.predict(df), here.model.predict(df))
    (first,) = scattered  # once, for every candidate: X and y of the tuning sample and each fold's row numbers
    assert [type(d).__name__ for d in first[:2]] == ['DataFrame', 'Series'] and [len(d) for d in first[:2]] == [1500, 1500]
    assert len(first) == 2 + 2 * train.cv.folds and all(isinstance(d, np.ndarray) for d in first[2:])
    ran = {t['worker'] for t in stream.data}
    assert len(stream.data) >= 3 and len(ran) == 2, (len(stream.data), ran)  # the fits ran as tasks, on both workers


def test_a_worker_killed_mid_search_changes_nothing(dask_client):
    "A fit lost with its worker is rerun by the scheduler on another (the nanny restarts the dead one): the same selection."
    import os, threading
    from mlworkbench.model.train import select_model
    df = _table()
    data, features, train = _params()
    here = select_model(df, data, features, train)
    out = {}
    run = threading.Thread(target=lambda: out.update(sel=select_model(df, data, features, train, client=dask_client)))
    run.start()
    victim = kill_a_busy_worker(dask_client, run)
    run.join(timeout=120)
    stuck = {} if not run.is_alive() else dask_client.run_on_scheduler(lambda dask_scheduler: {str(k): ts.state for k, ts in dask_scheduler.tasks.items()})
    assert not run.is_alive() and 'sel' in out, f'the search did not finish after a worker was killed; the scheduler holds {stuck}'
    dask_client.wait_for_workers(2, timeout=60)
    assert victim not in dask_client.run(os.getpid).values()
    pd.testing.assert_frame_equal(out['sel'].best_per_candidate, here.best_per_candidate)
    np.testing.assert_array_equal(out['sel'].model.predict(df), here.model.predict(df))


def test_the_workers_run_single_threaded_fits(dask_client):
    "A nanny starts its worker with OMP/MKL/OpenBLAS at one thread: a worker of `threads_per_worker` threads runs that many fits, never oversubscribing."
    def pools():
        import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime HistGradientBoosting uses)
        from threadpoolctl import threadpool_info
        return {p['internal_api']: p['num_threads'] for p in threadpool_info()}
    for worker, threads in dask_client.run(pools).items():
        assert threads and set(threads.values()) == {1}, (worker, threads)
        assert 'openmp' in threads, threads


def test_the_train_stage_on_dask_reads_a_sample_of_the_parts(tmp_path):
    "prep on Dask writes folders of parts; `mlwb stage train` on the same backend reads `train.fit_rows` of their rows, hashes the folder, and selects what this process would on those rows."
    from mlworkbench.config.params import load_params
    from mlworkbench.model.record import ModelRecord
    from mlworkbench.model.scale import path_sha256, read_rows
    from mlworkbench.model.train import select_model
    p = fast(Project(tmp_path))
    p.set(compute__backend='dask', compute__memory_limit='1GiB', train__fit_rows=1000)
    for stage in ('ingest', 'prep', 'train'): p.run('stage', stage)
    parts = p.root / 'data' / 'prepared' / 'train.parquet'
    assert parts.is_dir()
    record = ModelRecord.read(p.root / 'models' / 'model.json')
    rows = len(pd.read_parquet(parts))
    assert rows > 1000
    assert (record.training_data['rows'], record.training_data['file_rows']) == (1000, rows)
    assert record.training_data['sha256'] == path_sha256(parts)
    params = load_params(p.root / 'params.yaml')
    local = select_model(read_rows(parts, 1000, params.train.seed), params.data, params.features, params.train)
    assert {name: cv['mean'] for name, cv in record.cv.items()} == pytest.approx(dict(zip(local.best_per_candidate['candidate'], local.best_per_candidate['cv_mean'])), rel=1e-12)
    assert record.chosen == local.chosen and all(cv['rows'] == 1000 for cv in record.cv.values())  # tune_rows (40,000) > the 1,000 read
    report = (p.root / 'reports' / 'train.html').read_text()
    assert 'Ran on the Dask cluster at tcp://127.0.0.1:' in report and 'refit_on' in report
    assert json.loads((p.root / 'reports' / 'train.json').read_text())['chosen'] == local.chosen
