# The two set-up commands of the README, and the checks CI runs.
#   make demo   install into .venv, then run the whole workflow on the local deployment
#   make test   install into .venv, then run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.package-lock.json
PYTEST_WORKERS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test check format dev azurite system-packages bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt --editable ".[dev]"
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund

# From Debian, for the tests: headless Chromium and its driver (the dashboard), PostgreSQL
# (the production instance under the real daemon). Installed only when missing.
system-packages:
	@if ! command -v chromedriver >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver postgresql; \
	fi

demo: $(STAMP)
	$(BIN)/e2e-ml demo

dev: $(STAMP)
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.e2e-ml/dagster} $(BIN)/dg dev --host 127.0.0.1

azurite: $(STAMP) $(NODE_STAMP)
	$(BIN)/e2e-ml azurite

test: $(STAMP) $(NODE_STAMP) system-packages
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

bench: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m bench.clean_step
	$(BIN)/python -m bench.history_cost
	$(BIN)/python -m bench.orchestration
	$(BIN)/python -m bench.pipes_training
	$(BIN)/python -m bench.tracking
	$(BIN)/python -m bench.sensor_tick
	$(BIN)/python -m bench.model_quality
	$(BIN)/python -m bench.backtest
	$(BIN)/python -m bench.serve_latency

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
