"""The docs site and JupyterLab as a person sees them: Debian's Chromium (/usr/bin/chromium), driven by Playwright.

`make browser-deps` installs Chromium (CI runs it); Playwright's own browser download is never used. Without
/usr/bin/chromium these tests skip, unless CI is set: then they fail. Servers listen on 127.0.0.1 only, on free
ports, and stop at the end; every request the browser makes is recorded, and any that would leave this machine
is blocked and fails the test. Screenshots go to tests/artifacts/.
"""
import http.server
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import REPO, free_port

pytestmark = pytest.mark.xdist_group('shared')  # one xdist worker builds the session's pipeline run and docs for all of them (conftest makes loadgroup work on pytest 9.2)

pytest_plugins = ['docs_site']  # the session's docs build and stage project: tests/docs_site.py

CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-default-apps', '--mute-audio']
ARTIFACTS = REPO / 'tests' / 'artifacts'
LOCAL_HOSTS = {'127.0.0.1', 'localhost'}
LOCAL_SCHEMES = {'data', 'blob', 'file', 'about'}
LAB_OVERRIDES = Path(sys.prefix) / 'share' / 'jupyter' / 'lab' / 'settings' / 'overrides.json'


def unavailable(reason: str):
    "Skip on a developer's machine; fail in CI, where `make browser-deps` must have installed the browser."
    if os.environ.get('CI', '').lower() not in ('', '0', 'false'): pytest.fail(f'{reason} (CI is set, so this fails instead of skipping)')
    pytest.skip(reason)


@pytest.fixture(scope='module')
def browser():
    if not CHROMIUM.exists():
        unavailable(f"Debian's Chromium is not installed ({CHROMIUM} missing): `make browser-deps` installs it")
    try: from playwright.sync_api import sync_playwright
    except ImportError: unavailable('playwright is not installed: `make setup` installs requirements-docs.lock')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        # Playwright gives each launch a fresh profile (--user-data-dir) in a temp folder
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Visit:
    "A browser context whose requests are all recorded; one that would leave 127.0.0.1 is blocked and kept in `outside`."

    def __init__(self, browser, **kwargs):
        self.context = browser.new_context(viewport={'width': 1280, 'height': 900}, **kwargs)
        self.requests, self.outside = [], []
        self.context.route('**/*', self._route)
        self.page = self.context.new_page()

    def _route(self, route):
        url = route.request.url
        self.requests.append(url)
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS: route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def images(self) -> list[dict]:
        "Every image of the page's main content: its source and whether it loaded."
        return self.page.eval_on_selector_all(
            'article img, main img, .jp-OutputArea img', 'els => els.map(e => ({src: e.currentSrc || e.src, loaded: e.complete && e.naturalWidth > 0}))')

    def wait_images(self, minimum: int, timeout: float = 20):
        "Wait until at least `minimum` images are there and every one has loaded; the images."
        end = time.monotonic() + timeout
        while True:
            imgs = self.images()
            if len(imgs) >= minimum and all(i['loaded'] for i in imgs) or time.monotonic() > end: return imgs
            self.page.wait_for_timeout(200)

    def shot(self, name: str):
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser):
    "Open pages with `visit()`; at the end, no request may have left this machine."
    opened = []
    def open_visit(**kwargs):
        v = Visit(browser, **kwargs)
        opened.append(v)
        return v
    yield open_visit
    outside = [u for v in opened for u in v.outside]
    for v in opened: v.close()
    assert not outside, f'requests that would have left 127.0.0.1: {outside}'


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope='module')
def site_url(docs_build):
    "The built site served over HTTP on 127.0.0.1 (a free port), for the module's tests."
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), partial(_QuietHandler, directory=docs_build['site']))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()
    thread.join(10)


