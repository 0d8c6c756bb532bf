# Slipway's front door. `make demo` and `make test` are all a newcomer needs.
GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
# The host's configuration resolver (cmd/slipway-env), one per instance architecture; the SSM document downloads the host's.
RESOLVER_ARCHES := arm64 amd64
GOFILES    = $(shell git ls-files --cached --others --exclude-standard '*.go')

export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

ASL_CONFORMANCE_DIR ?= ../shared/conformance/asl
SYNTH_CONFIG ?= $(if $(wildcard slipway.aws.json),slipway.aws.json,infra/stack/testdata/config.json)

.PHONY: demo test ci build lint fmt-check vet shellcheck staticcheck tidy-check bench clean synth infra-test conformance bench-engine coldstart

## demo: deploy v1, v2 and a failing v3 of the demo app on the embedded environment (v3 rolls back by itself)
demo:
	@echo "make demo: building the slipway CLI (go build ./cmd/slipway; the first time it compiles every dependency, which takes a minute or more)"
	@$(GO) build -o .slipway/bin/slipway ./cmd/slipway
	.slipway/bin/slipway demo

# SKIPCHECK reads `go test -json`, prints what `go test` would and fails on
# a failed test and, under CI=true, on a test that skipped itself unless
# .ci/skips says why that skip is correct in CI.
SKIPCHECK = $(GO) -C $(CURDIR) run ./internal/skipcheck/cmd/skipcheck -allow .ci/skips

# The fault matrix and the scenarios run real fleets for minutes each; on a
# busy 2-core machine they need more than go test's default 10 minutes.
TEST_TIMEOUT ?= 20m

## test: every Go test (needs PostgreSQL and MariaDB on 127.0.0.1 for the database tests); under CI=true a skipped test fails it (.ci/skips lists the exceptions)
test:
ifeq ($(CI),true)
	$(GO) test -timeout $(TEST_TIMEOUT) -json ./... | $(SKIPCHECK)
else
	$(GO) test -timeout $(TEST_TIMEOUT) ./...
endif

## ci: what .ci/run runs: formatting, vet, shellcheck, the tests, the Lambda build and the CDK stack's tests
ci: lint test race fuzz-short build infra-test

## build: cross-compile every function to dist/<name>/bootstrap (linux/arm64, provided.al2023)
build:
	@set -e; for f in $(FUNCTIONS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" -o dist/$$f/bootstrap ./functions/$$f; \
		printf '%-10s %s\n' $$f "$$(du -h dist/$$f/bootstrap | cut -f1)"; \
	done
	@set -e; for a in $(RESOLVER_ARCHES); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags "-s -w" -o dist/slipway-env/linux-$$a/slipway-env ./cmd/slipway-env; \
		printf '%-10s %s\n' slipway-env/$$a "$$(du -h dist/slipway-env/linux-$$a/slipway-env | cut -f1)"; \
	done

## synth: synthesize the AWS stack to cdk.out/ offline, cdk-nag checked (SYNTH_CONFIG=file)
synth: build
	cd infra && CDK_CONTEXT_JSON='{"config":"$(SYNTH_CONFIG)"}' $(GO) run .

## infra-test: vet and test the CDK stack: one synth, cdk-nag, cfn-lint on the template, the roles against the recorded operations (needs Node.js, cfn-lint)
infra-test: build
ifeq ($(CI),true)
	cd infra && $(GO) vet ./... && $(GO) test -json ./... | $(SKIPCHECK)
else
	cd infra && $(GO) vet ./... && $(GO) test ./...
endif

## coldstart: each function's package init time (median and fastest of RUNS=15, ms) and memory, built for this machine
coldstart:
	sh scripts/coldstart.sh

STATICCHECK_VERSION ?= v0.8.2

## lint: gofmt check, go vet, shellcheck, staticcheck and go.mod tidiness (both modules)
lint: fmt-check vet shellcheck staticcheck tidy-check

## staticcheck: honnef.co/go/tools' checks, at STATICCHECK_VERSION from the module proxy (staticcheck.conf says what is off, and why)
staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd infra && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## tidy-check: go.mod and go.sum are what `go mod tidy` makes them, in both modules
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@cd infra && { $(GO) mod tidy -diff || { echo "infra/go.mod/go.sum are not tidy: run (cd infra && go mod tidy)"; exit 1; }; }

fmt-check:
	@out=$$(gofmt -l $(GOFILES) $$(cd infra && git ls-files --cached --others --exclude-standard '*.go' | sed 's|^|infra/|')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

shellcheck:
	@if command -v shellcheck >/dev/null 2>&1; then shellcheck -s sh scripts/*.sh; \
	elif [ "$$CI" = "true" ]; then echo "shellcheck is missing (CI installs it in .ci/run)"; exit 1; \
	else echo "shellcheck not installed: skipped (apt-get install shellcheck)"; fi

## bench: every Go benchmark, with memory figures
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## conformance: replay the executions recorded on AWS on the embedded engine: passed/total by area, failing ids in internal/asl/conformance/failing.txt; exits 0 with red cases
conformance:
	$(GO) run ./internal/asl/conformance/cmd/aslconformance -dir $(ASL_CONFORMANCE_DIR) -failures internal/asl/conformance/failing.txt

## bench-engine: the embedded engine against aws-local-stepfunctions (npm) on the same definitions: transitions/s, peak memory, ratio
bench-engine:
	cd internal/asl/bench/peer && npm ci --no-audit --no-fund
	$(GO) run ./internal/asl/bench/cmd/benchengine -peer internal/asl/bench/peer

## clean: stop the embedded environment's apps and load balancer, then remove build output and local state
clean:
	@if [ -f .slipway/local/slipway.json ]; then $(GO) run ./cmd/slipway local stop --dir .slipway/local || echo "local stop failed: stop what runs, or slipway local down, before removing .slipway"; fi
	rm -rf dist cdk.out infra/cdk.out .slipway

.PHONY: fuzz fuzz-short race

# FUZZ_TARGETS lists package:target; `go test -fuzz` takes one of each per run.
FUZZ_TARGETS := ./internal/asl:FuzzParse ./internal/asl:FuzzRun ./internal/asl:FuzzJSONPath ./internal/asl:FuzzIntrinsic \
	./internal/manifest:FuzzParse ./internal/trigger:FuzzPushRouter ./internal/trigger:FuzzAlarmRouter ./internal/migrate:FuzzSplit
FUZZTIME ?= 60s

## fuzz: run every fuzz target for FUZZTIME (default 60s); a failing input is written to the package's testdata/fuzz/<target>/
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} $${t##*:} for $(FUZZTIME)"; \
		$(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME); \
	done

## fuzz-short: every fuzz target for 3s (make ci)
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

# RACE_PKGS are the packages whose code runs goroutines or guards state
# with a mutex.
RACE_PKGS := ./internal/asl/... ./internal/fleet/... ./internal/pipeline/... ./internal/ledger/... ./internal/localenv/... \
	./internal/trigger/... ./internal/health/... ./internal/migrate/... ./internal/secret/... ./internal/notify/... \
	./internal/cli/backend/... ./internal/loadgen/...
RACE_PKGS += ./internal/traffic/balancer/...

## race: the tests of RACE_PKGS under the race detector
race:
	$(GO) test -race $(RACE_PKGS)
