# Everything runs in .venv, created from pyproject.toml on first use. make build, serve and
# check install only what feeds needs to run (pip install -e .); the targets that test, lint or
# measure add the development tools (the dev extra) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN := $(VENV)/.installed-run
DEV := $(VENV)/.installed-dev

.PHONY: build serve test quick lint check docs golden validate browser nginx validator bench bench-serve clean

$(RUN): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $(RUN)

# The dev extra is a superset of what feeds needs, so it brings $(RUN) up to date too.
$(DEV): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(RUN) $(DEV)

## build: build the example records into output/
build: $(RUN)
	$(BIN)/feeds build --settings settings.yaml

## serve: serve the example records on http://127.0.0.1:8000/, rebuilt when they change
serve: $(RUN)
	$(BIN)/feeds serve --settings settings.yaml --base-url http://127.0.0.1:8000/

## test: lint, type-check and run the whole test suite (installs Debian's chromium and nginx if it can)
test: $(DEV) lint browser nginx validator
	$(BIN)/pytest

## quick: the edit loop (under a minute): every test but the slow and the external ones
quick: $(DEV)
	$(BIN)/pytest -m 'not slow and not external'

## lint: ruff (lint and format check) and mypy --strict
lint: $(DEV)
	$(BIN)/ruff check feeds tests bench
	$(BIN)/ruff format --check feeds tests bench
	$(BIN)/mypy

## check: check settings and records without writing
check: $(RUN)
	$(BIN)/feeds check --settings settings.yaml

## docs: regenerate the command and settings references in docs/ from the parser and the settings table
docs: $(RUN)
	$(BIN)/python -m feeds.docs

## golden: regenerate the golden files in tests/data/golden (and output/) after an intended change
golden: $(DEV) build
	$(BIN)/python -m tests.golden

## validate: run the independent validator kit from ../shared on output/
validate: build
	../shared/validate/validate-feeds --base-url https://example.org/feeds/ output/

## browser: Debian's chromium for the browser test (as root with apt-get; skipped otherwise)
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not installed and cannot install it: the browser test will be skipped"; fi

## nginx: Debian's nginx for the tests of deploy/nginx (as root with apt-get; skipped otherwise)
nginx:
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's nginx-light for the nginx tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	  { command -v systemctl >/dev/null 2>&1 && systemctl stop nginx; } 2>/dev/null || \
	    /usr/sbin/nginx -s quit 2>/dev/null || true; \
	else echo "nginx not installed and cannot install it: the nginx tests will be skipped"; fi

## validator: set up the independent validator kit from ../shared when it is there (else skipped)
validator:
	@if [ -x ../shared/validate/setup ] && [ ! -x "$${FEED_TOOLS_DIR:-/tmp/feeds-validate}/venv/bin/python" ]; then \
	  ../shared/validate/setup >/dev/null 2>&1 || echo "validator kit setup failed: its test will be skipped"; fi

## bench: every build target of issue 12 at 100k records, and 300k for growth (writes bench/RESULTS.md; 30-40 minutes)
# A quick check of the bench itself: make bench BENCH_ARGS='--sizes 5000 --runs 1 --big 0 --results /tmp/bench.md'
BENCH_ARGS ?=
bench: $(DEV)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/build.py $(BENCH_ARGS)

## bench-serve: requests/s and p99 of feeds serve vs nginx, with wrk (writes bench/RESULTS.md)
bench-serve: $(RUN)
	bench/serve.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
