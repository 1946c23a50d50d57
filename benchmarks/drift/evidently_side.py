"""Evidently's side of the drift benchmark; runs in Evidently's own venv (see run.py), never in the project's.

python evidently_side.py REFERENCE.parquet CURRENT.parquet FEATURES.json REPEATS  ->  one JSON line on stdout
"""
import json
import sys
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main(ref_path, cur_path, features_path, repeats):
    roles = json.loads(open(features_path).read())
    numeric = [n for n, r in roles.items() if r == 'numeric']
    categorical = [n for n, r in roles.items() if r == 'categorical']
    reference, current = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)

    def once(ref, cur):
        report = Report([DataDriftPreset()])
        result = report.run(Dataset.from_pandas(cur, data_definition=definition), Dataset.from_pandas(ref, data_definition=definition))
        return result.dict()

    once(reference.head(2000), current.head(2000))  # warm-up: lazy imports and registries
    seconds = []
    for _ in range(int(repeats)):
        t = time.perf_counter()
        out = once(reference, current)
        seconds.append(time.perf_counter() - t)
    count = next(m['value'] for m in out['metrics'] if m['metric_name'].startswith('DriftedColumnsCount'))
    print(json.dumps({'seconds': seconds, 'drifted': int(count['count']), 'share': count['share']}))


if __name__ == '__main__':
    main(*sys.argv[1:])
