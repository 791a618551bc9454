# Everything runs in .venv, created from pyproject.toml on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build serve test quick lint check golden validate browser nginx validator bench bench-serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## build: build the example records into output/
build: $(STAMP)
	$(BIN)/feeds build --settings settings.yaml

## serve: serve the example records on http://127.0.0.1:8000/, rebuilt when they change
serve: $(STAMP)
	$(BIN)/feeds serve --settings settings.yaml --base-url http://127.0.0.1:8000/

## test: lint, type-check and run the whole test suite (installs Debian's chromium and nginx if it can)
test: $(STAMP) lint browser nginx validator
	$(BIN)/pytest

## quick: the edit loop (under a minute): every test but the slow and the external ones
quick: $(STAMP)
	$(BIN)/pytest -m 'not slow and not external'

## lint: ruff (lint and format check) and mypy --strict
lint: $(STAMP)
	$(BIN)/ruff check feeds tests bench
	$(BIN)/ruff format --check feeds tests bench
	$(BIN)/mypy

## check: check settings and records without writing
check: $(STAMP)
	$(BIN)/feeds check --settings settings.yaml

## golden: regenerate the golden files in tests/data/golden (and output/) after an intended change
golden: $(STAMP) build
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
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/build.py $(BENCH_ARGS)

## bench-serve: requests/s and p99 of feeds serve vs nginx, with wrk (writes bench/RESULTS.md)
bench-serve: $(STAMP)
	bench/serve.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
