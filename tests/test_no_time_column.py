"""A dataset without a time column (`data.time_column: null`, a random split) runs the whole pipeline through DVC.

The backtest replays production in row order, in windows of a fixed number of rows, and says so; collect and
monitor run after it (nothing served yet: `no data`).
"""
import json

import pytest

from conftest import fast_train_params, make_sales_csv, sales_params

pytestmark = pytest.mark.slow


def test_dvc_repro_completes_without_a_time_column(project):
    make_sales_csv(project.root / 'data' / 'external' / 'sales.csv', n=1500, with_time=False)
    # the default params.yaml with the dataset's sections replaced, as a user edits it (serve, registry stay)
    params = project.params | sales_params(with_time=False) | fast_train_params()
    params['features'] = {'min_frequency': 5}  # no time: no calendar features
    params |= {'evaluate': {'seed': 2, 'n_resamples': 200, 'slices': ['store'], 'slice_min_rows': 30, 'importance_rows': 300, 'plot_points': 200,
                            'residuals_by': ['store'], 'units': 'units'},
               'monitor': {'min_rows': 50, 'min_labelled_rows': 100, 'n_resamples': 200},
               'retrain': {'min_labelled_rows': 200, 'n_resamples': 200}}
    project.params = params
    project.run('init', '--no-scm', '-q', cmd='dvc')
    r = project.run('repro', cmd='dvc', check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    backtest = json.loads((project.root / 'reports' / 'backtest.json').read_text())
    production = json.loads((project.root / 'reports' / 'prep.json').read_text())['splits']['production']
    assert backtest['replay'] == 'row order' and backtest['window'] == 100, backtest
    assert backtest['windows'] == -(-production // 100) and backtest['rows'] == production
    assert 'no time column' in backtest['note']
    assert (project.root / 'reports' / 'plots' / 'backtest.csv').exists() and (project.root / 'reports' / 'backtest.html').exists()
    monitor = json.loads((project.root / 'reports' / 'monitor.json').read_text())
    assert monitor['decision'] == 'no data' and monitor['rows'] == 0
    assert (project.root / 'reports' / 'monitor.html').exists()
