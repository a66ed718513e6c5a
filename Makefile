# Every target installs what it needs: a fresh clone with Python 3.11+ and Node 20+ needs only
# `make synth` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
MODEL_VENV := .venv-model
CHECKOV_VENV := .venv-checkov
REHEARSAL_VENV := .venv-rehearsal
REHEARSAL_PY := $(REHEARSAL_VENV)/bin/python
PY := $(VENV)/bin/python
MODEL_PY := $(MODEL_VENV)/bin/python
CDK := node_modules/.bin/cdk
ENV ?=
CDK_ARGS := $(if $(ENV),-c summarizer.environment=$(ENV),)
# Delivery pipeline: PIPELINE=<JSON file in the repository> synthesizes the pipeline stack instead.
PIPELINE ?=
CDK_ARGS += $(if $(PIPELINE),-c summarizer.pipeline=$(PIPELINE),)
SMOKE_ARGS ?=

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: synth test lint typecheck test-cdk test-model deploy diff destroy bench bench-synth \
	bench-model bench-datapath bench-gpu gpu-wheels plan simulate clean stage-model synth-pipeline \
	smoke rehearse test-rehearsal

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

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

$(REHEARSAL_VENV)/.installed: requirements-rehearsal.txt
	test -x $(REHEARSAL_PY) || $(PYTHON) -m venv $(REHEARSAL_VENV)
	$(REHEARSAL_PY) -m pip install --quiet -r requirements-rehearsal.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## synth: synthesize every environment's stack into cdk.out/ (ENV=dev for one)
synth: $(VENV)/.installed node_modules/.installed
	$(CDK) synth --quiet $(CDK_ARGS)

## synth-pipeline: synthesize the delivery pipeline of examples/pipeline.json (or PIPELINE=...)
synth-pipeline: $(VENV)/.installed node_modules/.installed
	$(CDK) synth --quiet -c summarizer.pipeline=$(or $(PIPELINE),examples/pipeline.json)

## smoke: prove a deployed environment summarizes, e.g. make smoke ENV=dev (SMOKE_ARGS="--help")
smoke: $(VENV)/.installed-dev
	@test -n "$(ENV)" || { echo "make smoke needs ENV=<environment>, e.g. make smoke ENV=dev" >&2; exit 2; }
	$(PY) -m constructs_lib.client.smoke --env $(ENV) $(SMOKE_ARGS)

## rehearse: deploy into a local AWS emulator with the real CDK CLI, run a round trip, update,
##   tear down, report (ENV=dev by default, ENV=all; LOAD=10000 adds the burst, FAULTS=50 the
##   fault runs on 50 documents each; see rehearsal/README.md)
REHEARSAL_DEPS := $(VENV)/.installed-dev $(MODEL_VENV)/.installed $(REHEARSAL_VENV)/.installed \
	node_modules/.installed
rehearse: $(REHEARSAL_DEPS)
	$(REHEARSAL_PY) -m rehearsal --env $(or $(ENV),dev) $(if $(LOAD),--load $(LOAD),) \
		$(if $(FAULTS),--faults $(FAULTS),) $(REHEARSE_ARGS)

## test: lint, type-check, and run the whole test suite (make -j2 test: two suites at a time;
##   the rehearsal's tests mostly wait on batching windows, so they share a core well)
test: lint typecheck test-rehearsal test-cdk test-model

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy

# The gates (tests/test_gates.py) run cfn-lint, cdk-nag and checkov over every template.
test-cdk: $(VENV)/.installed-dev $(CHECKOV_VENV)/.installed
	CDK_VALIDATION=false $(PY) -m pytest --ignore=tests/model --ignore=tests/rehearsal -q

test-model: $(MODEL_VENV)/.installed
	$(MODEL_PY) -m pytest tests/model -q

# The rehearsal's emulator, pollers and runtimes; one shared deployment for the slow tests.
test-rehearsal: $(REHEARSAL_DEPS)
	$(REHEARSAL_PY) -m pytest tests/rehearsal -q

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

## bench-gpu: pegasus-large articles/s by batch size on this machine's GPU, written as a throughput
## table under bench/results/ (docs/gpu-throughput.md); BENCH_GPU_ARGS="--dry-run" runs on a CPU
BENCH_GPU_ARGS ?=
bench-gpu:
	scripts/bench_gpu.sh $(BENCH_GPU_ARGS)

## gpu-wheels: the wheels bench-gpu needs on a GPU machine that has PyTorch but not the DLC's
## transformers, into .gpu-wheels/ (git-ignored) to carry there; GPU_PYTHON_VERSION is its Python
GPU_PYTHON_VERSION ?= 3.12
GPU_WHEELS := transformers==4.51.3 tokenizers==0.21.4 safetensors==0.8.0 sentencepiece==0.2.3 \
	huggingface-hub==0.36.2
gpu-wheels:
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --implementation cp \
		--python-version $(GPU_PYTHON_VERSION) --platform manylinux_2_28_x86_64 \
		--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu-wheels $(GPU_WHEELS)

## plan: propose scaling settings, e.g. make plan ARGS="--peak-per-minute 600 --max-wait-seconds 300"
## (without ARGS: the cheapest settings whose simulated p95 on the 10,000-document burst is <= 20 min)
PLAN_ARGS := $(or $(ARGS),--p95-goal-minutes 20 --scenario burst)
plan: $(VENV)/.installed
	$(PY) -m constructs_lib.capacity_planner $(PLAN_ARGS)

## simulate: the article's policy, ours and a spike variant side by side on the standard burst and
## trickle; writes docs/img/simulation-*.json and .png (tests check the JSON is current)
simulate: $(VENV)/.installed-dev
	$(PY) -m constructs_lib.simulator --out-dir docs/img --variant "spike;summarizer.scaling.spike_enabled=true"

## stage-model: stage a pinned checkpoint with model_code/ in S3 for model_data_uri, e.g.
##   make stage-model MODEL_REVISION=<40-hex sha> BUCKET=my-models KMS_KEY=alias/models
MODEL_ID ?= google/pegasus-large
stage-model: $(MODEL_VENV)/.installed
	$(MODEL_PY) scripts/stage_model.py --model-id "$(MODEL_ID)" --revision "$(MODEL_REVISION)" \
		--bucket "$(BUCKET)" --kms-key "$(KMS_KEY)" $(if $(PREFIX),--prefix "$(PREFIX)",) \
		$(if $(REGION),--region "$(REGION)",)

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