# --- the docs site ------------------------------------------------------------------------------------------------
def test_home_page_renders_with_its_figure(visit, site_url):
    v = visit()
    v.page.goto(f'{site_url}/index.html')
    assert 'mlworkbench' in v.page.title()
    imgs = v.wait_images(1)
    assert imgs and all(i['loaded'] for i in imgs), imgs
    for section in ('Tutorials', 'API reference', 'Reports'):
        assert v.page.locator('header ul.navbar-nav').first.get_by_role('link', name=section).count() == 1
    v.shot('docs-home.png')


def test_api_page_renders_signatures_and_figures(visit, site_url, figures_page):
    "A library notebook executed for this build: each function under its name with its signature, and the charts."
    v = visit()
    v.page.goto(f'{site_url}/{figures_page}.html')
    headings = v.page.locator('article section > h3')
    signatures = v.page.locator('article section > h3 + .nbdev-signature')
    assert headings.count() >= 2 and signatures.count() >= 2
    first = signatures.first.locator('xpath=..').locator('h3').inner_text().strip('#').strip()
    assert signatures.first.inner_text().startswith(first)
    imgs = v.wait_images(1)
    assert imgs and all(i['loaded'] for i in imgs), imgs
    v.shot(f"docs-api-{figures_page.replace('/', '-')}.png")


def test_report_page_renders_with_its_figures(visit, site_url):
    "The prep report of a stage that really ran: its tables and its charts."
    v = visit()
    v.page.goto(f'{site_url}/reports/prep.html')
    assert v.page.locator('h1').first.inner_text().startswith('Prep')
    imgs = v.wait_images(3)
    assert len(imgs) >= 3 and all(i['loaded'] for i in imgs), imgs
    v.shot('docs-report-prep.png')


def test_search_finds_a_function(visit, site_url):
    "Type a function's name into the search box, as a person would: the results link to its section."
    v = visit()
    v.page.goto(f'{site_url}/index.html')
    v.page.locator('button.search-button__button:visible').first.click()
    box = v.page.locator('#pst-search-dialog input[name="q"]')
    box.fill('load_params')
    box.press('Enter')
    v.page.wait_for_url('**/search.html?q=load_params*')
    hit = v.page.locator('#search-results ul.search li a', has_text='load_params').first
    hit.wait_for(timeout=20000)
    assert hit.get_attribute('href').endswith('#load-params')
    v.shot('docs-search.png')
    assert v.page.locator('#search-results ul.search li p.context').count() > 0  # served over HTTP: snippets too
    hit.click()
    v.page.wait_for_url('**/01_config/*.html*#load-params')  # the API page of the notebook that defines it


def test_search_from_file_urls_lists_titles_without_errors(visit, docs_build):
    "The site opened from disk, as the README says it can be: results, and no request the browser would refuse."
    v = visit()
    errors = []
    v.page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
    v.page.goto((Path(docs_build['site']) / 'search.html').as_uri() + '?q=load_params')
    hit = v.page.locator('#search-results ul.search li a', has_text='load_params').first
    hit.wait_for(timeout=20000)
    v.page.wait_for_timeout(500)  # time for the snippet fetches it no longer makes
    refused = [e for e in errors if any(w in e for w in ('CORS', 'Fetch API', 'Failed to load', 'Failed to fetch', 'ERR_'))]
    assert refused == [], refused


