"Bad params stop a stage before it touches anything, naming the key and what was expected."
import pandas as pd
import pytest

from mlworkbench.config.params import ParamsError, load_params
from conftest import REPO


def test_default_params_are_valid():
    p = load_params(REPO / 'params.yaml')
    assert p.data.target == 'arr_delay' and p.prep.split.method == 'time'


@pytest.mark.parametrize('change, message', [
    ({'prep__split__test__start': 'soon'}, "prep.split.test.start: expected a valid date"),
    ({'prep__dedup': True}, "prep.dedup: unknown key; did you mean 'dedupe'?"),
    ({'data__task': 'regresion'}, "data.task: expected 'regression' or 'classification', got 'regresion'"),
    ({'prep__sample_rows': 'many'}, "prep.sample_rows: expected a valid integer"),
    ({'prep__joins': 'weather'}, "prep.joins: expected a valid list"),
])
def test_bad_params_name_the_key_and_keep_outputs(sales, change, message):
    sales.run('stage', 'ingest'); sales.run('stage', 'prep')
    before = sales.digest('data/prepared') | sales.digest('reports')
    sales.set(**change)
    r = sales.run('stage', 'prep', check=False)
    assert r.returncode == 2
    assert message in r.stderr
    assert 'Traceback' not in r.stderr
    assert sales.digest('data/prepared') | sales.digest('reports') == before


def test_missing_required_key(sales):
    p = sales.params
    del p['data']['target']
    sales.params = p
    r = sales.run('params', check=False)
    assert r.returncode == 2 and 'data.target: required key is missing' in r.stderr


REGRESSION_ONLY = {  # candidates whose values only the regression classes take (params.yaml's defaults before classification blocks)
    'dummy': {'estimator': 'dummy', 'params': {'strategy': 'median'}},
    'linear': {'estimator': 'linear', 'space': {'alpha': {'log_uniform': [0.1, 1000]}}, 'n_iter': 4},
    'hist_gradient_boosting': {'estimator': 'hist_gradient_boosting', 'params': {'loss': 'absolute_error', 'max_iter': 300},
                               'space': {'max_leaf_nodes': {'log_uniform': [15, 63]}}},
}


def test_params_names_each_bad_train_key_with_the_fix(project):
    "`mlwb params` checks the candidates against the classes data.task picks: every bad key in one run, each with what is valid."
    p = project.params
    p['data']['task'] = 'classification'
    p['train'] |= {'metric': 'mae', 'candidates': REGRESSION_ONLY}
    project.params = p
    r = project.run('params', check=False)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr.startswith('mlwb params: params.yaml: 5 problems in train:')
    for expected in [
        "train.metric: 'mae' is a regression metric but data.task is 'classification'; expected one of ['roc_auc', 'log_loss', 'average_precision', 'f1', 'accuracy']",
        "train.candidates.dummy.params.strategy: 'median' is not valid for DummyClassifier (data.task is 'classification'): "
        "expected one of ['constant', 'most_frequent', 'prior', 'stratified', 'uniform']; 'median' is DummyRegressor's, for regression: "
        "set train.candidates.dummy.classification.params.strategy, which replaces it when data.task is 'classification'",
        "train.candidates.linear.space.alpha: not a parameter of LogisticRegression (data.task is 'classification'); it is Ridge's, for regression: "
        "add it to train.candidates.linear.classification.drop, and tune LogisticRegression's 'C' (the inverse: C = 1/alpha) in train.candidates.linear.classification.space",
        "train.candidates.hist_gradient_boosting.params.loss: 'absolute_error' is not valid for HistGradientBoostingClassifier (data.task is 'classification'): expected one of ['log_loss']",
        "train.candidates.hist_gradient_boosting.space.max_leaf_nodes: 15.0 is not valid for HistGradientBoostingClassifier (data.task is 'classification'): "
        "expected an int in the range [2, inf) or None; log_uniform draws floats: use {int: [15, 63]}",
    ]: assert expected in r.stderr, r.stderr


def test_switching_the_task_is_one_key(project):
    "params.yaml's own train section overrides for classification what only a regressor takes: data.task alone switches it."
    project.set(data__task='classification')
    assert project.run('params').returncode == 0


