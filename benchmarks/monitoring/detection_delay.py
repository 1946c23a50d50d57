"""Drift alarms on a known shift: how many windows after it starts each method flags it, beside how often it flagged the
windows before it (where nothing had changed), at 100 and 10,000 rows per window.

Run from the project root, with the venv active:  python benchmarks/monitoring/detection_delay.py [--quick]
The stationary process of false_alarms.py (each day's level of `x` drawn anew, sd 0.3 beside a noise of sd 1; each
day's share of category 'a' around 30%, sd 5 points; `z` independent rows). Each stream: a reference of 60 days, then
4 weeks of the same process and 8 weeks with one known shift: `x` up by 0.5 (half its noise, 1.7 times the day-to-day
sd of its level), or the share of 'a' up from 30% to 40% (2 day-to-day sds). The delay is the number of shifted weeks
up to and including the first one flagged (1: found in the first week of the shift); 'missed' when none of the 8 is.
Methods as in false_alarms.py: mlworkbench (`drift_report`, tests calibrated on the reference's days, Holm at 5%),
plain KS / chi-squared tests with Holm, Evidently 0.7.23 `DataDriftPreset` (own venv). The table replaces the section
'## monitoring: drift detection delay' of benchmarks/RESULTS.md.
"""
import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from false_alarms import ROLES, days, evidently, ours, rate  # noqa: E402
from results import write_section  # noqa: E402

SECTION = 'monitoring: drift detection delay'
BEFORE, AFTER = 4, 8
SHIFTS = {'x up by 0.5': lambda w, r: w.assign(x=w['x'] + 0.5),
          "share of 'a' 30% to 40%": lambda w, r: w.assign(kind=np.where((w['kind'] == 'a') | (r.random(len(w)) < 1 / 7), 'a', 'b'))}  # a seventh of the b's: 0.3 + 0.7 / 7


def stream(per_day: int, seed: int, shift) -> tuple:
    "The reference, then the weeks of one stream: BEFORE unchanged, AFTER shifted."
    reference = days(60, min(per_day, 5000), seed=seed)
    r = np.random.default_rng(10_000 + seed)
    weeks = [days(7, per_day, seed=1000 * (seed + 1) + k, start='2024-03-15') for k in range(BEFORE + AFTER)]
    weeks = [w if k < BEFORE else shift(w, r) for k, w in enumerate(weeks)]
    return reference, [(w, w['t']) for w in weeks]


def delays(counts: list[list[int]]) -> str:
    "Median delay over the streams (in weeks, 1 = the first shifted week), the share found within AFTER weeks."
    got = [next((k + 1 for k, c in enumerate(s[BEFORE:]) if c > 0), None) for s in counts]
    found = [d for d in got if d is not None]
    return (f"{np.median(found):.1f} ({len(found)} / {len(got)} found)" if found else f"missed ({0} / {len(got)} found)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='fewer streams (a smoke run; the table says how many)')
    args = ap.parse_args()
    load, streams, lines = os.getloadavg()[0], (2 if args.quick else 8), []
    with tempfile.TemporaryDirectory() as d:
        for rows in (100, 10_000):
            per_day = -(-rows // 7)  # at least `rows` a week: a 98-row week would be below monitor.min_rows (100) and never judged
            for name, shift in SHIFTS.items():
                got = {'plain': [], 'mlworkbench': [], 'evidently': []}
                for seed in range(streams):
                    reference, windows = stream(per_day, seed, shift)
                    o, e = ours(reference, reference['t'], windows, ROLES), evidently(reference, windows, ROLES, Path(d))
                    for k in got: got[k].append(o.get(k) or e.get(k))
                    print(f'{rows:,} rows, {name}, stream {seed}: {[got[k][-1] for k in got]}', file=sys.stderr)
                before = {k: rate([c for s in v for c in s[:BEFORE]]) for k, v in got.items()}
                lines.append(f"| {7 * per_day:,} | {name} | {delays(got['plain'])}; {before['plain']} | {delays(got['evidently'])}; {before['evidently']} | "
                             f"**{delays(got['mlworkbench'])}; {before['mlworkbench']}** |")
    write_section(SECTION, '\n'.join([
        f"`python benchmarks/monitoring/detection_delay.py{' --quick' if args.quick else ''}` ({time.strftime('%Y-%m-%d')}, 2 cores, load average "
        f"{load:.1f} at the start, Python {platform.python_version()}; Evidently 0.7.23 in its own venv). {streams} streams per row, each a 60-day "
        f"reference, {BEFORE} unchanged weeks, then {AFTER} weeks with one known shift (see the script). Each cell: the median delay in weeks "
        "(1: flagged in the first week of the shift) with the streams in which the shift was found at all; then the unchanged weeks flagged "
        '(false alarms, with their 95% interval). A method that flags everything finds every shift at once: the delay means something only '
        'beside its false alarms.', '',
        '| rows per window | known shift | plain tests: delay; false alarms before | Evidently: delay; false alarms before | '
        'mlworkbench: delay; false alarms before |', '| --- | --- | --- | --- | --- |', *lines, '']))


if __name__ == '__main__':
    main()
