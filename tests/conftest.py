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


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def small_flights(project) -> Project:
    "The default project on a small seeded sample of the real flights."
    project.set(prep__sample_rows=3000)
    return project


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
