# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.toml

.PHONY: run test once check lint clean peers

$(BIN)/newswatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev,semantic,postgres]'
	touch $@

run: $(BIN)/newswatch
	$(BIN)/newswatch --config $(CONFIG) run

once: $(BIN)/newswatch
	$(BIN)/newswatch --config $(CONFIG) once

check: $(BIN)/newswatch
	$(BIN)/newswatch --config $(CONFIG) check

test: $(BIN)/newswatch
	$(BIN)/python -m pytest -q

lint: $(BIN)/newswatch
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# rss2email and feed2exec in their own virtualenv, for `bench/poll.py --peers`.
peers:
	$(PYTHON) -m venv .peers
	.peers/bin/pip install --quiet rss2email==3.14 feed2exec==0.23.0

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
