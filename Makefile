# wolkvox-connect: the one test command is `make test` (CI runs it through .ci/run).
#
# make test         lint (go vet, staticcheck, gofmt), start a real Kafka broker and a real
#                   Schema Registry (Apicurio, basic auth), run every test with -race against
#                   them (WOLKVOX_TEST_KAFKA, WOLKVOX_TEST_REGISTRY), stop both (always, even
#                   when tests fail or make is interrupted), then a short fuzz smoke.
#                   Stops at the first step that fails (make then exits 2, its convention).
#                   The deployment checks (deploy/check, a module of its own: Dockerfile,
#                   compose, Kubernetes, systemd, monitoring, the README's guide) run in
#                   the same broker session, into the same log and counts.
# make test-deploy  only the deployment checks (give WOLKVOX_TEST_KAFKA and
#                   WOLKVOX_TEST_REGISTRY for those that need a broker or a registry;
#                   without them they are skipped, as outside CI)
# make lint         only the static checks, and check-generated
# make generate     regenerate the catalog (from schemas/catalog/postman) and the Avro schemas
# make check-generated
#                   fail when a generated file differs from what go generate makes, or
#                   when anything built or tested refers to a folder outside the repository
# make fuzz         only the fuzz smoke (FUZZ_TARGETS, FUZZTIME each)
# make build        bin/wolkvox-connect with the version from git describe
# make kafka-start  start (or reuse) the local broker and print how to point tests at it
# make kafka-stop   stop it and delete its data
# make registry-start
#                   start (or reuse) the local Schema Registry and print how to point tests at it
# make registry-stop
#                   stop it (its storage is in memory: every schema is gone)
#
# Nothing is installed globally: Kafka's jars go to .cache/kafka-<version>/libs (fetched once
# with mvn from Maven Central), the registry is built once into .cache/registry-<version>/
# (mvn, Maven Central), staticcheck and promtool to .cache/<tool>-<version>/ (built once
# through the Go module proxy). All are pinned here, in deploy/local/pom.xml or in
# deploy/local/registry/pom.xml.
#
# make test reuses a broker or registry already running for this checkout (make kafka-start,
# make registry-start) and then leaves it running; only what make test started itself is
# stopped at the end. The registry starts in the background while the broker starts.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := test
MAKEFLAGS += --no-print-directory

GO ?= go
# PKGS narrows vet, staticcheck and go test, e.g. make test PKGS=./sink/...
PKGS ?= ./...
CACHE := $(CURDIR)/.cache
KAFKA := deploy/local/kafka.sh
REGISTRY := deploy/local/registry.sh

# staticcheck 2026.2.2 (module version v0.8.2), the newest release on the module proxy; it
# builds with Go 1.26 and analyses this module's Go 1.26 code. Bump it with the Go version.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(CACHE)/staticcheck-$(STATICCHECK_VERSION)/staticcheck

# promtool of Prometheus 3.16 (module version v0.316.0, the newest that builds with Go 1.26),
# for promtool check rules and test rules in deploy/check. Built with -tags remove_all_sd:
# the rule commands need no service discovery, and leaving out the cloud SDKs cuts the
# build on 2 cores from over ten minutes to about one or two.
PROMTOOL_VERSION := v0.316.0
PROMTOOL := $(CACHE)/promtool-$(PROMTOOL_VERSION)/promtool
DEPLOY_CHECK := deploy/check

# Fuzz smoke run by make test and make fuzz: space-separated <package>:<FuzzName> pairs,
# each fuzzed for FUZZTIME. These are the parsers of outside input: API responses, the
# configuration file, what the offsets topic holds, REST bodies, row values. The other
# fuzz targets run their seed corpora in every go test.
FUZZ_TARGETS ?= \
	./source/wolkvox:FuzzDecode \
	./source/wolkvox:FuzzScannerMatchesEncodingJSON \
	./source/wolkvox:FuzzDecodeLimits \
	./source/wolkvox:FuzzStatedCount \
	./source/simulator:FuzzReportQuery \
	./source/config:FuzzParseSettings \
	./offsets:FuzzPositionUnmarshal \
	./offsets:FuzzDecodeKey \
	./schemas:FuzzConvert \
	./schemas:FuzzParseInLocation \
	./schemas:FuzzScanNumber \
	./source/wolkvox:FuzzDecodeRowsMatchEncodingJSON \
	./source/restapi:FuzzParseOffsets \
	./source/demo:FuzzParseReports \
	./offsets:FuzzQuotaUsageUnmarshal \
	./source/cluster:FuzzDecodeGroupMessages
