"`mlwb predict-batch`: a table scored with the champion as the service scores it, on the local backend and on a Dask LocalCluster; a bad cell is one line and the previous output stays."
import json
import os

import numpy as np
import pandas as pd
import pytest

from mlworkbench.serve.registry import Registry, load_version
from mlworkbench.serve.predictor import Predictor

from conftest import kill_a_busy_worker


def orders(n, seed=0) -> pd.DataFrame:
    "Rows the demo model takes, with an id it does not, some temperatures missing and an airline it never saw."
    rng = np.random.default_rng(seed)
    return pd.DataFrame({'flight': np.arange(n), 'distance': rng.uniform(50, 3000, n).round(1), 'temp': np.where(np.arange(n) % 5 == 0, np.nan, rng.normal(60, 15, n).round(1)),
                         'airline': rng.choice(['AA', 'B6', 'DL', 'UA', 'ZZ-never-seen'], n), 'hour': rng.integers(0, 24, n)})


def service_answers(project, rows: pd.DataFrame) -> list:
    model, record = load_version(Registry(project.root / 'models' / 'registry', 'delay').get('champion'))
    records = rows.drop(columns='flight').astype(object).where(rows.notna(), None).to_dict('records')
    return Predictor(model, record).predict_records(records, max_rows=len(records))['prediction']


@pytest.mark.slow
def test_a_table_is_scored_as_the_service_scores_it_on_both_backends(served):
    rows = orders(3000)
    for i in range(3): rows.iloc[1000 * i:1000 * (i + 1)].to_csv(served.root / f'orders-{i}.csv', index=False)
    r = served.run('predict-batch', 'orders-*.csv', 'scored', '--keep', 'flight')
    assert '3,000 rows scored by delay/1 into scored (3 part(s))' in r.stdout
    local = pd.read_parquet(served.root / 'scored')
    assert local.columns.tolist() == ['flight', 'prediction'] and local['flight'].tolist() == list(range(3000))
    np.testing.assert_allclose(local['prediction'], service_answers(served, rows), rtol=1e-12)
    served.set(compute={'backend': 'dask', 'workers': 2, 'memory_limit': '1GiB', 'dashboard_address': None})
    r = served.run('predict-batch', 'orders-*.csv', 'scored-on-dask', '--keep', 'flight')
    assert 'Ran on the Dask cluster at tcp://127.0.0.1:' in r.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(served.root / 'scored-on-dask'), local)


def test_a_bad_cell_is_one_line_naming_it_and_the_previous_output_stays(served):
    rows = orders(300)
    rows.to_csv(served.root / 'orders.csv', index=False)
    served.run('predict-batch', 'orders.csv', 'scored')
    before = served.digest('scored')
    bad = rows.astype({'hour': object}); bad.loc[123, 'hour'] = 'noon'
    bad.to_csv(served.root / 'orders.csv', index=False)
    r = served.run('predict-batch', 'orders.csv', 'scored', check=False)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == ["mlwb predict-batch: rows[123].hour: expected a number, got 'noon'"]
    assert served.digest('scored') == before
    assert not [p for p in served.root.iterdir() if p.name.startswith('.scored')]  # no staging folder left
    r = served.run('predict-batch', 'orders.csv', 'x', '--model', 'challenger', check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and 'challenger' in r.stderr


def _scored_with_a_worker_killed(client, served, output):
    "predict_batch of 16 CSV files on the cluster at `client`'s address, a busy worker killed mid-run; (what it returned, or the error)."
    import threading
    from mlworkbench.config.compute_params import ComputeParams
    from mlworkbench.serve.batch import predict_batch
    from mlworkbench.serve.predictor import load_predictor
    from mlworkbench.workbench.compute import compute_session
    predictor = load_predictor(served.root / 'models' / 'registry', 'delay', 'champion', fast=False)
    out = {}
    def score():
        try:
            with compute_session(ComputeParams(backend='dask', address=client.scheduler.address), announce=lambda line: None):
                out['done'] = predict_batch(predictor, 'orders-*.csv', output, ['flight'], root=served.root)
        except Exception as e: out['error'] = e
    run = threading.Thread(target=score); run.start()
    victim = kill_a_busy_worker(client, run)
    run.join(timeout=240)
    assert not run.is_alive()
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.run(os.getpid).values()  # killed, and its nanny started another
    return out


@pytest.mark.slow
def test_a_worker_killed_mid_batch_changes_nothing_and_one_lost_for_good_is_one_line(served, dask_client):
    "The scheduler reruns a killed worker's partitions: the same predictions. When it may not (no failures allowed), the run stops with one line naming the memory setting, and the previous output is untouched."
    from mlworkbench.config.params import ParamsError
    rows = orders(80_000)
    for i in range(16): rows.iloc[5000 * i:5000 * (i + 1)].to_csv(served.root / f'orders-{i:02d}.csv', index=False)
    out = _scored_with_a_worker_killed(dask_client, served, 'scored')
    assert 'error' not in out, out
    assert (out['done']['rows'], out['done']['partitions']) == (80_000, 16)
    scored = pd.read_parquet(served.root / 'scored')
    assert scored['flight'].tolist() == list(range(80_000))
    np.testing.assert_allclose(scored['prediction'], service_answers(served, rows), rtol=1e-12)
    before = served.digest('scored')
    dask_client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, 'allowed_failures', 0))
    try: out = _scored_with_a_worker_killed(dask_client, served, 'scored')
    finally: dask_client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, 'allowed_failures', 3))
    assert isinstance(out.get('error'), ParamsError), out
    message = str(out['error'])
    assert message.startswith(f'compute.address: the workers of the cluster at {dask_client.scheduler.address} need more memory') and '\n' not in message
    assert served.digest('scored') == before
    assert not [p for p in served.root.iterdir() if p.name.startswith('.scored')]  # no staging folder left
