# The student edition: two commands (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# helpers/ is used from this folder (some of its modules are bytecode only), not installed.
export PYTHONPATH := $(CURDIR)
export PATH := $(abspath $(BIN)):$(PATH)
ROOT_ARG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test data

lab: $(STAMP) data
	$(BIN)/jupyter lab --notebook-dir=. $(ROOT_ARG)

# Every lecture and every assignment's setup, in fast mode, in this folder's environment.
test: $(STAMP) data
	CNN_COURSE_FAST=1 $(BIN)/python -m helpers.selfcheck

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

data: $(STAMP)
	@$(BIN)/python -m helpers.data
