# The two commands a newcomer needs are `make demo` and `make test`.
# Both work on a machine with only Python 3.11+ and make: a pinned uv is
# installed into .tools/ when none is found, then the locked environment.

UV_VERSION := 0.13.9
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .tools/bin/uv
endif
RUN := $(UV) run --locked --no-sync

.PHONY: help sync demo test test-fast lint format bench clean

help:
	@echo "make demo    run servicesync against the bundled fake services"
	@echo "make test    lint, type-check and run every test (SQLite and PostgreSQL)"
	@echo "make bench   run the benchmarks and print their figures"
	@echo "make lint    ruff and mypy only"

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: uv.lock pyproject.toml $(UV)
	$(UV) sync --locked --all-packages
	@touch $@

sync: .venv/.synced

demo: sync
	$(RUN) python -m demo

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy core/src sdk/src plugins/bitrix24/src plugins/jira/src plugins/asana/src plugins/trello/src

format: sync
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

test: lint
	$(RUN) pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: sync
	$(RUN) pytest -n 2 --dist loadgroup -x $(PYTEST_ARGS)

bench: sync
	$(UV) sync --locked --all-packages --group bench
	$(RUN) python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
