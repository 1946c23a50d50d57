"""The monitor off the happy path: a stray request far from the replayed traffic, an empty log, tiny windows.

A replay logs every row with its event time; a request without `event_times` (the README's own curl) is logged
at the time it was served, years later. One such row must not make hundreds of empty windows, take the
headline reason, or stretch the charts: it is counted and named, and its window is reported as too small.
"""
import json

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

from mlworkbench.config.params import MonitorParams
from mlworkbench.model.metrics import bootstrap_metrics
from mlworkbench.model.modelfile import load_model
from mlworkbench.monitor.monitor import monitor, plot_monitor
from mlworkbench.monitor.snapshot import LOG_COLUMNS
from mlworkbench.workbench.testing import demo_model

PARAMS = MonitorParams(window='7D', n_resamples=200, min_rows=50, min_labelled_rows=100)


def world(n, seed):
    r = np.random.default_rng(seed)
    df = pd.DataFrame({'distance': r.uniform(50, 3000, n), 'temp': r.normal(60, 15, n),
                       'airline': pd.array(r.choice(['AA', 'B6', 'DL', 'UA'], n), dtype='str'), 'hour': pd.array(r.integers(0, 24, n), dtype='Int64')})
    y = df['distance'] / 100 + (df['airline'] == 'B6') * 5 + np.cos(2 * np.pi * df['hour'].astype(float) / 24) * 3 + r.normal(0, 2, n)
    return df, y.to_numpy()


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    "A model, its reference window and test metrics, and the log of a three-week replay of October 2013."
    folder = tmp_path_factory.mktemp('demo')
    record = demo_model(folder, n=1500, seed=0)
    model = load_model(folder / 'model.skops')
    ref, y_ref = world(1500, 2)
    ref_pred = model.predict(ref)
    tm = {r['metric']: {k: r[k] for k in ('value', 'ci_low', 'ci_high')} for r in bootstrap_metrics('regression', y_ref, ref_pred, n_resamples=200).to_dict('records')}
    rng = np.random.default_rng(1)
    parts = []
    for w in range(3):
        X, y = world(300, 10 + w)
        t = pd.Timestamp('2013-10-01', tz='UTC') + pd.Timedelta(days=7 * w) + pd.to_timedelta(rng.uniform(0, 6.9, len(X)), 'D')
        parts.append(pd.DataFrame({'request_id': [f'w{w}-{i}' for i in range(len(X))], 'event_time': t, 'created_at': pd.Timestamp('2026-12-01 09:00', tz='UTC'),
                                   'model_version': 'demo/1', 'route': 'predict', 'prediction': model.predict(X), 'label': None,
                                   'actual': y, 'actual_label': None}).join(X.add_prefix('feature.')))
    log = pd.concat(parts, ignore_index=True)
    X, _ = world(1, 99)
    stray = pd.DataFrame({'request_id': ['curl-0'], 'event_time': pd.Timestamp('2026-12-01 09:30', tz='UTC'), 'created_at': pd.Timestamp('2026-12-01 09:30', tz='UTC'),
                          'model_version': 'demo/1', 'route': 'predict', 'prediction': model.predict(X), 'label': None,
                          'actual': np.nan, 'actual_label': None}).join(X.add_prefix('feature.'))
    return record, ref, ref_pred, tm, log, pd.concat([log, stray], ignore_index=True)


def run(setup, log, params=PARAMS):
    record, ref, ref_pred, tm, *_ = setup
    return monitor(log, ref, record, tm, params, reference_predictions=ref_pred)


def years(ax) -> tuple[int, int]:
    lo, hi = ax.get_xlim()
    return mdates.num2date(lo).year, mdates.num2date(hi).year


def test_a_stray_row_far_from_the_replay_neither_makes_empty_windows_nor_leads(setup):
    *_, log, with_stray = setup
    calm, res = run(setup, log), run(setup, with_stray)
    s = res.summary()
    # one window per week that holds rows, and one for the stray row: no empty window in between
    assert [w['rows'] for w in s['windows']] == [300, 300, 300, 1], [w['window'] for w in s['windows']][:10]
    assert s['windows'][-1]['window'] == '2026-12-01' and s['windows'][-1]['drift_status'] == 'not enough data'
    # the decision and its headline are those of the replayed weeks; the stray window is reported, not in the lead
    assert res.decision['decision'] == calm.decision['decision']
    assert res.decision['reasons'][0] == calm.decision['reasons'][0]
    assert '2026' not in res.decision['reasons'][0]
    # counted and named
    assert s['outlying'] == {'rows': 1, 'bulk': ['2013-10-01', '2013-10-21'], 'examples': [{'request_id': 'curl-0', 'event_time': '2026-12-01 09:30:00+00:00'}]}, s['outlying']
    assert any(r.startswith('1 row far outside the log') and 'curl-0' in r for r in res.decision['reasons']), res.decision['reasons']
    # the charts show the replayed weeks only
    heat, perf, share = plot_monitor(res)
    assert len(heat.axes[0].get_xticklabels()) == 3
    assert years(perf.axes[0]) == years(share.axes[0]) == (2013, 2013)
    # and the plot data for DVC too
    assert res.plot_data()['window'].tolist() == ['2013-10-01', '2013-10-08', '2013-10-15']
    json.dumps(s, allow_nan=False)


def test_no_logged_rows_is_no_data_not_ok(setup):
    res = run(setup, pd.DataFrame(columns=LOG_COLUMNS))
    assert res.decision['decision'] == 'no data' and res.summary()['windows'] == []
    assert plot_monitor(res) == []


def test_rows_but_no_window_big_enough_is_no_data(setup):
    *_, log, _ = setup
    res = run(setup, log.iloc[::30])  # 30 rows over three weeks: nothing can be judged
    assert res.decision['decision'] == 'no data', res.decision
    assert all(w['drift_status'] == 'not enough data' for w in res.summary()['windows'])
    assert plot_monitor(res) == [] and res.plot_data().empty
