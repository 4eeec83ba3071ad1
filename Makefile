# egovbot: `make run` starts the service, `make test` checks everything (CI), `make check` is the
# fast tier to run while working (ruff, mypy and the tests not marked slow). All install first.
# Tests run in two pytest-xdist workers: these machines have two cores.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run chat test check lint typecheck pytest bench clean browser

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
	$(BIN)/egovbot chat

lint: $(STAMP)
	$(BIN)/ruff check bot nlu actions knowledge tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Browser tests drive Debian's chromium through playwright (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The scale-out tests (several worker processes under load) run alone afterwards: sharing the
# two cores with the other tests would make them measure the machine, not the bot.
pytest: $(STAMP) browser
	$(BIN)/pytest -q -n 2 -m "not rasa and not scale"
	$(BIN)/pytest -q -m scale

test: lint typecheck pytest

# The fast tier: no browser, worker processes, PostgreSQL/Redis or fuzzing (see the `slow`
# marker in pyproject.toml). The whole -m expression: it replaces addopts' `-m 'not rasa'`.
check: lint typecheck
	$(BIN)/pytest -q -n 2 -m "not slow and not rasa"

bench: $(STAMP)
	$(BIN)/python bench/nlu.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache

# Rasa as the NLU engine (optional). Rasa 3.6 needs Python 3.10, TensorFlow, SQLAlchemy 1.4 and
# an old aiohttp, so it lives in its own environment and never shares the bot's.
.PHONY: rasa rasa-serve rasa-test rasa-bench
RASA_PYTHON ?= $(firstword $(wildcard /root/.pyenv/versions/3.10.13/bin/python) \
                 $(shell command -v python3.10 2>/dev/null))
RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed
RASA_BIN := $(CURDIR)/$(RASA_VENV)/bin/rasa
RASA_DIR ?= var/rasa
RASA_PORT ?= 5005
RASA_ENV := RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1

$(RASA_STAMP):
	@test -n "$(RASA_PYTHON)" || { echo "Rasa 3.6 needs Python 3.10: install it or set RASA_PYTHON"; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(RASA_PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RASA_VENV)/bin/python -m pip install --quiet rasa==3.6.21
	touch $(RASA_STAMP)

# Export our data as a Rasa project in $(RASA_DIR), validate it and train $(RASA_DIR)/models/nlu.tar.gz.
rasa: $(STAMP) $(RASA_STAMP)
	$(BIN)/egovbot db upgrade
	$(BIN)/egovbot rasa export $(RASA_DIR)
	cd $(RASA_DIR) && $(RASA_ENV) $(RASA_BIN) data validate --domain domain.yml --data data --config config.yml
	cd $(RASA_DIR) && $(RASA_ENV) $(RASA_BIN) train nlu --config config.yml --domain domain.yml \
	  --nlu data --out models --fixed-model-name nlu

# Then run the bot with EGOVBOT_NLU_ENGINE=rasa EGOVBOT_RASA_URL=http://127.0.0.1:$(RASA_PORT)
rasa-serve: $(RASA_STAMP)
	cd $(RASA_DIR) && $(RASA_ENV) $(RASA_BIN) run --enable-api -m models/nlu.tar.gz \
	  -i 127.0.0.1 -p $(RASA_PORT)

rasa-test: $(STAMP) $(RASA_STAMP)
	$(BIN)/pytest -q -m rasa

rasa-bench: $(STAMP) $(RASA_STAMP)
	$(BIN)/python bench/compare_rasa.py
