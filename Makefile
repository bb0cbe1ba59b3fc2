# ragkeeper — `make help` lists the targets. Everything installs itself: a fresh machine needs only
# Python 3.11+, Go (for the MinIO/Weaviate builds) and make.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
UV_VERSION := 0.13.9
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
# The ML extras (torch, transformers, TRL, PEFT, sentence-transformers) live in a second virtualenv built
# from their own hashed lock; `make demo` never touches it.
VENV_ML ?= .venv-ml
BIN_ML := $(VENV_ML)/bin
STAMP_ML := $(VENV_ML)/.installed
DEMO_DATA ?= $(CURDIR)/.demo
DEMO_QUERY ?= how do I rotate the API keys?
BENCH_DOCS ?= 2000
# Test processes for the non-ml suite (pytest-xdist, each with its own services): most of its time is
# spent waiting on services, leases and subprocesses, so three overlap that even on two cores.
TEST_WORKERS ?= 3
PEER_VENV ?= .venv-peer
PEER_STAMP := $(PEER_VENV)/.installed
PEER_LOCK := benchmarks/peer/requirements.lock
# make under another name: a recipe line naming $(MAKE) itself is run even by `make -n`, and the
# `test` recipe (which builds .venv-ml with it) would then run the suite when asked only for its plan.
SUBMAKE = $(MAKE) --no-print-directory

# Quiet, offline-friendly defaults for every target (each can be overridden from the environment).
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
export GX_ANALYTICS_ENABLED ?= false
export UNSTRUCTURED_DISABLE_NOTICE ?= 1
export SCARF_NO_ANALYTICS ?= true
export HF_HUB_DISABLE_TELEMETRY ?= 1

