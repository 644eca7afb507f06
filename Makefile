# The one way to set up, test, benchmark and run dutystation. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Every package installed, runtime, dev and build, at an exact version with its sha256
# hashes; `make lock` writes it from pyproject.toml.
LOCK := requirements/lock.txt
LOCKFLAGS ?=
DEMO_DIR ?= demo
EMPLOYEES ?= 20000
SIZE ?= 2M

.DEFAULT_GOAL := help
.PHONY: help install lock demo test test-model lint typecheck security audit unit bench bench-imports clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) ## create .venv and install dutystation with its dev tools

lock: $(STAMP) ## after editing pyproject.toml's dependencies: re-pin requirements/lock.txt
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --all-extras \
	  --generate-hashes --custom-compile-command 'make lock' --output-file $(LOCK) \
	  $(LOCKFLAGS) pyproject.toml requirements/build.in

demo: $(STAMP) ## generate a synthetic department into ./demo and load it through the importers
	DUTYSTATION_DATA_DIR=$(DEMO_DIR) $(BIN)/dutystation demo --employees $(EMPLOYEES) --fresh

lint: $(STAMP) ## ruff
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(STAMP) ## mypy (strict) over src/ and bench/
	$(BIN)/mypy

security: $(STAMP) ## bandit over src/: 0 findings beyond the justified .bandit-baseline.json
	$(BIN)/python tools/bandit_gate.py

audit: $(STAMP) ## pip-audit of the locked pins; exits non-zero when any package is not checked
	$(BIN)/python tools/dependency_audit.py

unit: $(STAMP) ## the fast tests only
	$(BIN)/pytest -q tests/unit

test: lint typecheck security ## lint, typecheck, bandit and the whole test suite
	$(BIN)/pytest -q -n 2 --dist loadgroup

test-model: $(STAMP) ## RELIABILITY T21 at its CI figure: 100 runs x 30 steps (CI runs it after make test)
	DUTYSTATION_TEST_PROFILE=model $(BIN)/pytest -q -n 2 -p no:cacheprovider \
	  tests/integration/test_compliance_model.py -k test_the_evaluation_equals_the_reference_model

bench: $(STAMP) ## evaluation suite: product, hand-written SQL, pandas, bare scan (SIZE=2M|20M|100M)
	$(BIN)/python bench/suite.py --size $(SIZE)

bench-imports: $(STAMP) ## the import benchmarks (badge events, roster; see bench/README.md)
	$(BIN)/python bench/import_badges.py
	$(BIN)/python bench/import_roster.py

clean: ## remove the venv, caches and demo data
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(DEMO_DIR)
