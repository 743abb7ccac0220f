# PolyCRM: `make run` serves on 127.0.0.1:8080 (HOST=, PORT= to change), `make test` runs the whole suite,
# `make install` sets up a production environment (runtime dependencies only; see docs/deployment.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n 2 --dist worksteal
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test bench install clean

# The development environment: PolyCRM editable, with the test dependencies.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

# The store is the one every `polycrm` command uses: $POLYCRM_DATA_DIR, else ~/.local/share/polycrm.
run: $(STAMP)
	$(BIN)/polycrm serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run.py --rows 10000

# A production environment: PolyCRM and its pinned runtime dependencies, no test tools, not editable (the
# checkout may go away). `make install VENV=/opt/polycrm/venv` puts it elsewhere.
install:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt .
	@echo "Installed: $(abspath $(BIN))/polycrm"

# Removes the environment and caches, never a store.
clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
