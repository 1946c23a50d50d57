"""Wall time of `dvc repro -f` on the default data versus the same library calls in one plain Python process.

Run from the project root, with the venv active:  python benchmarks/pipeline_overhead/run.py
Both sides run the full default pipeline (every stage of dvc.yaml) from the same params.yaml. The plain side runs,
in one Python process and in a copy of the project (so the project's outputs are untouched), exactly the code of
each stage notebook with that stage's params, in an in-process IPython shell (charts are rendered as in the
reports), and the plain commands' functions: what is left between the two is the price of the orchestration
(processes, papermill, HTML reports, DVC's hashing and cache). Before each `dvc repro -f` every warm interpreter is
stopped (`mlwb warm --stop`), so the first stage starts one and pays the imports, as after a reboot. The result is appended to
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
sys.path.insert(0, str(ROOT))
from mlworkbench.workbench.runner import THREAD_VARS  # noqa: E402

PLAIN = r'''
import os, shutil, sys, time
from pathlib import Path
import yaml
root, work = Path(sys.argv[1]), Path(sys.argv[2])
for name in ('dvc.yaml', 'params.yaml'): shutil.copy(root / name, work / name)
for folder in ('pipeline', 'data/external'): shutil.copytree(root / folder, work / folder)
(work / 'reports').mkdir()  # as the stage runner does: its report goes there
os.chdir(work)
t0 = time.perf_counter()
from execnb.nbio import read_nb
from execnb.shell import CaptureShell
from mlworkbench.workbench.runner import stage_inputs
stages = yaml.safe_load((work / 'dvc.yaml').read_text())['stages']
for name, stage in stages.items():
    if stage['cmd'].startswith('mlwb stage '):  # the stage notebook's cells, with its params, in an in-process IPython shell
        nb = read_nb(work / 'pipeline' / f'{name}.ipynb')
        shell = CaptureShell()
        shell.run_all(nb, exc_stop=True, inject_code=f'params = {stage_inputs(name, work)!r}\nprogress = False', inject_idx=next(
            i for i, c in enumerate(nb.cells) if 'parameters' in c.metadata.get('tags', [])))
    else:  # a plain command (collect): the function it calls
        from mlworkbench.workbench.cli import main
        assert main(stage['cmd'].split()[1:] + ['--project', str(work)]) == 0
print(time.perf_counter() - t0)
'''


def timed(cmd, **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t


def main():
    import argparse, statistics
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=1, help='pairs of runs, taking turns; the ratio of the medians is reported')
    args = ap.parse_args()
    env = {**os.environ, 'PATH': f'{Path(sys.executable).parent}:{os.environ["PATH"]}'}
    dvcs, plains = [], []
    for _ in range(args.repeats):
        subprocess.run(['mlwb', 'warm', '--stop'], env=env, check=True, stdout=subprocess.DEVNULL)  # the dvc side starts cold, as after a reboot
        dvcs.append(timed(['dvc', 'repro', '-f', '-q'], cwd=ROOT, env=env, stdout=subprocess.DEVNULL))
        with tempfile.TemporaryDirectory() as d:
            one_thread = dict.fromkeys(THREAD_VARS, '1')  # as every stage runs BLAS/OpenMP (runner.one_thread_each): same arithmetic, same work
            out = subprocess.run([sys.executable, '-c', PLAIN, str(ROOT), d], cwd=ROOT, env=env | one_thread, check=True, capture_output=True, text=True)
            plains.append(float(out.stdout.strip().splitlines()[-1]))  # from after the copy of the project
        print(f'dvc repro -f {dvcs[-1]:.1f} s, one process {plains[-1]:.1f} s', flush=True)
    dvc, plain = statistics.median(dvcs), statistics.median(plains)
    ratio = dvc / plain
    runs = ', '.join(f'{a:.0f}/{b:.0f}' for a, b in zip(dvcs, plains))
    line = (f'| {time.strftime("%Y-%m-%d")} | {dvc:.1f} s | {plain:.1f} s | {ratio:.3f} | {"met" if ratio <= 1.10 else "missed"} | {runs} |')
    print(line)
    results = ROOT / 'benchmarks' / 'RESULTS.md'
    text = results.read_text() if results.exists() else '# Benchmark results\n'
    header = ('\n## pipeline_overhead\n\n`python benchmarks/pipeline_overhead/run.py` (2-core machine, default data, full pipeline: '
              'every stage of dvc.yaml; the plain side runs the same notebook cells in one process). Target: ratio ≤ 1.10.\n\n| date | `dvc repro -f` (median) | same calls, one process (median) | ratio | target | runs (s) |\n| --- | --- | --- | --- | --- | --- |\n')
    if '## pipeline_overhead' not in text: text = text.rstrip('\n') + '\n' + header
    marker = '| --- | --- | --- | --- | --- | --- |\n'
    start = text.index('## pipeline_overhead')
    pos = text.index(marker, start) + len(marker)
    text = text[:pos] + line + '\n' + text[pos:]
    results.write_text(text)


if __name__ == '__main__':
    main()
