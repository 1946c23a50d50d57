"""mlworkbench's side of the drift benchmark; runs in the project's venv.

python ours_side.py REFERENCE.parquet CURRENT.parquet FEATURES.json REPEATS PARAMS.yaml  ->  one JSON line on stdout
"""
import json
import sys
import time

import pandas as pd

from mlworkbench.config.params import MonitorParams, load_params
from mlworkbench.monitor.drift import drift_report


def main(ref_path, cur_path, features_path, repeats, params_path):
    roles = json.loads(open(features_path).read())
    params = load_params(params_path).monitor or MonitorParams()
    reference, current = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    drift_report(reference.head(2000), current.head(2000), roles, params)  # warm-up, as on the other side
    seconds = []
    for _ in range(int(repeats)):
        t = time.perf_counter()
        report = drift_report(reference, current, roles, params)
        seconds.append(time.perf_counter() - t)
    print(json.dumps({'seconds': seconds, 'drifted': len(report.drifted), 'share': report.share}))


if __name__ == '__main__':
    main(*sys.argv[1:])
