"""Wall time of `dvc repro -f` on the default data versus the same library calls in one plain Python process.

Run from the project root, with the venv active:  python benchmarks/pipeline_overhead/run.py
Both sides run the full default pipeline (ingest, prep, train, evaluate, backtest) from the same params.yaml; the plain
side writes into a temp folder so the project's outputs are untouched. The result is appended to
benchmarks/RESULTS.md under '## pipeline_overhead'.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PLAIN = r'''
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import pandas as pd
from mlworkbench.config import load_params
from mlworkbench.ingest import ingest
from mlworkbench.prep import load_raw, prepare, write_prepared
from mlworkbench.train import select_model, decision_threshold, write_training, linear_inference
from mlworkbench.modelfile import load_model
from mlworkbench.evaluate import evaluate_model, write_evaluation
root, out = Path(sys.argv[1]), Path(sys.argv[2])
p = load_params(root / 'params.yaml')
(out / 'reports').mkdir(parents=True); (out / 'models').mkdir()
ingest(p.ingest.tables, out / 'data/raw', root=root, csv_options=p.ingest.csv_options)
prepared = prepare(load_raw(list(p.prep.columns), out / 'data/raw'), p.data, p.prep)
write_prepared(prepared, out / 'data/prepared', out / 'reports/prep.json')
train = pd.read_parquet(out / 'data/prepared/train.parquet')
sel = select_model(train, p.data, p.features, p.train.model_copy(update={'progress': False}))
thr = decision_threshold(sel, train, p.data, p.train)
record = write_training(sel, train, p.data, p.features, p.train, out / 'data/prepared/train.parquet', out / 'models', out / 'reports', thr)
linear_inference(train, p.data, sel.roles, p.features, max_rows=p.train.tune_rows, seed=p.train.seed)
model = load_model(out / 'models/model.skops')
baselines = {n: load_model(out / f'models/baselines/{n}.skops') for n in record['cv'] if record['cv'][n]['baseline']}
ev = evaluate_model(model, baselines, pd.read_parquet(out / 'data/prepared/test.parquet'), json.loads((out / 'models/model.json').read_text()), p.evaluate)
write_evaluation(ev, out / 'reports')
from mlworkbench.backtest import backtest
prep = {s: pd.read_parquet(out / f'data/prepared/{s}.parquet') for s in ('train', 'test', 'production')}
bt = backtest(model, json.loads((out / 'models/model.json').read_text()), pd.concat([prep['train'], prep['test']], ignore_index=True),
              prep['test'], prep['production'], ev.summary()['test'], p.monitor, p.retrain)
print(json.dumps({'seconds': time.perf_counter() - t0, 'mae': ev.summary()['test'].get('mae', {}).get('value')}))
'''


def timed(cmd, **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t


def main():
    env = {**os.environ, 'PATH': f'{Path(sys.executable).parent}:{os.environ["PATH"]}'}
    dvc = timed(['dvc', 'repro', '-f', '-q'], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as d:
        plain = timed([sys.executable, '-c', PLAIN, str(ROOT), d], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    ratio = dvc / plain
    line = (f'| {time.strftime("%Y-%m-%d")} | {dvc:.1f} s | {plain:.1f} s | {ratio:.3f} | {"met" if ratio <= 1.10 else "missed"} |')
    print(line)
    results = ROOT / 'benchmarks' / 'RESULTS.md'
    text = results.read_text() if results.exists() else '# Benchmark results\n'
    header = ('\n## pipeline_overhead\n\n`python benchmarks/pipeline_overhead/run.py` (2-core machine, default data, full pipeline: '
              'ingest, prep, train, evaluate, backtest). Target: ratio ≤ 1.10.\n\n| date | `dvc repro -f` | same calls, one process | ratio | target |\n| --- | --- | --- | --- | --- |\n')
    if '## pipeline_overhead' not in text: text = text.rstrip('\n') + '\n' + header
    marker = '| --- | --- | --- | --- | --- |\n'
    start = text.index('## pipeline_overhead')
    pos = text.index(marker, start) + len(marker)
    text = text[:pos] + line + '\n' + text[pos:]
    results.write_text(text)


if __name__ == '__main__':
    main()
