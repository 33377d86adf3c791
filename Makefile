# Parcours: developer and CI entry points. `make help` lists the targets.
#
# Works from a fresh clone with only Python 3.11 and access to PyPI: uv is installed, pinned, in
# .tools/ (not globally), then `uv sync --locked` builds .venv/ from the committed uv.lock.

.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PORT ?= 8000
PYTEST_ARGS ?=
# make bench / make loadtest (docs/performance.md)
SCALE ?= small
# A git revision to compare with, alternated in the same run (make bench, make loadtest); empty: this tree alone.
BASE ?=
BENCH_ARGS ?=
USERS ?= 50
DURATION ?= 60
PAIRS ?= 3
LOADTEST_SCALE := $(if $(filter command line environment,$(origin SCALE)),$(SCALE),department)

UV_VERSION := 0.13.8
BOOTSTRAP_PYTHON ?= $(shell command -v python3.11 || command -v python3)
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_STAMP := $(TOOLS)/.uv-$(UV_VERSION)
VENV := .venv
INSTALL_STAMP := $(VENV)/.installed
PYTHON := $(VENV)/bin/python
MANAGE := $(PYTHON) manage.py

# Whatever the caller's environment says, the project's environment is ./.venv.
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: help install run test test-browser lint worker deploy-check bench loadtest

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-14s %s\n", $$1, $$2}'
	@echo "  Variables: PORT=$(PORT) (make run), PYTEST_ARGS='...' (make test), SCALE=small|department|national REFILL=1 BASE=<rev> (make bench), USERS=$(USERS) DURATION=$(DURATION) BASE=<rev> PAIRS=$(PAIRS) (make loadtest)"

$(UV_STAMP):
	@test -n "$(BOOTSTRAP_PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)." >&2; exit 1; }
	rm -rf $(TOOLS)
	$(BOOTSTRAP_PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

$(INSTALL_STAMP): uv.lock pyproject.toml $(UV_STAMP)
	$(UV) sync --frozen --dev
	touch $@

install: $(INSTALL_STAMP) ## Install the locked dependencies into .venv (done by the other targets)

run: install ## Migrate, load the demo data (prints the accounts), serve on http://127.0.0.1:PORT
	$(MANAGE) migrate
	$(MANAGE) seed_demo
	$(MANAGE) runserver 127.0.0.1:$(PORT)

test: install ## Run the whole test suite (extra pytest arguments: PYTEST_ARGS='-k ... -x')
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-browser: install ## Only the browser tests (Playwright + Debian's /usr/bin/chromium, axe-core)
	$(VENV)/bin/pytest tests/browser -m browser $(PYTEST_ARGS)

lint: install ## ruff, the apps' import directions (import-linter), mypy, no missing migration
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(MANAGE) makemigrations --check --dry-run

worker: install ## Start a Celery worker (needs CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0)
	@test -n "$${CELERY_BROKER_URL:-}" || { echo "make worker needs CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)." >&2; exit 1; }
	$(VENV)/bin/celery -A config worker -l info

deploy-check: install ## manage.py check --deploy with production settings; any warning fails
	PARCOURS_ENV=production \
	DJANGO_SETTINGS_MODULE=config.settings.base \
	DEBUG=false \
	SECRET_KEY="$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	ALLOWED_HOSTS=parcours.example.org \
	PARCOURS_BASE_URL=https://parcours.example.org \
	DATABASE_URL=postgres:///test \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
	$(MANAGE) check --deploy --fail-level WARNING

define NEED_POSTGRES
	@case "$${DATABASE_URL:-}" in \
		postgres://*|postgresql://*) ;; \
		*) echo "make $@ mesure PostgreSQL : donner DATABASE_URL, par exemple DATABASE_URL=postgres:///postgres make $@ (DATABASE_URL vaut « $${DATABASE_URL:-} »)." >&2; exit 2;; \
	esac
endef

bench: install ## Benchmark at SCALE=small|department|national on PostgreSQL (its own database parcours_bench_SCALE); BASE=<rev>: against that commit, alternated
	$(NEED_POSTGRES)
	$(PYTHON) -m bench.run --scale $(SCALE) $(if $(REFILL),--refill,) $(if $(BASE),--base $(BASE),) $(BENCH_ARGS)

loadtest: install ## Load test (locust + gunicorn, loopback) on the department benchmark database: USERS, DURATION; BASE=<rev>: alternated pairs
	$(NEED_POSTGRES)
	$(PYTHON) -m bench.load --scale $(LOADTEST_SCALE) --users $(USERS) --duration $(DURATION) $(if $(BASE),--base $(BASE) --pairs $(PAIRS),)
