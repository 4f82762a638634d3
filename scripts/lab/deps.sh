#!/bin/bash
# deps.sh [arm64|x86_64|all]: install the lab's host packages (idempotent) and fetch the
# guest's Debian packages (stock 6.1 kernel, static busybox) into the lab cache, unpacked
# there and never installed on the host (an arm64 /bin/busybox would shadow the host's).
#
# Environment: LAB_CACHE (default build/lab-cache), LAB_KVER (e.g. 6.1.0-56; default:
# newest 6.1 ABI apt knows), LAB_NO_INSTALL=1 (only fetch guest packages).
set -euo pipefail

want=${1:-arm64}
cache=$(realpath -m "${LAB_CACHE:-build/lab-cache}")
apt_opts=(-y -q -o DPkg::Lock::Timeout=900 -o APT::Sandbox::User=root -o "Dir::Cache::archives=$cache/apt")

log() { echo "lab-deps: $*" >&2; }

# Packages already installed at the wanted arch are skipped so reruns cost nothing.
# Unqualified names mean the native architecture (or "all"): with multiarch,
# "libzstd-dev" alone would also match an installed libzstd-dev:arm64.
missing_pkgs() {
    local p want
    want="$(dpkg --print-architecture)|all"
    for p in "$@"; do
        if [[ $p == *:* ]]; then
            dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
        else
            dpkg-query -W -f='${Status} ${Architecture}\n' "$p" 2>/dev/null |
                grep -q -E "^install ok installed ($want)\$" || echo "$p"
        fi
    done
}

apt_updated=0
apt_update_once() {
    [ "$apt_updated" = 1 ] && return
    apt-get update -q -o DPkg::Lock::Timeout=900 >&2
    apt_updated=1
}

ensure_arm64_arch() {
    dpkg --print-foreign-architectures | grep -qx arm64 && return
    log "adding the arm64 dpkg architecture"
    dpkg --add-architecture arm64
    apt_updated=0
}

install_host_pkgs() {
    local todo
    todo=$(missing_pkgs "$@")
    [ -z "$todo" ] && return
    log "installing: $todo"
    apt_update_once
    mkdir -p "$cache/apt/partial"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" --no-install-recommends $todo >&2
}

# The newest 6.1 ABI apt offers for an architecture, unless LAB_KVER pins one.
kernel_abi() {
    local flavour=$1
    if [ -n "${LAB_KVER:-}" ]; then echo "$LAB_KVER"; return; fi
    apt-cache search --names-only "^linux-image-6\.1\.0-[0-9]+-$flavour-unsigned\$" |
        awk '{print $1}' | sed -E "s/^linux-image-(6\.1\.0-[0-9]+)-.*/\1/" | sort -V | tail -1
}

# apt-get download + dpkg-deb -x into $cache/root-<arch>/<pkg>; a stamp makes it idempotent.
fetch_unpack() {
    local pkg=$1 dest=$2
    [ -e "$dest/.unpacked" ] && return
    mkdir -p "$cache/debs" "$dest"
    local deb
    deb=$(ls "$cache/debs/${pkg%%:*}"_*"${pkg##*:}".deb 2>/dev/null | head -1 || true)
    if [ -z "$deb" ]; then
        log "downloading $pkg"
        (cd "$cache/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2)
        deb=$(ls "$cache/debs/${pkg%%:*}"_*"${pkg##*:}".deb | head -1)
    fi
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$dest"
    touch "$dest/.unpacked"
}

guest_pkgs() {
    local debarch=$1 abi
    # Already unpacked (and no ABI pinned): no apt round trip, so reruns work offline.
    if [ -z "${LAB_KVER:-}" ] && [ -e "$cache/root-$debarch/kernel/.unpacked" ] &&
        [ -e "$cache/root-$debarch/busybox/.unpacked" ]; then
        return
    fi
    apt_update_once
    abi=$(kernel_abi "$debarch")
    [ -n "$abi" ] || { log "no linux-image-6.1.0-*-$debarch-unsigned known to apt"; exit 1; }
    fetch_unpack "linux-image-$abi-$debarch-unsigned:$debarch" "$cache/root-$debarch/kernel-$abi"
    fetch_unpack "busybox-static:$debarch" "$cache/root-$debarch/busybox"
    ln -sfn "kernel-$abi" "$cache/root-$debarch/kernel"
}

common_host=(cpio xz-utils zstd jq gzip make binutils kmod)
# ipxe-qemu: efi-virtio.rom for virtio-net-pci (only Recommended by qemu-system-arm)
arm64_host=(qemu-system-arm ipxe-qemu gcc-aarch64-linux-gnu libc6-dev-arm64-cross
            libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64 libjson-c-dev:arm64)
x86_host=(qemu-system-x86 libbpf-dev libelf-dev zlib1g-dev libzstd-dev libjson-c-dev)

do_arm64() {
    if [ "${LAB_NO_INSTALL:-0}" != 1 ]; then
        ensure_arm64_arch
        install_host_pkgs "${common_host[@]}" "${arm64_host[@]}"
    fi
    guest_pkgs arm64
}

do_x86() {
    [ "${LAB_NO_INSTALL:-0}" != 1 ] && install_host_pkgs "${common_host[@]}" "${x86_host[@]}"
    guest_pkgs amd64
}

case $want in
arm64) do_arm64 ;;
x86_64|x86|amd64) do_x86 ;;
all) do_arm64; do_x86 ;;
*) log "unknown lab architecture '$want' (arm64, x86_64, all)"; exit 2 ;;
esac
log "ok ($want)"
