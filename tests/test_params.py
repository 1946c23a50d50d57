"Bad params stop a stage before it touches anything, naming the key and what was expected."
import pytest

from mlworkbench.config import ParamsError, load_params
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
