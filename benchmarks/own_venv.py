"""A reference tool's own venv, outside the repository: Evidently 0.7.23 and NannyML need pandas<3, the workbench pandas 3."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def own_python(env_var: str, # the variable that may name the venv, e.g. MLWB_EVIDENTLY_VENV
               default: str, # where it goes otherwise, e.g. /tmp/evidently-venv
               packages: list[str], # what to install into it (pinned)
              ) -> Path:
    "The Python of the venv `env_var` names (default `default`), created with `packages` if it does not exist."
    venv = Path(os.environ.get(env_var, default))
    if ROOT in venv.resolve().parents: sys.exit(f'{env_var}={venv} is inside the repository; put it elsewhere, e.g. {default}')
    python = venv / 'bin' / 'python'
    if not python.exists():
        print(f'creating {venv} with {" ".join(packages)} (once)', file=sys.stderr)
        subprocess.run(['python3', '-m', 'venv', str(venv)], check=True)
        subprocess.run([str(python), '-m', 'pip', 'install', '--quiet', *packages], check=True)
    return python
