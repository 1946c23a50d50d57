"Every code cell of every notebook compiles: nbdev_test skips a cell with a SyntaxError and still reports success."
import json

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from conftest import REPO

NOTEBOOKS = sorted(p for folder in ('nbs', 'pipeline') for p in (REPO / folder).rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_code_cell_compiles(path):
    transform = TransformerManager().transform_cell  # IPython syntax (magics, !commands) as the kernel sees it
    bad = []
    for cell in json.loads(path.read_text())['cells']:
        if cell['cell_type'] != 'code': continue
        try: compile(transform(''.join(cell['source'])), f"{path.name}#{cell.get('id')}", 'exec')
        except SyntaxError as e: bad.append(f"cell {cell.get('id')}: {e}")
    assert not bad, bad
