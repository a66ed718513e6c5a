# Every target installs what it needs: a fresh clone with Python 3.11+ and Node 20+ needs only
# `make synth` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
MODEL_VENV := .venv-model
PY := $(VENV)/bin/python
MODEL_PY := $(MODEL_VENV)/bin/python
CDK := node_modules/.bin/cdk
ENV ?=
CDK_ARGS := $(if $(ENV),-c summarizer.environment=$(ENV),)

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: synth test lint typecheck test-cdk test-model deploy diff destroy bench bench-synth \
	bench-model bench-datapath plan clean

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(MODEL_VENV)/.installed: requirements-model.txt
	test -x $(MODEL_PY) || $(PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_PY) -m pip install --quiet -r requirements-model.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## synth: synthesize every environment's stack into cdk.out/ (ENV=dev for one)
synth: $(VENV)/.installed node_modules/.installed
	$(CDK) synth --quiet $(CDK_ARGS)

## test: lint, type-check, and run the whole test suite
test: lint typecheck test-cdk test-model

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy

test-cdk: $(VENV)/.installed-dev
	CDK_VALIDATION=false $(PY) -m pytest --ignore=tests/model -q

test-model: $(MODEL_VENV)/.installed
	$(MODEL_PY) -m pytest tests/model -q

deploy: $(VENV)/.installed node_modules/.installed
	$(CDK) deploy $(CDK_ARGS) $(if $(ENV),PegasusSummarizer-$(ENV),--all)

diff: $(VENV)/.installed node_modules/.installed
	$(CDK) diff $(CDK_ARGS) $(if $(ENV),PegasusSummarizer-$(ENV),--all)

destroy: $(VENV)/.installed node_modules/.installed
	$(CDK) destroy $(CDK_ARGS) $(if $(ENV),PegasusSummarizer-$(ENV),--all)

## bench: synthesis time against an empty CDK app, and the model handler's throughput
bench: bench-synth bench-model bench-datapath

bench-synth: $(VENV)/.installed node_modules/.installed
	$(PY) bench/bench_synth.py

bench-model: $(MODEL_VENV)/.installed
	$(MODEL_PY) bench/bench_model.py

## bench-datapath: documents/s through the whole data path, grouped against one per invocation
bench-datapath: $(MODEL_VENV)/.installed
	$(MODEL_PY) bench/bench_datapath.py

## plan: propose scaling settings, e.g. make plan ARGS="--peak-per-minute 600 --seconds-per-article 4"
plan: $(VENV)/.installed
	$(PY) -m constructs_lib.capacity_planner $(ARGS)

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
