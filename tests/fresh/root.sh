#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# root.sh DIR: a minimal Debian 12 root (debootstrap --variant=minbase) unpacked in DIR.
# debootstrap's result is kept as a tarball outside the clone, keyed on suite, arch,
# variant and the included packages, like the kernel cache: a warm run only unpacks it.
# The mirror is the host's own, read from its apt configuration at run time.
# Environment: FRESH_CACHE (default /var/cache/kvmlockstat/debootstrap).
set -euo pipefail

dir=$1
suite=bookworm
arch=$(dpkg --print-architecture)
variant=minbase
include=""        # nothing beyond minbase: setup.sh must install everything else
cache=${FRESH_CACHE:-/var/cache/kvmlockstat/debootstrap}
key=$(printf '%s\n' "$suite" "$arch" "$variant" "$include" | sha256sum | cut -c1-16)
tarball=$cache/$suite-$arch-$variant-$key.tar.gz

log() { echo "fresh-root: $*" >&2; }

# The first configured repository serving $suite itself (not -updates/-security).
host_mirror() {
    apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' |
        awk -v s="$suite" '$2 == s { print $1; exit }'
}

if [ ! -s "$tarball" ]; then
    command -v debootstrap > /dev/null || { log "debootstrap: command not found (scripts/setup.sh installs it)"; exit 1; }
    mirror=$(host_mirror)
    [ -n "$mirror" ] || { log "the host's apt sources have no '$suite' repository to debootstrap from"; exit 1; }
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    log "debootstrap $suite $arch $variant (not cached: $tarball)"
    debootstrap --variant="$variant" --arch="$arch" ${include:+--include="$include"} \
        "$suite" "$tmp/root" "$mirror" > "$tmp/debootstrap.log" 2>&1 ||
        { tail -n 20 "$tmp/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
    # No downloaded .debs in the tarball: the root is what a fresh install has.
    rm -f "$tmp/root/var/cache/apt/archives/"*.deb
    tar -C "$tmp/root" --numeric-owner -czf "$tmp/root.tar.gz" .
    mv "$tmp/root.tar.gz" "$tarball"
fi
mkdir -p "$dir"
tar -C "$dir" --numeric-owner -xzf "$tarball"
log "root from $tarball"
