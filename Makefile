# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
PYTEST := $(BIN)/python -m pytest

.PHONY: run test test-slow test-all lint report clean-results lock bench bench-sweep

LOCK := requirements.lock
UV := uv==0.13.9

# Every library at the version and hash of the committed lock; then the package itself, without deps.
$(STAMP): pyproject.toml $(LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Refresh the lock: the newest versions that pyproject.toml allows, with their hashes (docs/testing.md).
lock:
	$(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet $(UV)
	.lock-venv/bin/uv pip compile pyproject.toml --extra test --generate-hashes --universal \
		--python-version 3.11 --upgrade -o $(LOCK)
	rm -rf .lock-venv

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --profile profiles/local
	$(BIN)/snakemake --cores 1 --report results/default/report.html
	$(BIN)/python -m ineqbench.summary config.yaml

# The fast lane (at most 10 minutes on 2 cores): lint, layering, unit tests, dry runs, the tiny run.
test: $(STAMP) lint
	$(PYTEST) -q -m "not slow" --durations=15

# The slow lane alone: the embedded default, the paper configs, the real Slurm, the incremental reruns;
# the embedded default beside the rest, in two pytest processes (tools/slow-lane says why).
test-slow: $(STAMP)
	tools/slow-lane

test-all: test test-slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

clean-results:
	rm -rf results .snakemake

# The benchmark suite (benchmarks/README.md): CSV + Markdown records under benchmarks/out/. No test times anything.
bench: $(STAMP)
	$(BIN)/python benchmarks/attribution_throughput.py --bf16 --out benchmarks/out/attribution
	benchmarks/gpu_check.sh benchmarks/out/gpu_check

# The timm architecture sweep (about 45 minutes on 2 CPU cores).
bench-sweep: $(STAMP)
	$(BIN)/python benchmarks/timm_sweep.py --out benchmarks/out/timm_sweep
