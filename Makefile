# twin: common tasks. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
TWIN        := $(VENV)/bin/twin
STAMP       := $(VENV)/.installed
TEST_STAMP  := $(VENV)/.installed-test
PYTHON      ?=
PYTEST_ARGS ?=
DEPS_FLAGS  ?=
DEMO_ARGS   ?=

# True when $(VENV) has a Python >= 3.12 that runs.
VENV_OK = { [ -x $(PY) ] && $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; } 2>/dev/null

.PHONY: help install install-test demo test bench fuzz faults load scaling db-start db-stop clean lint

help:
	@echo "twin: digital twin and OGC API server for Hanoi"
	@echo
	@echo "  make install    system packages (scripts/install-deps.sh), $(VENV) with Python >= 3.12,"
	@echo "                  pip install -e . (runtime only) when pyproject.toml changed"
	@echo "  make demo       install, load the demo city and serve it"
	@echo "                  (DEMO_ARGS=--stream: the readings arrive over MQTT while it serves)"
	@echo "  make test       install, run the tests (PYTEST_ARGS='-k cluster -x' to narrow)"
	@echo "  make bench      install, run every benchmark in bench/ (ingest, rollups, features, EDR,"
	@echo "                  coverages, interpolation, flood; tens of minutes; they build their own"
	@echo "                  scratch databases and bench/.venv-* with tipg, pygeoapi, richdem, pysheds)"
	@echo "  make fuzz       the bounded fuzzing alone (schemathesis + hypothesis; also in make test)"
	@echo "  make faults     the fault tests alone (database restart, killed loads and workers)"
	@echo "  make load       bench/load.py: items, tiles, EDR and edits at 8, 32, 128 clients"
	@echo "  make scaling    bench/scaling.py: 1 vs 2 workers; 1M-10M readings; 0.3M-3M roads;"
	@echo "                 bench/replicas.py: reads with 0, 1, 2 replicas;"
	@echo "                 bench/ingest_group.py: MQTT ingest with 1, 2, 4 subscribers;"
	@echo "                 bench/tile_cache.py, tile_cache_s3.py: tiles cold and cached;"
	@echo "                 bench/flood_tiled.py: tiled fill on dask, 5k², 10k², 20k² DEMs"
	@echo "  make db-start   start the embedded PostGIS cluster (.twin/pgdata)"
	@echo "  make db-stop    stop it"
	@echo "  make lint       ruff check (rules in pyproject.toml); .ci/run runs it before the tests"
	@echo "  make clean      stop the cluster, remove $(VENV) and .twin (all local data)"
	@echo
	@echo "  PYTHON=/path/to/python3.12 picks the interpreter for a new $(VENV)."

install:
	@scripts/install-deps.sh $(DEPS_FLAGS)
	@if ! $(VENV_OK); then \
		py=$$(PYTHON="$(PYTHON)" scripts/find-python.sh) || exit 1; \
		echo "make: creating $(VENV) with $$py"; \
		rm -rf $(VENV) && "$$py" -m venv $(VENV) || exit 1; \
	fi
	@if [ ! -f $(STAMP) ] || [ pyproject.toml -nt $(STAMP) ]; then \
		echo "make: pip install -e . into $(VENV)"; \
		$(PY) -m pip install --progress-bar off -e . && \
		touch $(STAMP); \
	else \
		echo "make: Python packages up to date ($(STAMP) newer than pyproject.toml)"; \
	fi

# The test tools (pytest, schemathesis, Playwright, hypothesis, PyKrige, GSTools, ruff)
# come with make test, not with make demo.
install-test: install
	@if [ ! -f $(TEST_STAMP) ] || [ pyproject.toml -nt $(TEST_STAMP) ]; then \
		echo "make: pip install -e '.[test]' into $(VENV)"; \
		$(PY) -m pip install --progress-bar off -e '.[test]' && \
		touch $(TEST_STAMP); \
	fi

demo: install
	$(TWIN) demo $(DEMO_ARGS)

test: DEPS_FLAGS := --test
test: install-test
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: install-test
	$(PY) bench/ingest_readings.py
	$(PY) bench/ingest_stream.py
	$(PY) bench/rollups.py
	$(PY) bench/features.py
	$(PY) -m bench.edr
	$(PY) -m bench.coverages
	$(PY) bench/interpolate.py
	$(PY) -m bench.flood

fuzz: install-test
	$(PY) -m pytest -q -m fuzz

faults: install-test
	$(PY) -m pytest -q -s tests/test_faults.py

load: install-test
	$(PY) -m bench.load

scaling: install-test
	$(PY) -m bench.scaling
	$(PY) -m bench.replicas
	$(PY) -m bench.ingest_group
	$(PY) -m bench.tile_cache
	$(PY) -m bench.tile_cache_s3
	$(PY) -m bench.flood_tiled

db-start: install
	$(TWIN) db start

db-stop:
	@if [ -x $(TWIN) ]; then $(TWIN) db stop; else echo "make: no $(TWIN); nothing to stop"; fi

# Stop the cluster before deleting its files: with twin when it is installed,
# else by signalling the postmaster recorded in postmaster.pid (SIGINT = fast
# shutdown), after checking that the pid is a postgres process.
clean:
	-@if [ -x $(TWIN) ]; then $(TWIN) db stop; fi
	@pidfile=.twin/pgdata/postmaster.pid; \
	if [ -f $$pidfile ]; then \
		pid=$$(head -n 1 $$pidfile); \
		if tr '\0' ' ' < /proc/$$pid/cmdline 2>/dev/null | grep -q postgres; then \
			echo "make: stopping postgres $$pid"; kill -INT $$pid; \
			for i in $$(seq 1 100); do [ -d /proc/$$pid ] || break; sleep 0.1; done; \
		fi; \
	fi
	rm -rf $(VENV) .twin

lint: DEPS_FLAGS := --test
lint: install-test
	$(PY) -m ruff check twin tests bench
