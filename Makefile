# The one task entry point: README, .ci/run and .pre-commit-config.yaml call these.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.nebsign-installed

.PHONY: demo test lint typecheck check bench clean

$(STAMP): pyproject.toml hatch_build.py nebsign/_speedups.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nebsign demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check nebsign tests bench hatch_build.py
	$(BIN)/ruff format --check nebsign tests bench hatch_build.py

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) build dist *.egg-info nebsign/*.so
