# nfv-cni: one entry point for people and CI. `make test` does all set-up on a fresh
# Debian bookworm machine (root): apt packages, builds, the netns and libcni tiers, the
# emulated SR-IOV lab and the OVS-DPDK end-to-end test.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
DESTDIR ?= /opt/cni/bin
PLUGINS := host-local sriov vdpa userspace
RELEASE_DIR := target/release
APT := apt-get -o DPkg::Lock::Timeout=600 -q
# What the host-side tiers need: Go + Debian's libcni for the runtime driver and the result
# goldens, the reference plugins as differential peers, iproute2 for namespaces.
APT_PACKAGES := golang-go golang-github-appc-cni-dev containernetworking-plugins iproute2 util-linux procps

.PHONY: all build deps test unit conformance goldens-check lab lab-shell ovs-e2e demo bench install lint clean fuzz fuzz-short

all: build

## build: release binaries of every plugin, with their sizes
build:
	$(CARGO) build --release --locked --workspace --bins
	@for p in $(PLUGINS); do \
	  if [ -f $(RELEASE_DIR)/$$p ]; then printf '%-12s %8d bytes\n' $$p $$(stat -c %s $(RELEASE_DIR)/$$p); fi; \
	done

## deps: the apt packages the host-side test tiers use (installed only when missing)
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; $(APT) update >/dev/null; \
	  DEBIAN_FRONTEND=noninteractive $(APT) install -y --no-install-recommends $$missing >/dev/null; \
	fi

## test: everything, as CI runs it
test: deps build unit fuzz-short goldens-check conformance lab ovs-e2e

## unit: cargo's tests of every crate (unit, kernel tests in fresh netns, differential tests)
unit: deps
	$(CARGO) test --locked --workspace --exclude nfv-conformance
	# the crash test: sriov killed (SIGKILL) at each ADD step through test-only hooks, then DEL
	$(CARGO) test --locked -p sriov --features test-hooks --test crash
	$(CARGO) test --locked -p vdpa --features test-hooks --test crash

## fuzz: every fuzz target for FUZZ_SECONDS each (default 60), summary in target/fuzz/summary.json
# Needs nightly and cargo-fuzz (installed when missing); without them it says so and runs the
# target bodies over testdata/fuzz/ as plain tests (docs/fuzzing.md).
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

## fuzz-short: the CI-sized pass, 10 s per target
fuzz-short:
	FUZZ_SECONDS=10 bash fuzz/run.sh

## goldens-check: the result-conversion goldens still match the reference Go library
goldens-check: deps
	@tmp=$$(mktemp -d); cp -r testdata/results/input $$tmp/; \
	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$$tmp/gocache go run conformance/goldens/main.go $$tmp; \
	rm -rf $$tmp/input $$tmp/gocache; \
	if diff -r $$tmp testdata/results --exclude=input >/dev/null; then echo "goldens: reference output unchanged"; \
	else diff -r $$tmp testdata/results --exclude=input | head -40; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp

## conformance: black-box tiers against the release binaries (netns, malformed input, libcni)
conformance: deps build
	NFV_CNI_BIN_DIR=$(CURDIR)/$(RELEASE_DIR) $(CARGO) test --locked -p nfv-conformance

## lab: every case in the emulated SR-IOV lab (QEMU igb guest), plus the harness self-test
lab: build
	bash conformance/lab/lab.sh run
	bash conformance/lab/selftest.sh

## lab-shell: the lab guest with an interactive shell
lab-shell: build
	bash conformance/lab/lab.sh shell

## ovs-e2e: real OVS-DPDK and dpdk-testpmd pods attached by the userspace plugin
ovs-e2e: build
	@if [ -f conformance/ovs/e2e.sh ]; then bash conformance/ovs/e2e.sh; else echo "ovs-e2e: no userspace plugin yet"; fi

## demo: the main job: attach real interfaces to pods (libcni, the lab's VFs, OVS-DPDK)
demo: deps build
	bash conformance/demo.sh

## bench: ADD/DEL latency of ours and the reference side by side, with ratios
bench: deps build
	# host-local: ours and the reference at 10, 1,000, 10,000 and 60,000 leases (about 5 min)
	$(CARGO) bench --locked -p host-local --bench add_del
	# userspace: ADD+DEL against real OVS-DPDK, ours and the ovs-vsctl sequence of the Intel plugin
	bash conformance/ovs/bench.sh
	# sriov: ADD/DEL with a veth standing in for the VF (no reference sriov-cni here)
	$(CARGO) bench --locked -p sriov --bench add_del
	# vdpa: vhost (nothing moves) and virtio (a veth stands in for the virtio netdev)
	$(CARGO) bench --locked -p vdpa --bench add_del

## install: atomically replace the plugins in DESTDIR (default /opt/cni/bin)
install: build
	install -d $(DESTDIR)
	@for p in $(PLUGINS); do \
	  if [ -f $(RELEASE_DIR)/$$p ]; then \
	    install -m 0755 $(RELEASE_DIR)/$$p $(DESTDIR)/.$$p.new && mv -f $(DESTDIR)/.$$p.new $(DESTDIR)/$$p && echo "installed $(DESTDIR)/$$p"; \
	  fi; \
	done

## lint: formatting, clippy with warnings as errors, and no async runtime in any plugin
lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CARGO) clippy --locked -p sriov -p vdpa --all-targets --features sriov/test-hooks,vdpa/test-hooks -- -D warnings
	@out=$$(gofmt -l conformance/libcni conformance/goldens); [ -z "$$out" ] || { echo "gofmt: $$out"; exit 1; }
	@for d in conformance/libcni conformance/goldens; do GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$$(mktemp -d) go vet ./$$d; done
	@for p in $(PLUGINS); do \
	  [ -d plugins/$$p ] || continue; \
	  if $(CARGO) tree --locked -p $$p -e normal --prefix none | grep -E '^(tokio|async-std|smol|async-executor|futures-executor) ' ; then \
	    echo "lint: plugin $$p links an async runtime: one-shot binaries use blocking sockets (STYLE.md 1)"; exit 1; \
	  fi; \
	done; echo "lint: no plugin links an async runtime"

clean:
	$(CARGO) clean
