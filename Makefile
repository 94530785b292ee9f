# Two commands on a fresh machine: `make run` and `make test`. Everything else is installed from this project.
SHELL := /bin/bash
# uv from PATH, else a private copy in .tools/ (installed on first use; works where system pip is locked down).
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
HOST ?= 127.0.0.1
# Python may cache compiled modules (__pycache__, ignored by git) even where the environment asks it not to: without
# them every interpreter the suite starts (pytest, each server and worker of the end-to-end tests) compiles the
# whole application and its libraries from source again, ~5 s of CPU each.
unexport PYTHONDONTWRITEBYTECODE
PORT ?= 8080

.PHONY: bootstrap run simulator test test-embedded test-services check lint format bench clean

bootstrap: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@test -x $(UV) || { python3 -m venv .tools && .tools/bin/python -m pip install --quiet uv; }
	$(UV) sync --frozen
	@touch $@

run: bootstrap
	$(UV) run voicegate serve --host $(HOST) --port $(PORT)

simulator: bootstrap
	$(UV) run voicegate simulator --port 8090

check: bootstrap
	$(UV) run ruff check src tests bench migrations
	$(UV) run ruff format --check src tests bench migrations
	$(UV) run mypy

# The whole suite on the embedded defaults, then (when DATABASE_URL is set, as in CI) again on
# PostgreSQL + Redis + S3 (moto's server), so both stacks stay green.
test: check test-embedded test-services

test-embedded: bootstrap
	env -u DATABASE_URL -u REDIS_URL TEST_STORAGE=local $(UV) run pytest

test-services: bootstrap
	@if [ -n "$$DATABASE_URL" ]; then \
		TEST_STORAGE=s3 $(UV) run pytest -m "not embedded_only"; \
	else \
		echo "DATABASE_URL is unset: skipping the PostgreSQL + Redis + S3 pass (CI runs it)"; \
	fi

format: bootstrap
	$(UV) run ruff check --fix src tests bench migrations
	$(UV) run ruff format src tests bench migrations

bench: bootstrap
	$(UV) run python -m bench.run
	$(UV) run python -m bench.upload_memory

clean:
	rm -rf .venv .tools var .pytest_cache .mypy_cache .ruff_cache
