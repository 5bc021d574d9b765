# busetting — planners' entry points. Every target installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PLAN   ?= 2022
RUN    ?= out/$(PLAN)
YEARS  ?= 2015-2021
ARRIVALS ?=
STAMP  := $(VENV)/.installed
PDF_STAMP := $(VENV)/.installed-pdf

.PHONY: allocate reallocate ladder sweep audit calibrate backtest letters-pdf place place-year test bench install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(PDF_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[pdf]'
	touch $(PDF_STAMP)

install: $(STAMP)

allocate: $(STAMP)
	$(PY) -m pipeline allocate --plan $(PLAN)

audit: $(STAMP)
	$(PY) -m pipeline audit --run $(RUN)

reallocate: $(STAMP)
	$(PY) -m pipeline reallocate --plan $(PLAN)

ladder: $(STAMP)
	$(PY) -m pipeline ladder --plan $(PLAN) --from $(FROM) --to $(TO) --step $(STEP)

# make sweep PLAN=2022 SWEEP=2022-need [WORKERS=2] [SCHEDULER_HOST=host SCHEDULER_PORT=8082]
sweep: $(STAMP)
	$(PY) -m pipeline sweep --plan $(PLAN) --sweep $(SWEEP) --workers $(or $(WORKERS),1) \
	  $(if $(SCHEDULER_HOST),--scheduler-host $(SCHEDULER_HOST) --scheduler-port $(or $(SCHEDULER_PORT),8082))

calibrate: $(STAMP)
	$(PY) -m pipeline calibrate --years $(YEARS)

# Every past year planned as the engine would have (FIDELITY.md); YEAR=2024 for one.
backtest: $(STAMP)
	$(PY) -m pipeline backtest $(if $(YEAR),--year $(YEAR),--all --fidelity FIDELITY.md)

# The letters of out/$(PLAN)/ as PDF (headless Chromium; run the plan first).
letters-pdf: $(PDF_STAMP)
	$(PY) -m pipeline letters-pdf --plan $(PLAN)

place place-year: $(STAMP)
	@test -n "$(ARRIVALS)" || { echo "make $@ needs ARRIVALS=<arrivals file>"; exit 2; }
	$(PY) -m pipeline $@ --plan $(PLAN) --arrivals $(ARRIVALS)

# One test process per core (TEST_WORKERS=1 for one process); each test file runs
# whole in one of them, so a file's shared runs are made once.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(VENV)/bin/ruff check optimiser pipeline tests bench
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf out
