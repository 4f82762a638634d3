#!/usr/bin/env bash
# Write kernel-patches/PINNED: what the series is against and what it yields.
# Run after changing the series or moving to another linux-source package:
#   scripts/kernel/pin.sh [/usr/src/linux-source-6.1.tar.xz]
# It extracts the tarball afresh, records the tarball's and the tree's
# checksums, then reverse-applies the series and records the before tree's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PACKAGE=${PACKAGE:-linux-source-6.1}
TARBALL=${1:-/usr/src/$PACKAGE.tar.xz}
[[ -f $TARBALL ]] || die "$TARBALL missing (apt-get install $PACKAGE)"
VERSION=$(dpkg-query -W -f='${Version}' "$PACKAGE")
TARBALL_SHA256=$(sha256sum "$TARBALL" | cut -d' ' -f1)
# head closes the pipe early; tar dying of SIGPIPE is expected here
TOPDIR=$(set +o pipefail; tar -tf "$TARBALL" | head -1 | cut -d/ -f1)

# The files the series touches, from the patches' own headers.
touched_files() {
	series_patches | xargs grep -h '^+++ b/' | sed 's|^+++ b/||' | sort -u
}

files_sha256() { (cd "$1" && touched_files | xargs sha256sum --); }

work=$(mktemp -d "$OUT/pin.XXXXXX" 2>/dev/null || { mkdir -p "$OUT"; mktemp -d "$OUT/pin.XXXXXX"; })
trap 'rm -rf "$work"' EXIT
extract_pinned "$work/tree"
make -s -C "$work/tree" kernelversion >"$work/kver"
after_tree=$(tree_sha256 "$work/tree")
after_files=$(files_sha256 "$work/tree")
reverse_series "$work/tree"
before_tree=$(tree_sha256 "$work/tree")
before_files=$(files_sha256 "$work/tree")

cat >"$KP_PINNED" <<PIN
# What kernel-patches/000[1-3]-*.patch are against. Sourced by scripts/kernel/lib.sh.
# Written by scripts/kernel/pin.sh; checked by tests/kernel/series-check.sh.
PACKAGE=$PACKAGE
VERSION=$VERSION
KERNELVERSION=$(cat "$work/kver")
# the tarball as shipped in the .deb
TARBALL=$TARBALL
TARBALL_SHA256=$TARBALL_SHA256
TOPDIR=$TOPDIR
# sha256 over 'sha256sum' of every file (sorted by path) plus symlink targets
AFTER_TREE_SHA256=$after_tree
BEFORE_TREE_SHA256=$before_tree
# the files the series touches, in the pinned (after) tree and in before
AFTER_FILES_SHA256='
$after_files
'
BEFORE_FILES_SHA256='
$before_files
'
PIN
log "wrote $KP_PINNED"
cat "$KP_PINNED"
