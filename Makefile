# Two commands for a fresh Debian/Ubuntu machine with Python 3.11 (see README.md):
#   make study   install into .venv, then run the default study and write report.html
#   make test    install into .venv (if needed), then lint (ruff, snakefmt, snakemake
#                --lint) and run every tier of the test suite
#   make check   the everyday fast tier: lint, then the in-process tests (minutes)
# torch is installed first and alone, pinned, so nothing can pull a CUDA build.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: study test check lint install install-dev

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# the test tools (pytest, ruff, snakefmt, playwright) only where tests run: the study's
# install stays lean
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

study: install
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report report.html

lint: install-dev
	$(BIN)/ruff check src tests workflow/scripts benchmarks
	$(BIN)/ruff format --check src tests workflow/scripts benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

# tiers (tests/conftest.py): in-process; workflow (Snakemake, subprocesses); ci (SLURM,
# browser, the shortened original study)
check: lint
	$(BIN)/pytest -m "not workflow and not ci" --durations=20

# two workers: the shortened original study and the SLURM test (which mostly waits on the
# cluster) beside everything else (tests/conftest.py: BESIDE)
test: lint
	$(BIN)/pytest -n 2 --durations=20
