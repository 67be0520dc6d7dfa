# headend: the two commands a new engineer needs are `make run` and `make test`.
GO        ?= go
FUZZTIME  ?= 3s     # per fuzz target in `make test`
FUZZLONG  ?= 10m    # per fuzz target in `make fuzz`
BENCHTIME ?= 1s

.PHONY: faults run frames sim test vet lint fmt-check tidy-check unit fuzz-short fuzz bench build clean influxd chromium etcd postgres nats eval

## run: the demo: metersim's demo fleet and the collector reading it (Ctrl-C stops both)
run: build
	./scripts/run-demo.sh

## frames: decode the sample frames, for a person and as JSON
frames: build
	./bin/headend decode --text < testdata/frames/sample.hex
	./bin/headend decode < testdata/frames/sample.hex

## sim: the simulated field on the demo scenario (Ctrl-C to stop)
sim: build
	./bin/metersim --scenario testdata/scenarios/demo.yaml

build:
	$(GO) build -o bin/ ./cmd/...

## test: vet, formatting, the race-enabled tests, and a short run of every fuzz target
test: lint unit fuzz-short

lint: vet fmt-check tidy-check

## tidy-check: go.mod and go.sum are what `go mod tidy` makes (direct imports not marked indirect)
tidy-check:
	$(GO) mod tidy -diff

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## unit: every package's tests; store/influx runs against a real InfluxDB 1.8.10 that
## `make influxd` builds once into ~/.cache/headend (the tests start and stop their own server)
## the dashboard's browser tests run Debian's chromium, which `make chromium` installs
## cluster/ runs against Debian's etcd-server 3.4, which `make etcd` installs; the PostgreSQL
## stores against Debian's postgresql-15, which `make postgres` installs
unit: influxd chromium etcd postgres nats
	$(GO) test -race -count=1 ./...
	@echo "the simulation-heavy tests (skipped under the race detector):"
	$(GO) test -count=1 ./analysis/... ./api/loss/ ./api/billing/ ./api/web/ ./api/review/ ./api/mapapi/... ./api/manage/ ./cmd/headend/
	@echo "the cluster run (three serve --cluster nodes, etcd, three NATS servers, InfluxDB, PostgreSQL, 20 TCP concentrators and 40 dialling 1376.1 terminals, billing feed; about 3 minutes):"
	$(GO) test -count=1 -run TestClusterFailover ./sim/failover/
	@echo "the fault-injection run (make faults; about 3 minutes, root: it mounts a tmpfs); it fails on any read lost or duplicated:"
	$(GO) test -count=1 -run TestFaults ./sim/faults/

influxd:
	@./scripts/influxd.sh install

chromium:
	@./scripts/chromium.sh install

etcd:
	@./scripts/etcd.sh install

## postgres: Debian's postgresql-15 for the PostgreSQL results store's tests (they start their own servers)
postgres:
	@./scripts/postgres.sh install

## nats: Debian's nats-server, which store/jetstream's tests run as a 3-server JetStream cluster
nats:
	@./scripts/nats.sh install

## faults: the fault-injection run of the demo fleet (disk full, SIGKILL, host clock ahead,
## every link's far end down and up); prints lost= and duplicated= (root: it mounts a tmpfs)
faults:
	$(GO) test -count=1 -v -run TestFaults ./sim/faults/

## eval: the detection scored as the daemon runs (one analysis run each morning) on varied
## 30-day fleets of held-out seeds; EVAL_SCENARIOS=N (default 6, at most 30) scores more,
## EVAL_SEEDS=tuning the seeds to tune on. The table goes to BENCHMARKS.md.
EVAL_SCENARIOS ?= 6
eval:
	HEADEND_EVAL=1 EVAL_SCENARIOS=$(EVAL_SCENARIOS) $(GO) test -count=1 -timeout 60m -run 'TestVariedEval' ./analysis/ -v | grep -v '^ *$$'

## fuzz-short / fuzz: every Fuzz target in the module, found with `go test -list`
fuzz-short:
	@FUZZTIME=$(FUZZTIME) FUZZMINIMIZE=0 ./scripts/fuzz-all.sh

fuzz:
	@FUZZTIME=$(FUZZLONG) ./scripts/fuzz-all.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

clean:
	rm -rf bin
