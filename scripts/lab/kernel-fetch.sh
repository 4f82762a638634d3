#!/bin/bash
# kernel-fetch.sh KERNEL ARCH: fetch one of Debian's stock kernels for the lab and print the
# directory it is unpacked in, where ROOT/vmlinuz is the image (LAB_KERNEL) and ROOT/modules
# the modules directory (LAB_MODULES), whichever layout the packages use.
#   KERNEL  5.10      bullseye          linux-image-5.10.0-N-<arch>-unsigned
#           6.1       bookworm          what the labs boot by default (scripts/lab/deps.sh)
#           6.12      trixie            linux-image-6.12.N+deb13-<arch>-unsigned
#           6.12-bpo  bookworm-backports (6.12, the benchmark's arm64 kernel with BPF trampolines)
#           7.3       trixie-backports  linux-binary-7.3.N+deb13-<arch> + linux-modules-<same>
#   ARCH    arm64 or x86_64
# The newest package of the line apt knows is taken. The host's apt state is left alone: each
# suite's lists live in the lab cache (LAB_CACHE), and the packages are unpacked there with
# dpkg-deb -x, never installed. A kernel apt cannot fetch is one line naming the package, exit 1.
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
kver=${1:-} arch=${2:-arm64}
die() { echo "kernel-fetch: $*" >&2; exit 1; }
case $arch in arm64) debarch=arm64 ;; x86_64|amd64) debarch=amd64 ;;
*) echo "kernel-fetch: unknown architecture '$arch' (arm64, x86_64)" >&2; exit 2 ;; esac
cache=$(realpath -m "${LAB_CACHE:-build/lab-cache}")

# ROOT/vmlinuz and ROOT/modules: the image is boot/vmlinuz-* up to 6.x, and
# usr/lib/modules/VER/vmlinuz in 7.x's linux-binary; the modules under lib/ or usr/lib/.
link_files() {
    local root=$1 img mods
    img=$(ls "$root"/boot/vmlinuz-* "$root"/usr/lib/modules/*/vmlinuz 2>/dev/null | head -1 || true)
    [ -n "$img" ] || die "no kernel image (boot/vmlinuz-*, usr/lib/modules/*/vmlinuz) in $root"
    mods=$(ls -d "$root"/lib/modules/*/kernel "$root"/usr/lib/modules/*/kernel 2>/dev/null | head -1 || true)
    ln -sfn "${img#"$root"/}" "$root/vmlinuz"
    [ -z "$mods" ] || ln -sfn "$(dirname "${mods#"$root"/}")" "$root/modules"
}

# suite, and the package name patterns: image (vmlinuz, and the modules unless a second
# pattern names the modules package; its version is the image's, \1 of the first).
case $kver in
5.10) suite=bullseye image="linux-image-(5\.10\.0-[0-9]+)-$debarch-unsigned" modules= ;;
6.12) suite=trixie image="linux-image-(6\.12\.[0-9]+\+deb13)-$debarch-unsigned" modules= ;;
6.12-bpo) suite=bookworm-backports image="linux-image-(6\.12\.[0-9]+\+deb12)-$debarch-unsigned" modules= ;;
7.3) suite=trixie-backports image="linux-binary-(7\.3\.[0-9]+\+deb13)-$debarch" modules="linux-modules-\1-$debarch" ;;
6.1)
    # The labs' own kernel: deps.sh fetches it (and pins it with LAB_KVER).
    LAB_NO_INSTALL=1 scripts/lab/deps.sh "$arch" >&2 || die "deps.sh could not fetch Debian's 6.1 for $arch"
    root=$(realpath "$cache/root-$debarch/kernel")
    link_files "$root"
    echo "$root"
    exit 0 ;;
*) echo "kernel-fetch: unknown kernel '$kver' (5.10, 6.1, 6.12, 6.12-bpo, 7.3)" >&2; exit 2 ;;
esac

state=$cache/apt-$suite-$debarch
mkdir -p "$state/lists/partial" "$state/debs"
echo "deb [arch=$debarch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
    > "$state/sources.list"
apt=(-q -o APT::Sandbox::User=root -o "Dir::Etc::SourceList=$state/sources.list"
     -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$state/lists"
     -o "Dir::State::Status=$state/status" -o "APT::Architectures::=$debarch")
touch "$state/status"

# Unpacked already: no apt round trip, so reruns work offline.
root=$(ls -d "$state/root-$debarch-$kver-"* 2>/dev/null | sort -V | tail -1 || true)
if [ -n "$root" ] && [ -e "$root/.unpacked" ]; then echo "$root"; exit 0; fi

# One list refresh per suite and day.
if [ -z "$(find "$state/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null)" ]; then
    apt-get update "${apt[@]}" >&2 || die "apt-get update of $suite failed"
fi
pkg=$(apt-cache "${apt[@]}" search --names-only "^${image}\$" | awk '{ print $1 }' | sort -V | tail -1)
[ -n "$pkg" ] || die "no package ${image//\\/} for $debarch in $suite (apt-cache knows none)"
pkgs=$pkg
if [ -n "$modules" ]; then
    pkgs="$pkgs $(echo "$pkg" | sed -E "s/^${image}\$/${modules}/")"
fi
root=$state/root-$debarch-$kver-$(echo "$pkg" | sed -E "s/^${image}\$/\1/")
rm -rf "$root"
mkdir -p "$root"
for p in $pkgs; do
    (cd "$state/debs" && apt-get download "${apt[@]}" "$p:$debarch" >&2) ||
        die "apt cannot download $p:$debarch from $suite"
    dpkg-deb -x "$(ls "$state/debs/${p}"_*.deb | sort -V | tail -1)" "$root"
done
link_files "$root"
touch "$root/.unpacked"
echo "$root"
