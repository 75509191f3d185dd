# Waymark: `make run` starts it with demo data on the embedded default; `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test bench lint install migrate demo clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	@echo "Waymark on http://127.0.0.1:$(PORT)/ (Ctrl-C stops the web server, worker and beat)"
	PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: migrate
	$(BIN)/python manage.py bench all

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf var/broker var/screenshots
