"""`dvc plots show/diff` render offline: the built template (.dvc/plots/offline.html) inlines vega, vega-lite
and vega-embed at the versions package.json pins, and the page DVC writes loads nothing from the network."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / '.dvc' / 'plots' / 'offline.html'
DVC = Path(sys.executable).parent / 'dvc'
GIT = '/usr/bin/git'
# any tag that would fetch a script, a stylesheet or another resource from the web
REMOTE_TAG = re.compile(r'<(?:script|link|iframe|img)\b[^>]*\b(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', re.I)

needs_template = pytest.mark.skipif(
    not TEMPLATE.is_file(), reason=f'{TEMPLATE.relative_to(REPO)} is not built: run `make plots-template` (part of `make setup`)')


def pins() -> dict:
    return json.loads((REPO / 'package.json').read_text())['dependencies']


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, 'PATH': f'{DVC.parent}:{os.environ["PATH"]}'}
    r = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env)
    if r.returncode != 0: pytest.fail(f'{" ".join(map(str, args))} exited {r.returncode}\n{r.stdout}\n{r.stderr}')
    return r


def write_curve(path: Path, scale: float):
    rows = ['epoch,loss,accuracy'] + [f'{e},{scale / e ** 0.8:.4f},{1 - scale / 2 / e ** 0.7:.4f}' for e in range(1, 11)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(rows) + '\n')


@pytest.fixture
def plots_project(tmp_path) -> Path:
    "A git + DVC project whose dvc.yaml declares a CSV plot, committed in two versions."
    for args in (['init', '-q'], ['config', 'user.email', 't@t'], ['config', 'user.name', 't'],
                 ['config', 'commit.gpgsign', 'false']):
        run(tmp_path, GIT, *args)
    run(tmp_path, DVC, 'init', '-q')
    (tmp_path / 'dvc.yaml').write_text('plots:\n  - reports/curve.csv:\n      x: epoch\n      y: [loss, accuracy]\n')
    write_curve(tmp_path / 'reports' / 'curve.csv', 1.0)
    run(tmp_path, GIT, 'add', '-A'); run(tmp_path, GIT, 'commit', '-qm', 'v1')
    write_curve(tmp_path / 'reports' / 'curve.csv', 0.6)
    run(tmp_path, GIT, 'commit', '-qam', 'v2')
    return tmp_path


def assert_offline_page(html: str, revs: set):
    v = pins()
    assert f't.version="{v["vega"]}"' in html, 'vega is not inlined at the pinned version'
    for package in ('vega', 'vega-lite', 'vega-embed'):
        assert f'data-package="{package}@{v[package]}"' in html, f'{package} is not inlined'
    assert '<script src="http' not in html
    assert not REMOTE_TAG.findall(html), f'page loads from the network: {REMOTE_TAG.findall(html)}'
    assert 'cdn.jsdelivr.net' not in html
    assert html.count("vegaEmbed('#") >= 1, 'no plot was embedded'
    for rev in revs: assert f'"rev": "{rev}"' in html


def test_template_is_a_valid_dvc_template():
    if not TEMPLATE.is_file(): pytest.skip(f'{TEMPLATE.relative_to(REPO)} is not built: run `make plots-template`')
    page = TEMPLATE.read_text(encoding='utf-8')
    assert page.count('{plot_divs}') == 1  # the one placeholder DVC requires
    assert '{scripts}' not in page  # DVC would put its CDN <script src=...> tags there
    assert not REMOTE_TAG.findall(page)


@needs_template
def test_plots_show_renders_offline(plots_project):
    out = plots_project / 'plots_out'
    r = run(plots_project, DVC, 'plots', 'show', '--html-template', TEMPLATE, '-o', out)
    assert (out / 'index.html').as_uri() in r.stdout
    assert_offline_page((out / 'index.html').read_text(encoding='utf-8'), {'workspace'})


@needs_template
def test_plots_diff_with_configured_template_renders_offline(plots_project):
    "The project's way: plots.html_template in .dvc/config, relative to .dvc/, with the built page git-ignored."
    (plots_project / '.dvc' / 'plots').mkdir(exist_ok=True)
    (plots_project / '.dvc' / 'plots' / 'offline.html').write_bytes(TEMPLATE.read_bytes())
    (plots_project / '.gitignore').write_text('/.dvc/plots/offline.html\n/diff_out/\n')
    run(plots_project, DVC, 'config', 'plots.html_template', 'plots/offline.html')
    run(plots_project, DVC, 'plots', 'diff', 'HEAD~1', '-o', 'diff_out')
    assert_offline_page((plots_project / 'diff_out' / 'index.html').read_text(encoding='utf-8'), {'HEAD~1', 'workspace'})
