# The two set-up commands of the README, and their parts.
#   make demo   services up, release build, the main job on examples/monorepo
#   make test   services up (2 engines + registry), every test of the workspace
#   make bench  every benchmark, quick (under 10 minutes; reports in bench/results/quick/)
SHELL := /bin/bash
CARGO ?= cargo
ENGINE2 := unix:///var/run/conveyor-docker2.sock

.PHONY: demo test deps services services-down lint bench

deps:
	bash scripts/deps.sh

services: deps
	bash scripts/services.sh up --engines 2

services-down:
	bash scripts/services.sh down

# The main job: plan the example monorepo, build it with the embedded default (coordinator +
# one worker on the local engine, stages shared through the local registry), then build it
# again (every stage cached) and print both times.
DEMO_REPO ?= localhost:5000/monorepo-stages
CONVEYOR_BIN = $${CARGO_TARGET_DIR:-target}/release/conveyor
demo: services
	$(CARGO) build --release -p conveyor
	$(CONVEYOR_BIN) plan --dir examples/monorepo
	@start=$$(date +%s%N); $(CONVEYOR_BIN) build --dir examples/monorepo --repo $(DEMO_REPO) \
	  --report examples/monorepo/.conveyor/report.json; rc=$$?; \
	  echo "first build: $$(( ($$(date +%s%N) - start) / 1000000 )) ms"; exit $$rc
	@start=$$(date +%s%N); $(CONVEYOR_BIN) build --dir examples/monorepo --repo $(DEMO_REPO); rc=$$?; \
	  echo "second build (all cached): $$(( ($$(date +%s%N) - start) / 1000000 )) ms"; exit $$rc

test: services
	CONVEYOR_TEST_DOCKER=unix:///var/run/docker.sock \
	CONVEYOR_TEST_DOCKER2=$(ENGINE2) \
	CONVEYOR_TEST_REGISTRY=localhost:5000 \
	$(CARGO) test --workspace --all-targets

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Every benchmark in a quick version: reports (Markdown, JSON) and charts in
# bench/results/quick/, and each command's figures as one JSON line on stdout. The committed
# full-run results in bench/results/ come from the same commands with their default sizes.
BENCH = $${CARGO_TARGET_DIR:-target}/release/conveyor-bench
QUICK = --results bench/results/quick --json
bench: services
	$(CARGO) build --release -p conveyor -p conveyor-bench
	$(BENCH) plan --images 1000,10000 --runs 5 $(QUICK)
	$(BENCH) sim --quick $(QUICK)
	$(BENCH) dispatch --images 2000 --workers 4 --runs 3 $(QUICK)
	$(BENCH) queue --images 20000 $(QUICK)
	$(BENCH) noop --images 1000 --runs 3 $(QUICK)
	$(BENCH) docker --images 12 --runs 3 $(QUICK)
