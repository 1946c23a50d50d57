"""Sphinx configuration of the docs site; `make docs` (tools/build_docs.py) fills the source tree and runs Sphinx.

The sources are nbdev-processed notebooks (nbs/), the executed stage reports and the model card, rendered as
they are: Sphinx executes nothing (`nb_execution_mode = 'off'`). Every asset is served from the site itself:
no web fonts, no CDN scripts (tools/build_docs.py fails the build if a page would load one).
"""
from configparser import ConfigParser
from pathlib import Path

_settings = ConfigParser(delimiters=['='])
_settings.read(Path(__file__).resolve().parents[1] / 'settings.ini', encoding='utf-8')
_cfg = _settings['DEFAULT']

project = _cfg['title']
author = _cfg['author']
copyright = _cfg['copyright']
release = version = _cfg['version']
language = 'en'
smartquotes = False   # code and docstrings keep their ' and "

extensions = ['myst_nb']
root_doc = 'index'
exclude_patterns = ['**/.ipynb_checkpoints', '_notebooks/**']  # _notebooks: the source notebooks, offered as downloads

# --- MyST-NB: notebooks are shown with the outputs they were saved or executed with ------------------------------
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'   # markdown outputs (model cards, tables) as MyST: GFM tables included
nb_output_stderr = 'show'
nb_merge_streams = True
nb_ipywidgets_js = {}                 # no require.js / widget manager from a CDN: the notebooks hold no live widgets
myst_enable_extensions = ['colon_fence', 'attrs_inline']
myst_heading_anchors = 3
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type', 'misc.highlighting_failure']

# --- HTML ---------------------------------------------------------------------------------------------------------
html_theme = 'pydata_sphinx_theme'
html_title = project
html_static_path = ['_static']
html_css_files = ['mlworkbench.css']
html_js_files = ['mlworkbench.js']  # search from file://: titles without the snippets a browser would refuse to fetch
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    'navbar_align': 'left',
    'header_links_before_dropdown': 6,
    'navigation_with_keys': False,
    'show_toc_level': 2,
    'show_prev_next': True,
    'search_bar_text': 'Search the docs…',
    'secondary_sidebar_items': ['page-toc'],
    'footer_start': ['copyright'],
    'footer_end': [],
    'icon_links': [],
}
html_sidebars = {'index': [], 'search': []}
