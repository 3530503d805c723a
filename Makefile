# The one task entry point: README, .ci/run and .pre-commit-config.yaml call these.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.nebsign-installed

.PHONY: demo test lint typecheck check bench clean deps fuzz mutants

$(STAMP): pyproject.toml hatch_build.py nebsign/_speedups.c $(wildcard scripts/ensure-*.sh)
	$(MAKE) --no-print-directory deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# System tools the build and tests need (compiler + headers for the C loop, openssl,
# strace, a browser, solc-js, ...): each scripts/ensure-*.sh installs one family if missing.
deps:
	@for s in scripts/ensure-*.sh; do bash "$$s" || exit $$?; done

demo: $(STAMP)
	$(BIN)/nebsign demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# A longer random property-test run than the derandomized CI profile.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" $(PYTEST_ARGS)

# Mutation testing of the modules that decide trust (docs/mutants.md); hours for all of
# them on 2 cores: narrow it with a mutant-name pattern, e.g.
#   make mutants MUTATE='nebsign._internal.safepath.*'
mutants: $(STAMP)
	$(BIN)/python -m pip install --quiet mutmut==3.8.1
	$(BIN)/mutmut run --max-children $$(nproc) $(MUTATE)
	$(BIN)/python scripts/mutants_report.py $(MUTATE)

lint: $(STAMP)
	$(BIN)/ruff check nebsign tests bench scripts hatch_build.py
	$(BIN)/ruff format --check nebsign tests bench scripts hatch_build.py

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) build dist *.egg-info nebsign/*.so
