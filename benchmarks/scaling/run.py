"""How evaluate's bootstrap, the whole evaluate call and `mlwb predict-batch` grow with the rows, on the default data.

Run from the project root after `make repro` (needs models/ and data/prepared/):
    .venv/bin/python benchmarks/scaling/run.py --sizes 1 3 10
Each size k is the default test (or production) window resampled with replacement to k times its rows, numeric
features jittered by 1% of their spread (seed --seed), so no size is a plain copy of another. Every measurement runs in a
fresh process (wall time, and peak RSS from the kernel's rusage). The bootstrap is measured beside its reference,
`scipy.stats.bootstrap` (percentile, paired, the same 4 arrays as the paired model-vs-baseline comparison, the same
resamples). The result is written to benchmarks/RESULTS.md under '## scaling'.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MAKE = r'''
import sys, numpy as np, pandas as pd
src, k, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
df = pd.read_parquet(src)
rng = np.random.default_rng(seed)
big = df.iloc[rng.integers(0, len(df), k * len(df))].reset_index(drop=True)
if k > 1:
    for c in big.select_dtypes('float').columns:  # integer features stay integers (the schema refuses 2011.25 for an integer)
        if c != sys.argv[5]: big[c] = big[c] + rng.normal(0, 0.01 * (float(df[c].std()) or 1.0), len(big)).round(2) * big[c].notna()
big.to_parquet(out)
print(len(big))
'''

EVALUATE = r'''
import sys, time, pandas as pd
from mlworkbench.config.params import load_params
from mlworkbench.model.modelfile import load_model
from mlworkbench.model.record import ModelRecord
from mlworkbench.model.evaluate import evaluate_model
p = load_params('params.yaml'); record = ModelRecord.read('models/model.json'); model = load_model('models/model.skops')
baselines = {n: load_model(f'models/baselines/{n}.skops') for n in record.cv if record.cv[n]['baseline']}
test = pd.read_parquet(sys.argv[1])
t = time.perf_counter(); evaluate_model(model, baselines, test, record, p.evaluate); print(time.perf_counter() - t)
'''

BOOTSTRAP = r'''
import sys, time, numpy as np, pandas as pd
from mlworkbench.config.params import load_params
from mlworkbench.model.metrics import _rows
from mlworkbench.model.resampling import bootstrap_interval, BATCH_VALUES
from scipy import stats
rng = np.random.default_rng(0)
n, which, R = int(sys.argv[1]), sys.argv[2], load_params('params.yaml').evaluate.n_resamples
y = rng.gamma(2, 20, n); a, b = y + rng.normal(0, 10, n), y + rng.normal(0, 11, n)
ra, rb = _rows('regression', y, a, ['mae']), _rows('regression', y, b, ['mae'])
arrays, stat = ra.arrays + rb.arrays, lambda *x: ra.stat(*x[:2]) - rb.stat(*x[2:])
t = time.perf_counter()
if which == 'ours': bootstrap_interval(arrays, stat, R, 0, 0.95)
else: stats.bootstrap(arrays, lambda *x, axis=-1: stat(*x), n_resamples=R, batch=max(1, BATCH_VALUES // n), vectorized=True, paired=True, method='percentile', rng=np.random.default_rng(0))
print(time.perf_counter() - t)
'''


def measured(args, cwd) -> tuple[float, float]:
    "(the seconds the script printed, its peak RSS in GB)."
    proc = subprocess.Popen([sys.executable, '-c', *args], cwd=cwd, stdout=subprocess.PIPE, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1'})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status: sys.exit(f'a measurement failed: {args[1:]}')
    return float(out.strip().splitlines()[-1]), usage.ru_maxrss / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[1, 3, 10])
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    params = json.loads(subprocess.run([sys.executable, '-c', 'import json; from mlworkbench.config.params import load_params; p = load_params("params.yaml"); print(json.dumps({"target": p.data.target}))'],
                                       cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    rows_out = []
    with tempfile.TemporaryDirectory() as d:
        registry = Path(d) / 'project'
        registry.mkdir()
        for name in ('params.yaml', 'dvc.yaml'): (registry / name).write_text((ROOT / name).read_text())
        subprocess.run([str(Path(sys.executable).parent / 'mlwb'), 'registry', 'register', '--models', str(ROOT / 'models'), '--reports', str(ROOT / 'reports'), '--alias', 'champion', '--project', str(registry)],
                       check=True, capture_output=True)
        for k in a.sizes:
            test, prod = Path(d) / f'test-{k}.parquet', Path(d) / f'production-{k}.parquet'
            n = int(subprocess.run([sys.executable, '-c', MAKE, str(ROOT / 'data/prepared/test.parquet'), str(k), str(a.seed), str(test), params['target']], capture_output=True, text=True, check=True).stdout)
            subprocess.run([sys.executable, '-c', MAKE, str(ROOT / 'data/prepared/production.parquet'), str(k), str(a.seed), str(prod), params['target']], capture_output=True, text=True, check=True)
            ev = measured([EVALUATE, str(test)], ROOT)
            ours = measured([BOOTSTRAP, str(n), 'ours'], ROOT)
            ref = measured([BOOTSTRAP, str(n), 'scipy'], ROOT)
            t = time.perf_counter()
            proc = subprocess.Popen([str(Path(sys.executable).parent / 'mlwb'), 'predict-batch', str(prod), str(Path(d) / f'scored-{k}'), '--no-progress'], cwd=registry, stdout=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            if status: sys.exit('predict-batch failed')
            batch = (time.perf_counter() - t, usage.ru_maxrss / 2**20)
            rows_out.append((k, n, ev, ours, ref, batch))
            print(k, n, ev, ours, ref, batch, flush=True)
    base = rows_out[0]
    lines = [f'| {k}× | {n:,} | {ev[0]:.1f} s ({ev[0] / base[2][0]:.1f}×), {ev[1]:.2f} GB | {o[0]:.1f} s ({o[0] / base[3][0]:.1f}×) | {r[0]:.1f} s ({r[0] / base[4][0]:.1f}×) | {b[0]:.1f} s ({b[0] / base[5][0]:.1f}×), {b[1]:.2f} GB |'
             for k, n, ev, o, r, b in rows_out]
    section = (f'\n## scaling\n\n`.venv/bin/python benchmarks/scaling/run.py --sizes {" ".join(map(str, a.sizes))}` ({time.strftime("%Y-%m-%d")}, 2 cores; the default test and '
               'production windows resampled with 1% jitter to k× their rows; each figure a fresh process; in brackets: the ratio to 1×). '
               'Target (issue 16): at 10× at most 10× the 1× time. The bootstrap: the paired comparison of two models, 4 arrays, '
               'evaluate.n_resamples resamples; scipy.stats.bootstrap is the reference.\n\n'
               '| size | test rows | evaluate_model (time, peak RSS) | bootstrap, ours | bootstrap, scipy | predict-batch of production (time, peak RSS) |\n| --- | --- | --- | --- | --- | --- |\n'
               + '\n'.join(lines) + '\n')
    results = ROOT / 'benchmarks' / 'RESULTS.md'
    text = results.read_text()
    if '\n## scaling\n' in text:
        start = text.index('\n## scaling\n'); end = text.find('\n## ', start + 5)
        text = text[:start] + section + (text[end:] if end != -1 else '')
    else: text = text.rstrip('\n') + '\n' + section
    results.write_text(text)
    print(section)


if __name__ == '__main__':
    main()
