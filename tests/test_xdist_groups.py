"`make test` runs pytest on two workers with `--dist loadgroup`: the tests sharing the session's pipeline run must share a worker."
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent


def test_grouped_tests_of_several_files_run_on_one_worker(tmp_path):
    (tmp_path / 'conftest.py').write_text(f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nfrom xdist_groups import pytest_collection_modifyitems\n")
    for name in ('a', 'b'):
        (tmp_path / f'test_{name}.py').write_text("import os, pytest\npytestmark = pytest.mark.xdist_group('g')\n"
                                                  "@pytest.mark.parametrize('i', range(4))\n"
                                                  f"def test_{name}(i): print('WORKER', os.environ['PYTEST_XDIST_WORKER'])\n")
    (tmp_path / 'test_free.py').write_text(''.join(f'def test_free{i}(): pass\n' for i in range(6)))
    r = subprocess.run([sys.executable, '-m', 'pytest', '-n', '2', '--dist', 'loadgroup', '-v', '-p', 'no:cacheprovider', '-o', 'addopts=', str(tmp_path)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    grouped = {line.split()[0] for line in r.stdout.splitlines() if 'PASSED' in line and '@g' in line}
    assert sum('PASSED' in line and '@g' in line for line in r.stdout.splitlines()) == 8, r.stdout[-2000:]
    assert len(grouped) == 1, grouped  # e.g. {'[gw1]'}: every grouped test on one worker
