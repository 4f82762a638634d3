#!/bin/bash
# mkinitramfs.sh ARCH OUT.cpio.gz BINDIR CONFIG [MODDIR]: the lab VM's initramfs:
# static busybox, scripts/lab/init as /init, guest.sh and its config, the static
# kvm-dirtylog (+ kvmlockstat if built) from BINDIR, and for x86_64 kvm-amd and the modules
# it depends on from MODDIR, decompressed for busybox insmod.
set -euo pipefail
arch=$1 out=$2 bindir=$3 config=$4 moddir=${5:-}
here=$(dirname "$(realpath "$0")")
cache=${LAB_CACHE:-build/lab-cache}
case $arch in arm64) debarch=arm64 ;; x86_64) debarch=amd64 ;; *) echo "bad arch $arch" >&2; exit 2 ;; esac

stage=$(mktemp -d "${out%/*}/initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,lab,results,lib/modules}
cp "$cache/root-$debarch/busybox/bin/busybox" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
cp "$here/guest.sh" "$stage/lab/guest.sh"
cp "$config" "$stage/lab/config"
cp "$bindir/kvm-dirtylog" "$stage/lab/"
[ -x "$bindir/kvmlockstat" ] && cp "$bindir/kvmlockstat" "$stage/lab/"
# LAB_GUEST (lab.sh): the caller's guest script, and contend, the VM it may drive.
if [ -n "${LAB_GUEST:-}" ]; then
    cp "$LAB_GUEST" "$stage/lab/custom.sh"
    cp "$bindir/contend" "$stage/lab/"
fi
# LAB_EXTRA_ROOT: directories whose contents join the root (the migration lab's QEMU);
# LAB_EXTRA_BINS: more of our binaries, built by lab.sh (the migration lab's tools).
for d in ${LAB_EXTRA_ROOT:-}; do cp -a "$d/." "$stage/"; done
for t in ${LAB_EXTRA_BINS:-}; do cp "$bindir/$t" "$stage/lab/"; done
chmod 755 "$stage/init" "$stage/bin/busybox"

# NAME.ko (or .ko.xz/.ko.zst) under MODDIR, decompressed into the initramfs for busybox insmod.
copy_module() {
    local name=$1 f
    f=$(find -L "$moddir" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \) | head -1)
    [ -n "$f" ] || { echo "mkinitramfs: no $name module under $moddir" >&2; exit 1; }
    case $f in
    *.xz) xz -dc "$f" > "$stage/lib/modules/$name.ko" ;;
    *.zst) zstd -qdc "$f" > "$stage/lib/modules/$name.ko" ;;
    *) cp "$f" "$stage/lib/modules/$name.ko" ;;
    esac
}

# NAME and everything it needs (modinfo's depends), each after its dependencies, appended to
# lib/modules/order, the order guest.sh loads them in (5.10's ccp needs rng-core, 6.1's not).
add_module() {
    local name=$1 dep
    grep -qx "$name" "$stage/lib/modules/order" && return
    copy_module "$name"
    for dep in $(modinfo -F depends "$stage/lib/modules/$name.ko" | tr ',' ' '); do
        add_module "$dep"
    done
    echo "$name" >> "$stage/lib/modules/order"
}
: > "$stage/lib/modules/order"
if [ "$arch" = x86_64 ]; then
    add_module kvm-amd
fi

(cd "$stage" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
echo "initramfs: $out ($(du -h "$out" | cut -f1))"
