"""`mlwb init` + `dvc repro` on a table the workbench has never seen, with no edit in between.

The table has an id column, a constant column, missing values, a boolean target and no time column: `init` must
drop the first two, type every column, pick binary classification and a seeded random split, and the pipeline must
run to the end and choose a model that beats the dummy baseline.
"""
import json

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow


def make_churn_csv(path, n: int = 900, seed: int = 5) -> pd.DataFrame:
    "Did a customer leave? Depends on the plan and the tenure; an id, a constant country, missing fees."
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({'customer_id': [f'C{i:05d}' for i in rng.permutation(n)], 'plan': rng.choice(['basic', 'plus', 'pro'], n, p=[0.5, 0.3, 0.2]),
                       'tenure_months': rng.integers(1, 72, n), 'monthly_fee': rng.normal(30, 8, n).round(2), 'country': 'NO'})
    df.loc[rng.choice(n, n // 20, replace=False), 'monthly_fee'] = np.nan
    logit = 0.8 - 0.06 * df['tenure_months'] + 1.2 * (df['plan'] == 'basic')
    df['churned'] = rng.random(n) < 1 / (1 + np.exp(-logit))
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df


def test_init_then_repro_runs_untouched_and_beats_the_dummy(project, tmp_path):
    csv = tmp_path / 'elsewhere' / 'churn.csv'
    make_churn_csv(csv)
    refused = project.run('init', str(csv), '--target', 'churned', check=False)
    assert refused.returncode == 2 and 'params.yaml exists' in refused.stderr and 'Traceback' not in refused.stderr
    out = project.run('init', str(csv), '--target', 'churned', '--force').stdout
    assert 'task: classification' in out and 'time column: none' in out, out
    written = (project.root / 'params.yaml').read_text()
    p = yaml.safe_load(written)
    assert p['ingest']['tables'] == {'churn': 'data/external/churn.csv'} and (project.root / 'data' / 'external' / 'churn.csv').exists()
    assert p['prep']['drop_columns'] == ['customer_id', 'country'] and p['prep']['split']['method'] == 'random'
    assert p['prep']['columns']['churn']['monthly_fee'] == {'dtype': 'float', 'nullable': True}
    assert p['prep']['columns']['churn']['churned']['dtype'] == 'bool'
    assert project.run('params').returncode == 0
    project.run('init', '--no-scm', '-q', cmd='dvc')
    r = project.run('repro', cmd='dvc', check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (project.root / 'params.yaml').read_text() == written  # nothing had to change
    metrics = json.loads((project.root / 'reports' / 'metrics.json').read_text())
    dummy = metrics['vs_baselines']['dummy']
    assert dummy['model_better'] and dummy['significant'], metrics


def test_init_multiclass_and_its_limits(project, tmp_path):
    "Three classes, one rarer than the folds: init says so and lowers the folds; 150 classes are refused in one line."
    rng = np.random.default_rng(2)
    n = 400
    df = pd.DataFrame({'size_cm': rng.gamma(3, 1, n).round(2), 'colour': rng.choice(['red', 'blue'], n)})
    df['kind'] = np.where(df['size_cm'] + rng.normal(0, 0.8, n) > 3, 'large', 'small')
    df.loc[:3, 'kind'] = 'giant'
    csv = tmp_path / 'elsewhere' / 'kinds.csv'
    csv.parent.mkdir()
    df.to_csv(csv, index=False)
    out = project.run('init', str(csv), '--target', 'kind', '--force').stdout
    assert "task: classification (3 distinct values (text): multi-class)" in out, out
    assert "check: rare class 'giant' (4 rows): too few for more CV folds, so train.cv.folds is 2" in out, out
    p = yaml.safe_load((project.root / 'params.yaml').read_text())
    assert p['train']['metric']['classification'] == 'log_loss' and p['train']['cv']['folds'] == 2
    assert project.run('params').returncode == 0
    many = tmp_path / 'incoming' / 'many_kinds.csv'
    many.parent.mkdir()
    df.assign(kind=np.arange(n) % 150).to_csv(many, index=False)
    r = project.run('init', str(many), '--target', 'kind', '--task', 'classification', '--force', check=False)
    assert r.returncode == 2 and 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'the target has 150 classes' in r.stderr and 'at most 100 can be classified' in r.stderr, r.stderr
