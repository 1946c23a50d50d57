"""Evidently's DataDriftPreset over a whole prediction log, week by week, as the monitor stage reads it; runs in Evidently's
own venv (see benchmarks/own_venv.py). Used by benchmarks/scaling/run.py --parts monitor.

python evidently_monitor.py REFERENCE.parquet LOG_FOLDER FEATURES.json  ->  one JSON line: seconds, peak RSS (GB), windows,
windows with dataset drift (Evidently's default: half of the columns drifted)
LOG_FOLDER holds log.parquet as the collect stage writes it (`event_time`, `feature.NAME` columns); the clock starts
before the log is read, as the monitor stage's does.
"""
import json
import resource
import sys
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main(ref_path, log_folder, features_path):
    roles = json.loads(open(features_path).read())
    numeric = [n for n, r in roles.items() if r == 'numeric']
    categorical = [n for n, r in roles.items() if r == 'categorical']
    start = time.perf_counter()
    reference = pd.read_parquet(ref_path, columns=numeric + categorical)
    log = pd.read_parquet(f'{log_folder}/log.parquet', columns=['event_time'] + [f'feature.{n}' for n in numeric + categorical])
    log.columns = ['event_time'] + numeric + categorical
    windows = drifted = 0
    for _, cur in log.groupby(pd.Grouper(key='event_time', freq='7D', origin='start')):  # weeks from the first event, as `monitor.window` 7D
        if cur.empty: continue
        # Evidently refuses a column with no value in the window (the last days of the default log have no weather): left out there
        num, cat = ([c for c in cols if cur[c].notna().any()] for cols in (numeric, categorical))
        definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
        ref = Dataset.from_pandas(reference[num + cat], data_definition=definition)
        result = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur[num + cat].reset_index(drop=True), data_definition=definition), ref).dict()
        count = next(m['value'] for m in result['metrics'] if m['metric_name'].startswith('DriftedColumnsCount'))
        windows, drifted = windows + 1, drifted + (float(count['share']) >= 0.5)
    print(json.dumps({'seconds': time.perf_counter() - start, 'peak_gb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                      'windows': windows, 'drifted': int(drifted)}))


if __name__ == '__main__':
    main(*sys.argv[1:])
