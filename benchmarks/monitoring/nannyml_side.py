"""NannyML's direct loss estimation (DLE) of the MAE per week: fitted on the reference (the test window), estimated on
the production months. Runs in NannyML's own venv (pandas<3): python nannyml_side.py REFERENCE ANALYSIS FEATURES.json
Prints one JSON line: the seconds fit and estimate took, and per chunk its first day, estimate, interval and realised MAE."""
import json
import sys
import time
import warnings

import pandas as pd

warnings.filterwarnings('ignore')
import nannyml as nml  # noqa: E402

reference, analysis = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
features = json.loads(open(sys.argv[3]).read())
for df in (reference, analysis):
    for c in features['categorical']: df[c] = df[c].astype('category')
start = time.perf_counter()
dle = nml.DLE(feature_column_names=features['numeric'] + features['categorical'], y_pred='y_pred', y_true='y_true',
              timestamp_column_name='timestamp', metrics=['mae'], chunk_period='W-MON', tune_hyperparameters=False)
dle.fit(reference)
fitted = time.perf_counter()
result = dle.estimate(analysis).filter(period='analysis').to_df()
done = time.perf_counter()
rows = [{'window': str(r[('chunk', 'start_date')].date()), 'rows': int(r[('chunk', 'end_index')] - r[('chunk', 'start_index')] + 1),
         'estimated': float(r[('mae', 'value')]), 'ci_low': float(r[('mae', 'lower_confidence_boundary')]),
         'ci_high': float(r[('mae', 'upper_confidence_boundary')]), 'realised': float(r[('mae', 'realized')])}
        for _, r in result.iterrows()]
print(json.dumps({'fit_seconds': fitted - start, 'estimate_seconds': done - fitted, 'version': nml.__version__, 'windows': rows}))
