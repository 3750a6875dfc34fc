# The two quick-start commands: `make lab` and `make test`. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test test-fast lint lab bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "needs python3.11 on PATH"; exit 1; }
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

test-fast: lint
	$(PY) -m pytest -m "not slow"

bench: venv
	$(PY) -m benchmarks

lab: venv
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/01-quickstart.ipynb

clean:
	rm -rf $(VENV) .nbsup .pytest_cache .mypy_cache .ruff_cache
