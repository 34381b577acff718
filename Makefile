# Ponte's everyday commands. `make run` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Every dependency's exact version, as CI last installed them: `make lock` writes it, every install reads it.
LOCK := requirements.lock

.PHONY: install run test lint format typecheck bench bench-full chaos clean lock

install: $(VENV)/.installed

# PIP_CONSTRAINT reaches the build of Ponte itself too (its setuptools), not only what is installed.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	PIP_CONSTRAINT=$(CURDIR)/$(LOCK) $(BIN)/python -m pip install --quiet pip setuptools
	PIP_CONSTRAINT=$(CURDIR)/$(LOCK) $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Resolve pyproject.toml's dependencies afresh in a scratch environment and write what was installed.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip setuptools
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ echo "# Written by \`make lock\` from pyproject.toml (Python $$(.lock-venv/bin/python -c 'import platform; print(platform.python_version())')). Do not edit by hand."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v '^ponte'; } > $(LOCK)
	rm -rf .lock-venv

run: install
	$(BIN)/ponte run

test: install lint typecheck
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench --quick

bench-full: install
	$(BIN)/python -m bench

chaos: install
	$(BIN)/python -m bench.chaos

clean:
	rm -rf $(VENV) .lock-venv ponte-data .pytest_cache .mypy_cache .ruff_cache
