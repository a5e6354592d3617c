# trailseal: `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= out/demo

.PHONY: demo test lint typecheck check schemas bench clean

$(BIN)/trailseal: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The main job on the embedded default: a fresh ledger, real scanner output
# recorded, the ledger verified, and an evidence pack written.
demo: $(BIN)/trailseal
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh "$(DEMO)"

test: $(BIN)/trailseal
	$(BIN)/python -m pytest -n 2 -q

lint: $(BIN)/trailseal
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/trailseal
	$(BIN)/mypy ledger cli schemas

check: lint typecheck test

schemas: $(BIN)/trailseal
	$(BIN)/python -m schemas.generate

bench: $(BIN)/trailseal
	$(BIN)/python benchmarks/bench_ledger.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