# --- JupyterLab ---------------------------------------------------------------------------------------------------
def jupyter_lab(project: Path, port: int, token: str, home: Path) -> subprocess.Popen:
    "JupyterLab as `make lab` starts it (news and update checks off), on a given port and token, in its own session."
    env = {**os.environ, 'PATH': f'{Path(sys.executable).parent}:{os.environ["PATH"]}',
           # a user's own Jupyter settings and workspaces must not change what this test sees
           'JUPYTER_CONFIG_DIR': str(home / 'config'), 'JUPYTER_RUNTIME_DIR': str(home / 'runtime'),
           'JUPYTERLAB_SETTINGS_DIR': str(home / 'settings'), 'JUPYTERLAB_WORKSPACES_DIR': str(home / 'workspaces')}
    env.pop('MPLBACKEND', None)
    cmd = [str(Path(sys.executable).parent / 'jupyter'), 'lab', '--no-browser', '--allow-root', '--ServerApp.ip=127.0.0.1',
           f'--ServerApp.root_dir={project}', '--LabApp.news_url=None',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
           '--FileContentsManager.pre_save_hook=mlworkbench.workbench.lab.clean_on_save',
           f'--ServerApp.port={port}', '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}']
    return subprocess.Popen(cmd, cwd=project, env=env, stdout=open(home / 'lab.log', 'w'), stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.fixture
def lab(stage_project, tmp_path):
    "JupyterLab on the stage project (its data prepared, as after `dvc repro`), stopped with its kernels at the end."
    port, token = free_port(), secrets.token_hex(16)
    proc = jupyter_lab(stage_project.root, port, token, tmp_path)
    url = f'http://127.0.0.1:{port}'
    end = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2) as r:
                if r.status == 200: break
        except OSError: pass
        if proc.poll() is not None or time.monotonic() > end:
            os.killpg(proc.pid, signal.SIGKILL) if proc.poll() is None else None
            pytest.fail(f'JupyterLab did not start:\n{(tmp_path / "lab.log").read_text()}')
        time.sleep(0.3)
    yield url, token
    os.killpg(proc.pid, signal.SIGTERM)   # the server and the kernels it started: one session, ours
    try: proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL); proc.wait()


def run_cell(page, cell, tries: int = 4):
    """Select `cell` and run it (Ctrl+Enter) until its prompt shows an execution count. Right after the kernel
    says idle, JupyterLab can still drop a run request while its kernel connection opens; a person presses again."""
    from playwright.sync_api import expect
    prompt = cell.locator('.jp-InputPrompt')
    for _ in range(tries):
        cell.locator('.jp-InputArea-prompt').click()
        page.keyboard.press('Control+Enter')
        try:
            expect(prompt).to_have_text(re.compile(r'\[(\d+|\*)\]'), timeout=15000)
            break
        except AssertionError: pass
    expect(prompt).to_have_text(re.compile(r'\[\d+\]'), timeout=60000)


def test_jupyterlab_runs_a_pipeline_notebook(visit, lab, stage_project):
    """Open pipeline/train.ipynb, run its parameters and import cells (params.yaml's defaults), then one more cell
    that shows what they loaded; no news prompt appears."""
    from playwright.sync_api import expect
    url, token = lab
    v = visit()
    page = v.page
    kernel_frames = []   # messages from the kernel over its websocket: the notebook is connected to it
    page.on('websocket', lambda ws: ws.on('framereceived', lambda frame: kernel_frames.append(ws.url)) if '/api/kernels/' in ws.url else None)
    try:
        page.goto(f'{url}/lab/tree/pipeline/train.ipynb?token={token}')
        cells = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')
        cells.nth(2).wait_for(timeout=60000)
        expect(page.locator('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator').first).to_have_attribute('data-status', 'idle', timeout=60000)
        for _ in range(300):
            if kernel_frames: break
            page.wait_for_timeout(200)
        for i in (1, 2):   # the `parameters` cell (params = None), then the imports and stage_params
            run_cell(page, cells.nth(i))
        assert 'Error' not in cells.nth(2).inner_text(), cells.nth(2).inner_text()
        # saved after running: the file DVC depends on keeps its committed bytes (make lab's pre-save hook cleans it)
        saved = stage_project.root / 'pipeline' / 'train.ipynb'
        before = saved.stat().st_mtime_ns
        page.keyboard.press('Control+s')
        for _ in range(150):
            if saved.stat().st_mtime_ns != before: break
            page.wait_for_timeout(200)
        assert saved.stat().st_mtime_ns != before, 'JupyterLab did not save the notebook'
        assert saved.read_bytes() == (REPO / 'pipeline' / 'train.ipynb').read_bytes(), 'saving in JupyterLab changed the stage notebook'
        # one more cell, below: the defaults of params.yaml and the data they point at
        cells.nth(2).locator('.jp-InputArea-prompt').click()
        page.keyboard.press('b')
        expect(cells.nth(3).locator('.jp-InputPrompt')).to_have_text(re.compile(r'\[ \]'))
        page.keyboard.press('Enter')
        page.keyboard.type("p.train.metric, p.data.target, len(read_rows('data/prepared/train.parquet')) > 0")
        page.keyboard.press('Shift+Enter')
        expect(cells.nth(3).locator('.jp-OutputArea-output').first).to_have_text("('mae', 'units_sold', True)", timeout=60000)
        # JupyterLab asks "Would you like to get notified about official Jupyter news?" unless its fetchNews setting
        # says no; `--LabApp.news_url=None` alone does not stop the question. `make setup` installs that setting.
        assert page.get_by_text('official Jupyter news').count() == 0, \
            f'the news prompt appeared: is {LAB_OVERRIDES} installed (make setup)?'
    finally:
        v.shot('jupyterlab-train.png')


