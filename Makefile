# wifivip: `make demo` runs the whole system locally; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps demo test lint typecheck bench soak clean deploy plan destroy

$(STAMP): pyproject.toml edge-agent/pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip<26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]" -e ./edge-agent
	touch $(STAMP)

install: $(STAMP)

system-deps:
	tests/system-deps.sh

# `make demo FULL=1`: the whole simulated centre of Niort (40 shops, 50 sensors) instead of four shops.
demo: install
	$(BIN)/python -m infra.demo $(if $(FULL),--full) $(DEMO_ARGS)

test: install system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

bench: install system-deps
	$(BIN)/python -m bench

# Long fault runs kept out of `make test`: 100 kill -9 of the spool writer and of the whole agent;
# the fuzz, cloud-fault and schemathesis runs with many more examples (docs/reliability.md).
soak: install system-deps
	WIFIVIP_KILL_LOOPS=100 $(BIN)/python -m pytest -q -s tests/edge/test_spool_faults.py
	WIFIVIP_SOAK=1 $(BIN)/python -m pytest -q -s --timeout 7200 tests/edge/test_fuzz_capture.py \
		tests/functions/test_fuzz_batch.py tests/kpi/test_cloud_faults.py tests/portal/test_schemathesis.py \
		tests/optin/test_schemathesis_optin.py tests/optin/test_optin_faults.py \
		tests/e2e/test_privacy_consent.py

# Deploy to AWS (or an emulator with ENDPOINT=http://...): make deploy STAGE=prod REGION=eu-west-3
STAGE ?= dev
REGION ?= eu-west-3
INFRA_ARGS = --stage $(STAGE) --region $(REGION) $(if $(ENDPOINT),--endpoint-url $(ENDPOINT))

deploy: install
	$(BIN)/python -m infra deploy $(INFRA_ARGS) $(if $(ADMIN_EMAIL),--admin-email $(ADMIN_EMAIL))

plan: install
	$(BIN)/python -m infra plan $(INFRA_ARGS)

destroy: install
	$(BIN)/python -m infra destroy $(INFRA_ARGS) $(DESTROY_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
