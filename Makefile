# valuetrail developer commands. Every target bootstraps the virtualenv it needs,
# so `make run` and `make test` work on a fresh clone.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help install run test lint bench clean ops-tools lock image-test reliability

help:
	@echo "make run    install the service and serve it (SQLite by default, see VALUETRAIL_DB)"
	@echo "make test   install dev tools; ruff, ruff format --check, mypy, then pytest"
	@echo "make lint   ruff and mypy only"
	@echo "make bench  run benchmarks/store.py"
	@echo "make reliability  tests/reliability at full size (faults, 5,000+ hostile requests, 30-min soak)"
	@echo "make ops-tools  install Debian's prometheus (promtool) and docker-compose for tests/ops"
	@echo "make lock   re-resolve requirements*.lock from pyproject.toml (UPGRADE=1: newest allowed)"
	@echo "make image-test  build docker/Dockerfile with podman and check the running container"
	@echo "make clean  remove the virtualenv, caches and build output (keeps var/)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Exact versions with hashes come from the lock files (`make lock` writes them from the ranges in
# pyproject.toml); the project itself is then installed without resolving anything. The lock
# also pins setuptools, the build backend, hence --no-build-isolation.
# Runtime dependencies only: enough to serve.
$(VENV)/.installed-runtime: requirements.lock pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install --require-hashes -r requirements.lock
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	touch $@

# Runtime plus the `dev` extra: what the test suite and linters need.
$(VENV)/.installed: requirements-dev.lock pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --no-deps --no-build-isolation -e .
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

# Resolved against PyPI alone (not this machine's pip configuration), for Python 3.11 on every
# platform, keeping the versions already locked unless UPGRADE=1 or pyproject.toml no longer
# allows them. Run it after any change to dependencies in pyproject.toml, then `make install`.
UV_VERSION := 0.13.8
LOCK_INDEX ?= https://pypi.org/simple
LOCK_FLAGS = --quiet --no-config --index-url $(LOCK_INDEX) --no-emit-index-url --generate-hashes \
	--python-version 3.11 --universal --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
BUILD_REQUIRES = $(PY) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))\
	['build-system']['requires'], sep='\n')"
lock: | $(PY)
	$(BIN)/uv --version 2>/dev/null | grep -qF ' $(UV_VERSION)' || \
		$(PY) -m pip install --quiet 'uv==$(UV_VERSION)'
	$(BUILD_REQUIRES) | $(BIN)/uv pip compile $(LOCK_FLAGS) -o requirements.lock pyproject.toml -
	$(BUILD_REQUIRES) | $(BIN)/uv pip compile $(LOCK_FLAGS) --extra dev \
		--constraint requirements.lock -o requirements-dev.lock pyproject.toml -

# Builds docker/Dockerfile with podman on a Debian base made here and checks the running
# container (tests/image/check_image.py; root, apt-get, standard library only; docs/DEPLOYMENT.md).
image-test:
	$(PYTHON) -m tests.image.check_image

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
