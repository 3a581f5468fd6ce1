# The README names two commands: `make demo` (the main job) and `make test` (the whole suite).
# Each makes the virtual environment it needs and installs what is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest docs bench soak system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,local]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP)
	$(PY) -m lionrx run "Write a haiku about streams."

lint: $(STAMP)
	$(VENV)/bin/ruff check lionrx tests examples benchmarks
	$(VENV)/bin/ruff format --check lionrx

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP) system-deps
	$(PY) -m pytest -q -m "not slow"

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir .site

test: lint typecheck pytest docs

bench: $(STAMP)
	$(PY) benchmarks/run.py

soak: $(STAMP)
	$(PY) -m pytest -q -m slow tests/reliability

clean:
	rm -rf $(VENV) .site .pytest_cache .mypy_cache .ruff_cache
