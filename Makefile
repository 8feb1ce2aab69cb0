# 島フリーランス LINE — the two front-door commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export PORT

.PHONY: run test lint bench setup setup-test system-deps migrations-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,dev]'
	touch $@

setup: $(VENV)/.installed

# Browser tests drive Debian's chromium; the rich-menu renderer needs Noto Sans CJK.
system-deps:
	@bash scripts/system-deps.sh

run: setup
	$(BIN)/shima migrate
	$(BIN)/shima seed-demo
	$(BIN)/shima demo-staff
	$(BIN)/shima serve

# The whole suite on SQLite; then, where TEST_DATABASE_URL is set (CI), everything that
# touches the database again on PostgreSQL (one backend per pytest process).
test: setup system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL: $$TEST_DATABASE_URL"; \
	  SHIMA_TEST_BACKEND=postgres $(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS); \
	fi

lint: setup
	$(BIN)/ruff check shima line_app admin models tests bench
	$(BIN)/ruff format --check shima line_app admin models tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/admin_bookings.py
	$(BIN)/python bench/programme_rush.py
	$(BIN)/python bench/photo_intake.py
	$(BIN)/python bench/goals_dashboard.py
	$(BIN)/python bench/announce_send.py
	$(BIN)/python bench/erase_resident.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
