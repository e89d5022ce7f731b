#!/bin/bash
# The guest image: the cached kernel plus an initramfs (busybox, iproute2's ip and vdpa, jq,
# DPDK's testpmd with the igbvf PMD, setpriv, the kernel modules in load order, guest/init). Everything that changes often (cases, binaries,
# the guest-side runner and library) comes through the 9p share instead, so this image is rebuilt
# only when its inputs change; it is cached under $LAB_CACHE/image/ by a hash of those inputs.

# Modules the guest loads, dependencies resolved from the kernel's modules.dep.
LAB_MODULES=(igb igbvf vfio-pci vhost_vdpa virtio_vdpa virtio_net 9pnet_virtio 9p)
# Out of tree, built by setup; loaded after the ones above (they need vdpa and vhost_iotlb).
LAB_VDPASIM_MODULES=(vringh vdpa_sim vdpa_sim_net)
# The noiommu variant's vfio (built by setup with CONFIG_VFIO_NOIOMMU): in lib/modules/noiommu/,
# loaded instead of Debian's when the kernel command line says lab.variant=noiommu.
LAB_NOIOMMU_MODULES=(vfio vfio_iommu_type1 vfio-pci-core vfio-pci)
# Host programs copied into the guest with their shared libraries (busybox provides the rest):
# setpriv runs a pod's app with the pod's capabilities only; dpdk-testpmd is the pods' DPDK app.
LAB_GUEST_PROGS=(/sbin/ip /sbin/vdpa /usr/bin/jq /usr/bin/setpriv /usr/bin/dpdk-testpmd)
# DPDK loads its drivers from this directory (EAL's default); only those the lab uses go in, so
# EAL does not load Debian's hundred others under TCG: igbvf (net_e1000) and the ring mempool.
LAB_DPDK_PMD_DIR=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
LAB_DPDK_PMDS=(librte_net_e1000.so.23.0 librte_mempool_ring.so.23.0)
# Libraries our Rust binaries link besides glibc (the unwinder), so they run without LD_LIBRARY_PATH.
LAB_GUEST_LIBS=(/lib/x86_64-linux-gnu/libgcc_s.so.1)

lab_kernel_release() {
  [ -f "$LAB_CACHE/kernel.release" ] || lab_die "no kernel in $LAB_CACHE: run 'lab.sh setup'"
  cut -d' ' -f1 "$LAB_CACHE/kernel.release"
}

# Paths of the .ko(.xz) files to load, in order, without duplicates.
lab_module_files() {
  local kv=$1 kr=$LAB_CACHE/kernel/$1 m
  for m in "${LAB_MODULES[@]}"; do
    modprobe -d "$kr" -S "$kv" --show-depends "$m" \
      || lab_die "module $m is not in kernel $kv"
  done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

lab_copy_prog() {  # lab_copy_prog <root> <host path>: the program and the libraries it links
  local root=$1 prog=$2
  install -D "$prog" "$root/bin/$(basename "$prog")"
  lab_copy_libs "$root" "$prog"
}

lab_copy_libs() {  # lab_copy_libs <root> <host path>: the libraries a program or library links
  local root=$1 lib
  for lib in $(ldd "$2" | grep -oE '/[^ ]+\.so[^ ]*'); do
    [ -e "$root$lib" ] || install -D "$lib" "$root$lib"
  done
}

lab_image_key() {
  local kv=$1
  {
    echo "$kv"
    cat "$LAB_DIR/guest/init" "$LAB_DIR/host/image.sh"
    sha256sum /bin/busybox "${LAB_GUEST_PROGS[@]}" "${LAB_GUEST_LIBS[@]}" "$LAB_CACHE/vdpasim/$kv"/*.ko \
      "$LAB_CACHE/vfio-noiommu/$kv"/*.ko "${LAB_DPDK_PMDS[@]/#/$LAB_DPDK_PMD_DIR/}"
  } | sha256sum | cut -c1-16
}

# Prints the path of the initramfs, building it if its inputs changed.
lab_image() {
  local kv key out
  kv=$(lab_kernel_release)
  key=$(lab_image_key "$kv")
  out=$LAB_CACHE/image/initrd-$key.gz
  if [ -f "$out" ]; then echo "$out"; return 0; fi
  lab_log "building the guest initramfs ($key)"
  local root=$LAB_CACHE/image/root-$key a f m
  rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,lab,lib/modules}
  cp /bin/busybox "$root/bin/"
  for a in $(/bin/busybox --list); do
    [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
  done
  ln -s bin "$root/sbin"
  mkdir -p "$root/usr" && ln -s ../bin "$root/usr/bin" && ln -s ../bin "$root/usr/sbin"
  rm -f "$root/bin/ip"  # busybox's applet: replaced by iproute2's (it knows VFs and netns)
  for f in "${LAB_GUEST_PROGS[@]}"; do lab_copy_prog "$root" "$f"; done
  for f in "${LAB_GUEST_LIBS[@]}"; do install -D "$f" "$root$f"; done
  for f in "${LAB_DPDK_PMDS[@]}"; do
    [ -f "$LAB_DPDK_PMD_DIR/$f" ] || lab_die "no $LAB_DPDK_PMD_DIR/$f: is DPDK installed (lab.sh setup)?"
    install -D -m 0644 "$LAB_DPDK_PMD_DIR/$f" "$root$LAB_DPDK_PMD_DIR/$f"
    lab_copy_libs "$root" "$LAB_DPDK_PMD_DIR/$f"
  done
  local files
  files=$(lab_module_files "$kv")
  : > "$root/lib/modules/order"
  for f in $files; do
    m=$(basename "$f"); m=${m%.xz}; m=${m%.ko}
    case $f in
      *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
      *) cp "$f" "$root/lib/modules/$m.ko" ;;
    esac
    echo "$m" >> "$root/lib/modules/order"
  done
  for m in "${LAB_VDPASIM_MODULES[@]}"; do
    cp "$LAB_CACHE/vdpasim/$kv/$m.ko" "$root/lib/modules/"
    echo "$m" >> "$root/lib/modules/order"
  done
  mkdir -p "$root/lib/modules/noiommu"
  for m in "${LAB_NOIOMMU_MODULES[@]}"; do
    cp "$LAB_CACHE/vfio-noiommu/$kv/$m.ko" "$root/lib/modules/noiommu/"
  done
  install -m 0755 "$LAB_DIR/guest/init" "$root/init"
  mkdir -p "$LAB_CACHE/image"
  (cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$root"
  # Keep only the current image.
  find "$LAB_CACHE/image" -maxdepth 1 -name 'initrd-*.gz' ! -name "initrd-$key.gz" -delete
  echo "$out"
}
