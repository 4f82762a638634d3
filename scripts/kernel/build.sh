#!/usr/bin/env bash
# Build the lab arm64 kernel Image for one side of the series:
#   scripts/kernel/build.sh before|after [VARIANT]
# before = pinned tree with kernel-patches/000[1-3] reverse-applied,
# after  = pinned tree as shipped. Both use kernel-patches/lab.config on top
# of allnoconfig, so the series is the only difference.
# VARIANT (e.g. lockstat) merges kernel-patches/VARIANT.config after lab.config:
# the same two trees with one more set of options, built apart from the lab
# kernels in $OUT/kernel/<side>-VARIANT.
# Result: $OUT/kernel/<side>[-VARIANT]/Image (+ .config, System.map, vmlinux for BTF).
# Cached: rebuilt only when the tarball, the series, the fragments or
# BUILD_RECIPE change (FORCE=1 rebuilds anyway).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

side=${1:-}
variant=${2:-}
check_side "$side"
fragments=("$KP_FRAGMENT")
if [[ -n $variant ]]; then
	[[ $variant =~ ^[a-z0-9]+$ && -f $KP_DIR/$variant.config ]] ||
		die "kernel variant '$variant': no fragment $KP_DIR/$variant.config"
	fragments+=("$KP_DIR/$variant.config")
fi
# name of this build: its result, object and cache directories
name=$side${variant:+-$variant}
dest="$KBUILD/$name"
obj="$KBUILD/obj/$name"
kmake=(make -s ARCH=arm64 CROSS_COMPILE="$KP_CROSS" -j"$KP_JOBS")

# Bump when a change here alters the Image (not for log or comment edits).
BUILD_RECIPE=1

# A variant's fragment joins the key; without one the key is the lab kernels' own.
build_key() {
	{
		series_hash; sha256sum "$KP_FRAGMENT" | cut -d' ' -f1; echo "$KP_CROSS recipe=$BUILD_RECIPE"
		[[ -z $variant ]] || { echo "variant=$variant"; sha256sum "${fragments[1]}" | cut -d' ' -f1; }
	} | sha256sum | cut -d' ' -f1
}

# allnoconfig + fragments + olddefconfig, then insist every fragment line stuck:
# a symbol Kconfig dropped (unmet dependency) would silently change the lab.
configure() {
	local src=$1
	mkdir -p "$obj"
	"${kmake[@]}" -C "$src" O="$obj" allnoconfig >/dev/null
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "${fragments[@]}" >/dev/null
	"${kmake[@]}" -C "$src" O="$obj" olddefconfig >/dev/null
	local line bad=0
	while IFS= read -r line; do
		[[ $line =~ ^CONFIG_ ]] || continue
		grep -qxF "$line" "$obj/.config" || { echo "config: '$line' did not survive olddefconfig" >&2; bad=1; }
	done < <(cat "${fragments[@]}")
	[[ $bad == 0 ]] || die "$(basename -a "${fragments[@]}" | paste -sd+) not satisfiable on this tree"
}

# A first build of one side starts from the other side's finished objects,
# so only what the series touches (and what includes it) is recompiled:
# minutes instead of a full build. Kbuild's .cmd files record absolute
# source paths; they are rewritten to this side's tree, and the series'
# files are touched so that they are newer than every seeded object.
# KERNEL_NO_SEED=1 builds from scratch.
seed_objects() {
	local src=$1 other f
	other=$([[ $side == before ]] && echo after || echo before)${variant:+-$variant}
	[[ -z ${KERNEL_NO_SEED:-} && ! -e $obj && -f $KBUILD/obj/$other/vmlinux &&
		-f $KBUILD/$other/build.stamp ]] || return 0
	log "$name: seeding $obj from the $other build"
	rm -rf "$obj.tmp"
	cp -a "$KBUILD/obj/$other" "$obj.tmp"
	rm -f "$obj.tmp/source" "$obj.tmp/Makefile" "$obj.tmp/build.log"
	grep -rlZ -I --exclude='*.o' -F "$KBUILD/src/${other%%-*}" "$obj.tmp" |
		xargs -0 -r sed -i "s|$KBUILD/src/${other%%-*}|$KBUILD/src/$side|g"
	mv "$obj.tmp" "$obj"
	while read -r f; do touch "$src/$f"; done < <(series_patches | xargs grep -h '^+++ b/' | sed 's|^+++ b/||' | sort -u)
}

# KERNEL_CACHE=DIR keeps finished results by build key outside $OUT, so a
# fresh clone (CI) reuses a kernel built from the same tarball, series,
# fragment and script; any change to those is a new key and a real build.
restore_cached() {
	local c=${KERNEL_CACHE:+$KERNEL_CACHE/$name-$1}
	[[ -n $c && -f $c/Image && -z ${FORCE:-} ]] || return 1
	mkdir -p "$dest"
	cp -a "$c/." "$dest/"
	log "$name: restored $dest/Image from KERNEL_CACHE ($c)"
}

store_cached() {
	[[ -n ${KERNEL_CACHE:-} ]] || return 0
	local c="$KERNEL_CACHE/$name-$1"
	mkdir -p "$KERNEL_CACHE"
	rm -rf "$c.tmp" && cp -a "$dest" "$c.tmp" && rm -rf "$c" && mv "$c.tmp" "$c"
}

main() {
	command -v "${KP_CROSS}gcc" >/dev/null || die "${KP_CROSS}gcc missing: run scripts/kernel/deps.sh"
	local key src t0
	key=$(build_key)
	if [[ -z ${FORCE:-} && -f $dest/Image && -f $dest/build.stamp && $(cat "$dest/build.stamp") == "$key" ]]; then
		log "$name: cached $dest/Image"
		if [[ -n ${KERNEL_CACHE:-} && ! -f $KERNEL_CACHE/$name-$key/Image ]]; then store_cached "$key"; fi
		return 0
	fi
	if restore_cached "$key"; then return; fi
	src=$(prepare_tree "$side")
	seed_objects "$src"
	# the tree must stay clean for O= builds; the stamp is ours
	configure "$src"
	log "$name: building Image with -j$KP_JOBS (log: $obj/build.log)"
	t0=$(date +%s)
	if ! "${kmake[@]}" -C "$src" O="$obj" Image >"$obj/build.log" 2>&1; then
		tail -40 "$obj/build.log" >&2
		die "$name: kernel build failed"
	fi
	mkdir -p "$dest"
	cp "$obj/arch/arm64/boot/Image" "$obj/.config" "$obj/System.map" "$dest/"
	cp "$obj/vmlinux" "$dest/vmlinux"
	"${kmake[@]}" -C "$src" O="$obj" kernelrelease >"$dest/kernelrelease"
	echo "$(($(date +%s) - t0))" >"$dest/build-seconds"
	echo "$key" >"$dest/build.stamp"
	log "$name: built $dest/Image in $(cat "$dest/build-seconds")s ($(cat "$dest/kernelrelease"))"
	store_cached "$key"
}

main
