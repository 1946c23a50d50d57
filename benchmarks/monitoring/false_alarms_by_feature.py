"""Drift false alarms feature by feature, on many more no-drift windows than false_alarms.py affords beside Evidently:
how often each feature's calibrated p-value falls below 5%, 1.67% (5% shared by three features, Holm's first step)
and 1%, next to how much its no-drift variation exceeds independent rows' (the design effect).

Run from the project root, with the venv active:  python benchmarks/monitoring/false_alarms_by_feature.py [--references N] [--references-1m N]
The synthetic process of false_alarms.py (x: a level drawn anew each day beside row noise; kind: a share drawn anew
each day; z: independent rows), each reference 60 days, 15 fresh weeks judged against each. mlworkbench only: no
reference tool calibrates per feature. A calibrated p-value that means what it says falls below a level in that share
of windows or fewer. The table replaces the section '## monitoring: drift false alarms by feature' of
benchmarks/RESULTS.md.
"""
import argparse
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE)); sys.path.insert(0, str(HERE.parent)); sys.path.insert(0, str(HERE.parents[1]))
from false_alarms import ROLES, days  # noqa: E402
from results import write_section  # noqa: E402
from mlworkbench.config.params import MonitorParams  # noqa: E402
from mlworkbench.monitor.drift import drift_report  # noqa: E402
from mlworkbench.monitor.reference import ReferenceProfile  # noqa: E402

SECTION = 'monitoring: drift false alarms by feature'
LEVELS = (0.05, 0.05 / 3, 0.01)
OVER = '''
At {} rows per window the calibrated tests flag significantly more than the stated 5% of no-drift windows (the lower end
of the 95% interval above it): the calibration understates the no-drift variation of the features that fall below each
level more often than the level says.
'''


def share(flags: pd.Series) -> str:
    "Windows flagged of all, their share and its 95% interval (Wilson), to a tenth of a percent."
    from statsmodels.stats.proportion import proportion_confint
    low, high = proportion_confint(int(flags.sum()), len(flags), method='wilson')
    return f'{int(flags.sum())} / {len(flags)} ({flags.mean():.1%}; {low:.1%}–{high:.1%})'


def windows_judged(rows: int, references: int) -> pd.DataFrame:
    "One row per no-drift window: each feature's calibrated p-value and design effect, and whether the window was flagged."
    per_day, out = -(-rows // 7), []
    for ref_seed in range(references):
        reference = days(60, min(per_day, 5000), seed=ref_seed)
        profile = ReferenceProfile(reference, ROLES, MonitorParams(), times=reference['t'])
        for k in range(15):
            w = days(7, per_day, seed=1000 * (ref_seed + 1) + k, start='2024-03-15')
            f = drift_report(profile, w, times=w['t']).features.set_index('feature')
            out.append({'flagged': int((f['status'] == 'drift').any()), **{(n, 'p'): f.loc[n, 'p_calibrated'] for n in ROLES},
                        **{(n, 'effect'): f.loc[n, 'design_effect'] for n in ROLES}})
    return pd.DataFrame(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--references', type=int, default=200, help='references at 100 and 10,000 rows per window (15 windows each)')
    ap.add_argument('--references-1m', type=int, default=20, help='references at 1,000,000 rows per window (15 windows each)')
    args = ap.parse_args()
    from statsmodels.stats.proportion import proportion_confint
    started, lines, over = time.perf_counter(), [], []
    for rows, references in ((100, args.references), (10_000, args.references), (1_000_000, args.references_1m)):
        d = windows_judged(rows, references)
        if proportion_confint(int(d['flagged'].sum()), len(d), method='wilson')[0] > 0.05: over.append(f'{7 * -(-rows // 7):,}')
        n, per_day = len(d), -(-rows // 7)
        lines.append(f"| {7 * per_day:,} | all three (Holm) | – | {share(d['flagged'])} | – | – | – |")
        for name in ROLES:
            shares = [f"{(d[(name, 'p')] < level).mean():.1%}" for level in LEVELS]
            lines.append(f"| {7 * per_day:,} | {name} ({ROLES[name]}) | {d[(name, 'effect')].mean():.1f} | – | {' | '.join(shares)} |")
    body = f"""`python benchmarks/monitoring/false_alarms_by_feature.py` ({time.strftime('%Y-%m-%d')}, {time.perf_counter() - started:.0f} s): {args.references} references x 15 no-drift weeks at
100 and 10,000 rows per window, {args.references_1m} x 15 at 1,000,000, the process of the false-alarm benchmark above. Windows flagged (any feature drifted after Holm, stated level 5%), then each feature's
calibrated p-value below 5%, 1.67% and 1% (a p-value that means what it says: at most that share), and its mean design effect (its
no-drift variation over independent rows').

| rows per window | feature | design effect | windows flagged | p < 5% | p < 1.67% | p < 1% |
|---|---|---|---|---|---|---|
""" + '\n'.join(lines) + '\n' + (OVER.format(' and '.join(over)) if over else '')
    write_section(SECTION, body)


if __name__ == '__main__':
    main()
