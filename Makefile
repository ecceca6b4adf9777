# spmis: `make demo` runs the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Set by .ci/run (or by you) to also run the suite on PostgreSQL.
SPMIS_TEST_POSTGRES_URL ?=

.PHONY: demo test lint typecheck migrations-check pytest-sqlite pytest-postgres \
	plain-install-check bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "spmis needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spmis demo

test: lint typecheck migrations-check pytest-sqlite pytest-postgres

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy spmis config

migrations-check: $(STAMP)
	mkdir -p var
	SPMIS_DATABASE_URL=sqlite:///var/migrations-check.db $(BIN)/python manage.py makemigrations --check --dry-run

pytest-sqlite: $(STAMP)
	SPMIS_DATABASE_URL=sqlite:///var/test.db $(BIN)/pytest

pytest-postgres: $(STAMP)
ifneq ($(SPMIS_TEST_POSTGRES_URL),)
	SPMIS_DATABASE_URL=$(SPMIS_TEST_POSTGRES_URL) $(BIN)/pytest
else
	@echo "PostgreSQL run skipped: set SPMIS_TEST_POSTGRES_URL=postgresql://user:pw@host:5432/db to run the suite on PostgreSQL too (.ci/run does)."
endif

# A fresh virtualenv with a plain `pip install .` (no extras) runs the demo, linkage,
# cross-checks, indicators and the pages on a throwaway SQLite database (about two minutes).
plain-install-check:
	PYTHON=$(PYTHON) .ci/plain-install-check

bench: $(STAMP)
	$(BIN)/python bench/synth.py --persons 1000000

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
