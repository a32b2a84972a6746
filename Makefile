# Set-up and checks for switchboard. `make test` and `make demo` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
OPENCODE_VERSION := 1.18.33
BIN := $(VENV)/bin

.PHONY: setup lint test bench demo clean

$(BIN)/switchboard: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, so sentence-transformers does not pull a CUDA one.
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

build/opencode/node_modules/.bin/opencode:
	npm install --silent --no-audit --no-fund --prefix build/opencode opencode-ai@$(OPENCODE_VERSION)

# The dashboard's browser test drives Debian's chromium (Playwright never downloads one).
/usr/bin/chromium:
	apt-get update -qq && apt-get install -y -qq chromium

setup: $(BIN)/switchboard build/opencode/node_modules/.bin/opencode /usr/bin/chromium

# ruff's format and lint rules (pyproject.toml [tool.ruff]) and mypy strict ([tool.mypy]); CI runs them
# before the tests. `ruff format switchboard tests bench scripts` fixes what the first line reports.
lint: $(BIN)/switchboard
	$(BIN)/ruff format --check switchboard tests bench scripts
	$(BIN)/ruff check switchboard tests bench scripts
	$(BIN)/mypy switchboard

# The whole suite twice: on SQLite, then on PostgreSQL.
test: setup lint
	SWITCHBOARD_OPENCODE_BIN=$(CURDIR)/build/opencode/node_modules/.bin/opencode $(BIN)/pytest
	SWITCHBOARD_OPENCODE_BIN=$(CURDIR)/build/opencode/node_modules/.bin/opencode SWITCHBOARD_TEST_BACKEND=postgresql $(BIN)/pytest

demo: setup
	SB=$(CURDIR)/$(BIN)/sb SWITCHBOARD_OPENCODE_BIN=$(CURDIR)/build/opencode/node_modules/.bin/opencode examples/demo.sh

bench: setup
	export SWITCHBOARD_OPENCODE_BIN=$(CURDIR)/build/opencode/node_modules/.bin/opencode; \
	$(BIN)/python bench/mailbox.py && \
	$(BIN)/python bench/memory.py && \
	$(BIN)/python bench/memory_cli.py && \
	$(BIN)/python bench/memory_pg.py && \
	$(BIN)/python bench/dispatch.py && \
	$(BIN)/python bench/coordinator.py && \
	$(BIN)/python bench/scale.py && \
	$(BIN)/python bench/backends.py && \
	$(BIN)/python bench/recall_paths.py && \
	$(BIN)/python bench/worktrees.py && \
	$(BIN)/python bench/wheel.py

clean:
	rm -rf $(VENV) build