# An execution count, not a duration: with a duration, Go's fuzzing coordinator can
# report its own deadline as a failure ("context deadline exceeded", no failing input;
# golang/go#75804, fixed in Go 1.27), which a loaded machine hit twice running for
# FuzzStatedCount. 60,000 executions took 2.7-7.6 s per target here; 100,000 are about
# what 8 s gave.
FUZZTIME ?= 100000x

# go test's own bound for one package's tests (its default is 10m): the command
# package's process-level proofs (SIGKILL loops, broker restarts, a group of workers)
# take about 8 minutes on a quiet 2-core machine and more on a loaded one. A test that
# hangs still fails, with every goroutine's stack.
TEST_TIMEOUT ?= 25m

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: test test-deploy lint fuzz build generate check-generated kafka-start kafka-stop registry-start registry-stop help

help:
	@sed -n 's/^# \(make .*\)/\1/p' $(firstword $(MAKEFILE_LIST))

test: lint $(PROMTOOL)
	@started=$$(date +%s)
	# A broker or registry that already runs for this checkout (make kafka-start, make
	# registry-start, another engineer) is reused and left running; one that make test
	# starts is always stopped, even when the tests fail or make is interrupted (an
	# interrupt still runs the EXIT trap).
	owned=true
	reg_owned=true
	teardown=""
	if $(KAFKA) status >/dev/null 2>&1; then
		owned=false
		echo "$$(date +%T) == reusing the running broker; it stays up afterwards"
	else
		teardown='$(KAFKA) stop;'
	fi
	if $(REGISTRY) status >/dev/null 2>&1; then
		reg_owned=false
		echo "$$(date +%T) == reusing the running registry; it stays up afterwards"
	else
		teardown+='$(REGISTRY) stop;'
	fi
	trap 'exit 130' INT TERM
	trap "wait; $$teardown" EXIT
	mkdir -p $(CACHE)
	# The registry (built once, then about 5-10 s to serve) starts alongside the broker.
	$(REGISTRY) start >$(CACHE)/registry.url 2>$(CACHE)/registry.log &
	regpid=$$!
	# Assigned on its own line: "export X=$$(cmd)" would hide a failing start from set -e.
	addr=$$($(KAFKA) start)
	export WOLKVOX_TEST_KAFKA=$$addr
	if ! wait $$regpid; then
		cat $(CACHE)/registry.log >&2
		echo "the Schema Registry did not start (above)" >&2
		exit 1
	fi
	cat $(CACHE)/registry.log >&2
	export WOLKVOX_TEST_REGISTRY=$$(cat $(CACHE)/registry.url)
	echo "$$(date +%T) == go test -race $(PKGS) against Kafka at $$WOLKVOX_TEST_KAFKA and the registry at $${WOLKVOX_TEST_REGISTRY##*@}"
	# The whole verbose log goes to $(CACHE)/test.log; shown here: each package's result,
	# every failure and test log line, and which tests ran against the real broker.
	status=0
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -v $(PKGS) >$(CACHE)/test.log 2>&1 || status=$$?
	# The deployment checks, a module of their own, with the whole suite only.
	if [[ "$(PKGS)" == "./..." ]]; then
		echo "$$(date +%T) == go test -race ./... in $(DEPLOY_CHECK) (deployment checks)"
		(cd $(DEPLOY_CHECK) && PROMTOOL=$(PROMTOOL) $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -v ./...) >>$(CACHE)/test.log 2>&1 || status=$$?
	fi
	grep -E '^(ok |FAIL|panic:|\s*--- (FAIL|SKIP))|_test\.go:[0-9]+: ' $(CACHE)/test.log || true
	echo "$$(date +%T) == tests that ran against Apache Kafka at $$WOLKVOX_TEST_KAFKA:"
	grep -E -- '--- PASS: (Test[A-Za-z0-9]+/kafka|TestKillNineExactlyOnce|TestBrokerRestart|TestFrozenBroker|TestRESTEndToEnd|TestLocalBrokerGuide|TestMonitoringMetricsExist)[ /]' $(CACHE)/test.log | sed 's/^ */  /' || true
	echo "$$(date +%T) == tests that ran against the Schema Registry (Apicurio):"
	grep -E -- '--- PASS: (TestRegistry|TestRegistryWorker|TestRegistryRestart|TestJavaEvents|TestConsumerExamples/python_confluent)[ /]' $(CACHE)/test.log | sed 's/^ */  /' || true
	passed=$$(grep -cE -- '^\s*--- PASS' $(CACHE)/test.log || true)
	failed=$$(grep -cE -- '^\s*--- FAIL' $(CACHE)/test.log || true)
	skipped=$$(grep -cE -- '^\s*--- SKIP' $(CACHE)/test.log || true)
	echo "tests: $$passed passed, $$failed failed, $$skipped skipped"
	if [[ $$status -ne 0 ]]; then
		echo "go test failed (exit $$status); the full log is $(CACHE)/test.log"
		exit $$status
	fi
	trap - EXIT
	if $$owned; then
		$(KAFKA) stop
	fi
	if $$reg_owned; then
		$(REGISTRY) stop
	fi
	$(MAKE) fuzz
	echo "$$(date +%T) == make test passed in $$(( $$(date +%s) - started ))s"

