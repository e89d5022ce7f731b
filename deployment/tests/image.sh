#!/usr/bin/env bash
# The image's installer, run by podman (Debian's) from the OCI archive `make image` wrote, against
# a scratch directory standing in for the node's /opt/cni/bin:
#
#   1. first install (no capabilities, read-only root: the DaemonSet's securityContext) over Go plugins (Debian's reference host-local, and a Go CNI binary standing
#      in for sriov-cni's sriov), next to someone else's plugin (bridge)
#   2. the same image again: nothing rewritten (inode and mtime of every name unchanged)
#   3. an upgrade (a second image whose sriov differs): only sriov rewritten, the Go one still kept
#   4. SIGKILL in the middle of a large copy, a reader hashing the name all along: the name holds
#      the whole old binary; the next run clears the partial temp file
#   5. the sriov-network-operator's init container, exactly: args ["--no-sleep"], privileged,
#      /host/opt/cni/bin and /host/etc/os-release mounted; and without --no-sleep, `podman stop`
#      ends the sleeping entrypoint at once with exit 0
#   6. uninstall: the Go binaries back byte for byte (the very inodes), ours gone, bridge untouched
#
# podman here: this machine's sandbox has a hybrid cgroup layout with a controller on the
# cgroup2 mount (crun refuses to start any container on it) and no CAP_SYS_RESOURCE (crun cannot
# raise rlimits). So the script runs in a private mount namespace without the cgroup2 mount,
# with --cgroups=disabled and the rlimits the shell already has. On a normal host these are
# no-ops. Storage is private (target/image/podman, vfs driver). No registry is contacted.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${NFV_IMAGE_TEST_NS:-}" ]; then
  exec env NFV_IMAGE_TEST_NS=1 unshare --mount --propagation private bash "$0" "$@"
fi
if mountpoint -q /sys/fs/cgroup/unified && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
  umount /sys/fs/cgroup/unified
fi

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
archive=$PWD/target/image/nfv-cni-${version}.oci.tar
image=localhost/nfv-cni:${version}
[ -f "$archive" ] || { echo "image-test: $archive missing: run make image" >&2; exit 1; }
for tool in podman buildah; do
  command -v $tool >/dev/null || {
    echo "image-test: installing $tool from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends $tool >/dev/null
  }
done
[ -x /usr/lib/cni/host-local ] || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends containernetworking-plugins >/dev/null

