"""Performance before the outcomes arrive: mlworkbench's estimate of the weekly MAE against NannyML's DLE, on the
default data's production months.

Run from the project root, with the venv active:  python benchmarks/monitoring/run.py
Needs `dvc repro` to have run (data/prepared, models/model.skops, models/estimator). Each week of October to December
is estimated from its inputs and predictions alone, then compared with the MAE realised once its outcomes are in:
the estimate's error, whether its interval covered the realised value, and the interval's width.
- mlworkbench: the estimator stage's `PerformanceEstimator` (error model fitted on the training and test windows with
  honest scores; the interval from how wrong the estimates were on the history's weeks, widened by each production week
  whose outcomes came back before the next one), windows of 7 days from October 1 (`monitor.window`).
- NannyML 0.13.1 `DLE` (mae), fitted on the reference NannyML asks for (the test window, with the model's
  predictions), chunked by 'W-MON' periods (weeks from Tuesday: the same weeks, on local time); its interval is its
  'confidence boundary' (3 sampling errors). NannyML needs pandas<3 (and imports statsmodels without declaring it): its own venv, $MLWB_NANNYML_VENV or
  /tmp/nannyml-venv, created on first use.
The table replaces the section '## monitoring: performance before the outcomes' of benchmarks/RESULTS.md.
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
sys.path.insert(0, str(ROOT / 'benchmarks'))
from own_venv import own_python  # noqa: E402
from results import write_section  # noqa: E402

HERE = Path(__file__).resolve().parent
NANNYML = 'nannyml==0.13.1'
SECTION = 'monitoring: performance before the outcomes'


def nannyml_python() -> Path:
    "The Python of NannyML's venv ($MLWB_NANNYML_VENV, default /tmp/nannyml-venv); NannyML imports statsmodels without requiring it."
    return own_python('MLWB_NANNYML_VENV', '/tmp/nannyml-venv', [NANNYML, 'pandas<3', 'pyarrow', 'statsmodels'])


def scored(table: pd.DataFrame) -> dict:
    "Windows scored, mean absolute error of the estimate, share of realised values inside the interval, mean width."
    t = table.dropna(subset=['realised'])
    inside = (t['ci_low'] <= t['realised']) & (t['realised'] <= t['ci_high'])
    return {'windows': len(t), 'mae_of_estimate': float((t['estimated'] - t['realised']).abs().mean()),
            'coverage': float(inside.mean()), 'covered': int(inside.sum()), 'width': float((t['ci_high'] - t['ci_low']).mean())}


def main():
    sys.path.insert(0, str(ROOT))
    from mlworkbench.model.modelfile import load_model
    from mlworkbench.model.record import ModelRecord
    from mlworkbench.monitor.estimated import PerformanceEstimator
    load = os.getloadavg()[0]
    record, model = ModelRecord.read(ROOT / 'models/model.json'), load_model(ROOT / 'models/model.skops')
    estimator = PerformanceEstimator.load(ROOT / 'models/estimator')
    tcol, target, names = record.time_column, record.target, record.feature_names
    test, prod = (pd.read_parquet(ROOT / f'data/prepared/{s}.parquet').dropna(subset=[target]).reset_index(drop=True) for s in ('test', 'production'))
    test_pred, prod_pred = record.scores(model, test[names]), record.scores(model, prod[names])

    start = time.perf_counter()
    ours = estimator.estimate(prod[names], prod_pred, prod[tcol], prod[target])  # each week's outcomes known once it closed
    ours_seconds = time.perf_counter() - start
    ours = ours.assign(window=ours['window'].dt.strftime('%Y-%m-%d'))

    cats = [f['name'] for f in record.features if f['role'] == 'categorical']
    frame = lambda d, p: d[names].assign(timestamp=pd.to_datetime(d[tcol], utc=True).dt.tz_convert(record.timezone).dt.tz_localize(None),
                                         y_pred=p, y_true=d[target].astype(float))
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        frame(test, test_pred).to_parquet(d / 'reference.parquet', index=False)
        frame(prod, prod_pred).to_parquet(d / 'analysis.parquet', index=False)
        (d / 'features.json').write_text(json.dumps({'numeric': [n for n in names if n not in cats], 'categorical': cats}))
        r = subprocess.run([str(nannyml_python()), str(HERE / 'nannyml_side.py'), str(d / 'reference.parquet'), str(d / 'analysis.parquet'),
                            str(d / 'features.json')], capture_output=True, text=True)
        if r.returncode: sys.exit(f'nannyml_side.py failed:\n{r.stderr[-3000:]}')
        nml = json.loads(r.stdout.strip().splitlines()[-1])
    theirs = pd.DataFrame(nml['windows'])

    both = ours[['window', 'rows', 'estimated', 'ci_low', 'ci_high', 'realised']].merge(
        theirs, on='window', how='outer', suffixes=('', '_nml')).sort_values('window')
    a, b = scored(ours), scored(theirs)
    last = len(estimator.history_) // 3  # the history is the training and test windows; the test window is its last third
    naive = float((both['realised'] - estimator.history_['realised'].iloc[-last:].mean()).abs().mean())
    lines = [
             f"`python benchmarks/monitoring/run.py` ({time.strftime('%Y-%m-%d')}, 2 cores, load average {load:.1f} at the start, Python {platform.python_version()}; "
             f"NannyML {nml['version']} in its own venv). The default data's production months, October to December 2013, in weeks: each week's MAE "
             'estimated from its inputs and predictions alone, then compared with the MAE realised once its outcomes were in. mlworkbench: the '
             "estimator stage's error model (fitted on January to September with honest scores), its interval from the history's misses and "
             "those of every earlier production week. NannyML: `DLE` fitted on its reference, the test window (July to September), its "
             'interval the confidence boundary it reports. Target (issue 17): the interval covers the realised MAE in at least 90% of the weeks.', '',
             '| | weeks | mean abs. error of the estimate (min) | interval covers the realised MAE | mean interval width (min) | estimate time |',
             '| --- | --- | --- | --- | --- | --- |',
             f"| mlworkbench | {a['windows']} | {a['mae_of_estimate']:.2f} | {a['covered']} / {a['windows']} ({a['coverage']:.0%}) | {a['width']:.1f} | {ours_seconds:.2f} s |",
             f"| NannyML DLE | {b['windows']} | {b['mae_of_estimate']:.2f} | {b['covered']} / {b['windows']} ({b['coverage']:.0%}) | {b['width']:.1f} | {nml['estimate_seconds']:.2f} s (fit {nml['fit_seconds']:.1f} s) |",
             '', f'For scale: taking the test window\'s mean weekly MAE (the last {last} weeks of the history) as every week\'s estimate misses by {naive:.2f} minutes on average.', '',
             '| week | rows | realised MAE | mlworkbench estimate [interval] | NannyML estimate [interval] |', '| --- | --- | --- | --- | --- |']
    cell = lambda e, lo, hi, real: '' if pd.isna(e) else f"{e:.1f} [{lo:.1f}, {hi:.1f}]{'' if pd.isna(real) or lo <= real <= hi else ' **missed**'}"
    for r in both.itertuples():
        real = r.realised if pd.notna(r.realised) else r.realised_nml
        rows = int(r.rows) if pd.notna(r.rows) else int(r.rows_nml)
        lines.append(f'| {r.window} | {rows:,} | {real:.2f} | {cell(r.estimated, r.ci_low, r.ci_high, real)} | {cell(r.estimated_nml, r.ci_low_nml, r.ci_high_nml, real)} |')
    lines.append('')
    text = '\n'.join(lines)
    write_section(SECTION, text)


if __name__ == '__main__':
    main()
