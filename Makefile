# Everything runs in .venv, created from pyproject.toml on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build test lint check golden validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## build: build the example records into output/
build: $(STAMP)
	$(BIN)/feeds build --settings settings.yaml

## test: lint, type-check and run the whole test suite
test: $(STAMP) lint
	$(BIN)/pytest

## lint: ruff (lint and format check) and mypy --strict
lint: $(STAMP)
	$(BIN)/ruff check feeds tests
	$(BIN)/ruff format --check feeds tests
	$(BIN)/mypy

## check: check settings and records without writing
check: $(STAMP)
	$(BIN)/feeds check --settings settings.yaml

## golden: regenerate the golden files in tests/data/golden after an intended change
golden: $(STAMP)
	$(BIN)/python -m tests.golden

## validate: run the independent validator kit from ../shared on output/
validate: build
	../shared/validate/validate-feeds --base-url https://example.org/feeds/ output/

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
