# spmis: `make demo` runs the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Set by .ci/run (or by you) to also run the suite on PostgreSQL.
SPMIS_TEST_POSTGRES_URL ?=

.PHONY: demo test lint typecheck migrations-check pytest-sqlite pytest-postgres \
	plain-install-check bench clean messages compile-messages

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

# The interface's message catalogues (README "Languages"): gather every message of the source
# into spmis/locale/{fr,es,pt}/LC_MESSAGES/django.po (new ones empty, for translating), then
# compile the .mo files, which are committed with them. Needs GNU gettext.
MESSAGE_LANGUAGES := fr es pt
messages: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.base $(BIN)/python -m spmis.indicators.catalogue_messages
	SPMIS_DATABASE_URL=sqlite:///var/messages.db $(BIN)/python manage.py makemessages \
		$(addprefix -l ,$(MESSAGE_LANGUAGES)) --add-location file \
		--ignore '.venv/*' --ignore 'var/*' --ignore 'build/*' --ignore 'tests/*' \
		--ignore 'bench/*' --ignore 'docs/*' --ignore 'spark-warehouse/*' --ignore '*.egg-info/*'
	$(MAKE) compile-messages

compile-messages:
	for l in $(MESSAGE_LANGUAGES); do \
		msgfmt --check -o spmis/locale/$$l/LC_MESSAGES/django.mo spmis/locale/$$l/LC_MESSAGES/django.po || exit 1; \
	done

bench: $(STAMP)
	$(BIN)/python bench/synth.py --persons 1000000

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
