# The two commands of the README: `make run` (the main job) and `make test` (the test suite).
# Each sets up what it needs first (Debian packages, .venv, node assets); see scripts/setup.sh.
.PHONY: run test setup lint

EXAMPLE ?= examples/edge-gateway.yaml

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/rtadvisor recommend $(EXAMPLE)

test: setup
	.venv/bin/python -m pytest -q $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check src tests
	.venv/bin/mypy
