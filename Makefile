# busetting — planners' entry points. Every target installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PLAN   ?= 2022
RUN    ?= out/$(PLAN)
YEAR   ?= 2024
STAMP  := $(VENV)/.installed

.PHONY: allocate reallocate ladder sweep audit calibrate test bench install clean

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

reallocate: $(STAMP)
	$(PY) -m pipeline reallocate --plan $(PLAN)

ladder: $(STAMP)
	$(PY) -m pipeline ladder --plan $(PLAN) --from $(FROM) --to $(TO) --step $(STEP)

# make sweep PLAN=2022 SWEEP=2022-need [WORKERS=2] [SCHEDULER_HOST=host SCHEDULER_PORT=8082]
sweep: $(STAMP)
	$(PY) -m pipeline sweep --plan $(PLAN) --sweep $(SWEEP) --workers $(or $(WORKERS),1) \
	  $(if $(SCHEDULER_HOST),--scheduler-host $(SCHEDULER_HOST) --scheduler-port $(or $(SCHEDULER_PORT),8082))

calibrate: $(STAMP)
	$(PY) -m pipeline calibrate --year $(YEAR)

test: $(STAMP)
	$(VENV)/bin/ruff check optimiser pipeline tests bench
	$(PY) -m pytest

bench: $(STAMP)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf out
