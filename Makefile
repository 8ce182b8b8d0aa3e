# Developer entry points. `make test` is what CI runs (.ci/run) on a clean clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install: the venv is reinstalled only when pyproject.toml changes.
STAMP := $(VENV)/.installed

.PHONY: venv demo dev test lint bench

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e ".[dev]"
	touch $@

demo: venv
	$(BIN)/fulfil demo

dev: venv
	$(BIN)/fulfil dev

# The tests use the PostgreSQL on 127.0.0.1:5432 unless FULFIL_TEST_DATABASE_URL names another.
test: venv
	@if [ -z "$${FULFIL_TEST_DATABASE_URL:-}" ]; then bash scripts/ensure-postgres.sh; fi
	@bash scripts/ensure-chromium.sh
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy domain workflows activities workers

bench: venv
	$(BIN)/fulfil bench
