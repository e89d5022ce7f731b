#!/usr/bin/env bash
# make image: the node image, FROM scratch, built with buildah without any registry, written
# as an OCI archive:
#
#   target/image/nfv-cni-<version>.oci.tar     (load with: podman load -i ..., skopeo copy oci-archive:...)
#
#   /usr/bin/{host-local,sriov,vdpa,userspace}  the static plugins (dist's binaries)
#   /usr/bin/nfv-install                        the static installer
#   /usr/bin/nfvctl                             the operator's read-only view (docs/nfvctl.md)
#   /entrypoint.sh -> /usr/bin/nfv-install      ENTRYPOINT, as in the sriov-cni image
#   /usr/share/nfv-cni/{VERSION,SHA256SUMS}
#
# buildah keeps its storage under target/image/ (vfs driver: no overlay or fuse needed), so
# the build touches nothing of the machine's own container storage.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'image: %s\n' "$*"; }

STATIC_DIR=${STATIC_DIR:-target/x86_64-unknown-linux-gnu/release}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
tarball=target/dist/nfv-cni-${version}-x86_64-linux.tar.gz
work=$PWD/target/image
archive=$work/nfv-cni-${version}.oci.tar
tag=localhost/nfv-cni:${version}

if ! command -v buildah >/dev/null; then
  say "installing buildah from Debian"
  apt-get -o DPkg::Lock::Timeout=600 -q update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends buildah >/dev/null
fi
[ -f "$tarball" ] || { echo "image: $tarball missing: run make dist" >&2; exit 1; }

say "unpacking $tarball (the binaries the image ships are the release's, byte for byte)"
rm -rf "$work/rootfs" "$work/storage" "$work/run"
mkdir -p "$work/rootfs/usr/bin" "$work/rootfs/usr/share/nfv-cni"
stage=$(mktemp -d)
trap 'rm -rf "$stage"; buildah "${B[@]}" rm "${ctr:-none}" >/dev/null 2>&1 || true' EXIT
tar -C "$stage" -xzf "$tarball"
src=$stage/nfv-cni-${version}-x86_64-linux
(cd "$src" && sha256sum -c --quiet SHA256SUMS)
for b in host-local sriov vdpa userspace nfv-install nfvctl; do
  install -m 0755 "$src/$b" "$work/rootfs/usr/bin/$b"
done
install -m 0644 "$src/VERSION" "$src/SHA256SUMS" "$work/rootfs/usr/share/nfv-cni/"
ln -s /usr/bin/nfv-install "$work/rootfs/entrypoint.sh"
find "$work/rootfs" -exec touch -h -d "@$epoch" {} +

B=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
say "buildah: FROM scratch, copying the root filesystem"
ctr=$(buildah "${B[@]}" from --quiet scratch)
buildah "${B[@]}" copy --quiet "$ctr" "$work/rootfs/" / >/dev/null
buildah "${B[@]}" config \
  --entrypoint '["/entrypoint.sh"]' --cmd '' --workingdir / \
  --os linux --arch amd64 \
  --label io.k8s.display-name="nfv-cni plugins (sriov, vdpa, userspace, host-local)" \
  --label org.opencontainers.image.title=nfv-cni \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$commit" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  "$ctr"
rm -f "$archive"
say "buildah commit -> oci-archive:$archive ($tag)"
buildah "${B[@]}" commit --quiet --timestamp "$epoch" --format oci --disable-compression=false "$ctr" "oci-archive:$archive:$tag" >/dev/null
buildah "${B[@]}" rm "$ctr" >/dev/null; ctr=
rm -rf "$work/storage" "$work/run"
(cd "$work" && sha256sum "$(basename "$archive")" > "$(basename "$archive").sha256")
say "$archive ($(stat -c %s "$archive") bytes), sha256 $(cut -d' ' -f1 < "$archive.sha256")"
