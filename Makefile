# The two commands a newcomer needs: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# This machine only. Another address needs logins ([auth] in secrets.toml), visitor mode or, to
# share one open space on purpose (a trusted network), WAYPOINT_ALLOW_OPEN=1:
# WAYPOINT_ALLOW_OPEN=1 make run ADDRESS=0.0.0.0 HOSTS="localhost 127.0.0.1 my-laptop.lan"
ADDRESS ?= 127.0.0.1
HOSTS ?= localhost 127.0.0.1
CHROMIUM ?= /usr/bin/chromium
export LANGGRAPH_STRICT_MSGPACK := true

.PHONY: run test lint bench cli chromium postgres screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamp files re-run pip only when a requirements file changed.
$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Your own graph instead of the built-in agent: make run GRAPH=examples/essay_writer.py:graph
GRAPH ?=

run: $(VENV)/.runtime
	$(if $(GRAPH),WAYPOINT_GRAPH=$(GRAPH)) $(PY) serve.py --server.port $(PORT) --server.address $(ADDRESS) \
		$(foreach host,$(HOSTS),--server.allowedHosts $(host))

cli: $(VENV)/.runtime
	$(PY) -m agent

# Browser tests drive Debian's Chromium; Playwright cannot download its own browser here.
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM)."; \
		echo "Install it with: sudo apt-get install chromium   (or set CHROMIUM=/path/to/chromium)"; \
		exit 1; \
	fi

# Postgres tests start a throwaway server from Debian's binaries (tests/pg_server.py); no Docker.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian's postgresql for the Postgres tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "The Postgres tests need Debian's postgresql package (initdb under /usr/lib/postgresql)."; \
		echo "Install it with: sudo apt-get install postgresql"; \
		exit 1; \
	fi

# Lint, format and types first: a finding fails `make test` before any test runs.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(VENV)/.dev lint chromium postgres
	WAYPOINT_CHROMIUM=$(CHROMIUM) $(PY) -m pytest

# The README's pictures (docs/*.png): a browser walk through the app on the offline defaults.
screenshots: $(VENV)/.dev chromium
	WAYPOINT_CHROMIUM=$(CHROMIUM) WAYPOINT_DOCS_SHOTS=$(CURDIR)/docs $(PY) -m pytest -q \
		tests/test_browser_docs.py

bench: $(VENV)/.dev
	@set -e; for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done

clean:
	rm -rf $(VENV) .pytest_cache
