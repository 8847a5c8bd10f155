# Bootstraps .venv on first use and reinstalls only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
BENCH_STAMP := $(VENV)/.installed-bench
# The AI SDK's compatibility tests: a node project installed from its lock file.
JS_DIR := tests/contract/compat/js
JS_STAMP := $(JS_DIR)/node_modules/.installed

.DEFAULT_GOAL := help
.PHONY: help install demo test lint type cov check docs bench fuzz fmt clean vendor screenshots

help:
	@echo "make demo   - stream a signed chat against the embedded fake server"
	@echo "make test   - run all tests (creates .venv on first use)"
	@echo "make check  - lint, type check, and the domain's 100% coverage gate (unit tests)"
	@echo "make docs   - build the documentation site into site/ (mkdocs --strict)"
	@echo "make bench  - benchmarks against a raw-socket floor (writes benchmarks/results.md)"
	@echo "make fuzz   - fuzz the parser for FUZZ_SECONDS (default 300); prints the input count"
	@echo "make vendor - refresh the page's vendored libraries from npm (pinned in .ci/vendor-page)"
	@echo "make screenshots - the page at desktop and phone width, into docs/images (needs chromium)"
	@echo "make lint / type / cov / fmt / clean"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,compat]'
	touch $@

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	touch $@

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

# npm ci once per lock file. Without npm the AI SDK tests skip on a dev
# machine (saying how to get node) and fail in CI (CI=true).
$(JS_STAMP): $(JS_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	elif [ "$$CI" = "true" ]; then \
		echo "npm not found: CI runs the AI SDK compatibility tests; install Node.js >= 18 with npm" >&2; \
		exit 1; \
	else \
		echo "note: npm not found, so the AI SDK compatibility tests will skip;" \
			"install Node.js >= 18 with npm (https://nodejs.org, or apt-get install nodejs npm)"; \
	fi

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ails demo

test: $(STAMP) $(JS_STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests docs
	$(BIN)/ruff format --check src tests docs

type: $(STAMP)
	$(BIN)/mypy

# The pure core's gate: the unit tests alone cover all of src/ails/domain
# (about a minute on 2 cores); .ci/run runs this same target.
cov: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest tests/unit -q
	$(BIN)/coverage report --include='src/ails/domain/*' --fail-under=100

check: lint type cov

docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

# Not part of make test: about 8 minutes on 2 cores, 127.0.0.1 only.
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run

# Not part of test or CI: a long, time-boxed mutation run over the parser.
FUZZ_SECONDS ?= 300
fuzz: $(STAMP)
	$(BIN)/python tests/fuzz/fuzz_parser.py --seconds $(FUZZ_SECONDS)

# The page's libraries (marked, DOMPurify, highlight.js) are committed; this refreshes them.
vendor:
	.ci/vendor-page

screenshots: $(STAMP)
	$(BIN)/python -m benchmarks.page --screenshots docs/images

fmt: $(STAMP)
	$(BIN)/ruff format src tests docs
	$(BIN)/ruff check --fix src tests docs

clean:
	rm -rf $(VENV) $(JS_DIR)/node_modules build dist site .coverage .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
