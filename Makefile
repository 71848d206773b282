# Two entry points (see README.md):
#   make lab    set everything up, then start JupyterLab on the course
#   make test   set everything up, then run the whole test suite (fast mode)
# Both are quick to re-run: the environment is rebuilt only when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# One stamp per audience (pyproject.toml's extras): JupyterLab for the instructor needs
# ".[instructor]"; the tests need ".[instructor,dev]" (a superset, so it stamps both).
STAMP_LAB  := $(VENV)/.installed-lab
STAMP      := $(VENV)/.installed-test

# Put the environment's bin/ first: nbgrader calls the `alembic` executable.
export PATH := $(abspath $(BIN)):$(PATH)

LAB_ARGS ?=
# Jupyter refuses to run as root unless told (containers, CI machines).
ROOT_ARG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# Debian's Chromium, which tests/test_browser.py drives through playwright (no browser download).
CHROMIUM ?= /usr/bin/chromium

.PHONY: lab test setup data browser sandbox lint release clean

lab: $(STAMP_LAB) data sandbox
	$(BIN)/course publish
	$(BIN)/jupyter lab --notebook-dir=. $(ROOT_ARG) $(LAB_ARGS)

test: setup
	CNN_COURSE_FAST=1 $(BIN)/python -m pytest

setup: $(STAMP) data browser sandbox

$(STAMP_LAB): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[instructor]"
	touch $(STAMP_LAB)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[instructor,dev]"
	touch $(STAMP) $(STAMP_LAB)

# Verify FashionMNIST; install Debian's copy when it is missing and we can.  (Listed after
# a stamp in lab/setup: the environment exists by then.)
data:
	@$(BIN)/python -m helpers.data --no-download >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian package dataset-fashion-mnist ..."; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null \
	    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null; }; \
	  fi; }
	@$(BIN)/python -m helpers.data --csv

# $(call apt_install,PATH,PACKAGE,WHAT FOR): install Debian's PACKAGE when PATH is missing
# and we can (root with apt-get), else say how.
define apt_install
	@test -x $(1) || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian package $(2) ..."; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) >/dev/null \
	    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) >/dev/null; }; \
	  else \
	    echo "$(1) is missing: run 'sudo apt-get install $(2)' $(3)"; \
	  fi; }
endef

# Chromium for the browser tests (tests/test_browser.py drives it through playwright).
browser:
	$(call apt_install,$(CHROMIUM),chromium,for the browser tests (or set CNN_COURSE_SKIP_BROWSER=1 to skip them).)

# bubblewrap, the sandbox `course autograde` runs students' code in.
BWRAP ?= /usr/bin/bwrap
sandbox:
	$(call apt_install,$(BWRAP),bubblewrap,to autograde in a sandbox (course autograde refuses to run without it unless given --no-sandbox).)

# Regenerate the student versions in release/ from source/ (commit the result) and register
# each assignment in the gradebook: the one release path, `course release`.
release: $(STAMP_LAB)
	$(BIN)/course release

lint: $(STAMP)
	$(BIN)/ruff check helpers course_admin tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache gradebook.db submitted feedback
