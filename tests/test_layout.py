"The house rules of CONTRIBUTING.md that a machine can check: small modules, small export cells, no import cycle."
import ast
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIB = REPO / 'mlworkbench'
MAX_MODULE_LINES = 350  # past that, a module holds two concerns
MAX_EXPORT_CELL_LINES = 40


def modules() -> dict[str, Path]:
    "Dotted name -> file of every library module nbdev writes (its index `_modidx` aside)."
    out = {}
    for f in sorted(LIB.rglob('*.py')):
        if f.name == '_modidx.py': continue
        parts = f.relative_to(REPO).with_suffix('').parts
        out['.'.join(parts[:-1] if f.name == '__init__.py' else parts)] = f
    return out


def imports(name: str, path: Path) -> set[str]:
    "The library modules that `name` imports anywhere (top level or inside a function), relative imports resolved."
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level: base = '.'.join(package.split('.')[:len(package.split('.')) - node.level + 1] + ([base] if base else []))
            found |= {base} | {f'{base}.{a.name}' for a in node.names}
        elif isinstance(node, ast.Import): found |= {a.name for a in node.names}
    return found


def test_no_module_is_over_the_size_limit():
    big = {str(f.relative_to(REPO)): n for f in modules().values() if (n := len(f.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not big, f'modules over {MAX_MODULE_LINES} lines (split them by concern): {big}'


def test_no_export_cell_is_over_the_size_limit():
    big = []
    for nb in sorted((REPO / 'nbs').rglob('*.ipynb')):
        for cell in json.loads(nb.read_text())['cells']:
            text = ''.join(cell['source'])
            if cell['cell_type'] == 'code' and text.startswith('#| export') and len(text.splitlines()) - 1 > MAX_EXPORT_CELL_LINES:
                big.append(f"{nb.relative_to(REPO)}: {text.splitlines()[1][:60]}… ({len(text.splitlines()) - 1} lines)")
    assert not big, f'export cells over {MAX_EXPORT_CELL_LINES} lines (split them, with prose and tests between): {big}'


def test_the_import_graph_has_no_cycle():
    mods = modules()
    graph = {m: {i for i in imports(m, f) if i in mods and i != m} for m, f in mods.items()}
    done, path, cycles = set(), [], []
    def visit(m):
        if m in path: cycles.append(path[path.index(m):] + [m]); return
        if m in done: return
        path.append(m)
        for n in sorted(graph[m]): visit(n)
        path.pop(); done.add(m)
    for m in sorted(graph): visit(m)
    assert not cycles, 'import cycles: ' + '; '.join(' -> '.join(c) for c in cycles)


def test_a_title_cell_holds_only_the_title_and_its_summary():
    "nbdev reads what follows the `> summary` of a notebook's first markdown cell as frontmatter and leaves it off the page: the page's opening prose goes in the next cell."
    import re
    crowded = []
    for nb in sorted((REPO / 'nbs').rglob('*.ipynb')):
        first = next((c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown'), None)
        if first and re.sub(r'^# [^\n]+\n+(> [^\n]+\n?)?', '', ''.join(first['source'])).strip(): crowded.append(nb.relative_to(REPO).as_posix())
    assert not crowded, f'title cells with more than the title and its summary (move the rest to a cell of its own): {crowded}'
