# Two commands on a fresh machine: `make run` (the demo) and `make test` (every test).
# Both create the virtual environment and install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test migrate seed clean

run: $(VENV)/.installed
	$(BIN)/hotline serve

test: $(VENV)/.installed-test
	$(BIN)/pytest

migrate: $(VENV)/.installed
	$(BIN)/hotline migrate

seed: $(VENV)/.installed
	$(BIN)/hotline seed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Hotline needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) data *.egg-info
