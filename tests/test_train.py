"The train stage on a second dataset: deterministic skops models, and mistakes named by their key path."
import json
import zipfile

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import yaml

from conftest import REPO, fast_train_params, loans_params, make_loans_csv
from mlworkbench.model.features import CyclicalEncoder
from mlworkbench.model.modelfile import ModelFileError, load_model


@parametrize_with_checks([CyclicalEncoder(24.0)])
def test_cyclical_encoder_is_a_proper_estimator(estimator, check):
    check(estimator)


@pytest.fixture
def trained(sales):
    sales.params = sales.params | fast_train_params()
    for stage in ('ingest', 'prep', 'train'): sales.run('stage', stage)
    return sales


def test_train_writes_model_and_record(trained):
    record = json.loads((trained.root / 'models' / 'model.json').read_text())
    assert record['task'] == 'regression' and record['target'] == 'units_sold'
    assert record['chosen'] in ('boosting',)  # the only non-baseline candidate
    assert {f['name'] for f in record['features']} == {'store', 'promo', 'temperature_c', 'hour', 'dayofweek', 'month'}
    assert next(f for f in record['features'] if f['name'] == 'store')['categories'] == ['east', 'north', 'south']
    assert set(record['cv']) == {'dummy', 'linear', 'boosting'} and record['training_data']['rows'] > 300
    model = load_model(trained.root / 'models' / 'model.skops')
    assert model.named_steps['model'].__class__.__name__ == 'HistGradientBoostingRegressor'
    assert sorted(p.name for p in (trained.root / 'models' / 'baselines').iterdir()) == ['dummy.skops', 'linear.skops']


def test_train_is_byte_identical_on_rerun(trained):
    first = trained.digest('models')
    trained.run('stage', 'train')
    assert trained.digest('models') == first


def test_search_space_typo_names_its_key(trained):
    p = trained.params
    p['train']['candidates']['boosting']['space'] = {'learning_rat': [0.1]}
    trained.params = p
    before = trained.digest('models')
    r = trained.run('stage', 'train', check=False)
    assert r.returncode == 2
    assert "train.candidates.boosting.space.learning_rat: not a parameter of HistGradientBoostingRegressor; did you mean 'learning_rate'?" in r.stderr
    assert trained.digest('models') == before


def test_tampered_and_foreign_model_files_are_refused(trained, tmp_path):
    path = trained.root / 'models' / 'model.skops'
    data = path.read_bytes()
    (tmp_path / 'cut.skops').write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match='is not a valid .skops model file'): load_model(tmp_path / 'cut.skops')
    # a model whose schema was edited to build a foreign type
    src = zipfile.ZipFile(path)
    schema = src.read('schema.json').decode().replace('"sklearn.dummy', '"os.system', 1).replace(
        'HistGradientBoostingRegressor"', 'system"', 1).replace('"sklearn.ensemble._hist_gradient_boosting.gradient_boosting"', '"os"', 1)
    with zipfile.ZipFile(tmp_path / 'foreign.skops', 'w') as z:
        for name in src.namelist(): z.writestr(name, schema if name == 'schema.json' else src.read(name))
    with pytest.raises(ModelFileError, match="holds types that are not trusted.*os.system"): load_model(tmp_path / 'foreign.skops')


@pytest.mark.parametrize('task', ['regression', 'classification'])
def test_every_family_loads_under_the_trusted_types(task, tmp_path):
    "Whatever candidate wins, its saved pipeline must load: TRUSTED_TYPES covers every family the workbench builds."
    import numpy as np
    import pandas as pd
    from mlworkbench.config.params import Candidate, FeaturesParams
    from mlworkbench.model.features import feature_roles
    from mlworkbench.model.modelfile import save_model
    from mlworkbench.model.candidates import ESTIMATORS, make_pipeline
    rng = np.random.default_rng(0)
    df = pd.DataFrame({'x': rng.normal(size=300), 'k': rng.choice(list('abc'), 300), 'h': np.arange(300) % 24})
    df.loc[::7, 'x'] = np.nan
    y = df['x'].fillna(0) * 2 if task == 'regression' else pd.Series(rng.integers(0, 2, 300))
    fp = FeaturesParams(cyclical={'h': 24}, min_frequency=5)
    roles = feature_roles(df.assign(y=0), 'y', fp)
    for family in ESTIMATORS:
        model = make_pipeline(Candidate(estimator=family), roles, fp, task, 0).fit(df, y)
        save_model(model, tmp_path / f'{family}.skops')
        loaded = load_model(tmp_path / f'{family}.skops')
        np.testing.assert_array_equal(loaded.predict(df), model.predict(df))


def test_classification_trains_with_the_default_candidates(project):
    "params.yaml's own train section on a classification dataset: data.task is the only switch (tune_rows and n_jobs only keep it quick)."
    make_loans_csv(project.root / 'data' / 'external' / 'loans.csv')
    default_train = yaml.safe_load((REPO / 'params.yaml').read_text())['train']
    project.params = loans_params() | {'train': default_train | {'n_jobs': 1, 'tune_rows': 500, 'progress': False}}
    project.run('params')
    for stage in ('ingest', 'prep', 'train'): project.run('stage', stage)
    record = json.loads((project.root / 'models' / 'model.json').read_text())
    assert (record['task'], record['metric'], record['classes']) == ('classification', 'roc_auc', ['no', 'yes'])
    assert 0 < record['threshold'] < 1 and set(record['cv']) == set(default_train['candidates'])
    ran = record['params']['train']['candidates']  # what ran: the classification blocks laid over the shared values
    assert ran['dummy']['params'] == {'strategy': 'prior'} and ran['hist_gradient_boosting']['params']['loss'] == 'log_loss'
    assert set(ran['linear']['space']) == {'C'} and record['cv']['linear']['params'].keys() == {'C'}
    assert load_model(project.root / 'models' / 'model.skops').named_steps['model'].__class__.__name__.endswith('Classifier')


def _tiny_selection(bar, **train):
    import numpy as np
    import pandas as pd
    from mlworkbench.config.params import FeaturesParams, validate_params
    from mlworkbench.model.train import select_model
    rng = np.random.default_rng(0)
    df = pd.DataFrame({'x': rng.normal(size=200)}).assign(y=lambda d: 2 * d['x'] + rng.normal(size=200))
    p = validate_params({'data': {'target': 'y', 'task': 'regression'}, 'train': {'metric': 'mae', 'cv': {'folds': 2}, 'baselines': ['dummy'],
                         'candidates': {'dummy': {'estimator': 'dummy'}, 'linear': {'estimator': 'linear'}}} | train})
    return select_model(df, p.data, FeaturesParams(), p.train, progress=bar)


def test_progress_is_the_argument_not_the_environment(monkeypatch, capsys):
    monkeypatch.setenv('MLWB_STAGE', 'train')  # once turned the bar off from inside the library
    _tiny_selection(True, progress=False)
    assert 'candidates' in capsys.readouterr().err  # asked for: shown, whatever the environment
    monkeypatch.delenv('MLWB_STAGE')
    _tiny_selection(False, progress=True)
    assert 'candidates' not in capsys.readouterr().err  # turned off by the argument over train.progress
    _tiny_selection(None, progress=True)
    assert 'candidates' in capsys.readouterr().err  # by default: train.progress
