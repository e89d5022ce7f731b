#!/bin/bash
# Lab setup: everything the emulated SR-IOV lab needs, from Debian packages only, cached.
#
# Sourced by lab.sh (LAB_* variables set there). Idempotent: a warm run checks stamps and
# installed packages and touches neither the network nor the compiler.
#
# Cache layout under $LAB_CACHE (default <repo>/.lab-cache):
#   kernel.release             the guest kernel release last resolved ("6.12.95+deb12-amd64 6.12.95-1~bpo12+1")
#   debs/                      downloaded .deb files (image, headers, kbuild, source)
#   kernel/<release>/          unpacked linux-image with modules.dep, and .ready when complete
#   vdpasim/<release>/         vringh.ko vdpa_sim.ko vdpa_sim_net.ko built out of tree, and .ready
#   vfio-noiommu/<release>/    vfio.ko vfio_iommu_type1.ko vfio-pci-core.ko vfio-pci.ko built out of tree
#                              with CONFIG_VFIO_NOIOMMU (Debian builds vfio without it), and .ready

APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
# Host packages: the emulator (backports, QEMU 10 for -device igb) and what builds the guest image,
# DPDK's testpmd with the PMDs the guest's apps use (igbvf is in librte-net-e1000-23; the default
# mempool ops are a driver of their own) and setpriv (util-linux) to run an app with a pod's
# capabilities only.
LAB_HOST_PKGS=(busybox-static iproute2 jq kmod xz-utils cpio gzip make gcc bc
  dpdk-dev librte-net-e1000-23 librte-mempool-ring23 util-linux)

lab_log() { echo "lab: $*" >&2; }
lab_die() { echo "lab: error: $*" >&2; exit 1; }

# The machine's own Debian mirror with the bookworm-backports suite added, once.
lab_ensure_backports() {
  if grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return 1
  fi
  local uri
  uri=$(grep -hm1 -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hm1 -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}')
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  lab_log "adding bookworm-backports from $uri"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" > /etc/apt/sources.list.d/nfv-cni-lab-backports.sources
  return 0
}

LAB_APT_UPDATED=0
lab_apt_update() {
  [ "$LAB_APT_UPDATED" = 1 ] && return 0
  lab_log "apt-get update"
  "${APT[@]}" update >/dev/null || lab_die "apt-get update failed"
  LAB_APT_UPDATED=1
}

