"""`mlwb init` + `dvc repro evaluate` on five tables the workbench has never seen, with no edit in between.

Between them: regression, binary and multi-class classification; with and without a time column; missing values, many
categoricals, an id column, a constant column, a boolean target, an integer-coded target, a class rarer than the CV
folds. Each must reach evaluate with a chosen model that beats the dummy baseline (tests/test_init.py runs the whole
pipeline on one more table; here evaluate is enough, to keep the suite's budget).
"""
import json

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow


def deliveries(rng, n=800) -> pd.DataFrame:
    "Regression with a time column: minutes to deliver from items, distance and the hour; an id, a constant, missing distances."
    placed = pd.date_range('2024-03-01 08:00', periods=n, freq='3h')
    df = pd.DataFrame({'order_id': rng.permutation(n) + 1000, 'placed_at': placed.strftime('%Y-%m-%d %H:%M'),
                       'zone': rng.choice(['centre', 'north', 'south', 'harbour'], n), 'items': rng.integers(1, 12, n),
                       'distance_km': rng.gamma(2, 2.5, n).round(2), 'currency': 'EUR'})
    df['minutes'] = (12 + 2.5 * df['items'] + 3 * df['distance_km'] + 8 * (df['zone'] == 'harbour') + 6 * np.isin(placed.hour, [11, 14, 17])
                     + rng.normal(0, 4, n)).round(1)
    df.loc[rng.choice(n, n // 15, replace=False), 'distance_km'] = np.nan
    return df


def leads(rng, n=1000) -> pd.DataFrame:
    "Binary (text target 'won'/'lost') with a time column and many categoricals, most of them noise."
    df = pd.DataFrame({'created': pd.date_range('2023-01-01', periods=n, freq='9h').strftime('%Y-%m-%dT%H:%M:%SZ')})
    levels = {'industry': 14, 'country': 9, 'channel': 5, 'company_size': 4, 'product': 6, 'campaign': 12, 'rep': 8, 'tier': 3}
    for col, k in levels.items(): df[col] = rng.choice([f'{col[:3]}{i}' for i in range(k)], n)
    df['employees'] = rng.lognormal(4, 1.2, n).round()
    logit = -0.6 + 1.4 * (df['channel'] == 'cha0') + 1.0 * df['tier'].map({'tie0': 1, 'tie1': 0, 'tie2': -1}) + 0.3 * np.log(df['employees'] + 1) - 1.2
    df['outcome'] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), 'won', 'lost')
    return df


def tickets(rng, n=900) -> pd.DataFrame:
    "Multi-class (text) without a time column: a support ticket's queue; a uuid-like key, missing channels, one queue rarer than the folds."
    words = rng.integers(5, 400, n)
    df = pd.DataFrame({'ticket_key': [f'{rng.integers(16**8):08x}-{i:04d}' for i in range(n)], 'words': words,
                       'channel': rng.choice(['mail', 'chat', 'phone'], n), 'plan': rng.choice(['free', 'pro', 'team'], n, p=[0.5, 0.3, 0.2]),
                       'has_attachment': rng.random(n) < 0.3, 'previous_tickets': rng.poisson(2, n)})
    queue = np.where(df['has_attachment'] & (words > 150), 'tech', np.where(df['plan'] == 'free', 'sales', 'billing'))
    flip = rng.random(n) < 0.15
    queue[flip] = rng.choice(['tech', 'sales', 'billing'], flip.sum())
    queue[rng.choice(n, 4, replace=False)] = 'legal'  # about two rows in the training window: fewer than three folds
    df['queue'] = queue
    df.loc[rng.choice(n, n // 10, replace=False), 'channel'] = None
    return df


def sensors(rng, n=1000) -> pd.DataFrame:
    "Multi-class coded as integers (0, 1, 2: the fault level) with a time column; a constant firmware, missing readings."
    df = pd.DataFrame({'read_at': pd.date_range('2024-01-01', periods=n, freq='2h').strftime('%Y-%m-%d %H:%M:%S'),
                       'machine': rng.choice(['m1', 'm2', 'm3', 'm4', 'm5'], n), 'temperature': rng.normal(60, 8, n).round(1),
                       'vibration': rng.gamma(2, 1, n).round(3), 'firmware': '2.1'})
    risk = 0.12 * (df['temperature'] - 60) + 0.9 * (df['vibration'] - 2) + 0.8 * (df['machine'] == 'm4') + rng.normal(0, 0.6, n)
    df['fault_level'] = np.digitize(risk, [0.4, 1.6])
    df.loc[rng.choice(n, n // 20, replace=False), 'temperature'] = np.nan
    return df


def approvals(rng, n=700) -> pd.DataFrame:
    "Binary with a boolean target and no time column; a row-number column, a constant, several categoricals."
    df = pd.DataFrame({'Unnamed: 0': np.arange(n), 'income': rng.lognormal(10.5, 0.5, n).round(-2), 'debt_ratio': rng.beta(2, 5, n).round(3),
                       'housing': rng.choice(['own', 'rent', 'family'], n), 'job': rng.choice(['salaried', 'self', 'none', 'student'], n, p=[.55, .2, .15, .1]),
                       'region': rng.choice(list('ABCDEFG'), n), 'bank': 'one'})
    logit = 1.5 * (np.log(df['income']) - 10.5) / 0.5 - 4 * (df['debt_ratio'] - 0.3) - 1.2 * (df['job'] == 'none') + 0.4
    df['approved'] = rng.random(n) < 1 / (1 + np.exp(-logit))
    df.loc[rng.choice(n, n // 25, replace=False), 'housing'] = None
    return df


TABLES = {  # name -> (make, target, what init must find: task, time column, dropped columns, classes)
    'deliveries': (deliveries, 'minutes', 'regression', 'placed_at', ['order_id', 'currency'], 0),
    'leads': (leads, 'outcome', 'classification', 'created', [], 2),
    'tickets': (tickets, 'queue', 'classification', None, ['ticket_key'], 4),
    'sensors': (sensors, 'fault_level', 'classification', 'read_at', ['firmware'], 3),
    'approvals': (approvals, 'approved', 'classification', None, ['Unnamed: 0', 'bank'], 2),
}


@pytest.mark.parametrize('name', list(TABLES))
def test_init_then_repro_evaluate_untouched(project, tmp_path, name):
    make, target, task, time_column, dropped, n_classes = TABLES[name]
    csv = tmp_path / 'incoming' / f'{name}.csv'
    csv.parent.mkdir(parents=True)
    make(np.random.default_rng(sum(map(ord, name)))).to_csv(csv, index=False)
    out = project.run('init', str(csv), '--target', target, '--force').stdout
    written = (project.root / 'params.yaml').read_text()
    p = yaml.safe_load(written)
    assert (p['data']['task'], p['data']['time_column']) == (task, time_column), out
    assert p['prep']['drop_columns'] == dropped, out
    if n_classes > 2:
        assert 'multi-class' in out and p['train']['metric']['classification'] == 'log_loss', out
    if name == 'tickets': assert "'legal' (4 rows)" in out and p['train']['cv']['folds'] == 2, out
    assert project.run('params').returncode == 0
    project.run('init', '--no-scm', '-q', cmd='dvc')
    r = project.run('repro', 'evaluate', cmd='dvc', check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (project.root / 'params.yaml').read_text() == written  # nothing had to change
    metrics = json.loads((project.root / 'reports' / 'metrics.json').read_text())
    dummy = metrics['vs_baselines']['dummy']
    assert dummy['model_better'] and dummy['significant'], metrics
