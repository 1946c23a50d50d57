#!/usr/bin/env python3
"""Build `.dvc/plots/offline.html`: a DVC plots HTML template with vega, vega-lite and vega-embed inlined.

DVC's default page loads the three libraries from a CDN, so `dvc plots show` / `dvc plots diff` draw a blank
page offline. This template carries them inside the page instead. The versions are the exact ones pinned in
package.json / package-lock.json; `make plots-template` runs `npm ci --ignore-scripts` and then this script.

How DVC fills a template (dvc_render.html.HTML.embed, plain `str.replace`, not `str.format`):
  {plot_divs}    required: one <div> per plot, each calling `vegaEmbed('#id', spec)`.
  {refresh_tag}  optional: a <meta http-equiv="refresh"> when DVC asks for one, else empty.
  {scripts}      optional, and deliberately ABSENT here: DVC would put its CDN <script src=...> tags there.

The project points DVC at the page with `dvc config plots.html_template plots/offline.html` (a relative
config path is resolved against .dvc/); `--html-template PATH` on the command line is resolved against the
current directory. Only the Python standard library is used, so this runs before the venv exists.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# (npm package, its minified UMD build, the global it defines) in load order: vega-embed needs the other two
LIBRARIES = [
    ('vega', 'build/vega.min.js', 'vega'),
    ('vega-lite', 'build/vega-lite.min.js', 'vegaLite'),
    ('vega-embed', 'build/vega-embed.min.js', 'vegaEmbed'),
]
# placeholders DVC replaces anywhere in the page, the inlined code included
DVC_PLACEHOLDERS = ('{plot_divs}', '{scripts}', '{refresh_tag}')
SOURCE_MAP = re.compile(r'^\s*//[#@] sourceMappingURL=\S*\s*$', re.MULTILINE)

CSS = """
  :root { color-scheme: light; }
  body {
    margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1400px;
    font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
    font-size: 15px; line-height: 1.45; color: #1f2328; background: #ffffff;
  }
  header { border-bottom: 1px solid #d0d7de; margin-bottom: 1.25rem; padding-bottom: .5rem; }
  header h1 { font-size: 1.3rem; font-weight: 600; margin: 0; }
  header p { margin: .25rem 0 0; color: #59636e; font-size: .85rem; }
  main { display: flex; flex-wrap: wrap; gap: 1.25rem; align-items: flex-start; }
  main > div {
    background: #fff; border: 1px solid #d0d7de; border-radius: 8px;
    padding: 1rem 1.25rem; box-shadow: 0 1px 2px rgba(31, 35, 40, .06); max-width: 100%; overflow-x: auto;
  }
  main img { max-width: 100%; height: auto; }
  table { border-spacing: 15px; }
  .vega-embed summary { opacity: .6; }
  .vega-embed:hover summary { opacity: 1; }
"""

# vega-embed's action menu offers "Open in Vega Editor", a web page: hide that one link, keep export/source.
# Options a plot passes itself still win. The wrapper keeps vegaEmbed's own properties (version, vega, ...).
EMBED_DEFAULTS = """
(function () {
  var embed = window.vegaEmbed;
  if (typeof embed !== 'function') {
    document.addEventListener('DOMContentLoaded', function () {
      document.body.insertAdjacentHTML('afterbegin',
        '<p style="color:#b42318">vega-embed failed to load: this plots page cannot draw its charts.</p>');
    });
    return;
  }
  var wrapped = function (el, spec, opt) {
    var o = Object.assign({}, opt || {});
    if (o.actions === undefined) o.actions = {export: true, source: true, compiled: true, editor: false};
    return embed(el, spec, o);
  };
  Object.assign(wrapped, embed);
  window.vegaEmbed = wrapped;
})();
"""


def read_library(node_modules: Path, package: str, build: str, pinned: dict[str, str]) -> tuple[str, str]:
    "The minified build of `package`, checked against the pin and made safe to inline in a <script>."
    pkg_dir = node_modules / package
    if not (pkg_dir / 'package.json').is_file():
        raise SystemExit(f'{pkg_dir} is missing: run `npm ci --ignore-scripts` (or `make plots-template`) first')
    version = json.loads((pkg_dir / 'package.json').read_text(encoding='utf-8'))['version']
    want = pinned.get(package)
    if want is not None and version != want:
        raise SystemExit(f'{package} {version} is installed but package.json pins {want}: '
                         'run `npm ci --ignore-scripts` (or `make plots-template`) again')
    code = (pkg_dir / build).read_text(encoding='utf-8')
    code = SOURCE_MAP.sub('', code).rstrip() + '\n'  # the .map files are not shipped in the page
    lowered = code.lower()
    for bad in ('</script', '<!--'):  # either would end or derail the inline <script> element
        if bad in lowered:
            raise SystemExit(f'{package}/{build} contains "{bad}": it cannot be inlined as is')
    for placeholder in DVC_PLACEHOLDERS:  # DVC would substitute inside the code and break it
        if placeholder in code:
            raise SystemExit(f'{package}/{build} contains the DVC placeholder {placeholder}')
    return version, code


def build(node_modules: Path, package_json: Path) -> str:
    pinned = json.loads(package_json.read_text(encoding='utf-8')).get('dependencies', {})
    versions, scripts = [], []
    for package, path, global_name in LIBRARIES:
        version, code = read_library(node_modules, package, path, pinned)
        versions.append(f'{package}@{version}')
        scripts.append(f'<script data-package="{package}@{version}" data-global="{global_name}">\n'
                       f'/* {package}@{version} ({package}/{path}), inlined for offline use */\n{code}</script>')
    generator = ', '.join(versions)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  {{refresh_tag}}
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="generator" content="tools/build_plots_template.py: {generator}">
  <title>DVC plots</title>
  <style>{CSS}  </style>
  <!-- Offline template: {generator} are inlined below; no network access needed. -->
  {chr(10).join(scripts)}
  <script>{EMBED_DEFAULTS}</script>
</head>
<body>
  <header>
    <h1>DVC plots</h1>
    <p>Rendered offline with {generator}.</p>
  </header>
  <main>
    {{plot_divs}}
  </main>
</body>
</html>
"""


def write_if_changed(path: Path, text: str) -> bool:
    "Write atomically; leave the file (and its mtime) alone when the content is already right."
    if path.is_file() and path.read_text(encoding='utf-8') == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline='\n') as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--node-modules', type=Path, default=REPO / 'node_modules')
    ap.add_argument('--package-json', type=Path, default=REPO / 'package.json')
    ap.add_argument('--out', type=Path, default=REPO / '.dvc' / 'plots' / 'offline.html')
    args = ap.parse_args(argv)
    page = build(args.node_modules, args.package_json)
    changed = write_if_changed(args.out, page)
    size = args.out.stat().st_size
    print(f'{args.out}: {"written" if changed else "unchanged"} ({size / 1e6:.2f} MB)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
