"Shared fixtures: a throw-away copy of the project, and a way to run `mlwb` in it as a user would."
import copy
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from xdist_groups import pytest_collection_modifyitems  # noqa: F401  (a hook: `--dist loadgroup` groups on pytest 9.2)

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


class Project:
    "A copy of the workbench in a temp folder: its own params.yaml, data and reports; the library linked."

    def __init__(self, root: Path):
        self.root = root
        for name in ('dvc.yaml', 'params.yaml'): shutil.copy(REPO / name, root / name)
        shutil.copytree(REPO / 'pipeline', root / 'pipeline')
        shutil.copytree(REPO / 'data' / 'external', root / 'data' / 'external')
        (root / 'mlworkbench').symlink_to(REPO / 'mlworkbench')  # dvc.yaml deps point at the modules

    @property
    def params(self) -> dict: return yaml.safe_load((self.root / 'params.yaml').read_text())

    @params.setter
    def params(self, value: dict): (self.root / 'params.yaml').write_text(yaml.safe_dump(value, sort_keys=False))

    def set(self, **dotted):
        "Change params.yaml keys given as a__b__c=value."
        p = self.params
        for key, value in dotted.items():
            *parents, last = key.split('__')
            node = p
            for k in parents: node = node.setdefault(k, {})
            node[last] = value
        self.params = p

    def run(self, *args, check=True, cmd='mlwb') -> subprocess.CompletedProcess:
        "Run a command of the venv in the project; fail the test with its output if `check` and it fails."
        env = {**os.environ, 'PATH': f"{BIN}:{os.environ['PATH']}"}
        r = subprocess.run([cmd if cmd.startswith('/') else str(BIN / cmd), *args], cwd=self.root, capture_output=True, text=True, env=env)
        if check and r.returncode != 0: pytest.fail(f'{cmd} {" ".join(args)} exited {r.returncode}\n{r.stdout}\n{r.stderr}')
        return r

    def digest(self, folder: str) -> dict:
        "sha256 of every file below `folder`: to prove outputs did or did not change."
        base = self.root / folder
        return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(base.rglob('*')) if p.is_file()}


@pytest.fixture(scope='session', autouse=True)
def warm_dir(tmp_path_factory) -> Path:
    "The suite's warm interpreters (mlworkbench.workbench.launcher) live in a folder of their own and are stopped at the end."
    folder = tmp_path_factory.mktemp('warm')
    os.environ['MLWB_WARM_DIR'] = str(folder)
    yield folder
    from mlworkbench.workbench.warm import stop_warm
    stop_warm()


def warm_log(warm_dir: Path) -> str:
    "What the warm interpreters ran: one line per command, with its folder, and one per exit code."
    return ''.join(p.read_text() for p in sorted(warm_dir.glob('*.log')))


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def small_flights(project) -> Project:
    "The default project on a small seeded sample of the real flights."
    project.set(prep__sample_rows=3000)
    return project


def fast(project):
    "The default pipeline on 3000 flights with a small search and few resamples: every stage, in seconds."
    project.set(prep__sample_rows=3000, train__progress=False, train__candidates__hist_gradient_boosting__n_iter=2,
                train__candidates__hist_gradient_boosting__params__max_iter=40, evaluate__n_resamples=200, evaluate__importance_rows=300,
                monitor__n_resamples=200, retrain__n_resamples=200,
                registry={'root': 'models/registry', 'name': 'arr_delay'}, serve={'database_url': 'sqlite:///logs/predictions.db'})
    params = project.params; del params['train']['candidates']['random_forest']; project.params = params
    return project


