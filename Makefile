# Timbel: `make run` starts it on the embedded default; `make test` runs the whole suite.
# Both install what they need (idempotently) and are fast on a second run.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
STAMPS := .stamps
VENDOR_STAMP := src/timbel/web/static/vendor/.installed
TEST_DEBIAN_PACKAGES := postgresql redis-server chromium fonts-noto-cjk wrk docker-registry apache2-utils prometheus prometheus-alertmanager prometheus-blackbox-exporter python3-pytest
PYTEST_ARGS ?=

.PHONY: run setup test lint format typecheck pytest pytest-sqlite pytest-postgres debian-packages bench clean

run: setup
	$(VENV)/bin/timbel serve

setup: $(STAMPS)/python-deps $(VENDOR_STAMP)

$(STAMPS)/python-deps: requirements.lock pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip sync --quiet --python $(PY) requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@touch $@

$(VENDOR_STAMP): ui-assets/package.json ui-assets/package-lock.json scripts/install_ui_assets.py $(STAMPS)/python-deps
	cd ui-assets && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	$(PY) scripts/install_ui_assets.py
	@touch $@

debian-packages:
	@sh scripts/install_debian_packages.sh $(TEST_DEBIAN_PACKAGES)

test: setup debian-packages lint typecheck pytest

lint:
	$(VENV)/bin/ruff check src tests bench migrations scripts
	$(VENV)/bin/ruff format --check src tests bench migrations scripts

format:
	$(VENV)/bin/ruff format src tests bench migrations scripts
	$(VENV)/bin/ruff check --fix src tests bench migrations scripts

typecheck:
	$(VENV)/bin/mypy --strict src/

pytest: pytest-sqlite pytest-postgres

pytest-sqlite:
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

pytest-postgres:
	TIMBEL_TEST_DATABASE=postgresql $(VENV)/bin/pytest -q -p no:cacheprovider -m "not browser" $(PYTEST_ARGS)

bench: setup debian-packages
	$(PY) bench/api_baseline.py

clean:
	rm -rf $(STAMPS) $(VENV) src/timbel/web/static/vendor ui-assets/node_modules test-artifacts
