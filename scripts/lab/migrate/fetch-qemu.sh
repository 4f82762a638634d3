#!/bin/bash
# fetch-qemu.sh arm64|x86_64: Debian's QEMU for the lab guest's architecture, ready to
# copy into the lab's initramfs: $LAB_CACHE/root-<debarch>/qemu holds the system
# emulator, its whole shared-library closure (ELF DT_NEEDED, resolved like ld.so does
# from the unpacked packages), the dynamic loader and, for x86, the firmware.
#
# The package closure comes from apt itself: apt-get install --download-only against an
# empty private dpkg status, so nothing installed on the host shortens the list and
# nothing is installed. Every .deb lands in $LAB_CACHE/qemu-<debarch>/debs and is
# unpacked with dpkg-deb -x into qemu-<debarch>/full; a stamp makes reruns free.
set -euo pipefail
arch=${1:-arm64}
cache=$(realpath -m "${LAB_CACHE:-build/lab-cache}")
case $arch in
arm64) debarch=arm64 pkg=qemu-system-arm bin=qemu-system-aarch64 triplet=aarch64-linux-gnu
       loader=ld-linux-aarch64.so.1 ;;
x86_64) debarch=amd64 pkg=qemu-system-x86 bin=qemu-system-x86_64 triplet=x86_64-linux-gnu
        loader=ld-linux-x86-64.so.2 ;;
*) echo "fetch-qemu: unknown architecture '$arch' (arm64, x86_64)" >&2; exit 2 ;;
esac
work=$cache/qemu-$debarch full=$cache/qemu-$debarch/full out=$cache/root-$debarch/qemu
log() { echo "fetch-qemu[$arch]: $*" >&2; }

[ -e "$out/.done" ] && exit 0

download() {
    [ -e "$work/.downloaded" ] && return
    mkdir -p "$work/debs/partial" "$work/state/lists/partial"
    : > "$work/state/status"
    log "resolving and downloading $pkg:$debarch and its dependency closure"
    # Private status and archive dir: the host's installed set does not count, and
    # only the downloads (never the host's /var/cache/apt) are touched.
    apt-get install --download-only -y -q --no-install-recommends \
        -o Dir::State::status="$work/state/status" -o Dir::Cache::archives="$work/debs" \
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$pkg:$debarch" > "$work/apt.log" 2>&1 ||
        { tail -n 20 "$work/apt.log" >&2; log "apt could not download $pkg:$debarch"; exit 1; }
    touch "$work/.downloaded"
}

unpack() {
    [ -e "$full/.unpacked" ] && return
    rm -rf "$full"
    mkdir -p "$full"
    local deb
    for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$full"; done
    touch "$full/.unpacked"
    log "unpacked $(ls "$work"/debs/*.deb | wc -l) packages ($(du -sh "$full" | cut -f1))"
}

# A library name to its path in the unpacked tree, in ld.so's order for Debian.
find_lib() {
    local d
    for d in lib/$triplet usr/lib/$triplet lib usr/lib; do
        if [ -e "$full/$d/$1" ]; then echo "$d/$1"; return; fi
    done
    return 1
}

needed() { readelf -d "$full/$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# Copy a path keeping its symlink chain (libfoo.so.1 -> libfoo.so.1.2.3).
copy_path() {
    local p=$1 t
    while :; do
        mkdir -p "$out/$(dirname "$p")"
        cp -a "$full/$p" "$out/$p"
        [ -L "$full/$p" ] || break
        t=$(readlink "$full/$p")
        case $t in /*) p=${t#/} ;; *) p=$(dirname "$p")/$t ;; esac
    done
}

closure() {
    local todo=("usr/bin/$bin") seen=" " f lib p interp missing=()
    rm -rf "$out"
    mkdir -p "$out"
    while [ ${#todo[@]} -gt 0 ]; do
        f=${todo[0]}
        todo=("${todo[@]:1}")
        copy_path "$f"
        for lib in $(needed "$f"); do
            case $seen in *" $lib "*) continue ;; esac
            seen="$seen$lib "
            if p=$(find_lib "$lib"); then todo+=("$p"); else missing+=("$lib"); fi
        done
    done
    [ ${#missing[@]} -eq 0 ] || { log "libraries not found in the packages: ${missing[*]}"; exit 1; }
    # The loader, where the binary's PT_INTERP names it (/lib64/... on x86).
    p=$(find_lib "$loader") || { log "no $loader in libc6:$debarch"; exit 1; }
    copy_path "$p"
    interp=$(readelf -l "$full/usr/bin/$bin" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
    mkdir -p "$out/$(dirname "$interp")"
    [ -e "$out/$interp" ] || ln -s "/$p" "$out/$interp"
    # x86 firmware (SeaBIOS, the option ROM -kernel boots through); arm64 virt
    # boots an ELF with -kernel and needs none.
    if [ "$arch" = x86_64 ]; then
        mkdir -p "$out/usr/share/qemu"
        # (Debian's QEMU looks in /usr/share/qemu, then /usr/share/seabios.)
        for f in seabios/bios-256k.bin qemu/linuxboot_dma.bin qemu/multiboot_dma.bin qemu/kvmvapic.bin; do
            [ -e "$full/usr/share/$f" ] && copy_path "usr/share/$f"
        done
        [ -e "$out/usr/share/seabios/bios-256k.bin" ] || { log "no bios-256k.bin in the packages"; exit 1; }
    fi
    touch "$out/.done"
    log "closure: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1) in $out"
}

download
unpack
closure