def git_dvc(project):
    for args in (['init', '-q'], ['config', 'user.email', 't@t'], ['config', 'user.name', 't']): project.run(*args, cmd='/usr/bin/git')
    project.run('init', '-q', cmd='dvc')
    # as the project's .dvc/config does: the offline page template that `make setup` builds
    project.run('config', 'plots.html_template', str(REPO / '.dvc' / 'plots' / 'offline.html'), cmd='dvc')
    (project.root / '.dvc' / 'plots').mkdir(exist_ok=True)
    for template in (REPO / '.dvc' / 'plots').glob('*.json'): shutil.copy(template, project.root / '.dvc' / 'plots' / template.name)  # committed, as a clone has them
    return project


def commit(project, message):
    project.run('add', '-A', cmd='/usr/bin/git'); project.run('commit', '-qm', message, cmd='/usr/bin/git')


THREADS = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')  # what a shell sets to tune BLAS/OpenMP


@pytest.fixture(scope='session')
def reproduced(tmp_path_factory) -> Project:
    "A git + DVC project of the `fast` pipeline, reproduced once by plain processes on one BLAS thread and committed: tests work on copies."
    p = git_dvc(fast(Project(tmp_path_factory.mktemp('reproduced'))))
    (p.root / '.gitignore').write_text('/logs/\n/models/registry/\n')  # as the project's own .gitignore
    commit(p, 'params')
    with pytest.MonkeyPatch.context() as mp:
        for var in THREADS: mp.setenv(var, '1')
        mp.setenv('MLWB_WARM', '0')  # every stage a plain process
        p.run('repro', cmd='dvc')
    commit(p, 'results')
    return p


def copy_of(project: Project, folder: Path) -> Project:
    "A copy of `project`'s folder as it is (git, DVC cache, outputs), for a test to change."
    shutil.copytree(project.root, folder, symlinks=True)
    c = Project.__new__(Project)
    c.root = folder
    return c


def make_sales_csv(path: Path, n: int = 600, seed: int = 0, with_time: bool = True):
    "A second, unrelated dataset: store sales with a different target, columns and time column."
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        'store': rng.choice(['north', 'south', 'east'], n),
        'promo': rng.integers(0, 2, n),
        'temperature_c': rng.normal(15, 8, n).round(1),
    })
    df['units_sold'] = (50 + 20 * df['promo'] + 0.8 * df['temperature_c'] + rng.normal(0, 5, n)).round()
    if with_time: df.insert(0, 'sold_at', pd.date_range('2022-01-01', periods=n, freq='6h').strftime('%Y-%m-%d %H:%M'))
    df.loc[rng.choice(n, 10, replace=False), 'units_sold'] = np.nan  # unknown outcomes
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df


def sales_params(with_time: bool = True) -> dict:
    "params.yaml for the sales dataset: the only thing that changes to use the workbench on it."
    columns = {'store': {'dtype': 'str', 'isin': ['north', 'south', 'east'], 'nullable': False},
               'promo': {'dtype': 'int', 'min': 0, 'max': 1},
               'temperature_c': {'dtype': 'float', 'min': -50, 'max': 60},
               'units_sold': {'dtype': 'float', 'min': 0}}
    split = {'method': 'random', 'seed': 7, 'fractions': {'train': 0.6, 'test': 0.2, 'production': 0.2}}
    if with_time:
        columns = {'sold_at': {'dtype': 'datetime', 'nullable': False}, **columns}
        split = {'method': 'time', 'train': {'start': '2022-01-01', 'end': '2022-03-31'},
                 'test': {'start': '2022-04-01', 'end': '2022-04-30'}, 'production': {'start': '2022-05-01', 'end': '2022-12-31'}}
    return {
        'data': {'target': 'units_sold', 'task': 'regression', 'time_column': 'sold_at' if with_time else None},
        'ingest': {'tables': {'sales': 'data/external/sales.csv'}},
        'prep': {'main_table': 'sales', 'columns': {'sales': columns},
                 'valid_ranges': {'temperature_c': [-40, 55]},
                 'time_features': {'parts': ['hour', 'dayofweek', 'month']} if with_time else {},
                 'split': split},
    }


