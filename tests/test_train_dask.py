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


def test_recency_weights_go_to_the_workers_once_and_select_what_this_process_selects(dask_client):
    "With train.recency_half_life_days, each row's weight is scattered once beside the rows, each fold is fitted with its rows' weights on the workers, and the selection is this process's."
    from mlworkbench.model.train import select_model
    df = _table()
    data, features, unweighted = _params()
    train = unweighted.model_copy(update={'recency_half_life_days': 14})
    here = select_model(df, data, features, train)
    scattered, scatter = [], dask_client.scatter
    dask_client.scatter = lambda data, **kw: scattered.append(data) or scatter(data, **kw)
    try: there = select_model(df, data, features, train, client=dask_client)
    finally: del dask_client.scatter
    pd.testing.assert_frame_equal(there.best_per_candidate, here.best_per_candidate)
    np.testing.assert_array_equal(there.model.predict(df), here.model.predict(df))
    (first,) = scattered  # X, y, the weights of the tuning sample, then each fold's row numbers
    assert len(first) == 3 + 2 * train.cv.folds and isinstance(first[2], np.ndarray) and len(first[2]) == 1500
    assert not np.allclose(here.model.predict(df), select_model(df, data, features, unweighted).model.predict(df))  # the weights changed the model


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


def test_a_chosen_lightgbm_learns_from_every_partition_across_the_workers(dask_client, tmp_path):
    "A lightgbm candidate is tuned on the rows in memory like every family; chosen, LightGBM's Dask estimator trains it on every row of the split's parts on both workers. It is saved and loaded as the service loads it, and learns what LightGBM learns from all rows in one process."
    import lightgbm
    from distributed import get_task_stream
    from mlworkbench.config.params import Candidate
    from mlworkbench.model.modelfile import load_model, save_model
    from mlworkbench.model.train import select_model
    df = _table(6000)
    parts = tmp_path / 'train.parquet'
    parts.mkdir()
    for i in range(6): df.iloc[1000 * i:1000 * (i + 1)].to_parquet(parts / f'part.{i:06d}.parquet')
    data, features, train = _params()
    boosted = {'n_estimators': 150, 'objective': 'l1', 'min_child_samples': 20}
    train = train.model_copy(update={'candidates': {'dummy': train.candidates['dummy'], 'linear': train.candidates['linear'],
                                                    'lgbm': Candidate(estimator='lightgbm', params=boosted, space={'learning_rate': [0.05, 0.1]}, n_iter=2)}})
    sample = df.iloc[np.sort(np.random.default_rng(0).choice(len(df), 1500, replace=False))]  # what the stage reads (train.fit_rows)
    with get_task_stream(dask_client) as stream:
        sel = select_model(sample, data, features, train, client=dask_client, partitions=parts)
    assert sel.chosen == 'lgbm'
    best = sel.best_per_candidate.set_index('candidate')
    assert (best.loc['lgbm', 'refit_on'], best.loc['linear', 'refit_on'], best.loc['lgbm', 'tuned_on']) == (6000, 1500, 1500)
    trained_on = {t['worker'] for t in stream.data if 'train_part' in str(t['key'])}
    assert len(trained_on) == 2, trained_on  # each worker learnt from its own partitions
    assert isinstance(sel.model[-1], lightgbm.LGBMRegressor)
    save_model(sel.model, tmp_path / 'model.skops')
    holdout = _table(3000, seed=9)
    served = load_model(tmp_path / 'model.skops').predict(holdout)
    np.testing.assert_array_equal(served, sel.model.predict(holdout))
    params = {k: v for k, v in best.loc['lgbm', 'params'].items()}
    one_process = lambda rows: (lambda p: p.set_params(**{f'model__{k}': v for k, v in params.items()}).fit(rows.drop(columns='y'), rows['y']))(
        __import__('mlworkbench.model.candidates', fromlist=['make_pipeline']).make_pipeline(train.candidates['lgbm'], sel.roles, features, 'regression', train.seed))
    mae = lambda pred: float(np.abs(pred - holdout['y']).mean())
    on_all, on_sample = mae(one_process(df).predict(holdout)), mae(one_process(sample).predict(holdout))
    assert mae(served) < on_sample, (mae(served), on_sample)  # four times the rows: better than the sample alone
    assert mae(served) == pytest.approx(on_all, rel=0.05), (mae(served), on_all)  # and as good as all rows in one process


def test_a_lightgbm_classifier_learns_its_labels_from_every_partition(dask_client, tmp_path):
    "Text labels too: the classifier trained across the workers calls the same classes as one trained on all rows in one process, and agrees with it on nearly every row."
    from mlworkbench.config.params import Candidate
    from mlworkbench.model.candidates import make_pipeline
    from mlworkbench.model.features import feature_roles
    from mlworkbench.model.scale import fit_on_partitions
    df = _table(4000).assign(late=lambda d: np.where(d['y'] > 0.5, 'late', 'on time')).drop(columns='y')
    parts = tmp_path / 'train.parquet'
    parts.mkdir()
    for i in range(4): df.iloc[1000 * i:1000 * (i + 1)].to_parquet(parts / f'part.{i:06d}.parquet')
    _, features, _ = _params()
    roles = feature_roles(df, 'late', features, 't')
    X = df[[c for r in roles.values() for c in r]]
    pipe = lambda: make_pipeline(Candidate(estimator='lightgbm', params={'n_estimators': 60}), roles, features, 'classification', 1)
    spread, rows = fit_on_partitions(pipe(), X.iloc[:800], df['late'].iloc[:800], parts, dask_client)
    whole = pipe().fit(X, df['late'])
    assert rows == 4000 and list(spread.classes_) == list(whole.classes_) == ['late', 'on time']
    holdout = _table(2000, seed=5)
    assert (spread.predict(holdout) == whole.predict(holdout)).mean() > 0.95
