# The two commands the README promises, on a fresh machine:
#   make demo   installs what the demo needs and runs it
#   make test   installs everything and runs lint, type checks and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# Benchmark data and checkers: installed without their (heavy, unused) dependency trees,
	# as the packages' own docs route allows; see docs/benchmarks.md.
	$(BIN)/python -m pip install --quiet --no-deps bfcl-eval==2026.3.23 mpmath==1.3.0 nestful-wrapper==0.1.7
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

demo: install
	$(BIN)/asyncfc demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
