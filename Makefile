# valuetrail developer commands. Every target bootstraps the virtualenv it needs,
# so `make run` and `make test` work on a fresh clone.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help install run test lint bench clean

help:
	@echo "make run    install the service and serve it (SQLite by default, see VALUETRAIL_DB)"
	@echo "make test   install dev tools; ruff, ruff format --check, mypy, then pytest"
	@echo "make lint   ruff and mypy only"
	@echo "make bench  run benchmarks/store.py"
	@echo "make clean  remove the virtualenv, caches and build output (keeps var/)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Runtime dependencies only: enough to serve.
$(VENV)/.installed-runtime: pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e .
	touch $@

# Runtime plus the `dev` extra: what the test suite and linters need.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	touch $@ $(VENV)/.installed-runtime

install: $(VENV)/.installed

run: $(VENV)/.installed-runtime
	$(BIN)/valuetrail serve

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(VENV)/.installed-runtime
	$(PY) benchmarks/store.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
