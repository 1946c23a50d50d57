"""Serving benchmark: `mlwb serve` against `mlflow models serve`, side by side in one run, the same fitted pipeline.

    .venv/bin/python benchmarks/serving/run.py --mlflow-python /tmp/mlflow-venv/bin/python

For each server in turn (never both at once): single-row requests at concurrency 1, 8 and 32 for `--seconds` each
(closed loop: each connection sends its next request when the last is answered), then 1,000- and 10,000-row batches
one at a time. Both get the same request bodies (MLflow's `dataframe_split` on /invocations; ours also on /predict),
the same number of worker processes, and the same core: the server is pinned to CPU 0 and the load generator to
CPU 1 (taskset), so neither steals the other's core. Our service logs every row to SQLite as in production.

MLflow runs from its own virtualenv (only for this benchmark): `python -m venv /tmp/mlflow-venv &&
/tmp/mlflow-venv/bin/pip install mlflow==3.17.2` (it brings the same scikit-learn, pandas, numpy and skops as
requirements.lock); the workbench is put on its PYTHONPATH so that the model file loads with the same trusted types.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from mlworkbench.workbench.loadgen import http_request, load  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def wait_ready(url, proc, timeout=180, log=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None: raise RuntimeError(f'server exited with {proc.returncode}' + (f':\n{Path(log.name).read_text()[-3000:]}' if log else ''))
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200: return
        except OSError: pass
        time.sleep(0.3)
    raise RuntimeError(f'{url} not ready after {timeout}s')


def pin(cpu):
    return ['taskset', '-c', str(cpu)] if shutil.which('taskset') and os.cpu_count() >= 2 else []


def start_ours(work, model_dir, workers, log):
    from mlworkbench.serve.registry import Registry
    proj = work / 'project'
    (proj / 'models').mkdir(parents=True)
    (proj / 'dvc.yaml').write_text('stages: {}\n')
    (proj / 'params.yaml').write_text('registry: {root: models/registry, name: bench}\nserve: {database_url: "sqlite:///logs/predictions.db"}\n')
    Registry(proj / 'models' / 'registry', 'bench').register(model_dir, None, alias='champion')
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE')}
    proc = subprocess.Popen([*pin(0), str(REPO / '.venv' / 'bin' / 'mlwb'), 'serve', '--project', str(proj), '--port', str(port),
                             '--workers', str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_ready(f'http://127.0.0.1:{port}/v2/health/ready', proc, log=log)
    return proc, port, proj


def build_mlflow_model(mlflow_python, work, model_dir, sample):
    out = work / 'mlflow-model'
    sample_path = work / 'sample.parquet'
    sample.to_parquet(sample_path)
    code = f"""
import mlflow, pandas as pd
from mlflow.models import infer_signature
X = pd.read_parquet({str(sample_path)!r})
sig = infer_signature(X.astype({{c: ('float64' if str(t) in ('Int64', 'float64') else 'object') for c, t in X.dtypes.items()}}), [0.0] * len(X))
mlflow.pyfunc.save_model({str(out)!r}, python_model={str(Path(__file__).parent / 'mlflow_model.py')!r},
    artifacts={{'model': {str(model_dir / 'model.skops')!r}, 'record': {str(model_dir / 'model.json')!r}}}, signature=sig, pip_requirements=[])
