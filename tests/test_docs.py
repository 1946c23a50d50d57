"""The docs site (`make docs`): every exported name documented, every section there, nothing loaded from the internet."""
import ast
import re
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import REPO

pytestmark = pytest.mark.xdist_group('shared')  # one xdist worker builds the session's pipeline run and docs for all of them (conftest makes loadgroup work on pytest 9.2)

sys.path.insert(0, str(REPO / 'tools'))
import build_docs  # noqa: E402

pytest_plugins = ['docs_site']  # the session's docs build: tests/docs_site.py

LIB = REPO / 'mlworkbench'
SOURCE_NB = re.compile(r'File to edit: (?:\.\./)+nbs/(\S+)\.ipynb')


def exported(module: Path) -> tuple[str, list[str], dict]:
    "The notebook a module is exported from, its `__all__`, and {name: (kind, docstring)} of its top-level def/class."
    source = module.read_text()
    tree = ast.parse(source)
    names = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and any(getattr(t, 'id', None) == '__all__' for t in n.targets)), [])
    defs = {n.name: ('class' if isinstance(n, ast.ClassDef) else 'function', ast.get_docstring(n) or '')
            for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    nb = SOURCE_NB.search(source)
    return nb[1] if nb else None, names, defs


def text(node) -> str:
    "Visible text with whitespace collapsed."
    return ' '.join(node.get_text(' ').split())


def squeeze(s: str) -> str:
    "Text without markdown marks or whitespace: a docstring and its rendered form compare equal."
    return re.sub(r'[`*\s]', '', s)


MODULES = sorted(p for p in LIB.rglob('*.py') if not p.name.startswith('_'))


def test_every_module_is_exported_from_a_library_notebook():
    "The API pages come from nbs/; a module that is not exported from a notebook would have none."
    orphans = [m.name for m in MODULES if exported(m)[0] is None]
    assert not orphans, f'modules not exported by nbdev (no "File to edit" header): {orphans}'


def test_every_exported_name_is_on_its_api_page(docs_build):
    """Each name of each module's `__all__` is on the API page of its notebook. A function: a section headed by
    its name with its signature and docstring (nbdev's show_doc); a class: a section with its docstring (and its
    signature when it has one: exceptions have none); anything else: named on the page."""
    site = Path(docs_build['site'])
    missing = []
    for module in MODULES:
        nb, names, defs = exported(module)
        page = site / f'{nb}.html'
        if not page.exists():
            missing.append(f'{module.relative_to(LIB)}: no API page {page.name} (from nbs/{nb}.ipynb)'); continue
        article = BeautifulSoup(page.read_text(), 'html.parser').select_one('article')
        sections = {}
        for h in article.find_all(['h2', 'h3', 'h4']):
            sections.setdefault(str(h.find(string=True, recursive=False) or '').strip(), []).append(h.find_parent('section'))
        for name in names:
            if name not in defs:
                if not re.search(rf'\b{re.escape(name)}\b', text(article)):
                    missing.append(f'{module.relative_to(LIB)}: {name} (exported, not a def or class) is not named on {page.name}')
                continue
            kind, doc = defs[name]
            first_line = doc.strip().splitlines()[0] if doc.strip() else ''
            problems = [documented(section, name, kind, first_line) for section in sections.get(name, [])]
            if not problems: problems = [f'no section headed {name}']
            if all(problems): missing.append(f'{module.relative_to(LIB)}: {kind} {name} on {page.name}: {problems[0]}')
    assert not missing, 'the API reference lacks:\n' + '\n'.join(missing)


def documented(section, name: str, kind: str, first_line: str) -> str:
    "What this section lacks to document `name` ('' if nothing)."
    signature = section.select_one('.nbdev-signature')
    if signature is None and kind == 'function': return 'no signature'
    if signature is not None and not text(signature).startswith(name): return f'a signature that is not {name}\'s: {text(signature)[:60]}'
    if first_line and squeeze(first_line) not in squeeze(section.get_text()): return f'no docstring {first_line!r}'
    return ''


def test_site_has_home_tutorials_api_reports_and_search(docs_build, stage_project):
    site = Path(docs_build['site'])
    nbs = REPO / 'nbs'
    pages = ['index', 'api', 'tutorials', 'reports', 'search']
    pages += [p.relative_to(nbs).with_suffix('').as_posix() for p in nbs.glob('[0-9][0-9]_*.ipynb')]
    pages += [p.relative_to(nbs).with_suffix('').as_posix() for p in (nbs / 'tutorials').glob('*.ipynb')]
    pages += [f'reports/{p.stem}' for p in (stage_project.root / 'reports').glob('*.ipynb')]
    assert [p for p in pages if not (site / f'{p}.html').exists()] == []
    assert len(list((nbs / 'tutorials').glob('*.ipynb'))) >= 2
    # the executed prep report keeps its charts: images extracted next to the pages, and they exist
    report = BeautifulSoup((site / 'reports' / 'prep.html').read_text(), 'html.parser')
    images = [img['src'] for img in report.select('article img')]
    assert len(images) >= 3 and all((site / 'reports' / src).resolve().is_file() for src in images), images
    # the search index knows the functions (Sphinx indexes words: load_params, stemmed)
    assert 'load_param' in (site / 'searchindex.js').read_text()


def test_site_loads_nothing_from_the_internet(docs_build, tmp_path):
    site = Path(docs_build['site'])
    assert build_docs.external_assets(site) == []
    # and the check does see such a load
    (tmp_path / 'page.html').write_text('<link rel="stylesheet" href="https://cdn.example/x.css"><img src="//img.example/a.png">'
                                        '<a href="https://example.org">a link is fine</a><script src="_static/local.js"></script>')
    assert build_docs.external_assets(tmp_path) == [('page.html', 'https://cdn.example/x.css'), ('page.html', '//img.example/a.png')]


def test_show_doc_markdown_becomes_plain_myst():
    "Quarto's attribute syntax and show_doc's blockquoted signature, as MyST-NB renders them."
    md = ('---\n\n[source](https://github.com/x/y/blob/main/m.py#L3){target="_blank" style="float:right; font-size:smaller"}\n\n'
          '### load_params\n\n>      load_params (path:str|pathlib.Path=\'params.yaml\',\n>                   overrides:dict|None=None)\n\n'
          '*Typed params from `path`.*\n\n|    | **Type** |\n| -- | -------- |\n| x  | __main__.ColumnCheck |\n')
    out = build_docs.clean_show_doc(md)
    assert '{target=' not in out and '[source]' not in out and '__main__.' not in out and not out.startswith('---')
    assert "```{code-block} python\n:class: nbdev-signature\n\nload_params (path:str|pathlib.Path='params.yaml',\n             overrides:dict|None=None)\n```" in out
    assert '*Typed params from `path`.*' in out and '| x  | ColumnCheck |' in out


def test_each_api_page_links_to_its_source_notebook(docs_build):
    "An API page says which notebook it is made from, and the link downloads that notebook as it is in nbs/."
    site = Path(docs_build['site'])
    for nb in sorted((REPO / 'nbs').glob('0[0-9]_*/*.ipynb'))[:50]:
        rel = nb.relative_to(REPO / 'nbs').as_posix()
        page = site / Path(rel).with_suffix('.html')
        links = [a for a in BeautifulSoup(page.read_text(), 'html.parser').select('article a') if a.get_text(strip=True) == f'nbs/{rel}']
        assert links, f'{page.name}: no link to nbs/{rel}'
        target = (page.parent / links[0]['href']).resolve()
        assert target.is_file() and target.read_bytes() == nb.read_bytes(), f'{page.name}: {links[0]["href"]} is not nbs/{rel}'