test-deploy: $(PROMTOOL)
	@cd $(DEPLOY_CHECK) && PROMTOOL=$(PROMTOOL) $(GO) test -race -count=1 ./...

generate:
	@$(GO) generate ./...

# The repository stands alone: everything go generate and go test read is inside it.
# Local edits are allowed: what counts is that go generate changes nothing more.
check-generated:
	@echo "$$(date +%T) == go generate ./... changes nothing"
	before=$$(git diff; git status --porcelain)
	$(GO) generate ./... >/dev/null
	after=$$(git diff; git status --porcelain)
	if [[ "$$before" != "$$after" ]]; then
		git status --short >&2
		echo "generated files are out of date: run make generate and commit the result" >&2
		exit 1
	fi
	if git grep -nE '\.\./shared|/work/' -- '*.go' '*.sh' '*.yaml' '*.tmpl' '*.properties'; then
		echo "the lines above read outside the repository: copy what they need into it" >&2
		exit 1
	fi
	# A built binary committed by mistake weighs megabytes; no source file does.
	big=$$(git ls-files -z | xargs -0 -r stat -c '%s %n' 2>/dev/null | awk '$$1 > 1048576 {print $$2}')
	if [[ -n "$$big" ]]; then
		echo "tracked files over 1 MiB (a built binary?): $$big" >&2
		exit 1
	fi

lint: $(STATICCHECK) check-generated
	@echo "$$(date +%T) == go vet"
	$(GO) vet $(PKGS)
	echo "$$(date +%T) == staticcheck $(STATICCHECK_VERSION)"
	$(STATICCHECK) $(PKGS)
	echo "$$(date +%T) == go vet, staticcheck in $(DEPLOY_CHECK)"
	(cd $(DEPLOY_CHECK) && $(GO) vet ./... && $(STATICCHECK) ./...)
	echo "$$(date +%T) == gofmt -l"
	unformatted=$$(gofmt -l .)
	if [[ -n "$$unformatted" ]]; then
		echo "gofmt -w needed for:" >&2
		echo "$$unformatted" >&2
		exit 1
	fi

fuzz:
	@for target in $(FUZZ_TARGETS); do
		pkg=$${target%:*}
		name=$${target##*:}
		echo "$$(date +%T) == fuzz $$pkg $$name for $(FUZZTIME)"
		# Go's fuzzing engine sometimes ends a run at its deadline with "context deadline
		# exceeded" and no failing input (the coordinator racing a worker): that is the
		# engine's, not a finding, so such a run is tried once more; a real finding
		# writes its input and fails at once. (A FUZZTIME count has no deadline to race;
		# a duration given on the command line still can.)
		for try in 1 2; do
			out=$$($(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) "$$pkg" 2>&1) && { echo "$$out" | tail -1; break; }
			echo "$$out"
			if [[ $$try == 2 ]] || ! grep -q 'context deadline exceeded' <<<"$$out" || grep -q 'Failing input written' <<<"$$out"; then
				exit 1
			fi
			echo "$$(date +%T) == $$name: the engine's deadline, no failing input: once more"
		done
	done

$(STATICCHECK):
	@echo "$$(date +%T) == installing staticcheck $(STATICCHECK_VERSION) into $(@D)"
	GOBIN="$(@D)" $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(PROMTOOL):
	@echo "$$(date +%T) == installing promtool $(PROMTOOL_VERSION) into $(@D)"
	GOBIN="$(@D)" $(GO) install -tags remove_all_sd github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

build:
	@$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/wolkvox-connect ./cmd/wolkvox-connect
	echo "built bin/wolkvox-connect $(VERSION)"

kafka-start:
	@$(KAFKA) start >/dev/null
	$(KAFKA) status
	echo 'point tests at it with: eval "$$($(KAFKA) env)"'

kafka-stop:
	@$(KAFKA) stop

registry-start:
	@$(REGISTRY) start >/dev/null
	$(REGISTRY) status
	echo 'point tests at it with: eval "$$($(REGISTRY) env)"'

registry-stop:
	@$(REGISTRY) stop
