# The two quick-start commands: `make lab` and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test lint lab bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lab]'
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(PY) -m ruff check nbsup tests benchmarks
	$(PY) -m ruff format --check nbsup tests benchmarks
	$(PY) -m mypy

test: lint
	$(PY) -m pytest

lab: venv
	$(VENV)/bin/jupyter lab notebooks/quickstart.ipynb

bench: venv
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .nbsup .pytest_cache .mypy_cache .ruff_cache
