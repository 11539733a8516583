# The two commands of the README. Each bootstraps .venv/ on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint lock generate bench soak soak-model clean

# Every package from requirements-dev.lock, each checked against its hash; then trimtab itself, editable,
# with --no-deps since the lock already holds its dependencies (pip refuses `-e .` under --require-hashes).
$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian, apt-get install python3-venv"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

## lock: recompile requirements.lock (what the image installs: [project] dependencies) and requirements-dev.lock
## (those same pins plus [dev]) from pyproject.toml, with hashes, for any platform. Pins already in a lock are
## kept; LOCK_ARGS=--upgrade moves them all, LOCK_ARGS='--upgrade-package NAME' one. tests/test_locks.py fails
## while a lock is stale.
LOCK_ARGS ?=
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --generate-hashes --quiet --custom-compile-command 'make lock'
lock: | $(STAMP)
	$(LOCK) $(LOCK_ARGS) -o requirements.lock
	$(LOCK) $(LOCK_ARGS) --extra dev -c requirements.lock -o requirements-dev.lock

## run: run the controller on specs/ against an embedded AWS emulator (no AWS account needed; Ctrl-C stops).
## The admin API (resync, prune --confirm) needs TRIMTAB_API_TOKEN: without one, a token is made and printed.
run: $(STAMP)
	@token="$${TRIMTAB_API_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(16))')}"; \
	[ -n "$$TRIMTAB_API_TOKEN" ] || echo "trimtab: admin API token for this run; in another shell: export TRIMTAB_API_TOKEN=$$token"; \
	TRIMTAB_API_TOKEN="$$token" exec $(BIN)/trimtab run --local --source specs/

## test: lint, type-check, CRD staleness, and the test suite against a real moto server
## (two pytest-xdist workers, each with its own moto server: the suite mostly waits, so two fill two cores)
TEST_WORKERS ?= 2
test: $(STAMP) lint
	$(BIN)/pytest -q -n $(TEST_WORKERS)

## test-localstack: the lifecycle tests against LocalStack (own venv, free port; needs Python >= 3.12)
LOCALSTACK_TESTS ?= tests/test_lifecycle.py tests/test_ownership.py tests/test_transitions.py tests/test_steady_reads.py
.PHONY: test-localstack
test-localstack: $(STAMP)
	$(BIN)/python -m tests.localstack_run $(LOCALSTACK_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check controller tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/trimtab crds --check
	$(BIN)/trimtab docs --check

## bench: the benchmark at N = 1,000 (BENCH_N=10000 for the large one); appends to docs/benchmarks.md
BENCH_N ?= 1000
bench: $(STAMP)
	$(BIN)/python -m bench --resources $(BENCH_N)

## soak: 10 minutes of spec churn and drift at N = 1,000, watching RSS, asyncio tasks and descriptors
soak: $(STAMP)
	$(BIN)/python -m bench --resources 1000 --soak 10

## soak-model: the stateful model test (tests/test_model.py) with many more examples and longer sequences
MODEL_EXAMPLES ?= 100
MODEL_STEPS ?= 40
soak-model: $(STAMP)
	TRIMTAB_MODEL_EXAMPLES=$(MODEL_EXAMPLES) TRIMTAB_MODEL_STEPS=$(MODEL_STEPS) $(BIN)/pytest -q tests/test_model.py

## generate: rewrite the CRDs and the spec reference from the models
generate: $(STAMP)
	$(BIN)/trimtab crds --out crds_yaml
	$(BIN)/trimtab docs

clean:
	rm -rf $(VENV) .venv-localstack .trimtab .pytest_cache .mypy_cache .ruff_cache
