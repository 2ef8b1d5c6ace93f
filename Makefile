# Sluice: one entry point for install, test, demo and benchmarks.
# Works on a fresh Debian machine with Python and apt: the venv and every dependency come from here.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
TARGET  ?= softswitch
STAMP   := $(VENV)/.installed-stamp

.PHONY: install test lint unit demo bench corpus clean help

help:
	@echo "make demo     install and run the end-to-end demo on the embedded target"
	@echo "make test     install, lint (ruff) and run the test suite (pytest)"
	@echo "make bench    print compile-time (and later engine) benchmarks"
	@echo "make corpus   compare P4Info against p4c's reference outputs (needs P4C_TESTDATA)"
	@echo "make clean    remove the virtual environment and build outputs"

install: $(STAMP)

# A Debian python3 without the venv module gets python3-venv from apt (CI runs as root).
$(STAMP): pyproject.toml
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 || ! $(PYTHON) -c 'import ensurepip' >/dev/null 2>&1; then \
		echo "installing python3-venv with apt"; \
		apt-get update -q && apt-get install -y -q python3-venv; \
	fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check softswitch controlplane tests tools

unit: $(STAMP)
	$(BIN)/pytest

test: lint unit

demo: $(STAMP)
	$(PY) tools/demo.py

bench: $(STAMP)
	$(PY) tools/bench.py

corpus: $(STAMP)
	$(PY) tools/p4info_corpus.py

clean:
	rm -rf $(VENV) build out *.egg-info .pytest_cache .ruff_cache
