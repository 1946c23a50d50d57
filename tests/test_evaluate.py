"train + evaluate end to end on a classification dataset, by params.yaml alone."
import json

import pandas as pd
import pytest

from conftest import loans_params, make_loans_csv


def test_classification_dataset_end_to_end(project):
    make_loans_csv(project.root / 'data' / 'external' / 'loans.csv')
    project.params = loans_params()
    for stage in ('ingest', 'prep', 'train', 'evaluate'): project.run('stage', stage)
    record = json.loads((project.root / 'models' / 'model.json').read_text())
    assert record['task'] == 'classification' and record['classes'] == ['no', 'yes']
    assert 0 < record['threshold'] < 1  # chosen on out-of-fold training predictions
    metrics = json.loads((project.root / 'reports' / 'metrics.json').read_text())
    assert set(metrics['test']) == {'accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'pr_auc', 'log_loss'}
    auc = metrics['test']['roc_auc']
    assert auc['ci_low'] <= auc['value'] <= auc['ci_high'] and auc['value'] > 0.6
    assert metrics['vs_baselines']['dummy']['model_better'] and metrics['vs_baselines']['dummy']['significant']
    plots = sorted(p.name for p in (project.root / 'reports' / 'plots').iterdir())
    assert plots == ['calibration.csv', 'precision_recall.csv', 'predictions.csv', 'roc.csv']
    card = (project.root / 'reports' / 'model_card.md').read_text()
    assert 'defaulted' in card and '## Where it is weaker' in card and 'groups of at least 30 rows' in card
    assert (project.root / 'reports' / 'model_card.html').read_text().count('http') == 0  # no external asset
    preds = pd.read_parquet(project.root / 'reports' / 'test_predictions.parquet')
    assert len(preds) == metrics['test_rows'] and preds['predicted'].between(0, 1).all()
    html = (project.root / 'reports' / 'evaluate.html').read_text()
    assert html.count('data:image/png;base64') >= 3


def test_a_tampered_model_fails_evaluate_clearly(project):
    make_loans_csv(project.root / 'data' / 'external' / 'loans.csv')
    project.params = loans_params()
    for stage in ('ingest', 'prep', 'train'): project.run('stage', stage)
    model = project.root / 'models' / 'model.skops'
    model.write_bytes(model.read_bytes()[:5000])
    r = project.run('stage', 'evaluate', check=False)
    assert r.returncode == 2
    assert 'ModelFileError: models/model.skops is not a valid .skops model file' in r.stderr and 'Traceback' not in r.stderr


@pytest.mark.xdist_group('shared')
def test_evaluate_judges_a_seeded_sample_of_a_larger_test_split(reproduced, tmp_path):
    "evaluate.max_rows below the test split's rows: the stage reads that many (a seeded sample, a row group at a time), judges them, and metrics.json says of how many."
    from conftest import copy_of
    from mlworkbench.model.scale import read_rows
    p = copy_of(reproduced, tmp_path / 'p')
    split = p.root / 'data' / 'prepared' / 'test.parquet'
    p.set(evaluate__max_rows=300)
    p.run('stage', 'evaluate')
    metrics = json.loads((p.root / 'reports' / 'metrics.json').read_text())
    assert (metrics['test_rows'], metrics['test_split_rows']) == (300, len(pd.read_parquet(split)))
    judged = pd.read_parquet(p.root / 'reports' / 'test_predictions.parquet')
    expected = read_rows(split, 300, p.params['evaluate']['seed'])
    assert judged['actual'].tolist() == expected[p.params['data']['target']].tolist()  # the rows the seed picks, in file order
