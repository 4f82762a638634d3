# shellcheck shell=bash
# Shared paths and helpers for scripts/kernel/* and tests/kernel/*.
# Sourced, not run. Callers set -euo pipefail themselves.
#
# Layout (all under $OUT, git-ignored):
#   $KBUILD/src/after      pristine Debian tree (= series applied)
#   $KBUILD/src/before     same tree with the series reverse-applied
#   $KBUILD/obj/{before,after}   O= build directories
#   $KBUILD/{before,after}/Image, .config, build.stamp   cached results

KP_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-build}
case "$OUT" in /*) ;; *) OUT="$KP_REPO/$OUT" ;; esac
KBUILD="$OUT/kernel"
# KERNEL_PATCHES_DIR: check another copy of the series (e.g. a deliberately broken one)
KP_DIR=${KERNEL_PATCHES_DIR:-$KP_REPO/kernel-patches}
KP_PINNED="$KP_DIR/PINNED"
KP_FRAGMENT="$KP_DIR/lab.config"
KP_CROSS=${CROSS_COMPILE:-aarch64-linux-gnu-}
KP_JOBS=${KERNEL_JOBS:-3}

# PINNED says which tree the series is against (written by scripts/kernel/pin.sh).
# shellcheck source=/dev/null
[[ -f $KP_PINNED ]] && . "$KP_PINNED"

die() { echo "error: $*" >&2; exit 1; }
log() { echo "[kernel] $*" >&2; }

# The numbered patches in forward order (the cover letter 0000 is not a patch).
series_patches() {
	local p
	for p in "$KP_DIR"/[0-9][0-9][0-9][0-9]-*.patch; do
		[[ $(basename "$p") == 0000-* ]] && continue
		echo "$p"
	done
}

# A hash of everything that decides a tree's content: the tarball and the series.
series_hash() {
	{ echo "$TARBALL_SHA256"; series_patches | xargs cat; } | sha256sum | cut -d' ' -f1
}

check_side() {
	[[ ${1:-} == before || ${1:-} == after ]] || die "expected 'before' or 'after', got '${1:-}'"
}

# git apply, but never inside an enclosing repository: run in a subdirectory
# of a work tree (build/ lives inside the project's repo) git apply takes paths
# relative to that repo and silently skips the rest.
kp_git_apply() {
	local tree=$1; shift
	(cd "$tree" && GIT_CEILING_DIRECTORIES=$(dirname "$tree") git apply "$@")
}

# Checksum of a source tree: path and content of every regular file, path and
# target of every symlink, sorted by path; .git and our own stamp excluded.
tree_sha256() {
	local tree=$1
	(
		cd "$tree"
		find . -path ./.git -prune -o -type f ! -name .kp-stamp -print0 |
			LC_ALL=C sort -z | xargs -0 -r sha256sum --
		find . -path ./.git -prune -o -type l -print0 | LC_ALL=C sort -z |
			while IFS= read -r -d '' f; do printf 'L %s -> %s\n' "$f" "$(readlink "$f")"; done
	) | sha256sum | cut -d' ' -f1
}

# Extract the pinned tarball to $1 (replaced if present), checking its checksum.
extract_pinned() {
	local dest=$1 tmp
	[[ -f $TARBALL ]] || die "$TARBALL missing: run scripts/kernel/deps.sh (package $PACKAGE)"
	local sum
	sum=$(sha256sum "$TARBALL" | cut -d' ' -f1)
	[[ $sum == "$TARBALL_SHA256" ]] ||
		die "$TARBALL has sha256 $sum, PINNED says $TARBALL_SHA256 ($PACKAGE $VERSION); installed: $(dpkg-query -W -f='${Version}' "$PACKAGE" 2>/dev/null || echo none)"
	tmp="$dest.tmp.$$"
	rm -rf "$tmp" && mkdir -p "$tmp"
	tar -C "$tmp" -xf "$TARBALL"
	rm -rf "$dest"
	mv "$tmp/$TOPDIR" "$dest"
	rmdir "$tmp"
}

# Reverse-apply the series (last patch first) to turn an after tree into before.
reverse_series() {
	local tree=$1 p
	while read -r p; do
		kp_git_apply "$tree" -R --whitespace=nowarn "$p" || die "reverse-apply failed: $(basename "$p")"
	done < <(series_patches | tac)
}

forward_series() {
	local tree=$1 p
	while read -r p; do
		kp_git_apply "$tree" --whitespace=nowarn "$p" || die "apply failed: $(basename "$p")"
	done < <(series_patches)
}

# Make $KBUILD/src/{after,before} current for this tarball and series (cached).
prepare_tree() {
	local side=$1 dir want
	dir="$KBUILD/src/$side"
	check_side "$side"
	want=$(series_hash)
	if [[ -f $dir/.kp-stamp && $(cat "$dir/.kp-stamp") == "$want" ]]; then
		echo "$dir"; return
	fi
	log "extracting $PACKAGE $VERSION into $dir"
	mkdir -p "$KBUILD/src"
	extract_pinned "$dir"
	if [[ $side == before ]]; then
		log "reverse-applying the series"
		reverse_series "$dir"
	fi
	echo "$want" >"$dir/.kp-stamp"
	echo "$dir"
}

# dirty_ms LOG [FROM]: dirty_log_perf_test's mean "dirty memory time" per pass in ms, over
# the passes numbered FROM (default 1) and later; "-" when the log has none.
dirty_ms() {
	awk -v from="${2:-1}" '/^Iteration [0-9]+ dirty memory time:/ && $2 >= from {
			t = $NF; sub(/s$/, "", t); s += t; c++ }
		END { if (c) printf "%.1f\n", s / c * 1000; else print "-" }' "$1"
}

# Numbers on stdin ("-" and blank lines ignored) as "median min max n"; nothing when none.
stats_of() {
	awk '$1 != "-" && NF { v[++n] = $1 + 0 }
		END { if (!n) exit
			for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			print m, v[1], v[n], n }'
}

# "median [min, max]" of the numbers on stdin, "-" when none; DIGITS after the point
# (default: 0 when every number is whole, a count; else 1).
spread() {
	local v d
	v=$(cat)
	d=${1:-$(grep -q '\.' <<<"$v" && echo 1 || echo 0)}
	stats_of <<<"$v" | awk -v d="$d" '{ printf "%.*f [%.*f, %.*f]", d, $1, d, $2, d, $3; found = 1 } END { if (!found) print "-" }'
}
