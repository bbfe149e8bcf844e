# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
# Test processes (pytest-xdist); each gets its own database.
TEST_WORKERS ?= 2

.PHONY: run test lint format bench browsers clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: migrate, seed, then start the web server and the delivery worker together
## (the worker is started again whenever it exits; Ctrl-C stops both)
run: $(STAMP)
	$(BIN)/advocacy db upgrade
	$(BIN)/advocacy seed
	@echo "Open http://$(HOST):$(PORT)/ (Ctrl-C stops the web server and the worker)"
	@export HOST=$(HOST) PORT=$(PORT); \
	$(BIN)/advocacy dev --host $(HOST) --port $(PORT)

## test: every test (SQLite by default; set TEST_DATABASE_URL for PostgreSQL)
test: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS)

## browsers: install Debian's Chromium, which the browser tests drive (they skip without it)
browsers:
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "Chromium is installed: $$(command -v chromium)"; \
	else \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$sudo apt-get update -q && $$sudo apt-get install -y -q chromium fonts-noto-core; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/submit.py
	$(BIN)/python bench/lookup.py
	$(BIN)/python bench/drain.py
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