# QEMU >= 10 (the igb device with working VFs); Debian's bookworm has 7.2, backports has 10.
lab_qemu_ok() {
  command -v qemu-system-x86_64 >/dev/null || return 1
  local major
  major=$(qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p')
  [ "${major:-0}" -ge 10 ]
}

lab_install_packages() {
  local missing=() p
  for p in "${LAB_HOST_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ! lab_qemu_ok; then
    lab_apt_update
    lab_log "installing qemu-system-x86 from bookworm-backports"
    "${APT[@]}" install -y --no-install-recommends -t bookworm-backports qemu-system-x86 >/dev/null \
      || lab_die "cannot install qemu-system-x86 from bookworm-backports"
    lab_qemu_ok || lab_die "qemu-system-x86_64 is not version 10 or later after install"
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    lab_apt_update
    lab_log "installing ${missing[*]}"
    "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null \
      || lab_die "cannot install ${missing[*]}"
  fi
}

# The current backports kernel: whatever linux-image-amd64 in bookworm-backports depends on.
# Prints "<release> <package version>", e.g. "6.12.95+deb12-amd64 6.12.95-1~bpo12+1".
lab_resolve_kernel() {
  local dep
  dep=$(apt-cache show linux-image-amd64/bookworm-backports 2>/dev/null \
        | sed -n 's/^Depends: .*linux-image-\([^ ]*\) (= \([^)]*\)).*/\1 \2/p' | head -n1)
  [ -n "$dep" ] && echo "$dep"
}

lab_download() {  # lab_download <pkg=version>... into $LAB_CACHE/debs
  mkdir -p "$LAB_CACHE/debs"
  chown _apt "$LAB_CACHE/debs" 2>/dev/null || true
  (cd "$LAB_CACHE/debs" && "${APT[@]}" download "$@" >/dev/null)
}

lab_first() {  # lab_first GLOB...: the first existing path (in the sort order given)
  local f
  for f in "$@"; do [ -e "$f" ] && { echo "$f"; return 0; }; done
  return 1
}

lab_deb() {  # lab_deb <package> <version>: path of the cached .deb (apt encodes ':' as %3a)
  lab_first "$LAB_CACHE/debs/$1_${2//:/%3a}"_*.deb
}

lab_fetch() {  # lab_fetch <package> <version>: cached, downloaded if missing (one apt update retry)
  lab_deb "$1" "$2" >/dev/null && return 0
  lab_download "$1=$2" 2>/dev/null || { lab_apt_update; lab_download "$1=$2"; } \
    || lab_die "cannot download $1=$2"
  lab_deb "$1" "$2" >/dev/null || lab_die "downloaded $1=$2 but cannot find its .deb in $LAB_CACHE/debs"
}

lab_unpack_kernel() {
  local kv=$1 ver=$2 dir=$LAB_CACHE/kernel/$1
  [ -f "$dir/.ready" ] && return 0
  lab_fetch "linux-image-$kv" "$ver"
  lab_log "unpacking guest kernel $kv"
  rm -rf "$dir" && mkdir -p "$dir"
  dpkg-deb -x "$(lab_deb "linux-image-$kv" "$ver")" "$dir"
  depmod -b "$dir" "$kv"
  [ -f "$dir/boot/vmlinuz-$kv" ] || lab_die "no vmlinuz-$kv in linux-image-$kv"
  touch "$dir/.ready"
}

# Out-of-tree kernel modules, built against the guest kernel's own headers from its own source
# (the same package version when the mirror still has it), nothing installed on the host:
# - vdpa_sim is not built in Debian's kernel: vringh, vdpa_sim, vdpa_sim_net into vdpasim/<release>/;
# - Debian builds vfio without CONFIG_VFIO_NOIOMMU, so its vfio has no enable_unsafe_noiommu_mode:
#   the noiommu variant loads vfio, vfio_iommu_type1, vfio-pci-core and vfio-pci built from the
#   same source with that option (nothing else changed) from vfio-noiommu/<release>/.
lab_build_kmods() {
  local kv=$1 ver=$2 vdpasim=$LAB_CACHE/vdpasim/$1 noiommu=$LAB_CACHE/vfio-noiommu/$1
  [ -f "$vdpasim/.ready" ] && [ -f "$noiommu/.ready" ] && return 0
  local base=${kv%-amd64} series
  series=$(echo "$kv" | cut -d. -f1,2)
  lab_fetch "linux-headers-$kv" "$ver"
  lab_fetch "linux-headers-$base-common" "$ver"
  lab_fetch "linux-kbuild-$base" "$ver"
  if ! lab_deb "linux-source-$series" "$ver" >/dev/null; then
    lab_download "linux-source-$series=$ver" 2>/dev/null || {
      lab_log "linux-source-$series=$ver is gone from the mirror; using the newest linux-source-$series"
      lab_download "linux-source-$series" || lab_die "cannot download linux-source-$series"; }
  fi
  local work=$LAB_CACHE/kbuild-$kv
  rm -rf "$work" && mkdir -p "$work/kh" "$work/src"
  local d
  for d in "$(lab_deb "linux-headers-$kv" "$ver")" "$(lab_deb "linux-headers-$base-common" "$ver")" \
           "$(lab_deb "linux-kbuild-$base" "$ver")"; do
    dpkg-deb -x "$d" "$work/kh"
  done
  local kh=$work/kh/usr/src/linux-headers-$kv l t
  # The arch headers include the -common tree by absolute path, and link to /usr/lib/linux-kbuild-*:
  # point both at our private copy so nothing is installed on the host.
  sed -i "s|/usr/src/|$work/kh/usr/src/|g" "$kh/Makefile"
  while read -r l; do
    t=$(readlink "$l")
    case $t in /*) ln -sfn "$work/kh$t" "$l" ;; esac
  done < <(find "$work/kh/usr/src" -maxdepth 2 -type l)
  local srcdeb
  srcdeb=$(lab_deb "linux-source-$series" "$ver" \
    || printf '%s\n' "$LAB_CACHE/debs/linux-source-${series}_"*.deb | sort -V | tail -n1)
  dpkg-deb -x "$srcdeb" "$work/src"
  local tarball
  tarball=$(lab_first "$work"/src/usr/src/linux-source-*.tar.*)
  # (tar's '*' matches '/' too: the last pattern takes drivers/vfio/pci/ as well)
  tar -xf "$tarball" -C "$work" --strip-components=1 --wildcards \
    '*/drivers/vdpa/vdpa_sim/*' '*/drivers/vhost/vringh.c' '*/drivers/vfio/*.[ch]'
  if [ ! -f "$vdpasim/.ready" ]; then
    lab_log "building vdpa_sim modules for $kv"
    mkdir -p "$work/vdpasim"
    mv "$work"/drivers/vdpa/vdpa_sim/*.[ch] "$work/drivers/vhost/vringh.c" "$work/vdpasim/"
    echo 'obj-m += vringh.o vdpa_sim.o vdpa_sim_net.o' > "$work/vdpasim/Makefile"
    lab_kbuild "$kh" "$work/vdpasim" vringh vdpa_sim vdpa_sim_net
    rm -rf "$vdpasim" && mkdir -p "$vdpasim"
    cp "$work"/vdpasim/{vringh,vdpa_sim,vdpa_sim_net}.ko "$vdpasim/"
    touch "$vdpasim/.ready"
  fi
  if [ ! -f "$noiommu/.ready" ]; then
    lab_log "building vfio modules with CONFIG_VFIO_NOIOMMU for $kv"
    mkdir -p "$work/vfio"
    mv "$work"/drivers/vfio/{vfio_main,group,container,virqfd,vfio_iommu_type1}.c "$work"/drivers/vfio/vfio.h \
      "$work"/drivers/vfio/pci/{vfio_pci_core,vfio_pci_intrs,vfio_pci_rdwr,vfio_pci_config,vfio_pci,vfio_pci_igd}.c \
      "$work"/drivers/vfio/pci/vfio_pci_priv.h "$work/vfio/"
    # Debian's drivers/vfio/Makefile and pci/Makefile for its config (GROUP, CONTAINER, VIRQFD, PCI_IGD
    # on; CDEV, IOMMUFD, DEBUGFS off), plus the one option.
    cat > "$work/vfio/Makefile" <<'MK'
obj-m += vfio.o vfio_iommu_type1.o vfio-pci-core.o vfio-pci.o
vfio-y := vfio_main.o group.o container.o virqfd.o
vfio-pci-core-y := vfio_pci_core.o vfio_pci_intrs.o vfio_pci_rdwr.o vfio_pci_config.o
vfio-pci-y := vfio_pci.o vfio_pci_igd.o
ccflags-y += -DCONFIG_VFIO_NOIOMMU=1
MK
    lab_kbuild "$kh" "$work/vfio" vfio vfio_iommu_type1 vfio-pci-core vfio-pci
    rm -rf "$noiommu" && mkdir -p "$noiommu"
    cp "$work"/vfio/{vfio,vfio_iommu_type1,vfio-pci-core,vfio-pci}.ko "$noiommu/"
    touch "$noiommu/.ready"
  fi
  rm -rf "$work"
}

# lab_kbuild HEADERS DIR MODULE...: build the modules of DIR's Makefile against HEADERS.
lab_kbuild() {
  local kh=$1 dir=$2 m
  shift 2
  make -s -C "$kh" M="$dir" CONFIG_DEBUG_INFO_BTF_MODULES= modules >"$dir/build.log" 2>&1 \
    || { tail -n 30 "$dir/build.log" >&2; lab_die "building $* failed (log: $dir/build.log)"; }
  for m in "$@"; do [ -f "$dir/$m.ko" ] || lab_die "no $m.ko after building in $dir"; done
}

lab_setup() {
  [ "$(id -u)" = 0 ] || lab_die "setup needs root (apt, and the guest image is built from host files)"
  echo "== lab: setup: packages, the guest kernel, vdpa_sim and vfio modules (cached: about 1 s warm; 2-3 min cold)" >&2
  mkdir -p "$LAB_CACHE"
  if lab_ensure_backports; then LAB_APT_UPDATED=0; lab_apt_update; fi
  lab_install_packages
  # Resolved from the local package lists: a warm cache needs no network. When the kernel they name
  # is not cached yet, refresh the lists first, so we fetch what the mirror has now.
  local k kv ver
  k=$(lab_resolve_kernel || true)
  read -r kv ver <<< "$k"
  if [ -z "$k" ] || [ ! -f "$LAB_CACHE/kernel/$kv/.ready" ] || [ ! -f "$LAB_CACHE/vdpasim/$kv/.ready" ] \
     || [ ! -f "$LAB_CACHE/vfio-noiommu/$kv/.ready" ]; then
    lab_apt_update
    k=$(lab_resolve_kernel || true)
    [ -n "$k" ] || lab_die "cannot resolve linux-image-amd64 in bookworm-backports (apt-cache show linux-image-amd64/bookworm-backports)"
    read -r kv ver <<< "$k"
  fi
  lab_unpack_kernel "$kv" "$ver"
  lab_build_kmods "$kv" "$ver"
  echo "$kv $ver" > "$LAB_CACHE/kernel.release"
  # A kernel the mirror has moved past is not used again: drop it and its packages.
  local d
  for d in "$LAB_CACHE"/kernel/* "$LAB_CACHE"/vdpasim/* "$LAB_CACHE"/vfio-noiommu/*; do
    [ -d "$d" ] && [ "${d##*/}" != "$kv" ] && { lab_log "removing the old ${d##*/} from the cache"; rm -rf "$d"; }
  done
  find "$LAB_CACHE/debs" -name 'linux-*.deb' ! -name "*_${ver//:/%3a}_*" ! -name 'linux-source-*' -delete
  return 0
}
