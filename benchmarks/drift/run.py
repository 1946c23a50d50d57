"""Wall time of mlworkbench's drift report against Evidently's DataDriftPreset, on the same data.

Run from the project root, with the venv active:  python benchmarks/drift/run.py [--repeats 3]
Needs `dvc repro` to have run (data/prepared, models/model.json). Reference = the test window, current = the
production months, every model feature with its role from models/model.json (cyclical as numeric); then both
resampled (with replacement, seeded) to 10x the rows. Each side runs in its own process, reads the same Parquet
files, warms up on 2,000 rows, then times the whole drift computation `--repeats` times; the best time counts, as
timeit takes it: the machine's other work only ever adds time.
Evidently 0.7.23 does not import with pandas 3, so it gets its own venv, outside the repo: $MLWB_EVIDENTLY_VENV,
default /tmp/evidently-venv, created on first use. The table replaces the section '## drift' of
benchmarks/RESULTS.md.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'benchmarks'))
from own_venv import own_python  # noqa: E402

HERE = Path(__file__).resolve().parent
EVIDENTLY = 'evidently==0.7.23'


def evidently_python() -> Path:
    "The Python of Evidently's venv ($MLWB_EVIDENTLY_VENV, default /tmp/evidently-venv), created with Evidently, pandas<3 and pyarrow."
    return own_python('MLWB_EVIDENTLY_VENV', '/tmp/evidently-venv', [EVIDENTLY, 'pandas<3', 'pyarrow'])


def side(python, script, ref, cur, roles, repeats, *extra) -> dict:
    r = subprocess.run([str(python), str(HERE / script), str(ref), str(cur), str(roles), str(repeats), *extra],
                       capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0: sys.exit(f'{script} failed:\n{r.stderr[-3000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=3, help='timed runs per side and size (the best counts)')
    ap.add_argument('--scale', type=int, default=10, help='the large case has this many times the rows')
    ap.add_argument('--seed', type=int, default=0, help='seed of the resample')
    args = ap.parse_args()
    args.load = os.getloadavg()[0]  # other work on the machine slows both sides; the table says how busy it was
    record = json.loads((ROOT / 'models/model.json').read_text())
    roles = {f['name']: 'categorical' if f['role'] == 'categorical' else 'numeric' for f in record['features']}
    ev_python = evidently_python()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / 'roles.json').write_text(json.dumps(roles))
        frames = {}
        for split in ('test', 'production'):
            df = pd.read_parquet(ROOT / f'data/prepared/{split}.parquet', columns=list(roles))
            # the same plain dtypes for both sides (Evidently's pandas 2 reads float64 and str alike)
            frames[split] = df.astype({n: 'float64' for n, r in roles.items() if r == 'numeric'} | {n: 'object' for n, r in roles.items() if r == 'categorical'})
        rng = np.random.default_rng(args.seed)
        for scale in (1, args.scale):
            paths = []
            for split, df in frames.items():
                if scale > 1: df = df.iloc[rng.integers(0, len(df), len(df) * scale)].reset_index(drop=True)
                path = d / f'{split}_{scale}.parquet'
                df.to_parquet(path, index=False)
                paths.append((path, len(df)))
            (ref, n_ref), (cur, n_cur) = paths
            print(f'{scale}x: {n_ref:,} + {n_cur:,} rows, {len(roles)} features', file=sys.stderr)
            ours = side(sys.executable, 'ours_side.py', ref, cur, d / 'roles.json', args.repeats, str(ROOT / 'params.yaml'))
            print(f'  mlworkbench {min(ours["seconds"]):.2f} s', file=sys.stderr)
            theirs = side(ev_python, 'evidently_side.py', ref, cur, d / 'roles.json', args.repeats)
            print(f'  Evidently   {min(theirs["seconds"]):.2f} s', file=sys.stderr)
            rows.append({'scale': scale, 'rows_ref': n_ref, 'rows_cur': n_cur, 'ours': ours, 'theirs': theirs})
    write_results(rows, len(roles), args)


def write_results(rows, n_features, args):
    med = lambda r: min(r['seconds'])  # best of the repeats
    lines = ['| data | rows (reference + current) | features | mlworkbench `drift_report` | Evidently `DataDriftPreset` | Evidently / mlworkbench | drifted (mlworkbench / Evidently) |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for r in rows:
        name = 'test vs production' if r['scale'] == 1 else f'{r["scale"]}x resample'
        lines.append(f'| {name} | {r["rows_ref"]:,} + {r["rows_cur"]:,} | {n_features} | {med(r["ours"]):.2f} s | {med(r["theirs"]):.2f} s | '
                     f'{med(r["theirs"]) / med(r["ours"]):.1f}x | {r["ours"]["drifted"]} / {r["theirs"]["drifted"]} |')
    small, large = rows[0], rows[-1]
    growth_ours, growth_theirs = med(large['ours']) / med(small['ours']), med(large['theirs']) / med(small['theirs'])
    worst = min(med(r['theirs']) / med(r['ours']) for r in rows)
    text = (f'\n## drift\n\n`python benchmarks/drift/run.py --repeats {args.repeats}` ({time.strftime("%Y-%m-%d")}, {os.cpu_count()} cores, '
            f'load average {args.load:.1f} at the start, Python {platform.python_version()}; Evidently 0.7.23 in its own venv, '
            '$MLWB_EVIDENTLY_VENV or /tmp/evidently-venv). '
            'Reference = the test window, current = the production months, every model feature; the large case resamples '
            f'both with replacement to {args.scale}x the rows (seed {args.seed}). Each side runs in its own process on the same '
            f'Parquet files, warms up, and is timed {args.repeats} time(s); the best time is shown (the machine\'s other work only adds time). '
            f'Target: ≥ 5x faster than Evidently, and cost linear in rows.\n\n' + '\n'.join(lines) + '\n\n'
            f'{args.scale}x the rows cost mlworkbench {growth_ours:.1f}x the time and Evidently {growth_theirs:.1f}x. '
            f'Speed target {"met" if worst >= 5 else "missed"} ({worst:.1f}x at worst); linearity '
            f'{"met" if growth_ours <= args.scale * 1.5 else "missed"} (≤ {args.scale * 1.5:g}x allowed for {args.scale}x the rows).\n')
    print(text)
    results = ROOT / 'benchmarks' / 'RESULTS.md'
    current = results.read_text() if results.exists() else '# Benchmark results\n'  # re-read right before writing
    start = current.find('\n## drift\n')
    if start == -1: current = current.rstrip('\n') + '\n' + text
    else:
        end = current.find('\n## ', start + 1)
        current = current[:start] + text.rstrip('\n') + '\n' + (current[end:] if end != -1 else '')
    results.write_text(current)


if __name__ == '__main__':
    main()
