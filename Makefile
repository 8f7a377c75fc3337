# wadesk — `make run` sets everything up and starts the demo; `make test` runs every check.
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest web web-check install migrate seed bench clean

run: install web
	$(VENV)/bin/wadesk demo --host $(HOST) --port $(PORT)

install: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

# The web app is built when web/ exists; rebuilt only when its sources change.
WEB_SOURCES := $(shell test -d web && find web -path web/node_modules -prune -o -path web/dist -prune -o -type f -print)
web: $(if $(wildcard web/package.json),web/dist/index.html,)

web/dist/index.html: $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch $@

# The web app's own checks: types, lint, component tests, and a generated API client in step with the backend.
web-check: install web
ifneq ($(wildcard web/package.json),)
	cd web && npm run typecheck && npm run lint && npm test && npm run check:client
endif

migrate: install
	$(VENV)/bin/wadesk migrate

seed: install
	$(VENV)/bin/wadesk seed --demo

test: install lint typecheck web-check pytest

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: install
	$(VENV)/bin/mypy

pytest: install web
	$(VENV)/bin/python -m pytest

bench: install
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) web/node_modules web/dist .pytest_cache .mypy_cache .ruff_cache
