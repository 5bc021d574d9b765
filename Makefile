# busetting — planners' entry points. Every target installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PLAN   ?= 2022
RUN    ?= out/$(PLAN)
STAMP  := $(VENV)/.installed

.PHONY: allocate reallocate ladder audit calibrate test bench install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

allocate: $(STAMP)
	$(PY) -m pipeline allocate --plan $(PLAN)

audit: $(STAMP)
	$(PY) -m pipeline audit --run $(RUN)

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/allocate.py

clean:
	rm -rf out
