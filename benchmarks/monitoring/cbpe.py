"""Performance before the outcomes, for a classifier: mlworkbench's confidence-based estimate of the weekly accuracy and
ROC AUC beside NannyML's CBPE, on the default data's production months turned into a classification — is a flight
15 minutes late or more (the FAA's definition of a delayed flight)?

Run from the project root, with the venv active:  python benchmarks/monitoring/cbpe.py
Needs `dvc repro` to have run (data/prepared, models/model.skops). The classifier: the champion's pipeline with its
gradient boosting swapped for `HistGradientBoostingClassifier` (200 rounds, the same categorical columns), fitted on the
training window (January to June). Each week of October to December is estimated from its inputs and the classifier's
probabilities alone, then compared with the value realised once its outcomes are in.
- mlworkbench: `PerformanceEstimator` (isotonic calibration of the scores on honest scores of the history — refits that
  left each block of training weeks out, and the test window — then each metric's mean and spread over outcomes drawn
  from the calibrated probabilities), its interval from how wrong the history's weekly estimates were, widened by each
  production week whose outcomes came back before the next; windows of 7 days from October 1, as `monitor.window`.
- NannyML 0.13.1 `CBPE` fitted on the reference NannyML asks for (the test window, with the classifier's probabilities),
  chunked by 'W-MON' periods (the same weeks, on local time); its interval is its confidence boundary. In its own venv,
  $MLWB_NANNYML_VENV or /tmp/nannyml-venv (see run.py).
The tables replace the section '## monitoring: performance before the outcomes, a classifier' of benchmarks/RESULTS.md.
"""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / 'benchmarks'))
sys.path.insert(0, str(HERE))
from results import write_section  # noqa: E402
from run import nannyml_python, scored  # noqa: E402

SECTION = 'monitoring: performance before the outcomes, a classifier'
METRICS = ['accuracy', 'roc_auc']
LATE = 15  # minutes: a delayed flight, as the FAA counts them


def classifier(model):
    "The champion's pipeline with a gradient-boosted classifier in place of its regressor (the same categorical columns)."
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier
    name, last = model.steps[-1]
    return clone(model).set_params(**{name: HistGradientBoostingClassifier(max_iter=200, categorical_features=last.categorical_features, random_state=0)})


def main():
    sys.path.insert(0, str(ROOT))
    from mlworkbench.model.modelfile import load_model
    from mlworkbench.model.record import ModelRecord
    from mlworkbench.monitor.estimated import PerformanceEstimator
    from mlworkbench.monitor.served_estimator import honest_scores
    load = os.getloadavg()[0]
    record, model = ModelRecord.read(ROOT / 'models/model.json'), load_model(ROOT / 'models/model.skops')
    tcol, names = record.time_column, record.feature_names
    late = lambda d: d[d[record.target].notna()].assign(late=lambda x: (x[record.target] >= LATE).astype(int)).reset_index(drop=True)
    train, test, prod = (late(pd.read_parquet(ROOT / f'data/prepared/{s}.parquet')) for s in ('train', 'test', 'production'))
    crec = record.model_copy(update={'task': 'classification', 'target': 'late', 'classes': [0, 1], 'metric': 'roc_auc', 'threshold': 0.5})
    clf = classifier(model).fit(train[names], train['late'])
    history, honest = honest_scores(clf, crec, train, test)
    prod_scores = crec.scores(clf, prod[names])
    ours, seconds = {}, {}
    for m in METRICS:
        start = time.perf_counter()
        est = PerformanceEstimator('classification', m, '7D', timezone=record.timezone, seed=11).fit(history[names], history['late'], honest, history[tcol])
        ours[m] = est.estimate(prod[names], prod_scores, prod[tcol], prod['late'])
        seconds[m] = time.perf_counter() - start
        ours[m] = ours[m].assign(window=ours[m]['window'].dt.strftime('%Y-%m-%d'))
    frame = lambda d, p: pd.DataFrame({'timestamp': pd.to_datetime(d[tcol], utc=True).dt.tz_convert(record.timezone).dt.tz_localize(None),
                                       'y_pred_proba': p, 'y_pred': (p >= 0.5).astype(int), 'y_true': d['late']})
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        frame(test, crec.scores(clf, test[names])).to_parquet(d / 'reference.parquet', index=False)
        frame(prod, prod_scores).to_parquet(d / 'analysis.parquet', index=False)
        r = subprocess.run([str(nannyml_python()), str(HERE / 'cbpe_side.py'), str(d / 'reference.parquet'), str(d / 'analysis.parquet'),
                            json.dumps(METRICS)], capture_output=True, text=True)
        if r.returncode: sys.exit(f'cbpe_side.py failed:\n{r.stderr[-3000:]}')
        nml = json.loads(r.stdout.strip().splitlines()[-1])
    lines = [f"`python benchmarks/monitoring/cbpe.py` ({time.strftime('%Y-%m-%d')}, 2 cores, load average {load:.1f} at the start, Python "
             f"{platform.python_version()}; NannyML {nml['version']} in its own venv). The default data as a classification: is a flight "
             f"{LATE} minutes late or more ({prod['late'].mean():.0%} of the production flights are)? A gradient-boosted classifier on the champion's "
             'features, trained on January to June; each production week\'s accuracy and ROC AUC estimated from its inputs and probabilities '
             'alone, then compared with the value realised once its outcomes were in. mlworkbench: confidence-based estimation on calibrated '
             "honest scores, its interval from the history's misses and each earlier production week's. NannyML: `CBPE` fitted on the test "
             'window, its interval the confidence boundary it reports. The target for ours, as for the MAE: the interval covers at least 90% of the weeks.', '',
             '| metric | | weeks | mean abs. error of the estimate | interval covers the realised value | mean interval width | estimate time |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for m in METRICS:
        a, b = scored(ours[m]), scored(pd.DataFrame(nml['metrics'][m]))
        lines += [f"| {m} | mlworkbench | {a['windows']} | {a['mae_of_estimate']:.4f} | {a['covered']} / {a['windows']} ({a['coverage']:.0%}) | {a['width']:.4f} | {seconds[m]:.1f} s (fit included) |",
                  f"| {m} | NannyML CBPE | {b['windows']} | {b['mae_of_estimate']:.4f} | {b['covered']} / {b['windows']} ({b['coverage']:.0%}) | {b['width']:.4f} | "
                  f"{nml['estimate_seconds']:.2f} s (fit {nml['fit_seconds']:.1f} s, both metrics) |"]
    for m in METRICS:
        both = ours[m][['window', 'rows', 'estimated', 'ci_low', 'ci_high', 'realised']].merge(pd.DataFrame(nml['metrics'][m]), on='window', how='outer',
                                                                                            suffixes=('', '_nml')).sort_values('window')
        cell = lambda e, lo, hi, real: '' if pd.isna(e) else f"{e:.3f} [{lo:.3f}, {hi:.3f}]{'' if pd.isna(real) or lo <= real <= hi else ' **missed**'}"
        lines += ['', f'{m}, week by week:', '', '| week | rows | realised | mlworkbench estimate [interval] | NannyML estimate [interval] |', '| --- | --- | --- | --- | --- |']
        for r in both.itertuples():
            real = r.realised if pd.notna(r.realised) else r.realised_nml
            lines.append(f"| {r.window} | {int(r.rows if pd.notna(r.rows) else r.rows_nml):,} | {real:.3f} | {cell(r.estimated, r.ci_low, r.ci_high, real)} | "
                         f"{cell(r.estimated_nml, r.ci_low_nml, r.ci_high_nml, real)} |")
    write_section(SECTION, '\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
