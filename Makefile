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

.PHONY: all build deps test unit conformance goldens-check lab lab-shell ovs-e2e demo bench install lint clean reliability static dist image deploy-check multus-replay runtime-e2e fuzz fuzz-short sizes

all: build

## build: release binaries of every plugin, with their sizes
build:
	@echo '== build: release binaries of every plugin (cargo build --release; minutes cold, seconds warm)'
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
test: deps build unit fuzz-short goldens-check conformance lab ovs-e2e deploy-check multus-replay runtime-e2e demo-selftest
	@echo '== test: every stage passed: $^'

## unit: cargo's tests of every crate (unit, kernel tests in fresh netns, differential tests)
unit: deps
	@echo '== unit: cargo test for every crate (unit, netns kernel tests, differential tests, the config and troubleshooting doc checks), then the crash tests'
	$(CARGO) test --locked --workspace --exclude nfv-conformance
	# the crash tests: each plugin killed (SIGKILL) at each ADD step through test-only hooks, then DEL
	$(CARGO) test --locked -p sriov --features test-hooks --test crash
	$(CARGO) test --locked -p vdpa --features test-hooks --test crash
	$(CARGO) test --locked -p userspace --features test-hooks --test crash
	$(CARGO) test --locked -p host-local --features test-hooks --test crash

## fuzz: every fuzz target for FUZZ_SECONDS each (default 60), summary in target/fuzz/summary.json
# Needs nightly and cargo-fuzz (installed when missing); without them it says so and runs the
# target bodies over testdata/fuzz/ as plain tests (docs/fuzzing.md).
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

## fuzz-short: the CI-sized pass, 10 s per target
fuzz-short:
	@echo '== fuzz-short: every fuzz target for 10 s (about 2 min)'
	FUZZ_SECONDS=10 bash fuzz/run.sh

## goldens-check: the result-conversion goldens still match the reference Go library
goldens-check: deps
	@echo '== goldens-check: the result-conversion goldens against the reference Go library (seconds)'
	@tmp=$$(mktemp -d); cp -r testdata/results/input $$tmp/; \
	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$$tmp/gocache go run conformance/goldens/main.go $$tmp; \
	rm -rf $$tmp/input $$tmp/gocache; \
	if diff -r $$tmp testdata/results --exclude=input >/dev/null; then echo "goldens: reference output unchanged"; \
	else diff -r $$tmp testdata/results --exclude=input | head -40; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp

## conformance: black-box tiers against the release binaries (netns, malformed input, libcni)
conformance: deps build
	@echo '== conformance: netns tier per cniVersion, malformed input, the libcni driver, against the release binaries'
	NFV_CNI_BIN_DIR=$(CURDIR)/$(RELEASE_DIR) $(CARGO) test --locked -p nfv-conformance

## lab: every case in the emulated SR-IOV lab (QEMU igb guest), in both boots (with a vIOMMU, and
## without one: vfio no-IOMMU mode), plus the harness self-test
lab: build
	@echo '== lab: booting the viommu guest, then the noiommu one, every case in each (warm: about 3.5 min on a quiet machine, up to 8 under load; a cold setup adds 2-3 min)'
	LAB_VARIANT=all bash conformance/lab/lab.sh run
	@echo '== lab: the harness self-test, two short boots (about 2 min)'
	bash conformance/lab/selftest.sh

## lab-shell: the lab guest with an interactive shell
lab-shell: build
	bash conformance/lab/lab.sh shell

## ovs-e2e: real OVS-DPDK and dpdk-testpmd pods attached by the userspace plugin
ovs-e2e: build
	@echo '== ovs-e2e: OVS-DPDK and two dpdk-testpmd pods through the userspace plugin (about 10 s)'
	@if [ -f conformance/ovs/e2e.sh ]; then bash conformance/ovs/e2e.sh; else echo "ovs-e2e: no userspace plugin yet"; fi

## demo: the main job, for a person: step by step on the lab's VFs and vDPA devices and on OVS-DPDK,
## the NAD, Multus's call, the result, the pod, the PF's VF line, traffic, DEL, the node as before
## (DEMO_PAUSE=1: Enter between steps; DEMO_ONLY=sriov,vfio,vdpa,ovs: some parts; see conformance/demo.sh)
demo: deps build
	bash conformance/demo.sh

## demo-selftest: the demo's own test (no lab boot, about 10 s): the Multus calls it shows are the
## replay tier's byte for byte; a failing step fails it, skips what needs it, tears down, leaves nothing
.PHONY: demo-selftest
demo-selftest: deps build
	bash conformance/demo/selftest.sh

## reliability: regenerate docs/reliability.md from a bounded fuzz pass (FUZZ_SECONDS per
## target), every crash test and storm (their `reliability:` lines) and every hostile case of
## testdata/hostile/*.tsv run by name (about 25 minutes with the default fuzz time)
RELIABILITY_TESTS := \
  "-p sriov --features test-hooks --test crash" "-p vdpa --features test-hooks --test crash" \
  "-p userspace --features test-hooks --test crash" "-p host-local --features test-hooks --test crash" \
  "-p host-local --test concurrency" "-p sriov --test races" "-p vdpa --test races" \
  "-p nfv-ovsdb --test hostile" "-p nfv-installer --test binary" \
  "-p nfv-conformance --test one_device_two_plugins"
