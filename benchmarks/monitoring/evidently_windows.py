"""Evidently's DataDriftPreset on many windows against one reference; runs in Evidently's own venv (see false_alarms.py).

python evidently_windows.py REFERENCE.parquet WINDOWS.parquet FEATURES.json  ->  one JSON line: per window, the features drifted
WINDOWS.parquet holds every window's rows with a `window` column naming the window.
"""
import json
import sys
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main(ref_path, windows_path, features_path):
    roles = json.loads(open(features_path).read())
    numeric = [n for n, r in roles.items() if r == 'numeric']
    categorical = [n for n, r in roles.items() if r == 'categorical']
    reference, windows = pd.read_parquet(ref_path), pd.read_parquet(windows_path)
    out, start = [], time.perf_counter()
    for name, cur in windows.groupby('window', sort=True):
        # Evidently refuses a column with no value in the window (a week's sample of a mostly missing feature): left out there
        num, cat = ([c for c in cols if cur[c].notna().any()] for cols in (numeric, categorical))
        definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
        ref = Dataset.from_pandas(reference[num + cat], data_definition=definition)
        result = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur[num + cat].reset_index(drop=True), data_definition=definition), ref).dict()
        count = next(m['value'] for m in result['metrics'] if m['metric_name'].startswith('DriftedColumnsCount'))
        out.append({'window': str(name), 'drifted': int(count['count']), 'share': float(count['share'])})
    print(json.dumps({'seconds': time.perf_counter() - start, 'windows': out}))


if __name__ == '__main__':
    main(*sys.argv[1:])