.PHONY: help install install-ml services demo test test-unit test-ml soak bench bench-peer eval-real bench-query peer-install peer-lock lint format lock lock-ml services-up services-down clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  \033[36m%-14s\033[0m %s\n",$$1,$$2}'

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed ($(PYTHON))"; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(UV) requirements.lock pyproject.toml
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes --compile-bytecode requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ragkeeper.adapters.spacy_model
	@touch $@

install: $(STAMP) ## Create .venv from the hashed lock file (runs only when the lock changes)

$(STAMP_ML): $(UV) requirements-ml.lock pyproject.toml
	@[ -x $(BIN_ML)/python ] || $(PYTHON) -m venv --without-pip $(VENV_ML)
	@# --compile-bytecode costs ~90 s per install, but without it (PYTHONDONTWRITEBYTECODE) every process
	@# that imports torch + transformers spends ~50 s compiling them again.
	$(UV) pip sync --quiet --python $(BIN_ML)/python --require-hashes --compile-bytecode requirements-ml.lock
	$(UV) pip install --quiet --python $(BIN_ML)/python --no-deps -e .
	$(BIN_ML)/python -m ragkeeper.adapters.spacy_model
	@touch $@

install-ml: $(STAMP_ML) ## Create .venv-ml (main lock + torch/TRL/PEFT/sentence-transformers, several GB) from requirements-ml.lock

services: ## Build the pinned MinIO and Weaviate (`go install`) and ElasticMQ (Maven), cached in ~/.cache/ragkeeper
	@bash infra/install-services.sh

demo: install ## Ingest examples/corpus into Weaviate Embedded, run a sample query and score its questions
	@bash infra/install-services.sh weaviate
	RAGKEEPER_WEAVIATE__EMBEDDED_DATA_DIR=$(DEMO_DATA)/weaviate $(BIN)/ragkeeper ingest examples/corpus
	RAGKEEPER_WEAVIATE__EMBEDDED_DATA_DIR=$(DEMO_DATA)/weaviate $(BIN)/ragkeeper query "$(DEMO_QUERY)" --limit 3
	RAGKEEPER_WEAVIATE__EMBEDDED_DATA_DIR=$(DEMO_DATA)/weaviate $(BIN)/ragkeeper eval --questions examples/questions.jsonl

test: install services ## Run the whole suite: unit, integration, e2e, faults in .venv; .venv-ml built and the `ml` tests run in it beside them
	@# The ml tests (CPU-bound training and embedding) run beside the rest, which mostly waits on services
	@# and leases; so does building .venv-ml (minutes on a fresh machine), which only they need. Their
	@# output follows the main suite's. Either failing fails the target; an interrupted run stops them too.
	@mkdir -p .test-logs
	@echo "ml tests: .venv-ml built and the ml tests run beside the others, output in .test-logs/ml.log"
	@{ $(SUBMAKE) install-ml && exec $(BIN_ML)/pytest -m ml; } >.test-logs/ml.log 2>&1 & ml=$$!; \
	  trap '{ pkill -TERM -P $$ml; kill $$ml; } 2>/dev/null || true' EXIT; trap 'exit 130' INT TERM; \
	  rest=0; $(BIN)/pytest -m "not ml" -n $(TEST_WORKERS) --dist loadfile || rest=$$?; \
	  ml_status=0; wait $$ml || ml_status=$$?; \
	  echo "---- ml tests (.venv-ml) ----"; cat .test-logs/ml.log; \
	  [ $$rest -eq 0 ] && [ $$ml_status -eq 0 ]

test-ml: install-ml services ## Run only the `ml` tests (tiny LoRA training, local embedding model) in .venv-ml
	$(BIN_ML)/pytest -m ml

test-unit: install ## Run only the fast unit tests
	$(BIN)/pytest tests/unit

soak: install services ## 10 SIGKILLs at random moments of an ingest, each repaired; prints "N of 10 converged exactly" (SOAK_ARGS="--corpus DIR")
	$(BIN)/python benchmarks/soak.py $(SOAK_ARGS)

bench: install services ## Benchmark cold / unchanged / 1%-changed ingest (BENCH_DOCS=2000)
	$(BIN)/python benchmarks/ingest_bench.py --docs $(BENCH_DOCS)

bench-peer: install services peer-install ## ragkeeper vs unstructured-ingest on a real Debian-docs corpus (one run)
	$(BIN)/python benchmarks/peer_bench.py --peer-python $(PEER_VENV)/bin/python

eval-real: install install-ml services ## recall@5/MRR/nDCG@10 per mode on the Debian-docs corpus, hashing and MiniLM
	$(PYTHON) benchmarks/real_corpus.py >/dev/null
	$(BIN)/python benchmarks/real_eval.py $(EVAL_REAL_ARGS)

bench-query: install install-ml services ## Query latency p50/p95 per mode, MiniLM chunks/s (torch vs ONNX) on the eval-real indexes
	$(BIN)/python benchmarks/query_bench.py --embedder hashing --embed 1000
	$(BIN_ML)/python benchmarks/query_bench.py --embedder local --embed 1000
	$(BIN_ML)/python benchmarks/minilm_runtimes.py

$(PEER_STAMP): $(UV) $(PEER_LOCK) benchmarks/peer/offline_spacy.py
	@[ -x $(PEER_VENV)/bin/python ] || $(PYTHON) -m venv $(PEER_VENV)
	$(UV) pip sync --quiet --python $(PEER_VENV)/bin/python --require-hashes --compile-bytecode $(PEER_LOCK)
	$(PEER_VENV)/bin/python benchmarks/peer/offline_spacy.py
	@touch $@

peer-install: $(PEER_STAMP) ## Create .venv-peer (unstructured-ingest) from its own hashed lock

peer-lock: $(UV) ## Re-resolve benchmarks/peer/requirements.lock from requirements.in
	$(UV) pip compile benchmarks/peer/requirements.in --generate-hashes --python-version 3.11 \
	  --override infra/overrides.txt --no-header --quiet -o $(PEER_LOCK)

lint: install install-ml ## ruff (lint + format check) and pyright (against .venv-ml, which has every extra)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright --pythonpath $(BIN_ML)/python

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: $(UV) ## Re-resolve requirements.lock and requirements-ml.lock from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --override infra/overrides.txt --no-header --quiet -o requirements.lock
	$(MAKE) --no-print-directory lock-ml

lock-ml: $(UV) ## Re-resolve only requirements-ml.lock (the main lock's pins as constraints)
	@# --no-config: [tool.uv] override-dependencies (torch away) must not apply to the ML lock; the main
	@# lock as constraints keeps every shared package at the same version in both virtualenvs.
	$(UV) pip compile --no-config pyproject.toml --extra dev --extra local --extra train --generate-hashes \
	  --python-version 3.11 --override infra/overrides-ml.txt -c requirements.lock --no-header --quiet \
	  -o requirements-ml.lock

services-up: install services ## Start MinIO (:9000), Weaviate (:8080/:50051) and Prefect (:4200) in the background
	$(BIN)/python infra/services_cli.py up --prefect

services-down: ## Stop what services-up started
	$(PYTHON) infra/services_cli.py down

clean: ## Remove the virtualenvs and demo data (the service build cache stays)
	rm -rf $(VENV) $(VENV_ML) $(PEER_VENV) $(DEMO_DATA) .pytest_cache .ruff_cache
