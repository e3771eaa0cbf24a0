# Slipway: `make demo` runs a release end to end on this machine, `make test` runs every test.
# Both build what they need first (third-party tools once, into ~/.cache/slipway; see scripts/tools.sh).
SHELL := bash
GO ?= go
BIN := bin

.PHONY: all build tools test unit integration demo down record-histories bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./worker ./starter ./cmd/demoapp ./cmd/localpods ./cmd/mkimage

tools:
	scripts/tools.sh all

## test: unit tests, then integration tests against a real Temporal dev server and a real local cluster,
## then the demo itself (on its own ports).
test:
	scripts/test.sh all

unit:
	scripts/test.sh unit

integration:
	scripts/test.sh integration

## demo: start Temporal + Web UI, a local cluster and a worker; run a good and a bad release. `make down` stops it.
demo: build
	scripts/demo.sh up

down:
	scripts/demo.sh down

clean:
	rm -rf $(BIN)

## record-histories: record again the one generation of workflow histories the replay test reads, after a
## deliberate change to a workflow (nothing has shipped yet; docs/workflows.md says when that changes).
HISTORIES ?= workflows/testdata/histories/v1
record-histories:
	rm -rf $(HISTORIES) && mkdir -p $(HISTORIES)
	SLIPWAY_RECORD_HISTORIES=$(CURDIR)/$(HISTORIES) scripts/test.sh integration

## bench: scan wall time for one small image and one source tree (both real scanners), and a cached re-scan.
bench:
	scripts/tools.sh scanners
	go test -count=1 -tags integration -run '^$$' -bench . -benchtime 5x ./tests/scanners/
