# sockproxy lab. `make test` and `make bench` are the two commands a new user needs.
GO ?= go
PKGS ?= ./...

.PHONY: test fmt-check vet race norace bench-smoke bench fuzz soak e2e e2e-podman prove-splice image

## test: gofmt check, go vet, race tests, every benchmark once.
test: fmt-check vet race norace bench-smoke

fmt-check:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

race:
	$(GO) test -race -count=1 $(PKGS)

# The race detector turns raw socket I/O off (internal/sockio/rawio_race.go):
# the wire paths that use it are tested again without it.
norace:
	$(GO) test -count=1 ./internal/sockio ./internal/wire ./proxy

bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime=1x $(PKGS)

# The lab. COUNT rounds of -count=1 over the matrix; BENCH/COPY_BENCH select
# benchmarks of package bench / copy (COPY_BENCH=skip skips BenchmarkCopy).
COUNT ?= 10
BENCHTIME ?= 0.2s
BENCH ?= .
COPY_BENCH ?= .
QUICK_BENCH = Proxy/./shape=(ping|json|blob|chunked|upgrade)/(size=(1536B|1MiB|64B)|conc)
QUICK_COPY_BENCH = Copy/./size=(1536B|1MiB)

.PHONY: bench bench-quick compare profile caddy honesty

## image: the container image IMAGE (sockproxy:VERSION) with no registry access: the static binary is built
## here (CGO_ENABLED=0, -trimpath, VERSION stamped), then copied into scratch by `docker build` on build/image/.
## Honours DOCKER (the CLI) and DOCKER_HOST (any daemon, e.g. the e2e's sandboxed dockerd).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE ?= sockproxy:$(VERSION)
DOCKER ?= docker
image:
	rm -rf build/image && mkdir -p build/image/run
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o build/image/sockproxy ./cmd/sockproxy
	cp Dockerfile build/image/Dockerfile
	$(DOCKER) build --build-arg VERSION='$(VERSION)' -t '$(IMAGE)' build/image

## e2e: every docker command (CLI + Go SDK) through every proxy mode against a real, sandboxed dockerd
## (root, docker.io, busybox-static, docker-compose). `make test` runs them too when SOCKPROXY_E2E=1 (CI) or root can start dockerd.
e2e:
	SOCKPROXY_E2E=1 $(GO) test -race -count=1 -timeout 20m ./e2e/ -v

## e2e-podman: the e2e suite against Podman's Docker-compatible API service in its own temp storage
## (root, podman, docker CLI, busybox-static); prints how to install podman and passes without it.
e2e-podman:
	GO=$(GO) bash scripts/e2e-podman.sh

## bench: the lab's main job: Go benchmarks in 10 interleaved rounds, then the cross-process suite (10 rounds of
## closed-loop and fixed-rate runs, a rate sweep, memory on fresh processes, peers at defaults and tuned, the
## ceilings), benchstat, goals with 95% intervals, plots -> results/<date>-<sha>/ (about 35 minutes on 2 cores).
bench:
	COUNT='$(COUNT)' BENCHTIME='$(BENCHTIME)' BENCH='$(BENCH)' COPY_BENCH='$(COPY_BENCH)' bash scripts/bench.sh

## bench-quick: fewer sizes, 3 rounds, a short suite of stdlib and the default against relay, HAProxy and
## tuned nginx (under 4 minutes). Its intervals are wide: a smoke test of the lab, not a result.
bench-quick:
	COUNT=3 BENCHTIME=0.2s BENCH='$(QUICK_BENCH)' COPY_BENCH='$(QUICK_COPY_BENCH)' \
		SUITE_ROUNDS=3 SUITE_CLOSED=ping:16:d=300ms,chunked:64MiB:4:n=4,events:1:n=100:every=10ms \
		SUITE_FIXED=ping:256:rate=2000:d=500ms,chunked:64MiB:16:rate=3:d=1s,load-chunked:64MiB:16:rate=3:d=1s \
		SUITE_SWEEP=ping:256:d=500ms SWEEP_RATES=1000,5000,15000 SWEEP_ROUNDS=1 \
		STREAM_COUNTS=500,1000 MEM_REPEATS=1 SETTLE=500ms STREAMS=200 \
		SUITE_SOCKPROXIES=stdlib,splice-chunked-raw,lean-raw SUITE_PEERS=relay,haproxy,nginx-tuned SOCKETPAIR=256MiB HONESTY=0 \
		bash scripts/bench.sh

## honesty: loadgen against wrk on the same sockproxy, interleaved, raw logs kept (results/<date>-<sha>-honesty/).
honesty:
	GO=$(GO) bash scripts/honesty.sh

## caddy: install Caddy (pinned) into $HOME/.cache/sockproxy-lab/bin for the suite's caddy target.
caddy:
	GO=$(GO) bash scripts/caddy.sh

## compare OLD=dir NEW=dir: benchstat between two results folders.
compare:
	@test -n "$(OLD)" -a -n "$(NEW)" || { echo "usage: make compare OLD=results/A NEW=results/B"; exit 2; }
	bash scripts/compare.sh '$(OLD)' '$(NEW)'

## profile BENCH=pattern: CPU and memory profiles plus pprof -top summaries.
profile:
	bash scripts/profile.sh '$(BENCH)'

## fuzz: every fuzz target of FUZZ_PKGS for FUZZTIME each.
FUZZTIME ?= 30s
FUZZ_PKGS ?= ./proxy ./copy ./dockerapi ./policy ./internal/upstream ./internal/loadgen
fuzz:
	@for pkg in $(FUZZ_PKGS); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz: $$pkg $$f for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 50x $$pkg || exit 1; \
		done; \
	done

## prove-splice: splice(2) calls per request kind under strace, per STRATEGIES (needs strace).
prove-splice:
	GO=$(GO) bash scripts/prove-splice.sh

## soak: SOAK_D (default 10m) of loadgen mix + 1000 idle /events + SOAK_SLOW (default 10) clients reading 1 byte/s, through sockproxy; CSV of RSS/threads/fds/streams.
SOAK_D ?= 10m
soak:
	SOAK_D='$(SOAK_D)' bash scripts/soak.sh
