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
	smoke lock rehearse test-rehearsal

# Python packages: uv installs each virtualenv from its committed lockfile, requirements*.lock
# (exact versions and hashes of every package, transitive ones included), compiled by `make lock`
# from the requirements*.txt beside it. Each virtualenv is exactly its lockfile (uv pip sync),
# and a stamp file per virtualenv keeps a second run from installing anything.
#   .venv          requirements.lock (make synth), then requirements-dev.lock (make test)
#   .venv-<name>   requirements-<name>.lock: model, checkov; a new one needs only its .txt
# uv itself is pinned in requirements-uv.lock and installed by pip into .tools/ (git-ignored).
UV_DIR := .tools/uv
UV := $(UV_DIR)/bin/uv
# Never download a Python: the virtualenvs are made from $(PYTHON).
export UV_PYTHON_DOWNLOADS := never
# requirements-model.lock pins the CPU build of torch (2.13.0+cpu; PyPI's Linux wheels are the
# CUDA build, gigabytes more): from the local wheel folder pip is given (PIP_FIND_LINKS) where
# there is one, otherwise from PyTorch's CPU index (uv's --torch-backend, torch packages only).
model_UV_ARGS := $(if $(PIP_FIND_LINKS),$(PIP_FIND_LINKS:%=--find-links %),--torch-backend cpu)
CHECK_PYTHON := $(PYTHON) -c 'import sys; sys.version_info >= (3, 11) or sys.exit( \
	f"PYTHON=$(PYTHON) is Python {sys.version.split()[0]}: Python 3.11 or newer is required")'

$(UV): requirements-uv.lock
	@$(CHECK_PYTHON)
	rm -rf $(UV_DIR)
	$(PYTHON) -m pip install --quiet --no-deps --require-hashes --target $(UV_DIR) -r requirements-uv.lock
	touch $@

# $(call sync,VENV,LOCKFILE,UV ARGUMENTS) in a stamp's recipe: VENV (made from $(PYTHON) if
# missing) holds exactly the packages of LOCKFILE, each checked against its hash. Compiled to
# bytecode at install, as pip does: where PYTHONDONTWRITEBYTECODE is set (this project's
# machines set it) every process would otherwise compile aws-cdk-lib or torch again, and the
# model server's worker misses its 15-second start in tests/model/test_model_server.py.
define sync
	@$(CHECK_PYTHON)
	test -x $(1)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(1)
	$(UV) pip sync --quiet --require-hashes --compile-bytecode --python $(1)/bin/python $(3) $(2)
	touch $@
endef

$(VENV)/.installed: requirements.lock | $(UV)
	$(call sync,$(VENV),requirements.lock)

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock | $(UV)
	$(call sync,$(VENV),requirements-dev.lock)

.venv-%/.installed: requirements-%.lock | $(UV)
	$(call sync,.venv-$*,requirements-$*.lock,$($*_UV_ARGS))

## lock: recompile requirements*.lock from requirements*.txt after editing one (LOCK_ARGS=--upgrade
## also moves the unpinned transitive packages to their newest releases). Resolved for CPython
## 3.11.5 on x86-64 Linux, the platform of CI and of the pipeline's build, wherever it runs.
## make synth's packages are locked at the versions make test installs: .venv never moves back.
LOCK_ARGS ?=
UV_COMPILE := $(UV) pip compile --quiet --generate-hashes --python-version 3.11.5 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" $(LOCK_ARGS)
LOCKED := $(patsubst requirements-%.txt,%,$(filter-out requirements-dev.txt,$(wildcard requirements-*.txt)))
lock: | $(UV)
	$(UV_COMPILE) requirements-dev.txt -o requirements-dev.lock
	$(UV_COMPILE) requirements.txt --constraint requirements-dev.lock -o requirements.lock
	$(foreach name,$(LOCKED),$(UV_COMPILE) $($(name)_UV_ARGS) requirements-$(name).txt \
		-o requirements-$(name).lock &&) true


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
	$(PY) -m summarizer.client.smoke --env $(ENV) $(SMOKE_ARGS)

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
	$(PY) -m summarizer.planner $(PLAN_ARGS)

## simulate: the article's policy, ours and a spike variant side by side on the standard burst and
## trickle; writes docs/img/simulation-*.json and .png (tests check the JSON is current)
simulate: $(VENV)/.installed-dev
	$(PY) -m summarizer.simulator --out-dir docs/img --variant "spike;summarizer.scaling.spike_enabled=true"

## stage-model: stage a pinned checkpoint with model_code/ in S3 for model_data_uri, e.g.
##   make stage-model MODEL_REVISION=<40-hex sha> BUCKET=my-models KMS_KEY=alias/models
## (UNCOMPRESSED=1: the files under a prefix, for model_data_compression "none")
MODEL_ID ?= google/pegasus-large
stage-model: $(MODEL_VENV)/.installed
	$(MODEL_PY) scripts/stage_model.py --model-id "$(MODEL_ID)" --revision "$(MODEL_REVISION)" \
		--bucket "$(BUCKET)" --kms-key "$(KMS_KEY)" $(if $(PREFIX),--prefix "$(PREFIX)",) \
		$(if $(REGION),--region "$(REGION)",) $(if $(UNCOMPRESSED),--uncompressed,)

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