work=$(mktemp -d /tmp/nfv-image-test.XXXXXX)
store=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
P=(podman "${store[@]}" --cgroup-manager cgroupfs --events-backend file)
nproc=$(ulimit -Hu); [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
RUN=(--network none --cgroups=disabled --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")
cleanup() {
  if [ -n "${reader:-}" ]; then kill "$reader" 2>/dev/null || true; fi
  "${P[@]}" rm -af >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "image-test: ok - $*"; }
fail() { failed=$((failed + 1)); echo "image-test: FAILED - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

bin=$work/opt-cni-bin             # the node's /opt/cni/bin
mkdir -p "$bin" "$work/big"
cp /usr/lib/cni/host-local "$bin/host-local"      # Go: the reference host-local
cp /usr/lib/cni/macvlan "$bin/sriov"              # Go: a CNI binary standing in for sriov-cni's
cp /usr/lib/cni/bridge "$bin/bridge"              # not ours: must never be touched
go_host_local=$(sha256sum < "$bin/host-local") go_sriov=$(sha256sum < "$bin/sriov")
inode() { stat -c %i "$1"; }
go_sriov_ino=$(inode "$bin/sriov") go_hl_ino=$(inode "$bin/host-local")
bridge_stamp=$(stat -c '%i %Y %s' "$bin/bridge")
stamps() { for p in host-local sriov vdpa userspace; do stat -c "$p %i %.9Y" "$bin/$p"; done; }
names() { (cd "$bin" && for f in .[!.]* *; do [ -e "$f" ] && printf '%s ' "$f"; done); }
temp_of() { local f; for f in "$bin"/.nfv-cni/"$1".new-*; do [ -e "$f" ] && echo "$f"; done; return 0; }

echo "image-test: podman load -i $archive"
"${P[@]}" load -q -i "$archive" >/dev/null
install_run() { "${P[@]}" run --rm "${RUN[@]}" -v "$bin:/host/opt/cni/bin" "$@"; }

# 1. first install, with the DaemonSet's security context: no capabilities, read-only root
out=$(install_run --user 0 --cap-drop all --read-only --security-opt no-new-privileges "$image" install 2>&1) || true
printf '    %s\n' "${out//$'\n'/$'\n'    }"
shipped=$work/shipped; mkdir "$shipped"
tar -C "$shipped" -xzf "target/dist/nfv-cni-${version}-x86_64-linux.tar.gz" --strip-components=1
check "first install: the four plugins are the release's binaries" \
  bash -c "cd '$shipped' && for p in host-local sriov vdpa userspace; do cmp -s \$p '$bin/'\$p || exit 1; done"
check "first install: the Go host-local and sriov are kept for uninstall" \
  bash -c "[ \"\$(sha256sum < '$bin/.nfv-cni/host-local.previous')\" = '$go_host_local' ] && [ \"\$(sha256sum < '$bin/.nfv-cni/sriov.previous')\" = '$go_sriov' ]"
check "first install: the installed sriov runs on the host (static)" \
  bash -c "CNI_COMMAND=VERSION '$bin/sriov' </dev/null | grep -q '\"1.1.0\"'"
check "first install: bridge untouched, nothing else in the bin dir" \
  bash -c "[ \"\$(stat -c '%i %Y %s' '$bin/bridge')\" = '$bridge_stamp' ] && [ \"$(names)\" = '.nfv-cni bridge host-local sriov userspace vdpa ' ]"

# 2. the same image again
before=$(stamps); sleep 1
out=$(install_run "$image" install 2>&1)
check "repeat: every plugin reported unchanged" [ "$(grep -c ': unchanged' <<<"$out")" = 4 ]
check "repeat: no name rewritten (inode and mtime)" [ "$(stamps)" = "$before" ]

# 3. upgrade: a second image whose sriov differs (the same static binary with bytes appended)
cp "$shipped/sriov" "$work/sriov-v2"; printf '\nnfv-cni image test: v2\n' >> "$work/sriov-v2"
B=(buildah "${store[@]}")
ctr=$("${B[@]}" from --quiet "$image")
"${B[@]}" copy --quiet --chmod 0755 "$ctr" "$work/sriov-v2" /usr/bin/sriov >/dev/null
"${B[@]}" commit --quiet "$ctr" localhost/nfv-cni:test-v2 >/dev/null; "${B[@]}" rm "$ctr" >/dev/null
before=$(stamps)
out=$(install_run localhost/nfv-cni:test-v2 install 2>&1)
check "upgrade: sriov upgraded, the other three unchanged" \
  bash -c "grep -q 'sriov: upgraded' <<<'$out' && [ \$(grep -c ': unchanged' <<<'$out') = 3 ]"
check "upgrade: sriov is the new binary and still runs" \
  bash -c "cmp -s '$work/sriov-v2' '$bin/sriov' && CNI_COMMAND=VERSION '$bin/sriov' </dev/null | grep -q '\"1.1.0\"'"
check "upgrade: only sriov has a new inode" \
  [ "$(diff <(echo "$before") <(stamps) | grep -c '^>')" = 1 ]
check "upgrade: the kept binary is still the Go sriov" \
  [ "$(sha256sum < "$bin/.nfv-cni/sriov.previous")" = "$go_sriov" ]

# 4. SIGKILL in the middle of a large copy (sriov-cni's --sriov-bin-file names the big source)
v2=$(sha256sum < "$bin/sriov")
head -c $((768 << 20)) /dev/zero > "$work/big/sriov"
( while :; do sha256sum < "$bin/sriov" >> "$work/reads"; sleep 0.01; done ) & reader=$!
"${P[@]}" run --name crash -d "${RUN[@]}" -v "$bin:/host/opt/cni/bin" -v "$work/big:/big:ro" \
  "$image" --sriov-bin-file=/big/sriov --no-sleep >/dev/null
temp_size=0
for _ in $(seq 1 3000); do
  t=$(temp_of sriov)
  if [ -n "$t" ]; then temp_size=$(stat -c %s "$t" 2>/dev/null || echo 0); fi
  [ "$temp_size" -ge $((128 << 20)) ] && break
  sleep 0.01
done
pid=$("${P[@]}" inspect -f '{{.State.Pid}}' crash)
[ "$pid" -gt 0 ] && kill -KILL "$pid"
code=$("${P[@]}" wait crash); "${P[@]}" rm crash >/dev/null
kill "$reader"; wait "$reader" 2>/dev/null || true; reader=
partial=$(temp_of sriov)
partial_size=$([ -n "$partial" ] && stat -c %s "$partial" || echo 0)
echo "    killed (exit $code) with a temp file of $partial_size of $((768 << 20)) bytes; $(wc -l < "$work/reads") reads of sriov meanwhile"
check "crash: the installer was killed in the middle of the copy" \
  [ "$code" = 137 ] && [ "$partial_size" -gt 0 ] && [ "$partial_size" -lt $((768 << 20)) ]
check "crash: the name always held the whole old binary" \
  bash -c "[ \"\$(sort -u '$work/reads')\" = '$v2' ] && [ \"\$(sha256sum < '$bin/sriov')\" = '$v2' ]"
check "crash: no partial file under any plugin name" [ "$(names)" = '.nfv-cni bridge host-local sriov userspace vdpa ' ]
out=$(install_run localhost/nfv-cni:test-v2 install 2>&1)
check "crash: the next run finds everything in place and clears the temp file" \
  bash -c "[ \$(grep -c ': unchanged' <<<'$out') = 4 ] && [ -z '$(temp_of sriov)' ]"
rm -f "$work/big/sriov"
echo "reliability: {\"kind\":\"crash\",\"plugin\":\"nfv-install (podman, image)\",\"points\":[\"mid-copy\"],\"outcome\":\"SIGKILL at $partial_size of $((768 << 20)) bytes: the name kept the whole old binary; the next run cleared the temp file\"}" >&2

# 5. the sriov-network-operator's init container, and the sleeping entrypoint
out=$(install_run --privileged -v /etc/os-release:/host/etc/os-release:ro localhost/nfv-cni:test-v2 --no-sleep 2>&1); code=$?
check "operator's init container (args --no-sleep): exits 0 and handles only sriov" \
  bash -c "[ $code = 0 ] && grep -q 'sriov: unchanged' <<<'$out' && [ \$(grep -c nfv-install: <<<'$out') = 1 ]"
"${P[@]}" run --name sleeper -d "${RUN[@]}" -v "$bin:/host/opt/cni/bin" "$image" >/dev/null
sleep 1
state=$("${P[@]}" inspect -f '{{.State.Status}}' sleeper)
start=$(date +%s%N)
"${P[@]}" stop -t 20 sleeper >/dev/null
stop_ms=$(( ($(date +%s%N) - start) / 1000000 ))
code=$("${P[@]}" inspect -f '{{.State.ExitCode}}' sleeper); logs=$("${P[@]}" logs sleeper 2>&1)
"${P[@]}" rm sleeper >/dev/null
echo "    entrypoint without arguments: $state after 1 s; podman stop took ${stop_ms} ms, exit $code"
check "entrypoint without arguments: installs sriov (back to the first image's), sleeps, stops at SIGTERM with 0" \
  bash -c "[ '$state' = running ] && [ '$code' = 0 ] && [ $stop_ms -lt 10000 ] && grep -q 'sriov: upgraded' <<<'$logs' && cmp -s '$shipped/sriov' '$bin/sriov'"

# 6. uninstall
out=$(install_run "$image" uninstall 2>&1) || true
printf '    %s\n' "${out//$'\n'/$'\n'    }"
check "uninstall: the Go host-local and sriov are back byte for byte, as the very same files" \
  bash -c "[ \"\$(sha256sum < '$bin/host-local')\" = '$go_host_local' ] && [ \"\$(sha256sum < '$bin/sriov')\" = '$go_sriov' ] && [ \$(stat -c %i '$bin/sriov') = $go_sriov_ino ] && [ \$(stat -c %i '$bin/host-local') = $go_hl_ino ]"
check "uninstall: vdpa and userspace removed, .nfv-cni gone, bridge untouched" \
  bash -c "[ \"$(names)\" = 'bridge host-local sriov ' ] && [ \"\$(stat -c '%i %Y %s' '$bin/bridge')\" = '$bridge_stamp' ]"

echo "image-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
