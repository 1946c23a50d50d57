"The monitor of a log read as partitions gives the report of one process for a multi-class model too: probabilities missing from some rows, some outcomes unknown, a partition without rows and one without outcomes."
import json

import numpy as np
import pandas as pd


def _world(n, shift=0.0, seed=0):
    r = np.random.default_rng(seed)
    return pd.DataFrame({'distance': r.uniform(50, 3000, n) + shift * 800, 'temp': r.normal(60 - shift * 25, 15, n),
                         'airline': pd.array(r.choice(['AA', 'B6', 'DL', 'UA'], n), dtype='str'), 'hour': pd.array(r.integers(0, 24, n), dtype='Int64')})


def test_a_multiclass_log_by_partitions_gives_the_report_of_one_process(tmp_path):
    import dask.dataframe as dd
    from mlworkbench.config.params import MonitorParams
    from mlworkbench.model.modelfile import load_model
    from mlworkbench.model.record import ModelRecord
    from mlworkbench.monitor.monitor import monitor
    from mlworkbench.monitor.partitioned import monitor_partitions
    from mlworkbench.workbench.testing import demo_model
    rec = ModelRecord.of(demo_model(tmp_path / 'mc', n=1500, seed=0, task='classification', n_classes=3))
    model = load_model(tmp_path / 'mc' / 'model.skops')
    ref = _world(1500, seed=2)
    rng, weeks = np.random.default_rng(1), []
    for w in range(4):
        X = _world(600, shift=0 if w < 2 else 1, seed=10 + w)
        proba = model.predict_proba(X)
        actual = np.asarray(rec.classes, dtype=object)[rng.integers(0, 3, len(X))]
        weeks.append(pd.DataFrame({
            'request_id': [f'w{w}-{i}' for i in range(len(X))], 'model_version': 'lateness/1',
            'event_time': pd.Timestamp('2024-03-04', tz='UTC') + pd.Timedelta(days=7 * w) + pd.to_timedelta(rng.integers(0, 7 * 24 * 60, len(X)), 'min'),
            'prediction': proba.max(1), 'label': rec.called(proba),
            'probabilities': [json.dumps(dict(zip(rec.classes, p))) if i % 7 else None for i, p in enumerate(proba.tolist())],  # some rows logged without
            'actual': None, 'actual_label': np.where(rng.random(len(X)) < 0.8, actual, None)}).join(X.add_prefix('feature.')))
    log = pd.concat(weeks, ignore_index=True).sort_values('event_time', kind='mergesort', ignore_index=True)
    log.loc[log.index[:500], 'actual_label'] = None  # the first partition below: no outcome at all
    tm = {'log_loss': {'value': 1.0, 'ci_low': 0.9, 'ci_high': 1.1}}
    params = MonitorParams(window='7D', n_resamples=200, min_rows=50)
    one = monitor(log, ref, rec, tm, params, model.predict_proba(ref))
    parts = dd.concat([dd.from_pandas(log.iloc[:0], npartitions=1), dd.from_pandas(log, npartitions=4)])  # the first with no rows
    parted = monitor_partitions(parts, ref, rec, tm, params, model.predict_proba(ref))
    assert parted.summary() == one.summary()
    pd.testing.assert_frame_equal(parted.performance, one.performance)
    pd.testing.assert_frame_equal(parted.drift.features, one.drift.features)
    assert one.decision['decision'] == 'retrain' and one.labelled < len(log)
