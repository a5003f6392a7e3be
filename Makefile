# Two commands do all set-up on a fresh machine with Python 3.11 and make:
#   make reports   # HTML reports for the embedded sample data into reports/
#   make test      # the whole test suite (make test-wheel: the slow packaging test CI adds)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2
# pytest-xdist workers for make test; --dist loadfile keeps a test file on one worker (module fixtures run once)
TEST_JOBS ?= 2
# axe-core for the browser tests (tests/test_browser.py), from npm when npm is here
AXE_VERSION := 4.14.1
AXE := $(VENV)/node/.axe-$(AXE_VERSION)
NPM := $(shell command -v npm 2>/dev/null)

.PHONY: reports test test-wheel sample benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lab]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# evalkit's own modules compiled once (an editable install is not; every kernel and command imports them)
reports: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/evalkit reports data/sample --out reports --jobs $(JOBS)

$(AXE):
	npm install --prefix $(VENV)/node --save-exact --no-audit --no-fund --silent axe-core@$(AXE_VERSION)
	touch $(AXE)

test: $(STAMP) $(if $(NPM),$(AXE))
	$(BIN)/python -m compileall -q src
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile -m "not slow"

# the wheel in a fresh virtual environment, outside the checkout (minutes: pip installs every dependency)
test-wheel: $(STAMP)
	$(BIN)/python -m pytest -m slow

sample: $(STAMP)
	$(BIN)/evalkit sample --out data/sample

benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_indicators.py
	$(BIN)/python benchmarks/bench_reports.py
	$(BIN)/python benchmarks/bench_series.py
	$(BIN)/python benchmarks/bench_targets.py --suite

clean:
	rm -rf $(VENV) reports