@pytest.fixture
def sales(project) -> Project:
    "A project pointed at the generated sales CSV by params.yaml alone."
    make_sales_csv(project.root / 'data' / 'external' / 'sales.csv')
    project.params = sales_params()
    return project


def fast_train_params(task: str = 'regression') -> dict:
    "features + train sections that tune three candidates in seconds."
    return {
        'features': {'cyclical': {'hour': 24, 'dayofweek': 7}, 'min_frequency': 5},
        'train': {'seed': 3, 'metric': 'mae' if task == 'regression' else 'roc_auc', 'progress': False, 'n_jobs': 1,
                  'cv': {'folds': 3}, 'baselines': ['dummy', 'linear'],
                  'candidates': {'dummy': {'estimator': 'dummy'},
                                 'linear': {'estimator': 'linear', 'space': {('alpha' if task == 'regression' else 'C'): [0.1, 1.0, 10.0]}, 'n_iter': 2},
                                 'boosting': {'estimator': 'hist_gradient_boosting', 'params': {'max_iter': 40},
                                              'space': {'learning_rate': {'log_uniform': [0.05, 0.3]}}, 'n_iter': 2}}},
    }


def make_loans_csv(path: Path, n: int = 1500, seed: int = 1):
    "A classification dataset: did a loan default ('yes'/'no'), with a time column and a weaker region."
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        'applied_at': pd.date_range('2021-01-01', periods=n, freq='5h').strftime('%Y-%m-%dT%H:%M:%SZ'),
        'income_k': rng.lognormal(3.8, 0.4, n).round(1),
        'amount_k': rng.lognormal(2.5, 0.6, n).round(1),
        'region': rng.choice(['coast', 'valley', 'hills'], n, p=[0.5, 0.3, 0.2]),
    })
    logit = -1.0 + 1.6 * np.log(df['amount_k'] / df['income_k'] * 4) + 0.8 * (df['region'] == 'hills')
    df['defaulted'] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), 'yes', 'no')
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df


def loans_params() -> dict:
    "params.yaml for the loans classification dataset: again, the only thing that changes."
    p = {
        'data': {'target': 'defaulted', 'task': 'classification', 'time_column': 'applied_at'},
        'ingest': {'tables': {'loans': 'data/external/loans.csv'}},
        'prep': {'main_table': 'loans',
                 'columns': {'loans': {'applied_at': {'dtype': 'datetime', 'nullable': False}, 'income_k': {'dtype': 'float', 'min': 0},
                                       'amount_k': {'dtype': 'float', 'min': 0}, 'region': {'dtype': 'str'},
                                       'defaulted': {'dtype': 'str', 'isin': ['yes', 'no']}}},
                 'time_features': {'parts': ['hour', 'dayofweek']},
                 'split': {'train': {'start': '2021-01-01', 'end': '2021-08-31'}, 'test': {'start': '2021-09-01', 'end': '2021-10-31'},
                           'production': {'start': '2021-11-01', 'end': '2021-12-31'}}},
        'evaluate': {'seed': 2, 'n_resamples': 200, 'slices': ['region'], 'slice_min_rows': 30, 'importance_rows': 300, 'plot_points': 200},
    }
    return p | fast_train_params('classification')


# --- registry and service (tests/test_registry.py, test_service*.py, test_postgres.py) -------------------------
import signal
import socket
import tempfile
import time
import urllib.error
import urllib.request

ADMIN_TOKEN = 'test-admin-token'


def free_port() -> int:
    "A TCP port free on 127.0.0.1 right now."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def served(project) -> Project:
    "A project with a small model registered as version 1, champion; the log in its own SQLite file."
    from mlworkbench.serve.registry import Registry
    from mlworkbench.workbench.testing import demo_model
    project.set(registry={'root': 'models/registry', 'name': 'delay'},
                serve={'database_url': 'sqlite:///logs/predictions.db', 'log_flush_seconds': 0.05})
    demo_model(project.root / 'models')
    Registry(project.root / 'models' / 'registry', 'delay').register(project.root / 'models', None, alias='champion')
    return project


