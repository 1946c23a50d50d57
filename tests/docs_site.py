"""Fixtures of tests/test_docs.py and tests/test_browser.py (a pytest plugin: `pytest_plugins = ['docs_site']`).

One docs build per session, made as `make docs` makes it, from a small project whose ingest and prep stages
really ran (so the site has executed reports with their figures, as after `dvc repro`). The build executes
only the home page and one library notebook whose demonstrations draw charts (the quickest one there is): the
other API pages show nbdev's show_doc output, as `python tools/build_docs.py --no-execute` does. Everything is
written under pytest's temp folder.
"""
import sys

import pytest

from conftest import REPO, Project, fast_train_params, make_sales_csv, sales_params

sys.path.insert(0, str(REPO / 'tools'))
import build_docs  # noqa: E402

# library notebooks whose demonstrations show charts, quickest to execute first (about 5, 5 and 20 s)
WITH_FIGURES = [nb for nb in ('05_monitor/05_drift_plots', '05_monitor/06_performance', '03_model/08_plots') if (REPO / 'nbs' / f'{nb}.ipynb').exists()][:1]
EXECUTED = ['index.ipynb', *(f'{nb}.ipynb' for nb in WITH_FIGURES)]


@pytest.fixture(scope='session')
def stage_project(tmp_path_factory) -> Project:
    "The sales dataset with train/features params; ingest and prep have run: reports/ and data/prepared/ exist."
    project = Project(tmp_path_factory.mktemp('docs-project'))
    make_sales_csv(project.root / 'data' / 'external' / 'sales.csv')
    project.params = sales_params() | fast_train_params()
    for stage in ('ingest', 'prep'): project.run('stage', stage)
    return project


@pytest.fixture(scope='session')
def figures_page() -> str:
    "The API page (a notebook's name) that this build executed for its charts."
    assert WITH_FIGURES, 'no library notebook with charts to execute for the docs tests (tests/docs_site.py: WITH_FIGURES)'
    return WITH_FIGURES[0]


@pytest.fixture(scope='session')
def docs_build(tmp_path_factory, stage_project) -> dict:
    "Build the site once: the summary of `build_docs.build` (its 'site' is the folder)."
    base = tmp_path_factory.mktemp('docs')
    return build_docs.build(base / 'site', base / 'work', execute=EXECUTED, reports=stage_project.root / 'reports', quiet=True)