reliability: deps build
	@mkdir -p target/reliability; : > target/reliability/lines.txt
	$(MAKE) fuzz
	@for t in $(RELIABILITY_TESTS); do \
	  echo "reliability: cargo test $$t"; \
	  $(CARGO) test --locked $$t -- --nocapture 2>&1 | tee -a target/reliability/lines.txt | grep -E '^test result' ; \
	done
	bash conformance/ovs/e2e.sh 2>&1 | tee -a target/reliability/lines.txt | grep -E 'reliability: |passed'
	bash conformance/reliability/hostile.sh > target/reliability/hostile.tsv
	python3 conformance/reliability/report.py docs/reliability.md

## bench: every plugin beside the Go plugin a user would run and beside its floor (ADD+DEL
## latency, p90/p99, ratios; binary sizes and peak RSS of the shipped static build), written to
## docs/benchmarks.{md,json,svg} and README's bench section (bench/run.sh; about 15 min)
bench: deps static
	bash bench/run.sh

## static: the plugins and nfv-install, release, glibc linked in (run anywhere: any image, any
## node libc). Only the target's code gets the flag: build scripts and proc-macros stay dynamic.
STATIC_TARGET := x86_64-unknown-linux-gnu
# Non-PIE (relocation-model=static): no start-up self-relocation and no .rela.dyn. Why, and
# why not lld's --icf=all: docs/design.md, "Binary size and memory".
STATIC_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static
static:
	@echo '== static: the plugins, nfv-install and nfvctl with glibc linked in (cold: 4.5 min on a quiet machine, 11 min under load)'
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release --locked --target $(STATIC_TARGET) \
	  $(addprefix -p ,$(PLUGINS)) -p nfv-installer -p nfvctl --bins

## dist: target/dist/nfv-cni-<version>-x86_64-linux.tar.gz and SHA256SUMS (binaries checked static)
dist: static
	@echo '== dist: checking the binaries are static, packing the tarball and SHA256SUMS'
	bash deployment/dist.sh

## sizes: the shipped (static) binaries' sizes and peak RSS per call beside the Go plugins,
## against issue #14's targets (deployment/sizes.sh; root for the RSS part)
sizes: deps static
	bash deployment/sizes.sh

## image: target/image/nfv-cni-<version>.oci.tar, FROM scratch, built by buildah with no registry
image: dist
	@echo '== image: FROM scratch with buildah, no registry, into an OCI archive (under a minute)'
	bash deployment/image.sh

## deploy-check: overlays rendered, manifests validated offline, every example NAD through the
## plugins, the image's installer under podman (deployment/tests/run.sh)
deploy-check: image
	@echo '== deploy-check: overlays, manifests, every example NAD through the plugins, the installer under podman (about 40 s once the image is built)'
	bash deployment/tests/run.sh

## multus-replay: pods and NADs turned into exactly what Multus (v4, libcni v1.2) hands each
## delegate, run through the release binaries on a scratch node (fake sysfs, veths, real
## OVS-DPDK), the network-status annotation and DEL from Multus's cache checked byte for byte
## (testdata/multus/README.md); libcni's part checked against Debian's libcni (about 15 s)
multus-replay: deps build
	@echo '== multus-replay: NADs and pods replayed as Multus hands them to each plugin (about 15 s)'
	NFV_CNI_BIN_DIR=$(CURDIR)/$(RELEASE_DIR) bash conformance/multus/run.sh

## runtime-e2e: our plugins driven by a real container runtime's CNI support: podman (CNI
## backend) on a bridge + our host-local conflist, and OVS-DPDK: two containers running
## dpdk-testpmd on the vhost-user sockets our userspace plugin made (conformance/runtime)
runtime-e2e: deps build
	@echo '== runtime-e2e: podman on our conflist, then testpmd containers on our vhost-user sockets'
	NFV_CNI_BIN_DIR=$(CURDIR)/$(RELEASE_DIR) bash conformance/runtime/run.sh

## install: atomically replace the plugins in DESTDIR (default /opt/cni/bin)
install: build
	install -d $(DESTDIR)
	@for p in $(PLUGINS); do \
	  if [ -f $(RELEASE_DIR)/$$p ]; then \
	    install -m 0755 $(RELEASE_DIR)/$$p $(DESTDIR)/.$$p.new && mv -f $(DESTDIR)/.$$p.new $(DESTDIR)/$$p && echo "installed $(DESTDIR)/$$p"; \
	  fi; \
	done

## lint: formatting, clippy with warnings as errors, no plugin depending on another plugin (what two
## plugins share is a crate under crates/), and no async runtime in any plugin
lint: deps
	@$(CARGO) metadata --locked --format-version 1 --no-deps | python3 -c '$(PLUGIN_PAIRS_PY)'
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

# Reads `cargo metadata`: every dependency (normal, dev or build) of a package under plugins/ on
# a package under plugins/ is named, and lint fails.
PLUGIN_PAIRS_PY := import json, os, sys; \
  m = json.load(sys.stdin); \
  plugins = os.path.join(m["workspace_root"], "plugins") + os.sep; \
  under = lambda p: p is not None and os.path.realpath(p).startswith(plugins); \
  pairs = [(p["name"], d["name"], d["kind"] or "normal") for p in m["packages"] if under(p["manifest_path"]) for d in p["dependencies"] if under(d.get("path"))]; \
  sys.exit("\n".join(f"lint: plugin {a} depends on plugin {b} ({k} dependency): plugins are leaves, move what both use into a crate under crates/" for a, b, k in pairs)) if pairs else print("lint: no plugin depends on another plugin")

clean:
	$(CARGO) clean
