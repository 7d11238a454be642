# Every entry point has a target; `make help` lists them. The first use of any target creates
# .venv and installs xbot from pyproject.toml (with the dev extras); later uses reuse it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.xbot-installed
DAYS   ?= 14
SEED   ?= 7

.DEFAULT_GOAL := help
.PHONY: help install demo test lint format lab bench clean-embedded

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools prints an "Editable installation" notice for every flat-layout editable
	@# install (its own doing, nothing to fix on our side): filtered by its message only
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP) ## Create .venv and install xbot with its dev extras

demo: $(STAMP) ## The main job: a simulated $(DAYS)-day run on the embedded Postgres + Redis, then the daily report
	$(BIN)/xbot db migrate
	$(BIN)/xbot demo --days $(DAYS) --seed $(SEED)

test: $(STAMP) ## Lint, then every test (unit, integration, notebooks) against real Postgres + Redis
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest
	$(BIN)/python tests/nbval_expected.py build build/nbval
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-sanitize-with build/nbval/nbval_sanitize.cfg build/nbval/

lint: $(STAMP) ## ruff check + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lab: $(STAMP) ## JupyterLab on notebooks/ with a kernel that has xbot installed
	$(BIN)/python -m pip install --quiet -e '.[dev,lab]'
	$(BIN)/python -m ipykernel install --user --name xbot --display-name "Python (xbot)"
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP) ## Run every benchmark (needs DATABASE_URL/REDIS_URL or the embedded servers)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-embedded: $(STAMP) ## Stop the embedded servers (data under .xbot/ is kept)
	$(BIN)/xbot services stop
