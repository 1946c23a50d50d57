# The two commands of the README: `make repro` and `make test`. Both set up .venv from the pinned set first.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# this machine's pip config names a local index folder that may be absent: drop its noise, keep real errors
QUIET_PIP := { grep -v 'is ignored: it is neither a file nor a directory' || true; }
PYTHON ?= python3
# uv installs the pinned set in parallel (CI's set-up 221 s -> ~80 s with pip's one-at-a-time); --no-deps as before,
# and .pyc compiled at install, since this machine sets PYTHONDONTWRITEBYTECODE (no cache written at import)
UV_VERSION := 0.13.8
UV_INSTALL = $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --compile-bytecode
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# no MPLBACKEND here: stage kernels must keep the inline backend, or reports lose their figures
unexport MPLBACKEND

.PHONY: setup repro test check-notebooks nbdev-test pytest lab clean-venv postgres

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock requirements-docs.lock settings.ini setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) 2>&1 | $(QUIET_PIP)
	$(UV_INSTALL) -r requirements.lock -r requirements-docs.lock
	$(UV_INSTALL) --no-build-isolation -e .
	$(BIN)/python -m pip check | grep -v "^nbdev 2.4.14 requires\|^nbdev 2.4.14 has requirement" || true
	-git rev-parse --git-dir >/dev/null 2>&1 && $(BIN)/nbdev_install_hooks >/dev/null
	touch $@

# --- Offline DVC plots -------------------------------------------------------------------------------
# `dvc plots show/diff` pages load vega from a CDN by default, so they are blank offline. `plots-template`
# inlines vega, vega-lite and vega-embed (exact versions pinned in package.json/package-lock.json) into
# .dvc/plots/offline.html, the page template .dvc/config names (plots.html_template = plots/offline.html).
# Both node_modules/ and the built page are git-ignored. Needs node + npm; stdlib-only Python (no venv needed).
PLOTS_TEMPLATE := .dvc/plots/offline.html

.PHONY: plots-template
setup: plots-template
plots-template: $(PLOTS_TEMPLATE)

# `npm ci` deletes node_modules and reinstalls exactly the lock; it rewrites node_modules/.package-lock.json,
# which is therefore the stamp: reinstall only when node_modules is missing or older than the lock.
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make: npm is missing: the offline dvc plots page is built from pinned npm packages; install node and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# the script leaves an unchanged page alone, so touch it for make's timestamps
$(PLOTS_TEMPLATE): node_modules/.package-lock.json tools/build_plots_template.py
	$(PYTHON) tools/build_plots_template.py
	touch $@

repro: setup
	dvc repro

test: setup check-notebooks nbdev-test pytest

# nbdev is the source of truth: exporting and cleaning must not change a single committed byte
check-notebooks: setup
	@tmp=$$(mktemp -d); cp -r nbs mlworkbench pipeline $$tmp/; \
	nbdev_export >/dev/null && nbdev_clean >/dev/null && nbdev_clean --fname pipeline >/dev/null; \
	status=0; for d in nbs mlworkbench pipeline; do diff -r -q $$tmp/$$d $$d -x __pycache__ -x .ipynb_checkpoints || status=1; done; \
	rm -rf $$tmp; if [ $$status -ne 0 ]; then echo "nbdev_export/nbdev_clean changed the files above: run them and commit" >&2; exit 1; fi

# the notebooks' `mlwb` commands get warm interpreters of their own (mlworkbench.workbench.launcher), stopped at the end
nbdev-test: setup
	export MLWB_WARM_DIR=$$(mktemp -d); trap 'mlwb warm --stop >/dev/null; rm -rf "$$MLWB_WARM_DIR"' EXIT; nbdev_test --n_workers 2

# the service tests start a real PostgreSQL 15 (initdb/pg_ctl as the postgres user): install it on a new machine
postgres:
	@test -x /usr/lib/postgresql/15/bin/initdb || { apt-get update -qq && apt-get install -y -qq postgresql-15 >/dev/null; }

# two workers: the stages run BLAS and OpenMP on one thread, so one pytest process leaves a core idle (pytest 819 s -> 659 s
# on the 2-core machine). Tests marked xdist_group('shared') share one worker, which builds the session's pipeline run and docs once.
pytest: setup postgres browser-deps
	python -m pytest -n 2 --dist loadgroup

LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
setup: $(LAB_OVERRIDES)
$(LAB_OVERRIDES): tools/jupyterlab-overrides.json $(VENV)/.installed
	install -D -m 644 $< $@

# saving a notebook cleans it as nbdev_clean does (a stage notebook without outputs): a DVC dependency keeps its bytes
LAB_PORT ?= 8888
lab: setup
	jupyter lab --no-browser --allow-root --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) --ServerApp.root_dir=$(CURDIR) \
	  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  --FileContentsManager.pre_save_hook=mlworkbench.workbench.lab.clean_on_save

clean-venv:
	rm -rf $(VENV)

DOCS_ARGS ?=
.PHONY: docs
docs: setup
	python tools/build_docs.py $(DOCS_ARGS)

.PHONY: browser-deps
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation; \
	  elif [ -n "$$CI" ]; then echo "browser-deps: /usr/bin/chromium is missing and apt-get needs root" >&2; exit 1; \
	  else echo "browser-deps: /usr/bin/chromium is missing (as root: apt-get install chromium); the browser tests will skip" >&2; fi; \
	fi

# dvc.yaml's mlworkbench/*.py deps are generated from each stage's import closure (tools/stage_deps.py);
# tests/test_dvc.py fails when they differ. Run this after changing what a stage notebook or library module imports.
.PHONY: deps
deps: setup
	python tools/stage_deps.py --write
