"Drift detection at its stated error rates (many seeds), and on the default data's real seasonal change."
import json

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from mlworkbench.config.params import MonitorParams, load_params
from mlworkbench.monitor.drift import drift_over_windows, drift_report

FEATURES = {'x': 'numeric', 'z': 'numeric', 'hour': 'cyclical', 'colour': 'categorical', 'site': 'categorical'}


def sample(n, rng, shift=0.0, mix=(0.5, 0.3, 0.2)):
    "x ~ N(10, 2) moved by `shift` standard deviations, a skewed z, a discrete hour, and two categoricals."
    return pd.DataFrame({'x': rng.normal(10, 2, n) + 2 * shift, 'z': rng.exponential(3, n), 'hour': rng.integers(0, 24, n),
                         'colour': rng.choice(['red', 'green', 'blue'], n, p=mix), 'site': rng.choice(list('ABCD'), n)})


@pytest.mark.parametrize('method', ['holm', 'bonferroni'])
def test_false_alarm_rate_of_p_values_is_at_most_alpha(method):
    # two fresh samples from one distribution per seed: a report with any drifted feature is a false alarm, and the
    # correction bounds their rate (family-wise) by alpha; 300 seeds give a binomial sd of 1.3 points at 5%
    p = MonitorParams(correction=method)
    alarms, features_flagged = [], []
    for seed in range(300):
        rng = np.random.default_rng(seed)
        r = drift_report(sample(500, rng), sample(300, rng), FEATURES, p)
        assert set(r.features['method']) == {'ks', 'chi2'}
        alarms.append(bool(r.drifted))
        features_flagged.append(len(r.drifted) / 5)
    assert np.mean(alarms) <= p.alpha + 0.03
    assert np.mean(features_flagged) <= p.alpha / 5 + 0.01


def test_no_false_alarms_from_distances_on_large_samples():
    p = MonitorParams()
    for seed in range(20):
        rng = np.random.default_rng(1000 + seed)
        r = drift_report(sample(20000, rng), sample(5000, rng), FEATURES, p)
        assert set(r.features['method']) == {'wasserstein', 'jensenshannon'}
        assert r.drifted == [] and r.status == 'no drift'
        assert r.features['score'].max() < 0.8  # noise stays well under the line


@pytest.mark.parametrize('n_cur, methods', [(300, {'ks', 'chi2'}), (5000, {'wasserstein', 'jensenshannon'})])
def test_known_shifts_are_found_at_both_sizes(n_cur, methods):
    # half a standard deviation on x, and a changed mix of colours; nothing else moves
    p = MonitorParams()
    found = []
    for seed in range(40):
        rng = np.random.default_rng(2000 + seed)
        r = drift_report(sample(5000, rng), sample(n_cur, rng, shift=0.5, mix=(0.3, 0.3, 0.4)), FEATURES, p)
        assert set(r.features['method']) == methods
        found.append(r.drifted)
    assert np.mean([set(d) == {'x', 'colour'} for d in found]) >= 0.9
    assert np.mean([{'x', 'colour'} <= set(d) for d in found]) == 1.0


def test_a_tiny_window_never_raises_and_never_judges():
    p = MonitorParams()
    rng = np.random.default_rng(0)
    ref = sample(1000, rng)
    for n in (0, 1, 2, 5, 99):
        r = drift_report(ref, sample(n, rng, shift=5), FEATURES, p)
        assert r.status == 'not enough data' and r.drifted == []
        json.dumps(r.summary(), allow_nan=False)


DATA = REPO / 'data' / 'prepared'


@pytest.mark.skipif(not (DATA / 'production.parquet').exists() or not (REPO / 'models' / 'model.json').exists(),
                    reason='needs the default data prepared and a trained model (dvc repro)')
def test_the_default_data_drifts_with_the_seasons():
    # reference: July-September; current: October, November, December. Temperature and dew point must drift each month.
    params = load_params(REPO / 'params.yaml')
    test, prod = pd.read_parquet(DATA / 'test.parquet'), pd.read_parquet(DATA / 'production.parquet')
    features = json.loads((REPO / 'models' / 'model.json').read_text())['features']
    wd = drift_over_windows(test, prod, features, 'MS', params.monitor, times=params.data.time_column, timezone=params.data.timezone)
    assert [f'{w:%Y-%m}' for w in wd.windows['window']] == ['2013-10', '2013-11', '2013-12']
    for report in wd.reports:
        assert report.status == 'drift'
        assert {'temp', 'dewp'} <= set(report.drifted[:4])  # among the strongest
        assert not {'distance', 'sched_dep_time', 'hour'} & set(report.drifted)  # the timetable does not change much
    temp = wd.features[wd.features['feature'] == 'temp']['distance'].tolist()
    assert temp == sorted(temp) and temp[-1] > 3  # colder every month: over three standard deviations by December
