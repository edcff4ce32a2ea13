# Two commands do everything: `make run` (the whole loop, no accounts or
# servers needed) and `make test` (lint, migration check, the test suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

# The test suite runs on real PostgreSQL and Redis (see README).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/creator
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1
TEST_BROKER_URL ?= redis://127.0.0.1:6379/2
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	CELERY_BROKER_URL=$(TEST_BROKER_URL) DEBUG=1 SECRET_KEY=test-only-secret-key \
	VAR_DIR=$(CURDIR)/var/test

.PHONY: run test lint bench install install-dev clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_demo_user
	@echo
	@echo "  Creator is starting at http://127.0.0.1:8000  (Ctrl-C stops everything)"
	@echo
	@# Without COMFYUI_URL the bundled development ComfyUI server runs too.
	@if [ -z "$$COMFYUI_URL" ]; then \
		export COMFYUI_URL=http://127.0.0.1:8188; procs="web worker beat watcher comfyui"; \
	else procs="web worker beat watcher"; fi; \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" COMFYUI_URL=$$COMFYUI_URL honcho -f Procfile.dev start $$procs

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install-dev
	./scripts/ensure-services.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	VAR_DIR=$(CURDIR)/var/test $(PY) manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev
	./scripts/ensure-services.sh
	$(TEST_ENV) $(PY) -m bench
	$(TEST_ENV) $(PY) -m bench.drive
	$(TEST_ENV) $(PY) -m bench.inbox
	$(TEST_ENV) $(PY) -m bench.api

clean:
	rm -rf var $(VENV)
