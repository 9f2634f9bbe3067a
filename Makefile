# The two commands of the README: `make run` (the main job) and `make test` (the test suite).
# Each sets up what it needs first (Debian packages, .venv, node assets); see scripts/setup.sh.
.PHONY: run test setup lint lint-only

EXAMPLE ?= examples/edge-gateway.yaml

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/rtadvisor recommend $(EXAMPLE)

test: setup
	$(MAKE) --no-print-directory lint-only
	.venv/bin/python -m pytest -q $(PYTEST_ARGS)

lint: setup lint-only

# ruff (rules listed in pyproject.toml) and mypy (strict on src/rtadvisor); `make test` runs it first.
lint-only:
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/mypy
