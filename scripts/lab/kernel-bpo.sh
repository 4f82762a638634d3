#!/bin/bash
# kernel-bpo.sh [arm64|x86_64]: fetch Debian bookworm-backports' stock kernel (6.12) for the
# lab and print its vmlinuz path, for LAB_KERNEL=.  arm64's 6.1 has no BPF trampoline
# (fentry needs DYNAMIC_FTRACE_WITH_DIRECT_CALLS, arm64 6.4+), so there every function probe
# is a kprobe: this kernel shows what the same probes cost through fentry.  The host's apt
# configuration is left alone: backports' lists live in the lab cache (LAB_CACHE).
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
arch=${1:-arm64}
case $arch in arm64) debarch=arm64 ;; x86_64|amd64) debarch=amd64 ;;
*) echo "kernel-bpo: unknown architecture '$arch' (arm64, x86_64)" >&2; exit 2 ;; esac
cache=$(realpath -m "${LAB_CACHE:-build/lab-cache}")
state=$cache/bpo
mkdir -p "$state/lists/partial" "$state/debs"
echo "deb [arch=$debarch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" \
    > "$state/sources.list"
apt=(-q -o APT::Sandbox::User=root -o "Dir::Etc::SourceList=$state/sources.list"
     -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$state/lists"
     -o "APT::Architectures::=$debarch")
if ! ls "$state"/root-"$debarch"-*/boot/vmlinuz-* > /dev/null 2>&1; then
    apt-get update "${apt[@]}" >&2
    pkg=$(apt-cache "${apt[@]}" search --names-only "^linux-image-6\.[0-9]+\.[0-9]+.*-$debarch-unsigned\$" |
          awk '{ print $1 }' | grep -v -e '-rt-' -e cloud | sort -V | tail -1)
    [ -n "$pkg" ] || { echo "kernel-bpo: no $debarch kernel in bookworm-backports" >&2; exit 1; }
    (cd "$state/debs" && apt-get download "${apt[@]}" "$pkg:$debarch" >&2)
    dpkg-deb -x "$(ls "$state/debs/${pkg}"_*.deb | head -1)" "$state/root-$debarch-$pkg"
fi
ls "$state"/root-"$debarch"-*/boot/vmlinuz-* | sort -V | tail -1
