# hashfleet: the two commands README.md starts with are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-full bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/hashfleet run scenarios/contract_example.yaml --out out/contract_example --overwrite --report
	@echo "Report: $(CURDIR)/out/contract_example/report.html (self-contained; open it in any browser)"

# The report's browser test needs chromium: Debian's package, installed when missing.
browser:
	@sh tools/ensure-chromium.sh

test: $(STAMP) browser
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -m "not slow"

test-full: $(STAMP) browser
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# Bytecode first, as a regular (non-editable) pip install writes it: this machine sets
# PYTHONDONTWRITEBYTECODE, so the editable package would be compiled from source in every
# timed process (~0.07 s of bench_startup's figure). A stale .pyc is ignored, never used.
bench: $(STAMP)
	$(BIN)/python -m compileall -q simulator
	$(BIN)/python benchmarks/run_all.py --json out/bench.json
	@if [ -f benchmarks/bench_sweep.py ]; then $(BIN)/python benchmarks/bench_sweep.py; fi

clean:
	rm -rf $(VENV) build dist *.egg-info
