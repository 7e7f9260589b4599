# Everyday commands. `make test` is what CI runs after `make lint`.
PYTHON ?= python

.PHONY: test test-fast lint format bench docs

test:            ## every test, slow ones (real processes, DDP, browser) included
	$(PYTHON) -m pytest

test-fast:       ## the in-process tests only: under a minute
	$(PYTHON) -m pytest -m "not slow"

lint:            ## style, formatting, the layer and no-cycle contracts, dead code
	ruff check src tests bench scripts examples
	ruff format --check src tests bench scripts examples
	lint-imports
	vulture

format:
	ruff format src tests bench scripts examples
	ruff check --fix src tests bench scripts examples

bench:           ## every benchmark, written to docs/benchmarks.md (tens of minutes)
	$(PYTHON) bench/run.py --write docs/benchmarks.md
	$(PYTHON) bench/sampling.py --write docs/benchmarks.md
	$(PYTHON) bench/studies.py --write docs/benchmarks.md
	$(PYTHON) bench/transfer.py --write docs/benchmarks.md

docs:            ## the figures that are cheap to regenerate
	$(PYTHON) scripts/fault_table.py --write docs/reliability.md