# --- the service's API explorer -----------------------------------------------------------------------------------
def test_service_api_explorer_works_offline_and_tries_a_request(visit, served, server_factory):
    "Swagger UI at /docs of a running `mlwb serve`, from the service's own assets: a /predict tried from it is answered; ReDoc renders too."
    from playwright.sync_api import expect
    server = server_factory(served, token=None)
    v = visit()
    page = v.page
    page.goto(f'{server.url}/docs')
    predict = page.locator('.opblock', has=page.locator('.opblock-summary-path', has_text=re.compile(r'^/predict$'))).first
    predict.locator('.opblock-summary').click()
    predict.locator('button.try-out__btn').click()
    predict.locator('button.execute').click()
    status = predict.locator('.live-responses-table tbody td.response-col_status').first
    expect(status).to_have_text(re.compile(r'^\s*200'), timeout=20000)
    assert 'predictions' in predict.locator('.live-responses-table tbody td.response-col_description').first.inner_text()
    v.shot('service-docs-try-predict.png')
    page.goto(f'{server.url}/redoc')
    expect(page.locator('h1').first).to_contain_text('mlworkbench prediction service', timeout=20000)
    expect(page.get_by_text('/predict').first).to_be_visible()
    v.shot('service-redoc.png')


# --- a whole pipeline's pages -------------------------------------------------------------------------------------
def test_every_stage_report_the_model_card_and_the_plots_page_render_offline(visit, reproduced, tmp_path):
    "The pages of a real `dvc repro` (flights sample), opened as a person opens them: every chart drawn, nothing fetched."
    from conftest import copy_of
    from playwright.sync_api import expect
    reports = reproduced.root / 'reports'
    for name in ('ingest', 'prep', 'train', 'evaluate', 'estimator', 'backtest', 'monitor', 'model_card'):
        v = visit()
        v.page.goto((reports / f'{name}.html').as_uri())
        expected = (reports / f'{name}.html').read_text().count('<img ')
        imgs = v.wait_images(expected)
        assert len(imgs) == expected and all(i['loaded'] for i in imgs), (name, imgs)
        assert name in ('ingest', 'monitor') or expected > 0, name  # these stages and the card draw charts
        if name == 'model_card': assert expected == len(list((reports / 'model_card').glob('*.png'))) >= 2, expected  # inlined: the page is one file
        v.shot(f'report-{name}.png')
    p = copy_of(reproduced, tmp_path / 'p')
    p.run('plots', 'show', '-o', str(tmp_path / 'plots'), cmd='dvc')
    v = visit()
    v.page.goto((tmp_path / 'plots' / 'index.html').as_uri())
    charts = v.page.locator('.vega-embed')
    expect(charts.first).to_be_visible(timeout=20000)
    drawn = v.page.locator('.vega-embed svg .mark-symbol path, .vega-embed svg .mark-line path, .vega-embed canvas')
    expect(drawn.first).to_be_attached(timeout=20000)
    assert charts.count() >= 3, charts.count()  # predicted vs actual, candidates, backtest (monitor: nothing served yet)
    v.shot('dvc-plots.png')
