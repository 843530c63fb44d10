# Archivist's tasks. The README's two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
SAMPLE := index/sample_archive

CLIENTS  ?= 16
DURATION ?= 60
SOAK     ?= 600

CLUSTER_NODES ?= 3
CLUSTER_PORT  ?= 8108
CLUSTER_DATA  ?=

.PHONY: run install install-test index-sample serve test lint bench bench-index eval bench-hostile loadtest soak cluster clean

$(BIN)/archivist: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

install: $(BIN)/archivist

$(VENV)/.test-installed: $(BIN)/archivist
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install-test: $(VENV)/.test-installed

## run: install, index the bundled sample archive, serve the app on http://$(HOST):$(PORT)
run: install index-sample serve

index-sample: install
	$(BIN)/archivist index $(SAMPLE)
	$(BIN)/archivist search "energy" --sort newest

serve: install
	$(BIN)/archivist serve --host $(HOST) --port $(PORT)

## test: install the test extras and run the whole suite (unit, app, CLI, browser)
test: install-test
	$(BIN)/ruff check index search webui tests
	$(BIN)/python -m pytest -q

lint: install-test
	$(BIN)/ruff check index search webui tests

## bench: search latency at 19k and 190k articles, embedded Whoosh and a 3-node Typesense cluster beside SQLite FTS5, and indexing throughput into each (Markdown tables)
bench: install-test
	$(BIN)/python -m tests.bench.search_bench

## bench-index: indexing throughput on the Reuters corpus, 1 process and 2
bench-index: install-test
	$(BIN)/python -m tests.bench.index_bench

## eval: nDCG@10 and MAP@100 on Cranfield (or COLLECTION=cisi|cacm CORPUS=folder) through the HTTP API, against SQLite FTS5
eval: install-test
	$(BIN)/python -m tests.bench.cranfield_eval $(if $(COLLECTION),--collection $(COLLECTION)) $(if $(CORPUS),--corpus $(CORPUS))

## bench-hostile: server CPU of each hostile request on every reader route, and ordinary searches' latency beside them
bench-hostile: install-test
	$(BIN)/python -m tests.bench.hostile_bench

## loadtest: CLIENTS readers against `archivist serve` on Reuters, idle and then during a rebuild + incremental reindex
loadtest: install-test
	$(BIN)/python -m tests.bench.loadtest --clients $(CLIENTS) --duration $(DURATION)
	$(BIN)/python -m tests.bench.loadtest --clients $(CLIENTS) --duration $(DURATION) --during-reindex

## soak: the same mix for SOAK seconds; server memory within 10% of warm-up, no growth in open files
soak: install-test
	$(BIN)/python -m tests.bench.loadtest --soak --clients $(CLIENTS) --duration $(SOAK)

## cluster: a local Typesense cluster in the foreground: CLUSTER_NODES nodes, API ports from CLUSTER_PORT, data in CLUSTER_DATA (default: a temporary folder); prints the API key; Ctrl-C stops it
cluster: install-test
	$(BIN)/python -m tests.cluster --nodes $(CLUSTER_NODES) --port $(CLUSTER_PORT) $(if $(CLUSTER_DATA),--data $(CLUSTER_DATA))

clean:
	rm -rf $(VENV) instance build *.egg-info .pytest_cache .ruff_cache tests/artifacts
