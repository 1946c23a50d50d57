#!/usr/bin/env python3
"""dvc.yaml's library deps, generated: each stage depends on exactly the `mlworkbench/` files its code imports, transitively.

    python tools/stage_deps.py           # say what differs from dvc.yaml; exit 1 if anything does (tests/test_dvc.py runs this)
    python tools/stage_deps.py --write   # rewrite those deps in dvc.yaml (`make deps`), comments and layout kept

A stage's roots are what its command runs: for `mlwb stage NAME`, the code cells of pipeline/NAME.ipynb and the runner
that executes it and writes its report; for another `mlwb SUB`, the imports inside `cmd_SUB` of mlworkbench/workbench/cli.py.
From the roots, every `import` anywhere in a module (top level or inside a function: a lazy import runs too) is
followed through the library's source with `ast` (no code is imported or run). A module brings its packages'
`__init__.py` (the package version is recorded in model.json). The generated deps are the stage notebook, then the
library files in alphabetical order, then the stage's other deps (data, models) in the order dvc.yaml had them.
Reaching more modules than a stage strictly calls only costs an extra rerun; missing one leaves outputs stale.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = 'mlworkbench'


def _module_file(name: str, root: Path) -> Path | None:
    "The source file of module `name` (dotted, inside the package), or None if it is not one of ours."
    if name != PACKAGE and not name.startswith(PACKAGE + '.'): return None
    base = root.joinpath(*name.split('.'))
    for path in (base.with_suffix('.py'), base / '__init__.py'):
        if path.exists(): return path
    return None


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    "Dotted names that the code in `tree` (module `module`) imports, relative imports resolved; a `from X import y` gives X and X.y."
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import): found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split('.') if is_package else module.split('.')[:-1]
                base = '.'.join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else: base = node.module
            found.add(base)
            found |= {f'{base}.{a.name}' for a in node.names if a.name != '*'}  # kept only if it is a module
    return found


def closure(roots: set[str], root: Path = REPO) -> list[str]:
    "Project-relative paths of the library files that importing `roots` executes, sorted."
    seen, todo, files = set(), list(roots), set()
    while todo:
        name = todo.pop()
        if name in seen: continue
        seen.add(name)
        path = _module_file(name, root)
        if path is None: continue
        files.add(path)
        parent = name.rpartition('.')[0]
        if parent: todo.append(parent)  # importing a.b runs a/__init__.py first
        tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
        todo += _imports(tree, name, path.name == '__init__.py')
    return sorted(str(p.relative_to(root)) for p in files)


def _notebook_code(path: Path) -> str:
    "The code cells of a notebook as one module; IPython magics and shell lines are dropped."
    cells = [''.join(c['source']) if isinstance(c['source'], list) else c['source']
             for c in json.loads(path.read_text(encoding='utf-8'))['cells'] if c['cell_type'] == 'code']
    return '\n'.join(line for cell in cells for line in cell.splitlines() if not line.lstrip().startswith(('%', '!')))


def stage_roots(name: str, cmd: str, root: Path = REPO) -> set[str]:
    "The modules stage `name`'s command runs first (see the module docstring)."
    words = cmd.split()
    if words[:3] == ['mlwb', 'stage', name]:
        notebook = root / 'pipeline' / f'{name}.ipynb'
        return _imports(ast.parse(_notebook_code(notebook), str(notebook)), '__main__', False) | {f'{PACKAGE}.workbench.runner'}
    if words[:1] == ['mlwb'] and len(words) >= 2:
        cli = root / PACKAGE / 'workbench' / 'cli.py'
        for node in ast.walk(ast.parse(cli.read_text(encoding='utf-8'))):
            if isinstance(node, ast.FunctionDef) and node.name == f"cmd_{words[1].replace('-', '_')}":
                return _imports(node, f'{PACKAGE}.workbench.cli', False)
        raise SystemExit(f"stage_deps: dvc.yaml stage '{name}' runs `{cmd}`, but {cli.relative_to(root)} has no cmd_{words[1]}")
    raise SystemExit(f"stage_deps: dvc.yaml stage '{name}' runs `{cmd}`: expected `mlwb stage {name}` or another `mlwb` command")


def generated_deps(name: str, stage: dict, root: Path = REPO) -> list[str]:
    "The deps stage `name` should have: its notebook, its library files, then its other deps as they were."
    library = closure(stage_roots(name, stage['cmd'], root), root)
    notebook = f'pipeline/{name}.ipynb'
    first = [notebook] if (root / notebook).exists() and stage['cmd'].split()[:2] == ['mlwb', 'stage'] else []
    others = [str(d) for d in stage.get('deps', []) if str(d) not in first and not str(d).startswith(PACKAGE + '/')]
    return first + library + others


def _yaml():
    from ruamel.yaml import YAML
    y = YAML()  # round trip: comments, key order and blank lines stay
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096
    return y


def update(path: Path, write: bool) -> list[str]:
    "The differences between `path`'s deps and the generated ones (a unified diff); rewrite the file if `write`."
    y = _yaml()
    text = path.read_text(encoding='utf-8')
    doc = y.load(text)
    for name, stage in doc['stages'].items():
        deps = generated_deps(name, stage, path.parent)
        if 'deps' not in stage: stage.insert(list(stage).index('cmd') + 1 + ('always_changed' in stage), 'deps', deps)
        else:
            stage['deps'][:] = []
            stage['deps'].extend(deps)
    out = io.StringIO()
    y.dump(doc, out)
    diff = list(difflib.unified_diff(text.splitlines(), out.getvalue().splitlines(), str(path), f'{path} (generated)', lineterm=''))
    if write and diff: path.write_text(out.getvalue(), encoding='utf-8')
    return diff


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--write', action='store_true', help="rewrite dvc.yaml's deps instead of only showing the difference")
    ap.add_argument('--dvc-yaml', type=Path, default=REPO / 'dvc.yaml', help='the dvc.yaml to check (default: the project\'s)')
    args = ap.parse_args(argv)
    diff = update(args.dvc_yaml, args.write)
    if not diff: print(f'{args.dvc_yaml.name}: every stage depends on exactly the library files it imports'); return 0
    print('\n'.join(diff))
    if args.write: print(f'{args.dvc_yaml.name}: deps rewritten from the stages\' imports'); return 0
    print(f"{args.dvc_yaml.name}: deps differ from the stages' imports: run `make deps` (python tools/stage_deps.py --write)", file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
