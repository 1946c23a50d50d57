"""train + evaluate end to end on a target of four classes (one of them rare), by params.yaml alone.

The record lists every class and no threshold, the rare class trains on with a warning, and evaluate reports the
multi-class metrics, a row per class, the confusion matrix of the most probable class and a card that names them.
"""
import json

import numpy as np
import pandas as pd

from conftest import fast_train_params

CLASSES = ['bike', 'bus', 'car', 'walk']


def make_trips_csv(path, n: int = 1200, seed: int = 4) -> pd.DataFrame:
    "How did a trip go? Walk when short, bike when dry, bus or car by the district; 'scooter' in a handful of rows."
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({'distance_km': rng.lognormal(1.0, 0.8, n).round(2), 'rain_mm': rng.exponential(1.0, n).round(1),
                       'district': rng.choice(['centre', 'suburb', 'outskirts'], n, p=[0.4, 0.35, 0.25])})
    logits = np.column_stack([1.5 - 0.8 * df['rain_mm'],  # bike
                              0.5 + 1.2 * (df['district'] == 'centre'),  # bus
                              -1 + 0.25 * df['distance_km'] + 1.5 * (df['district'] == 'outskirts'),  # car
                              3 - 1.5 * df['distance_km']])  # walk
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    df['mode'] = np.array(CLASSES)[(proba.cumsum(1) > rng.random((n, 1))).argmax(1)]
    df.loc[rng.choice(n, 6, replace=False), 'mode'] = 'scooter'  # rare: fewer rows in training than folds
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df


def trips_params() -> dict:
    p = {'data': {'target': 'mode', 'task': 'classification', 'time_column': None},
         'ingest': {'tables': {'trips': 'data/external/trips.csv'}},
         'prep': {'main_table': 'trips',
                  'columns': {'trips': {'distance_km': {'dtype': 'float', 'min': 0}, 'rain_mm': {'dtype': 'float', 'min': 0},
                                        'district': {'dtype': 'str'}, 'mode': {'dtype': 'str'}}},
                  'split': {'method': 'random', 'seed': 7, 'fractions': {'train': 0.6, 'test': 0.25, 'production': 0.15}}},
         'evaluate': {'seed': 2, 'n_resamples': 200, 'slices': ['district'], 'slice_min_rows': 40, 'importance_rows': 300, 'plot_points': 200}}
    p |= fast_train_params('classification')
    p['features'] = {'min_frequency': 5}  # no time column: no calendar features
    p['train']['metric'] = 'f1'  # macro F1 for four classes and more
    p['train']['cv'] = {'folds': 5}  # more folds than 'scooter' has training rows
    return p


def test_multiclass_dataset_end_to_end(project):
    df = make_trips_csv(project.root / 'data' / 'external' / 'trips.csv')
    project.params = project.params | trips_params()
    for stage in ('ingest', 'prep', 'train', 'evaluate'): project.run('stage', stage)
    record = json.loads((project.root / 'models' / 'model.json').read_text())
    train = pd.read_parquet(project.root / 'data' / 'prepared' / 'train.parquet')
    assert record['classes'] == sorted(train['mode'].unique()) and len(record['classes']) >= 5  # every class, the rare one too
    assert record['threshold'] is None  # the most probable class is called
    assert json.loads((project.root / 'reports' / 'train.json').read_text())['classes'] == len(record['classes'])
    assert 'fewer training rows than train.cv.folds=5' in (project.root / 'reports' / 'train.ipynb').read_text()

    metrics = json.loads((project.root / 'reports' / 'metrics.json').read_text())
    test = pd.read_parquet(project.root / 'data' / 'prepared' / 'test.parquet')
    judged = test['mode'].isin(record['classes'])  # a class never seen in training cannot be judged
    assert metrics['test_rows'] == judged.sum() and set(metrics['test']) == {'accuracy', 'precision', 'recall', 'f1', 'f1_weighted', 'roc_auc', 'log_loss'}
    assert metrics['averages']['f1'] == 'macro average' and metrics['classes'] == record['classes']
    per = pd.DataFrame(metrics['per_class']).T
    assert per['support'].sum() == metrics['test_rows']
    assert per['support'].to_dict() == test.loc[judged, 'mode'].value_counts().reindex(record['classes'], fill_value=0).to_dict()
    for c in CLASSES: assert per.loc[c, 'f1_low'] <= per.loc[c, 'f1'] <= per.loc[c, 'f1_high']
    f1 = metrics['test']['f1']
    assert f1['ci_low'] <= f1['value'] <= f1['ci_high']
    dummy = metrics['vs_baselines']['dummy']
    assert dummy['model_better'] and dummy['significant'], dummy

    plots = project.root / 'reports' / 'plots'
    assert sorted(p.name for p in plots.iterdir()) == ['confidence.csv', 'confusion.csv', 'predictions.csv']
    confusion = pd.read_csv(plots / 'confusion.csv')
    assert confusion['rows'].sum() == metrics['test_rows']
    right = confusion.loc[confusion['actual'] == confusion['predicted'], 'rows'].sum()
    assert abs(right / metrics['test_rows'] - metrics['test']['accuracy']['value']) < 1e-9
    preds = pd.read_parquet(project.root / 'reports' / 'test_predictions.parquet')
    assert set(preds['predicted']) <= set(record['classes']) and len(preds) == metrics['test_rows']
    assert np.allclose(preds[[f'proba_{c}' for c in record['classes']]].sum(axis=1), 1)

    card = (project.root / 'reports' / 'model_card.md').read_text()
    assert f"which of {len(record['classes'])} classes" in card and 'highest probability' in card
    for c in CLASSES: assert f'| `{c}` | {int(per.loc[c, "support"]):,} |' in card  # each class with its support
    assert '## Which classes it confuses' in card and 'Macro average' in card and 'at least 0.' not in card  # no threshold sentence
    html = (project.root / 'reports' / 'evaluate.html').read_text()
    assert html.count('data:image/png;base64') >= 5  # metrics, slices, confidence vs accuracy, importance and the confusion heat map
