# Every target and every setting of the build, in one place: .ci/run and
# .github/workflows/ci.yml call these targets and set nothing of their own.
# Everything runs on virtual time: no target sleeps on the real clock.

GO          ?= go
CHECKS      ?= 10000
FUZZTIME    ?= 30s
BENCHTIME   ?= 1s
BENCHCOUNT  ?= 5
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GREMLINS    ?= github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0

.PHONY: all ci deps test test-prometheus sim sim-lies sim-sched sim-race explore fuzz bench bench-prometheus lint lint-prometheus cover mutants gremlins

all: lint test sim

## ci: what CI runs: lint, the test suites, the simulation (plain, on a
## lying clock, scheduled, and a slice under the race detector), a short fuzz.
ci: deps lint lint-prometheus test test-prometheus sim sim-lies sim-sched sim-race fuzz

## deps: download the modules and check them against go.sum.
deps:
	$(GO) version
	$(GO) mod download
	$(GO) mod verify

## test: every test with the race detector (the README's test command).
test:
	$(GO) test -race -count=1 ./...

## test-prometheus: the Prometheus adapter, a nested module of its own.
test-prometheus:
	cd prometheus && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd prometheus && $(GO) mod tidy -diff

## sim: the main job: CHECKS random schedules against the model, then a summary.
sim:
	$(GO) test ./sim -run '^TestSim$$' -rapid.checks=$(CHECKS) -count=1 -v

## sim-lies: CHECKS schedules on a clock that lies (late timers, time that jumps).
sim-lies:
	$(GO) test ./sim -run '^TestSimLies$$' -rapid.checks=$(CHECKS) -count=1

## sim-sched: CHECKS schedules with the Manager's goroutines ordered by a seeded PCT scheduler.
sim-sched:
	$(GO) test -tags lifecyclesched ./sim -run '^TestSimSched' -rapid.checks=$(CHECKS) -count=1

## sim-race: a slice of the scheduled sim under the race detector (for CI).
sim-race:
	$(GO) test -race -tags lifecyclesched ./sim -run '^TestSimSched' -rapid.checks=500 -count=1

## explore: every interleaving of the scheduling points, up to 3 preemptions, of small schedules.
explore:
	$(GO) test -tags lifecyclesched ./sim -run '^TestExplore$$' -explore.bound=3 -explore.schedules=3000 -count=1 -v

## fuzz: coverage-guided fuzzing of schedules for FUZZTIME.
fuzz:
	$(GO) test ./sim -run '^$$' -fuzz '^FuzzSchedule$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2s

## bench: every benchmark, BENCHCOUNT times each (compare with benchstat).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./...

## lint: gofmt, go vet, staticcheck.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## lint-prometheus: staticcheck inside the nested module (./... does not enter it).
lint-prometheus:
	cd prometheus && $(GO) run $(STATICCHECK) ./...

## bench-prometheus: the events function's cost per event.
bench-prometheus:
	cd prometheus && $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./...

## cover: test coverage of the library, with a per-function summary.
cover:
	$(GO) test -count=1 -coverpkg=./lifecycle/... -coverprofile=coverage.out ./...
	$(GO) tool cover -func=coverage.out | tail -n 25

## mutants: plant each known bug in the Manager and show the sim catches it.
mutants:
	$(GO) run ./internal/mutants -checks $(CHECKS)

## gremlins: mutation testing of the library with a fixed seed.
gremlins:
	RAPID_SEED=1 RAPID_NOFAILFILE=1 $(GO) run $(GREMLINS) unleash --workers 2 --timeout-coefficient 30 ./lifecycle
