# Everything runs from .venv, created and filled on first use from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AUDIT_VENV := .venv-audit
AUDIT_STAMP := $(AUDIT_VENV)/.installed
STACK ?= staging

.PHONY: help rehearse test pytest lint typecheck unit bench preview check policy audit schema lock clean

REHEARSE_STAMP := $(VENV)/.rehearse
UV := $(BIN)/uv
# uv (pinned in constraints.txt) installs the rest: it resolves, downloads and unpacks in parallel,
# and shows its progress. `make rehearse` installs only what the rehearsal needs; `make test` the
# development tools as well.
INSTALL := $(UV) pip install --python $(BIN)/python -c constraints.txt

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -c constraints.txt uv

$(REHEARSE_STAMP): pyproject.toml constraints.txt | $(UV)
	$(INSTALL) -e '.[rehearse]'
	touch $(REHEARSE_STAMP)

$(STAMP): pyproject.toml constraints.txt | $(UV)
	$(INSTALL) -e '.[rehearse,dev]'
	touch $(STAMP) $(REHEARSE_STAMP)

help:  ## this list: each target and what it does
	@grep -E '^[a-z.-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z.-]+):[^#]*## /\1\t/' | expand -t 12

rehearse: $(REHEARSE_STAMP)  ## the main job: the cutover rehearsed against an embedded AWS emulator
	$(BIN)/python -m delivery rehearse --stack $(STACK)

test: $(STAMP) lint  ## the whole suite (CI runs this): lint, then types and tests side by side
	$(MAKE) --no-print-directory -j2 typecheck pytest  # unsynced: pytest's progress shows as it runs

pytest: $(STAMP)  ## one worker per core; each worker starts its own emulator, files stay whole
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)  ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)  ## mypy, strict
	$(BIN)/mypy

unit: $(STAMP)  ## the unit and property tests only
	$(BIN)/python -m pytest tests/unit tests/property

bench: $(STAMP)  ## rollback reaction and API calls against the emulator; program evaluation time
	$(BIN)/python -m delivery.rehearsal.bench
	$(BIN)/python -m infra.bench
	$(BIN)/python -m delivery.rehearsal.release_bench

preview: $(STAMP)  ## the stack's resource graph, evaluated offline under Pulumi's mock runtime
	$(BIN)/python -m infra.offline --stack $(STACK)

policy: $(STAMP)  ## the security baseline (policy/) over every stack's offline graph
	$(BIN)/python -m policy.offline

audit: $(STAMP) $(AUDIT_STAMP)  ## supply chain, secrets, zizmor; IAM (parliament, cloudsplaining); checkov
	$(BIN)/python -m policy.supply_chain

# checkov's pins clash with Pulumi's: the manifest linter has a virtualenv of its own.
$(AUDIT_STAMP): constraints-audit.txt
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install --quiet --upgrade pip
	$(AUDIT_VENV)/bin/pip install --quiet -c constraints-audit.txt checkov
	touch $(AUDIT_STAMP)

check: $(STAMP)  ## every stack file validated, as `python -m delivery check` does
	for stack in dev staging prod; do $(BIN)/python -m delivery check --stack $$stack || exit 1; done

schema: $(STAMP)  ## rewrite Pulumi.yaml's config schema from the key declarations (delivery/config/keys.py)
	$(BIN)/python -m delivery.config.keys

lock:  ## re-resolve the newest allowed versions into constraints.txt
	rm -rf $(VENV).lock && $(PYTHON) -m venv $(VENV).lock
	$(VENV).lock/bin/pip install --quiet uv -e '.[rehearse,dev]'
	{ echo "# Exact versions for reproducible installs and derandomized property tests; refresh with 'make lock'."; \
	  $(VENV).lock/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf $(VENV).lock

clean:  ## remove generated output and caches (the .venv stays)
	rm -rf out build .pytest_cache .mypy_cache .ruff_cache .hypothesis