@pytest.mark.parametrize('change, message', [
    ({'train__metric': 'mea'}, "train.metric: unknown metric 'mea'; did you mean 'mae'? Expected one of ['mae', 'rmse', 'r2', 'roc_auc'"),
    ({'train__metric': {'regression': 'roc_auc'}}, "train.metric.regression: 'roc_auc' is a classification metric but data.task is 'regression'"),
    ({'train__n_jobs': 0}, 'train.n_jobs: 0 runs nothing'),
    ({'train__cv__folds': 1}, 'train.cv.folds: expected greater than or equal to 2, got 1'),
    ({'train__candidates__linear__n_iter': 0}, 'train.candidates.linear.n_iter: expected greater than or equal to 1, got 0'),
    ({'train__candidates__random_forest__space__max_features': []}, 'train.candidates.random_forest.space.max_features: give at least 1 value(s), got []'),
    ({'train__candidates__random_forest__params__criterion': 'gini'}, "train.candidates.random_forest.params.criterion: 'gini' is not valid for RandomForestRegressor"),
    ({'train__candidates__hist_gradient_boosting__classification__params__loss': 'squared_error'},
     "train.candidates.hist_gradient_boosting.classification.params.loss: 'squared_error' is not valid for HistGradientBoostingClassifier"),
    ({'train__candidates__linear__classification__drop': ['alpah']}, "train.candidates.linear.classification.drop: ['alpah'] not in this candidate's params or space"),
    ({'prep__drop_columns': ['arr_delay']}, "prep.drop_columns: ['arr_delay'] is data.target or data.time_column; every stage needs it"),
    ({'prep__valid_ranges__wind_speed': [150, 0]}, 'prep.valid_ranges.wind_speed: low 150.0 is above high 0.0'),
    ({'prep__columns__flights__month': {'dtype': 'int', 'min': 12, 'max': 1}}, 'prep.columns.flights.month: min 12.0 is above max 1.0'),
    ({'features__cyclical__hour': 0}, 'features.cyclical.hour: expected greater than 0, got 0'),
    ({'features__min_frequency': 0}, 'features.min_frequency: expected greater than or equal to 1, got 0'),
    ({'monitor__metric': 'mea'}, "monitor.metric: unknown metric 'mea'; did you mean 'mae'? Expected one of ['mae', 'rmse', 'r2', 'mape']"),
    ({'ingest__csv_options': {'delimeter': ';'}}, "ingest.csv_options.delimeter: not an option of pandas.read_csv; did you mean 'delimiter'?"),
    ({'data__time_column': 'arr_delay'}, "data.target and data.time_column are both 'arr_delay'"),
    ({'registry__name': '../../evil'}, "registry.name: expected a plain folder name (letters, digits, '_', '.', '-'), not a path"),
])
def test_params_that_used_to_fail_deep_are_named(project, change, message):
    "Each of these passed `mlwb params` and failed later, deep in pandas, scikit-learn or the file system."
    project.set(**change)
    r = project.run('params', check=False)
    assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr, r.stderr


def _table(kind: str, n: int = 300):
    "A small table whose target is numbers, two classes or three classes."
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(4)
    df = pd.DataFrame({'x': rng.normal(size=n), 'kind': rng.choice(['a', 'b', 'c'], n)})
    df['y'] = {'regression': df['x'] * 3 + rng.normal(size=n), 'binary': np.where(df['x'] > 0, 'yes', 'no'),
               'multiclass': np.digitize(df['x'], [-0.5, 0.5]).astype(str)}[kind]
    return df


@pytest.mark.parametrize('kind, other', [('regression', 'classification'), ('binary', 'regression'), ('multiclass', 'regression')])
def test_params_init_writes_switch_task_with_one_key(kind, other):
    "What `mlwb init` writes holds every candidate's form for the other task: changing data.task alone still passes the check."
    import yaml as y
    from mlworkbench.workbench.infer import propose_params
    from mlworkbench.workbench.init import check_proposal, render_params
    proposal = propose_params(_table(kind), 'y')
    text = render_params(proposal)
    check_proposal(text, proposal.n_classes)
    switched = y.safe_load(text)
    switched['data']['task'] = other
    p = check_proposal(y.safe_dump(switched), 3 if other == 'classification' else None)
    assert p.train.for_task(other).metric == ('mae' if other == 'regression' else 'roc_auc')


def test_a_two_class_metric_is_refused_for_more_classes_once_prepared(tmp_path):
    "average_precision under three prepared classes: one line naming the key and what applies, before any fit."
    from mlworkbench.config.params import TrainParams
    from mlworkbench.model.candidates import check_train_params, prepared_classes
    (tmp_path / 'data' / 'prepared').mkdir(parents=True)
    _table('multiclass').to_parquet(tmp_path / 'data' / 'prepared' / 'train.parquet')
    train = TrainParams(metric={'regression': 'mae', 'classification': 'average_precision'},
                        candidates={'dummy': {'estimator': 'dummy'}, 'linear': {'estimator': 'linear', 'params': {'solver': 'liblinear'}}},
                        baselines=['dummy'])
    n = prepared_classes(tmp_path, 'y', 'classification')
    assert n == 3
    check_train_params(train, 'classification', prepared_classes(tmp_path, 'y', 'regression'))  # nothing to say for a regression
    with pytest.raises(ParamsError) as e: check_train_params(train, 'classification', n)
    lines = str(e.value).splitlines()
    assert lines[0] == '2 problems in train:', lines
    assert lines[1].strip() == ("train.metric.classification: 'average_precision' is defined for two classes and data.target has 3; "
                                "use roc_auc (macro one-vs-rest), f1 (macro), log_loss or accuracy")
    assert lines[2].strip().startswith("train.candidates.linear.classification.params.solver: 'liblinear' fits two classes only and data.target has 3")


def test_params_refuses_a_two_class_metric_once_prep_found_more_classes(project):
    "`mlwb params` knows the class count as soon as prep has run: average_precision is refused for three classes before any training."
    prepared = project.root / 'data' / 'prepared'
    prepared.mkdir(parents=True)
    pd.DataFrame({'arr_delay': ['early', 'on time', 'late'] * 20}).to_parquet(prepared / 'train.parquet')
    project.set(data__task='classification', train__metric={'regression': 'mae', 'classification': 'average_precision'})
    r = project.run('params', check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "train.metric.classification: 'average_precision' is defined for two classes" in r.stderr, r.stderr
    project.set(train__metric={'regression': 'mae', 'classification': 'log_loss'})
    assert project.run('params').returncode == 0
