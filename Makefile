# Pathwise — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
PEER   := .peer/pybkt
RALPH  := .peer/ralph
STAMP  := $(VENV)/.installed
AOT    := kt/_compiled/manifest.json

.PHONY: run kt-demo test setup peer ralph lint demo-data clean constraints

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The ahead-of-time compiled fit kernels, rebuilt whenever a kernel source changes.
$(AOT): $(STAMP) kt/_kernels.py kt/bkt/_kernels.py kt/_aot.py kt/_aot_build.py
	$(PY) -m kt._aot_build || echo "kt._aot_build failed: fits use the Numba JIT kernels (slower start)"

setup: $(STAMP) $(AOT)

# pyBKT 1.4.2 with its C++ backend, in its own virtual environment (never the project's).
$(PEER)/.installed:
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/pip install --quiet --upgrade pip
	$(PEER)/bin/pip install --quiet wheel setuptools numpy pandas "scikit-learn<1.8"
	$(PEER)/bin/pip install --quiet --no-build-isolation --no-binary pyBKT pyBKT==1.4.2
	touch $(PEER)/.installed

peer: $(PEER)/.installed

# Ralph, a real xAPI LRS (FastAPI), in its own virtual environment: it pins its own FastAPI.
# The xAPI tests start it as a process with a file-system backend.
$(RALPH)/.installed:
	$(PYTHON) -m venv $(RALPH)
	$(RALPH)/bin/pip install --quiet --upgrade pip
	$(RALPH)/bin/pip install --quiet "ralph-malph[lrs,cli]==5.1.0" requests  # ralph.api.auth imports requests
	touch $(RALPH)/.installed

ralph: $(RALPH)/.installed

# The service on localhost with the bundled demo school in an embedded SQLite store.
run: setup
	mkdir -p var
	$(VENV)/bin/pathwise serve --demo --db sqlite:///$(CURDIR)/var/pathwise-demo.db

# The knowledge-tracing demo alone: fit BKT on the bundled synthetic log and print the result.
kt-demo: setup
	$(VENV)/bin/pathwise demo

# The whole suite; tests/test_layers.py runs lint-imports (the layering contracts in
# pyproject.toml's [tool.importlinter]) and fails on a broken contract.
test: setup peer ralph
	$(PY) -m pytest

demo-data: setup
	$(PY) -m engine.demo.generate

# Re-pin constraints.txt to what .venv has now (after an upgrade that passed make test).
constraints: setup
	{ sed -n '1,3p' constraints.txt; $(PIP) freeze --exclude-editable | grep -v '^pathwise'; } > constraints.tmp
	mv constraints.tmp constraints.txt

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo

clean:
	rm -rf $(VENV) .peer .pytest_cache
