# Two commands do all set-up on a fresh machine:  `make run` (the main job) and `make test`.
# The virtual environment is created and filled from pyproject.toml on first use.
PYTHON ?= python3.12
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.ready

.PHONY: run classroom baseline test lint bench clean bytecode

$(READY): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory bytecode
	touch $@

bytecode:  ## compile negsim's own modules once, as a regular install does (pip compiles installed packages)
	$(BIN)/python -m compileall -q sim dashboard

run: $(READY) bytecode  ## the main job: the dashboard on http://localhost:8501
	$(BIN)/streamlit run dashboard/app.py --browser.gatherUsageStats false

classroom: $(READY)  ## classroom mode, reachable from the students' browsers on the local network
	$(BIN)/streamlit run dashboard/classroom.py --server.address 0.0.0.0 --browser.gatherUsageStats false

baseline: $(READY)  ## one run of the Feb-2022 baseline in the terminal
	$(BIN)/negsim run scenarios/feb2022_baseline.yaml

test: $(READY) bytecode  ## the whole test suite
	$(BIN)/python -m pytest

lint: $(READY)  ## ruff and mypy, as CI runs them
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(READY)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
