"""NannyML's confidence-based performance estimation (CBPE) of a binary classifier per week: fitted on the reference (the
test window), estimated on the production months. Runs in NannyML's own venv (pandas<3):
python cbpe_side.py REFERENCE ANALYSIS METRICS_JSON
Prints one JSON line: the seconds fit and estimate took, and per metric and chunk its first day, estimate, interval and realised value."""
import json
import sys
import time
import warnings

import pandas as pd

warnings.filterwarnings('ignore')
import nannyml as nml  # noqa: E402

reference, analysis = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
metrics = json.loads(sys.argv[3])
start = time.perf_counter()
cbpe = nml.CBPE(y_pred_proba='y_pred_proba', y_pred='y_pred', y_true='y_true', timestamp_column_name='timestamp', metrics=metrics,
                chunk_period='W-MON', problem_type='classification_binary')
cbpe.fit(reference)
fitted = time.perf_counter()
result = cbpe.estimate(analysis).filter(period='analysis').to_df()
done = time.perf_counter()
out = {m: [{'window': str(r[('chunk', 'start_date')].date()), 'rows': int(r[('chunk', 'end_index')] - r[('chunk', 'start_index')] + 1),
            'estimated': float(r[(m, 'value')]), 'ci_low': float(r[(m, 'lower_confidence_boundary')]),
            'ci_high': float(r[(m, 'upper_confidence_boundary')]), 'realised': float(r[(m, 'realized')])} for _, r in result.iterrows()]
       for m in metrics}
print(json.dumps({'fit_seconds': fitted - start, 'estimate_seconds': done - fitted, 'version': nml.__version__, 'metrics': out}))
