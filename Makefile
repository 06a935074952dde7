# TaskAgent: every target bootstraps what it needs (virtual environment, packages) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data

.PHONY: venv demo server worker stop test lint format schema bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## demo: start a local Temporal dev server and a worker on the offline model, run the example
demo: export TASKAGENT_DEFAULT_MODEL = offline:default
demo: venv server worker
	$(BIN)/python starter.py run company_research --show-steps --input '{"company": "Acme Robotics"}'
	@echo "Server and worker keep running (Web UI: http://localhost:8233). Stop them with: make stop"

## server: the Temporal dev server (SQLite in $(DATA)/, Web UI on :8233), left running
server: venv
	@DATA=$(DATA) scripts/devstack.sh server

## worker: (re)start the worker in the background, logging to $(DATA)/worker.log
worker: venv
	@DATA=$(DATA) scripts/devstack.sh worker

## stop: stop the worker and the dev server started by `make demo`
stop:
	@DATA=$(DATA) scripts/devstack.sh stop

## test: lint and the whole test suite
test: venv lint
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: bare Temporal against TaskAgent, side by side (bench/README.md); e.g. ARGS=--quick
bench: venv
	$(BIN)/python -m bench $(ARGS)

## schema: regenerate the published JSON Schema of pipeline specs
schema: venv
	$(BIN)/python starter.py schema > schemas/pipeline.schema.json

clean: stop
	rm -rf $(VENV) $(DATA) .pytest_cache .ruff_cache
