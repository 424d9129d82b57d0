# Tern — the two commands a fresh machine needs:
#   make run    installs what is missing, builds a release binary, serves 127.0.0.1:8000 (data in ./data)
#   make test   installs what is missing, builds, runs the Swift tests and the client tests
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT ?= 8000
DATA_DIR ?= ./data

.PHONY: deps bench-deps build release run cluster cluster-stop bench-cluster test test-swift test-clients test-clients-cluster bench soak clean

# System library (RocksDB from Debian), strace (tests/test_durability_syscalls.py), iproute2 and
# curl (tests/test_cluster_netns.py) and the test-only Python packages.
deps:
	@{ pkg-config --exists rocksdb 2>/dev/null || test -f /usr/include/rocksdb/c.h; } || { \
		echo "installing librocksdb-dev"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq librocksdb-dev; }
	@command -v strace >/dev/null 2>&1 || { \
		echo "installing strace"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq strace; }
	@$(PYTHON) -c "import boto3, pytest" 2>/dev/null || $(PYTHON) -m pip install -q boto3 pytest
	@command -v aws >/dev/null 2>&1 || $(PYTHON) -m pip install -q awscli
	@# zlib (Sources/CZlib: HTTP Content-Encoding and Accept-Encoding)
	@test -f /usr/include/zlib.h || { echo "installing zlib1g-dev"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq zlib1g-dev; }
	@# iproute2 and curl: tests/test_cluster_netns.py (nodes in network namespaces, partitions)
	@{ command -v ip >/dev/null 2>&1 && command -v curl >/dev/null 2>&1; } || { echo "installing iproute2 curl"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq iproute2 curl; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	mkdir -p $(DATA_DIR)
	.build/release/tern serve --host 127.0.0.1 --port $(PORT) --data-dir $(DATA_DIR)

# Three local nodes (API 8001-8003, peers 7001-7003, data in $(DATA_DIR)/n1..n3): scripts/cluster.sh.
cluster: release
	DATA_DIR=$(DATA_DIR) scripts/cluster.sh start

cluster-stop:
	DATA_DIR=$(DATA_DIR) scripts/cluster.sh stop

test: deps
	$(SWIFT) build --build-tests
	$(MAKE) test-swift test-clients test-clients-cluster

# XCTest only: the suite has no swift-testing tests, and an empty swift-testing run would print
# a misleading "0 tests" summary.
test-swift:
	$(SWIFT) test --skip-build --disable-swift-testing

# boto3 and AWS CLI against real `tern serve` processes that the tests start and stop.
test-clients:
	TERN_BIN=$(CURDIR)/.build/debug/tern $(PYTHON) -m pytest -q tests

# The same client tests with their shared node being n1 of a three-node cluster (N = 3, W = 2):
# every request through forwarding, replication and quorum reads (tests/conftest.py).
test-clients-cluster:
	TERN_TEST_CLUSTER=1 TERN_BIN=$(CURDIR)/.build/debug/tern $(PYTHON) -m pytest -q tests -k "not test_cluster"

# Benchmarks and soaks are never part of the test suite: release build, one node on RocksDB.
# The benchmark measures an nginx stub under the same wrk load as its yardstick (docs/benchmarks.md).
bench-deps:
	@{ command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; } && command -v wrk >/dev/null 2>&1 || { \
		echo "installing nginx-light and wrk"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nginx-light wrk; }

bench: release bench-deps
	scripts/bench.sh

# The three-node cluster against the single node, same run (docs/benchmarks.md, issue 7).
bench-cluster: release
	scripts/bench-cluster.sh

soak: release
	scripts/soak.sh

clean:
	rm -rf .build
