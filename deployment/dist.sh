#!/usr/bin/env bash
# make dist: the release tarball of the static binaries (built by `make static`), with
# SHA256SUMS inside (per binary) and beside it (for the tarball).
#
#   target/dist/nfv-cni-<version>-x86_64-linux.tar.gz
#   target/dist/SHA256SUMS
#
# The tarball is reproducible for one commit and one set of binaries: sorted names, owner 0,
# every mtime the commit's time, gzip without a timestamp.
set -euo pipefail
cd "$(dirname "$0")/.."

STATIC_DIR=${STATIC_DIR:-target/x86_64-unknown-linux-gnu/release}
# nfvctl: the operator's read-only view of a node (docs/nfvctl.md); not a plugin, never
# installed into the CNI bin dir.
BINARIES=(host-local sriov vdpa userspace nfv-install nfvctl)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | head -1)
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
name="nfv-cni-${version}-x86_64-linux"
out=target/dist

say() { printf 'dist: %s\n' "$*"; }

command -v file >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends file >/dev/null
say "checking that every binary in $STATIC_DIR is statically linked"
for b in "${BINARIES[@]}"; do
  f=$STATIC_DIR/$b
  [ -x "$f" ] || { echo "dist: $f missing: run make static" >&2; exit 1; }
  kind=$(file -b "$f")
  case $kind in
    *"static-pie linked"* | *"statically linked"*) ;;
    *) echo "dist: $b is not static: $kind" >&2; exit 1 ;;
  esac
  # ldd exits non-zero on a static binary; what it prints is what matters.
  if ldd "$f" 2>&1 | grep -q '=>'; then
    echo "dist: $b loads shared libraries:" >&2; ldd "$f" >&2; exit 1
  fi
  printf 'dist:   %-12s %8d bytes  %s\n' "$b" "$(stat -c %s "$f")" "${kind%%,*}, $(echo "$kind" | grep -o 'static[a-z-]* linked')"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
for b in "${BINARIES[@]}"; do install -m 0755 "$STATIC_DIR/$b" "$stage/$name/$b"; done
{
  echo "nfv-cni $version"
  echo "commit $commit${dirty:+ (with uncommitted changes)}"
  echo "target x86_64-unknown-linux-gnu, glibc linked statically (-C target-feature=+crt-static)"
} > "$stage/$name/VERSION"
cat > "$stage/$name/INSTALL" <<'TXT'
On a node, as root, from this directory:

  ./nfv-install install --cni-bin-dir=/opt/cni/bin --from=.

puts host-local, sriov, vdpa and userspace into /opt/cni/bin (temp file and rename; nothing
rewritten when unchanged; the binary replaced the first time is kept in
/opt/cni/bin/.nfv-cni/<name>.previous). `./nfv-install uninstall --cni-bin-dir=/opt/cni/bin`
puts those back. --plugins=sriov,host-local limits either to some plugins.
In a cluster, use the image and DaemonSet instead: deployment/README.md in the repository.

./nfvctl status (as root on the node) lists every attachment the node holds and what drifted;
./nfvctl gc --dry-run --valid FILE shows what GC would tear down. It changes nothing, and is
not installed into /opt/cni/bin (it is not a plugin). docs/nfvctl.md in the repository.
TXT
(cd "$stage/$name" && sha256sum "${BINARIES[@]}" > SHA256SUMS)
find "$stage/$name" -exec touch -h -d "@$epoch" {} +

mkdir -p "$out"
rm -f "$out/$name.tar.gz" "$out/SHA256SUMS"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
  -cf - "$name" | gzip -n -9 > "$out/$name.tar.gz"
(cd "$out" && sha256sum "$name.tar.gz" > SHA256SUMS)
say "$out/$name.tar.gz ($(stat -c %s "$out/$name.tar.gz") bytes)"
say "$(cat "$out/SHA256SUMS")"
