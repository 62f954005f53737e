# pyscore: set-up, demo, tests, benchmarks. Every target creates .venv itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint dev core clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Installs the package (builds the C++ core) with the test extras.
$(STAMP): $(VENV)/bin/python pyproject.toml CMakeLists.txt $(shell find cpp pyscore -name '*.cpp' -o -name '*.h' -o -name '*.py' -o -name '*.yml' -o -name '*.txt' 2>/dev/null)
	$(PIP) install --quiet ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pyscore demo $(if $(CORPORA),--corpora $(CORPORA),)

test: $(STAMP)
	cd tests && ../$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	cd bench && OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 ../$(VENV)/bin/pytest -q -p no:cacheprovider -o python_files="bench_*.py" --benchmark-enable --benchmark-only --benchmark-columns=median,mean,ops,rounds $(PYTEST_ARGS) .

lint: $(STAMP)
	$(VENV)/bin/ruff check pyscore tests bench

# Development: a separate venv with the dependencies, the package imported
# from this tree (a .pth file) and the core built in build/dev, then copied
# next to the sources. Run `make core` after editing C++.
DEV_VENV := .venv-dev
DEV_PY   := $(DEV_VENV)/bin/python

$(DEV_PY):
	$(PYTHON) -m venv $(DEV_VENV)

dev: $(DEV_PY)
	mkdir -p build
	$(DEV_PY) -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
	  print('\\n'.join(p['dependencies'] + p['optional-dependencies']['test'] + ['scikit-build-core', 'pybind11', 'cmake', 'ninja']))" > build/dev-requirements.txt
	$(DEV_PY) -m pip install --quiet -r build/dev-requirements.txt
	echo "$(CURDIR)" > $$($(DEV_PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/pyscore-dev.pth
	$(MAKE) core

core: $(DEV_PY)
	flock /tmp/pyscore-core-build.lock sh -c '\
	  PATH=$(CURDIR)/$(DEV_VENV)/bin:$$PATH cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE=$(CURDIR)/$(DEV_PY) >/dev/null && \
	  PATH=$(CURDIR)/$(DEV_VENV)/bin:$$PATH cmake --build build/dev && for f in build/dev/_core*.so; do cp $$f pyscore/.$$(basename $$f).tmp && mv pyscore/.$$(basename $$f).tmp pyscore/$$(basename $$f); done'

clean:
	rm -rf build $(VENV) $(DEV_VENV) pyscore/_core*.so
