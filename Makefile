# Sluice: one entry point for install, test, demo and benchmarks.
# Works on a fresh Debian machine with Python and apt: the venv and every dependency come from here.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
TARGET  ?= softswitch
STAMP   := $(VENV)/.installed-stamp

.PHONY: install test lint unit demo bench corpus clean help ptf

help:
	@echo "make demo     install and run the end-to-end demo on the embedded target"
	@echo "make test     install, lint (ruff) and run the test suite (pytest)"
	@echo "make bench    print compile-time and engine (packets/s) benchmarks"
	@echo "make ptf      run a PTF suite over veth in a namespace (root; TARGET=softswitch|bmv2)"
	@echo "make corpus   compare P4Info against p4c's reference outputs (needs P4C_TESTDATA)"
	@echo "make clean    remove the virtual environment and build outputs"

install: $(STAMP)

# Debian packages: python3-venv when python3 lacks it, iproute2 and ethtool for the veth pairs
# and namespaces that port and PTF tests create. Installed only when missing and only as root.
APT_PKGS := $(strip $(if $(shell command -v ip),,iproute2) $(if $(shell command -v ethtool),,ethtool) \
	$(if $(shell $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null && echo ok),,python3-venv))

$(STAMP): pyproject.toml
	@if [ -n "$(APT_PKGS)" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing with apt: $(APT_PKGS)"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_PKGS); \
		else \
			echo "missing Debian packages (run as root or install them): $(APT_PKGS)"; \
		fi; \
	fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check softswitch controlplane tests tools ptf_tests

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

# PTF over veth pairs inside a network namespace made for the run (root): compile, start the
# switch, run ptf_tests/$(PTF_SUITE), clean up. TARGET=bmv2 needs p4c-bm2-ss and simple_switch_grpc.
# Extra ptf arguments (a test name, --failfast...): make ptf PTF_ARGS="-- router_test.ModifyRoute".
PTF_SUITE ?= l3_router
PTF_ARGS  ?=

ptf: $(STAMP)
	$(PY) tools/ptf_run.py --target $(TARGET) --suite $(PTF_SUITE) $(PTF_ARGS)
