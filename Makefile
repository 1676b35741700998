# dripdrop — developer entry points. `make help` lists them.

GO            ?= go
FUZZTIME      ?= 30s
# staticcheck 2026.2.2; run through `go run` so go.mod is not touched.
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT  ?= 20m

.DEFAULT_GOAL := help

.PHONY: help build test alloc-gates bench-test demo fuzz bench bench-compare check check-static fmt fmt-check vet staticcheck layering tidy clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build everything with cgo off (the main module is pure Go)
	CGO_ENABLED=0 $(GO) build ./...

test: build ## vet, then all tests with the race detector (interop tests skip without libzmq peers unless CI=true), the allocation gates and the bench/ module's tests
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) alloc-gates
	$(MAKE) bench-test

bench-test: ## the bench/ module's own tests: every system's perf roles against every other (needs libzmq3-dev; CI=true fails without it)
	@if ! pkg-config --exists libzmq 2>/dev/null || ! command -v gcc >/dev/null; then \
		if [ "$$CI" = true ]; then echo "bench-test: libzmq3-dev, pkg-config or gcc missing (CI=true)"; exit 1; fi; \
		echo "bench-test: skipped, libzmq3-dev/pkg-config/gcc missing (apt-get install libzmq3-dev pkg-config gcc)"; \
	else \
		cd bench && $(GO) mod download && CGO_ENABLED=1 $(GO) test -mod=mod -count=1 ./...; \
	fi

alloc-gates: ## the allocation gates (Test*Allocs), which need a build without the race detector
	$(GO) test -count=1 -run 'Allocs$$' ./...

demo: ## run the main demo
	$(GO) run ./cmd/dripdrop demo

fuzz: ## run every Fuzz* target for FUZZTIME each (default 30s)
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

bench: ## run all benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-compare: ## ours vs libzmq, pebbe/zmq4, go-zeromq/zmq4 (module bench/; installs libzmq3-dev; BENCH_ARGS=-h)
	@if [ "$$(dpkg-query -W -f='$${Status}' libzmq3-dev 2>/dev/null)" != "install ok installed" ] || ! command -v pkg-config >/dev/null || ! command -v gcc >/dev/null; then \
		sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		echo "== installing libzmq3-dev pkg-config gcc"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends libzmq3-dev pkg-config gcc; \
	fi
	cd bench && $(GO) mod download
	cd bench && CGO_ENABLED=0 $(GO) build -mod=mod -o bin/ddbench ./cmd/ddbench
	cd bench && CGO_ENABLED=1 $(GO) build -mod=mod -o bin/ddbench-cgo ./cmd/ddbench
	cd bench && bin/ddbench compare -peer-cgo bin/ddbench-cgo $(BENCH_ARGS)

check: check-static test ## everything CI checks: formatting, vet, staticcheck, layering, tests

check-static: fmt-check vet staticcheck layering ## the checks that run no test suite

fmt: ## gofmt -w every Go file
	@find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -exec gofmt -w {} +

fmt-check: ## fail, listing them, if any Go file is not gofmt'ed
	@out=$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -exec gofmt -l {} +); \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting (make fmt):"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...

staticcheck: ## staticcheck, version pinned above
	$(GO) run $(STATICCHECK) ./...

layering: ## the import-direction test of DESIGN.md
	$(GO) test -count=1 ./internal/layering

tidy: ## go mod tidy
	$(GO) mod tidy

clean: ## remove build output and the test cache
	rm -rf bin/ coverage.out coverage.html *.test *.out
	$(GO) clean -testcache
