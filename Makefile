# valuetrail developer commands. Every target bootstraps the virtualenv it needs,
# so `make run` and `make test` work on a fresh clone.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help install run test lint bench clean ops-tools reliability

help:
	@echo "make run    install the service and serve it (SQLite by default, see VALUETRAIL_DB)"
	@echo "make test   install dev tools; ruff, ruff format --check, mypy, then pytest"
	@echo "make lint   ruff and mypy only"
	@echo "make bench  run benchmarks/store.py"
	@echo "make reliability  tests/reliability at full size (faults, 5,000+ hostile requests, 30-min soak)"
	@echo "make ops-tools  install Debian's prometheus (promtool) and docker-compose for tests/ops"
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

test: lint ops-tools
	$(BIN)/pytest

# tests/ops run a real Prometheus, `promtool check|test` and `docker-compose config`: Debian's
# prometheus and docker-compose packages. Installed when missing (as root, or with passwordless
# sudo); otherwise those tests skip, unless VALUETRAIL_REQUIRE_OPS_TOOLS=1 (.ci/run) fails them.
OPS_TOOLS := prometheus promtool docker-compose
ops-tools:
	@missing=""; for tool in $(OPS_TOOLS); do \
		command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else sudo="none"; fi; \
	if ! command -v apt-get >/dev/null 2>&1 || [ "$$sudo" = none ]; then \
		echo "ops-tools: missing$$missing; install Debian's prometheus and docker-compose" \
			"packages (apt-get install prometheus docker-compose) or tests/ops will skip them"; \
		exit 0; \
	fi; \
	echo "ops-tools: installing prometheus and docker-compose (missing:$$missing)"; \
	$$sudo apt-get update -q && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends \
		prometheus docker-compose

# The full reliability suite: about 45 minutes (a 30-minute soak among it); figures are appended
# to var/reliability.jsonl. `make test` runs the same tests at quick sizes.
reliability: $(VENV)/.installed
	VALUETRAIL_RELIABILITY=full VALUETRAIL_RELIABILITY_REPORT=var/reliability.jsonl \
		$(BIN)/pytest tests/reliability

bench: $(VENV)/.installed-runtime
	$(PY) benchmarks/store.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