"""
    env = os.environ | {'PYTHONPATH': str(REPO)}
    subprocess.run([mlflow_python, '-c', code], check=True, env=env)
    return out


def start_mlflow(mlflow_python, model_path, workers, log):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE')}
    env |= {'PYTHONPATH': str(REPO), 'MLFLOW_MODELS_WORKERS': str(workers), 'PATH': f"{Path(mlflow_python).parent}:{env['PATH']}",  # its uvicorn
            # one BLAS/OpenMP thread per worker, as `mlwb serve` runs (serve.threads): on one pinned core, more threads only spin
            'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    mlflow = str(Path(mlflow_python).parent / 'mlflow')
    proc = subprocess.Popen([*pin(0), mlflow, 'models', 'serve', '-m', str(model_path), '--env-manager', 'local', '-h', '127.0.0.1',
                             '-p', str(port), '-w', str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_ready(f'http://127.0.0.1:{port}/ping', proc, log=log)
    return proc, port


def stop(proc):
    if proc.poll() is None:
        try: os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError): proc.send_signal(signal.SIGTERM)
        try: proc.wait(60)
        except subprocess.TimeoutExpired: proc.kill()


def split_body(df):
    return orjson.dumps({'dataframe_split': {'columns': list(df.columns), 'data': json.loads(df.to_json(orient='values'))}})


def measure(port, path, bodies, seconds, concurrency):
    reqs = [http_request('POST', path, '127.0.0.1', b) for b in bodies]
    load('127.0.0.1', port, reqs, concurrency=concurrency, seconds=min(2.0, seconds / 3))  # warm-up
    res = load('127.0.0.1', port, reqs, concurrency=concurrency, seconds=seconds)
    s = res.summary()
    bad = {k: v for k, v in s['statuses'].items() if k != 200}
    if bad or s['connection_errors']: raise RuntimeError(f'{path} at concurrency {concurrency}: {s}')
    return s


def run_server(name, args, work, model_dir, mlflow_model, singles, records, batches):
    "Start server `name`, measure single rows at concurrency 1, 8, 32 and the batches, stop it."
    work.mkdir(parents=True)
    log = open(work / 'server.log', 'w')
    if name == 'mlwb': proc, port, proj = start_ours(work, model_dir, args.workers, log)
    else: proc, port = start_mlflow(args.mlflow_python, mlflow_model, args.workers, log)
    r = {}
    try:
        for c in (1, 8, 32):
            r[f'single_c{c}'] = measure(port, '/invocations', singles, args.seconds, c)
            print(name, 'single /invocations c', c, r[f'single_c{c}'], flush=True)
        if name == 'mlwb':
            r['single_predict_c8'] = measure(port, '/predict', records, args.seconds, 8)
            print(name, 'single /predict c 8', r['single_predict_c8'], flush=True)
        for n, bodies in batches.items():
            reqs = [http_request('POST', '/invocations', '127.0.0.1', b) for b in bodies]
            load('127.0.0.1', port, reqs[:1], concurrency=1, total=1)
            res = load('127.0.0.1', port, reqs, concurrency=1, total=10 if n == 1000 else 4)
            s = res.summary()
            if s['statuses'] != {200: s['requests']}: raise RuntimeError(f'batch {n}: {s}')
            r[f'batch_{n}'] = s | {'rows_per_s': round(n * s['requests'] / res.seconds)}
            print(name, 'batch', n, r[f'batch_{n}'], flush=True)
    finally:
        stop(proc)
    if name == 'mlwb':
        from mlworkbench.serve.predlog import make_engine
        with make_engine(f"sqlite:///{proj / 'logs' / 'predictions.db'}").connect() as c:
            r['logged_rows'] = c.exec_driver_sql('SELECT count(*) FROM mlwb_predictions').scalar()
    return r


def markdown(results: dict, command: str) -> str:
    "The RESULTS.md section of a run."
    m, f = results['servers']['mlwb'], results['servers']['mlflow']
    lines = [f"`{command}` ({results['date']}, {results['machine']['cpus']} cores, Python {results['machine']['python']}; "
             f"MLflow {results['mlflow_version']} in its own venv). Model: the trained `{results['model']['estimator']}` pipeline "
             f"({results['model']['features']} features, sha256 {results['model']['sha256']}…), the same file for both servers. "
             f"{results['workers']} worker per server, 1 BLAS/OpenMP thread each, server pinned to CPU 0 and the load generator "
             f"(`mlworkbench.workbench.loadgen`, closed loop, keep-alive) to CPU 1; single rows for {results['seconds']:g} s per concurrency; "
             f"each server ran {results['repeats']} times, taking turns, and every figure is the median of the runs. Both receive the "
             f"same bodies (MLflow's `dataframe_split` on `/invocations`); ours also validates every row against the schema and logs it to SQLite.",
             '', '| load | mlwb serve req/s | p50 ms | p99 ms | mlflow models serve req/s | p50 ms | p99 ms | mlwb / MLflow throughput |',
             '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for key, label in [('single_c1', '1 row, concurrency 1'), ('single_c8', '1 row, concurrency 8'), ('single_c32', '1 row, concurrency 32'),
                       ('batch_1000', '1,000-row batch, one at a time'), ('batch_10000', '10,000-row batch, one at a time')]:
        a, b = m[key], f[key]
        lines.append(f"| {label} | {a['rps']:,.1f} | {a['p50_ms']:.1f} | {a['p99_ms']:.1f} | {b['rps']:,.1f} | {b['p50_ms']:.1f} | {b['p99_ms']:.1f} | {a['rps'] / b['rps']:.1f}x |")
    p = m['single_predict_c8']
    logged = ', '.join(f"{r['logged_rows']:,}" for r in m['repeats'])
    loadavg = ', '.join(f'{x:.1f}' for x in results['machine']['loadavg_at_start'])
    lines += ['', f"Ours on `/predict` (`{{\"records\": [...]}}`), 1 row at concurrency 8: {p['rps']:,.1f} req/s, p50 {p['p50_ms']:.1f} ms, "
              f"p99 {p['p99_ms']:.1f} ms. Rows logged by our service in each run: {logged} (every row it served). "
              f"Target: ≥ 3x MLflow's single-row throughput at concurrency 8 ({results['speedup_single_c8']}x) with p99 ≤ 10 ms "
              f"({m['single_c8']['p99_ms']:.1f} ms). Load average of the machine when the run started: {loadavg}."]
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mlflow-python', default=os.environ.get('MLFLOW_PYTHON', '/tmp/mlflow-venv/bin/python'), help='python of the MLflow virtualenv')
    ap.add_argument('--models', default=str(REPO / 'models'), help='folder with model.skops and model.json (default: the trained model)')
    ap.add_argument('--data', default=str(REPO / 'data' / 'prepared' / 'test.parquet'), help='rows to send')
    ap.add_argument('--seconds', type=float, default=10.0, help='duration of each single-row measurement')
    ap.add_argument('--workers', type=int, default=1, help='worker processes of both servers')
    ap.add_argument('--repeats', type=int, default=3, help='rounds; each server runs once per round, results are the medians')
    ap.add_argument('--out', default=str(Path(__file__).parent / 'results.json'))
    args = ap.parse_args()

    model_dir = Path(args.models)
    record = json.loads((model_dir / 'model.json').read_text())
    names = [f['name'] for f in record['features']]
    df = pd.read_parquet(args.data, columns=names).head(20_000).reset_index(drop=True)
    singles = [split_body(df.iloc[[i]]) for i in range(2000)]
    batches = {1000: [split_body(df.iloc[i:i + 1000]) for i in range(0, 5000, 1000)], 10_000: [split_body(df.iloc[:10_000]), split_body(df.iloc[10_000:20_000])]}
    records = [orjson.dumps({'records': json.loads(df.iloc[[i]].to_json(orient='records'))}) for i in range(2000)]

    work = Path(tempfile.mkdtemp(prefix='mlwb-bench-'))
    results = {'machine': {'cpus': os.cpu_count(), 'python': platform.python_version(), 'platform': platform.platform(),
                           'loadavg_at_start': os.getloadavg()}, 'workers': args.workers, 'seconds': args.seconds, 'repeats': args.repeats, 'model': {'estimator': record.get('estimator'), 'features': len(names),
               'sha256': record.get('model_sha256', '')[:12]}, 'servers': {}}
    loadgen_pin = pin(1)
    if loadgen_pin: os.sched_setaffinity(0, {1})
    runs = {'mlwb': [], 'mlflow': []}
    try:
        mlflow_model = build_mlflow_model(args.mlflow_python, work, model_dir, df.head(200))
        for rep in range(args.repeats):  # the servers take turns, so a busy moment of the machine hits both alike
            for name in ('mlwb', 'mlflow'):
                runs[name].append(run_server(name, args, work / f'{name}-{rep}', model_dir, mlflow_model, singles, records, batches))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, reps in runs.items():  # the median of the repeats, measurement by measurement
        results['servers'][name] = {k: {m: statistics.median(r[k][m] for r in reps) for m in reps[0][k] if m != 'statuses'}
                                    if isinstance(reps[0][k], dict) else statistics.median(r[k] for r in reps) for k in reps[0]}
        results['servers'][name]['repeats'] = reps
    m, f = results['servers']['mlwb'], results['servers']['mlflow']
    results['speedup_single_c8'] = round(m['single_c8']['rps'] / f['single_c8']['rps'], 2)
    results['date'] = time.strftime('%Y-%m-%d')
    results['mlflow_version'] = subprocess.run([args.mlflow_python, '-c', 'import mlflow; print(mlflow.__version__)'], capture_output=True, text=True).stdout.strip()
    Path(args.out).write_text(json.dumps(results, indent=2) + '\n')
    md = markdown(results, 'python benchmarks/serving/run.py ' + ' '.join(sys.argv[1:]))
    Path(args.out).with_suffix('.md').write_text(md)
    print(md)
    print(json.dumps({'speedup_single_c8': results['speedup_single_c8'], 'mlwb_p99_c8_ms': m['single_c8']['p99_ms']}))


if __name__ == '__main__':
    main()
