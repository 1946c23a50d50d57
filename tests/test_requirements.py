"The pinned set installs on every Python that settings.ini admits, not only on the one it was locked with."
import configparser
import importlib.metadata as md
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    "name -> version of every `name==version` line of the lock files."
    out = {}
    for lock in ('requirements.lock', 'requirements-docs.lock'):
        for line in (REPO / lock).read_text().splitlines():
            line = line.split('#')[0].strip()
            if '==' in line: name, version = line.split('==', 1); out[name.strip()] = version.strip()
    return out


def test_every_pin_admits_the_oldest_python_settings_ini_allows():
    "A fresh Debian 12 has Python 3.11.2: `min_python = 3.11` must mean 3.11.0, so no pin may ask for a later 3.11.x."
    cfg = configparser.ConfigParser(); cfg.read(REPO / 'settings.ini')
    oldest = Version(cfg['DEFAULT']['min_python'] + '.0')
    refused, checked = [], 0
    for name, version in pins().items():
        try: dist = md.distribution(name)
        except md.PackageNotFoundError: continue  # not in this venv (e.g. a platform-specific pin)
        if dist.version != version: continue  # metadata of another version would prove nothing
        checked += 1
        needs = dist.metadata.get('Requires-Python')
        if needs and oldest not in SpecifierSet(needs): refused.append(f'{name}=={version} requires Python {needs}')
    assert checked > 100, checked  # the venv holds the pinned set
    assert not refused, f'pins that Python {oldest} cannot install: {refused}'
