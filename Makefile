# egovbot: `make run` starts the service, `make test` checks everything. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run chat test lint typecheck pytest bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/egovbot db upgrade
	$(BIN)/egovbot serve

chat: $(STAMP)
	$(BIN)/egovbot db upgrade
	$(BIN)/egovbot serve

lint: $(STAMP)
	$(BIN)/ruff check bot nlu actions knowledge tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Browser tests drive Debian's chromium through playwright (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

pytest: $(STAMP) browser
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/nlu.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
