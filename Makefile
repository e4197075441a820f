# Two commands do everything: `make book` (site into _build/html) and `make test` (all tests).
# Both set up what they need first and are quick on a second run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pytest-xdist workers; notebooks stay whole on one worker (--dist loadfile)
JOBS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: book book-student test pdf bundle gpu-check setup sysdeps venv lab-config lab assets data exercises lint clean

book: setup
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going
	@echo "Website built: open _build/html/index.html (or: $(BIN)/python -m http.server -d _build/html 8000)"

# The website without answer keys, for a course to publish: _build/student/_build/html (checked:
# no answer-key page, link or search entry).
book-student: setup
	$(BIN)/python -m aibook.booktools.student_edition build

test: book
	$(BIN)/ruff check aibook tests benchmarks conftest.py
	$(BIN)/python -m aibook.booktools.exercise_notebooks check
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure"; exit 1; fi; \
	  exit $$status

setup: sysdeps venv lab-config assets data

# The whole book as one PDF, _build/pdf/book.pdf (a single-page build printed by Chromium, a few
# minutes), then the PDF checks of tests/test_pdf.py on it. `make test` checks a sample (Chapter 4).
pdf: setup
	$(BIN)/python -m aibook.booktools.pdf
	AIBOOK_PDF=_build/pdf/book.pdf $(BIN)/python -m pytest tests/test_pdf.py -p no:xdist -q

# Every notebook of book/ and exercises/ in one zip with a README: _build/bundle/aibook-notebooks.zip.
# Run `make book` after `make pdf` / `make bundle`: the home page then links both files.
bundle: venv
	$(BIN)/python -m aibook.booktools.bundle

# On a GPU machine: every notebook of book/ and solutions/ on CUDA (nothing rewritten), then the
# Chapter 5 benchmark; one table of pass/fail and seconds vs the CPU record. About 5 minutes.
gpu-check: venv data
	$(BIN)/python -m aibook.booktools.gpu_check --device cuda

# Debian/Ubuntu packages: venv, Node.js (site assets), Chromium (browser test), Fashion-MNIST.
sysdeps: .stamp-sysdeps
.stamp-sysdeps:
	@missing=""; \
	$(PYTHON) -c "import ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -d /usr/share/fonts/truetype/wqy ] || missing="$$missing fonts-wqy-microhei"; \
	[ -d /usr/share/datasets/fashion-mnist ] || missing="$$missing dataset-fashion-mnist"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing (no apt-get here)"; exit 1; fi; \
	fi
	@touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $@

# JupyterLab for learners (`make lab`, or `.venv/bin/jupyter lab`): opens at book/ and never contacts
# the internet (no news, no update check, no PyPI extension listing). Written into the venv's own
# config folder, with this checkout as the root folder, so the plain command works from any folder.
LAB_ETC := $(VENV)/etc/jupyter
lab-config: $(LAB_ETC)/jupyter_server_config.json $(LAB_ETC)/labconfig/page_config.json
$(LAB_ETC)/jupyter_server_config.json: lab/jupyter_server_config.json $(VENV)/.installed
	mkdir -p $(@D)
	$(BIN)/python -c 'import json, sys; c = json.load(open(sys.argv[1])); c["ServerApp"] = {"root_dir": sys.argv[2]}; json.dump(c, open(sys.argv[3], "w"), indent=2)' $< "$(CURDIR)" $@
$(LAB_ETC)/labconfig/page_config.json: lab/page_config.json $(VENV)/.installed
	mkdir -p $(@D)
	cp $< $@

# JupyterLab at the book's folder (Ctrl+C twice stops it); --allow-root only where make runs as root.
lab: sysdeps venv lab-config data
	$(BIN)/jupyter lab $(if $(SUDO),,--allow-root)

# MathJax, the ipywidgets embed manager and RequireJS from the npm lock file, served locally.
assets: _vendor/.installed
_vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -rf _vendor && mkdir -p _vendor/jupyter-widgets
	cp -r node_modules/mathjax/es5 _vendor/mathjax
	cp node_modules/requirejs/require.js _vendor/require.js
	cd node_modules/@jupyter-widgets/html-manager/dist && \
	  find . -maxdepth 1 -type f ! -name '*.map' -exec cp {} ../../../../_vendor/jupyter-widgets/ \;
	@touch $@

data: venv
	@$(BIN)/python -m aibook.data
	@$(BIN)/python -m aibook.poetry

# Regenerate exercises/ from solutions/ (one source per chapter).
exercises: venv
	$(BIN)/python -m aibook.booktools.exercise_notebooks build

lint: venv
	$(BIN)/ruff check aibook tests benchmarks conftest.py

clean:
	rm -rf _build
