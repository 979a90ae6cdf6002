# The two set-up commands of the README, and their parts.
#   make demo   services up, release build, the main job on examples/monorepo
#   make test   services up (2 engines + registry), every test of the workspace
SHELL := /bin/bash
CARGO ?= cargo
ENGINE2 := unix:///var/run/conveyor-docker2.sock

.PHONY: demo test deps services services-down lint

deps:
	bash scripts/deps.sh

services: deps
	bash scripts/services.sh up --engines 2

services-down:
	bash scripts/services.sh down

# Until `conveyor build` exists, the demo renders and plans the example monorepo.
demo: services
	$(CARGO) build --release -p conveyor
	$${CARGO_TARGET_DIR:-target}/release/conveyor render --dir examples/monorepo
	$${CARGO_TARGET_DIR:-target}/release/conveyor plan --dir examples/monorepo

test: services
	CONVEYOR_TEST_DOCKER=unix:///var/run/docker.sock \
	CONVEYOR_TEST_DOCKER2=$(ENGINE2) \
	CONVEYOR_TEST_REGISTRY=localhost:5000 \
	$(CARGO) test --workspace --all-targets

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