class Server:
    "`mlwb serve` in a real uvicorn process on 127.0.0.1, stopped with a signal as a supervisor would."

    def __init__(self, project: Project, token: str | None = ADMIN_TOKEN, env: dict | None = None, args=(), timeout: float = 60):
        self.project, self.port = project, free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        full = {**os.environ, 'PATH': f"{BIN}:{os.environ['PATH']}", **(env or {})}
        full.pop('MLWB_ADMIN_TOKEN', None)
        if token: full['MLWB_ADMIN_TOKEN'] = token
        self.log = project.root / f'serve-{self.port}.log'
        self.proc = subprocess.Popen([str(BIN / 'mlwb'), 'serve', '--project', str(project.root), '--port', str(self.port), *args],
                                     cwd=project.root, env=full, stdout=open(self.log, 'w'), stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + '/v2/health/ready', timeout=2) as r:
                    if r.status == 200: break
            except (urllib.error.URLError, ConnectionError, OSError): pass
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                pytest.fail(f'mlwb serve did not become ready:\n{self.log.read_text()}')
            time.sleep(0.2)

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> int:
        "Stop the server as a supervisor would; its exit code."
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try: self.proc.wait(timeout)
            except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def server_factory():
    "Start servers with `server_factory(project, ...)`; all are stopped at the end of the test."
    started = []
    def start(*args, **kwargs):
        s = Server(*args, **kwargs)
        started.append(s)
        return s
    yield start
    for s in started: s.stop()


PG_BIN = Path('/usr/lib/postgresql/15/bin')


@pytest.fixture(scope='session')
def postgres_url():
    "A PostgreSQL 15 server of our own: initdb in a temp dir, started with pg_ctl (as the postgres user when run as root)."
    if not (PG_BIN / 'initdb').exists():
        message = f'PostgreSQL 15 is not installed ({PG_BIN}/initdb missing): apt-get install postgresql-15'
        if os.environ.get('CI'): pytest.fail(message)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix='mlwb-pg-'))
    as_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(base, 'postgres', 'postgres')
        as_user = ['runuser', '-u', 'postgres', '--']
    port = free_port()
    run = lambda *cmd: subprocess.run([*as_user, *map(str, cmd)], check=True, capture_output=True, text=True)
    try:
        run(PG_BIN / 'initdb', '-D', base / 'data', '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8')
        run(PG_BIN / 'pg_ctl', '-D', base / 'data', '-l', base / 'server.log', '-w', '-t', '60', 'start', '-o',
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off")
    except subprocess.CalledProcessError as e:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f'could not start PostgreSQL: {e.stderr}')
    try: yield f'postgresql+psycopg://postgres@127.0.0.1:{port}/postgres'
    finally:
        subprocess.run([*as_user, str(PG_BIN / 'pg_ctl'), '-D', str(base / 'data'), '-m', 'fast', '-w', 'stop'], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope='module')
def dask_client():
    "A real Dask cluster for a test module: a LocalCluster of two single-threaded worker processes on 127.0.0.1, stopped after it."
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host='127.0.0.1', dashboard_address=None, memory_limit='2GiB') as cluster, Client(cluster) as c:
        yield c


def kill_a_busy_worker(client, run, timeout=60):
    "SIGKILL a worker while it holds tasks of `run` (a started thread); the process id it had."
    import os, signal, time
    pids = client.run(os.getpid)
    deadline = time.monotonic() + timeout
    while not (busy := [w for w, tasks in client.processing().items() if tasks]):
        assert run.is_alive() and time.monotonic() < deadline, 'no task ever ran'
        time.sleep(0.01)
    os.kill(pids[busy[0]], signal.SIGKILL)
    return pids[busy[0]]
