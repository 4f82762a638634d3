#!/usr/bin/env bash
# Build the kernel's own dirty_log_perf_test for arm64, statically, from one
# side of the series:
#   scripts/kernel/selftest.sh before|after
# before = no vgic in the test VM (userspace irqchip), after = GICv3 vgic,
# exactly as kernel-patches/0003 changes it. Result:
#   $OUT/kernel/<side>/dirty_log_perf_test   (static aarch64 ELF)
# Seed's command line: dirty_log_perf_test -b 2G -m 2 -i 2 -s anonymous_hugetlb_2mb -v N
# Everything is built out of tree (headers and objects under $OUT/kernel/obj),
# so the source tree stays clean for the O= kernel build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

side=${1:-}
check_side "$side"
dest="$KBUILD/$side"
hdr="$KBUILD/obj/headers-$side"
sel="$KBUILD/obj/selftest-$side"

build_key() {
	{ series_hash; sha256sum "$0" | cut -d' ' -f1; echo "$KP_CROSS"; } | sha256sum | cut -d' ' -f1
}

# uapi headers of this tree (the selftests include <linux/kvm.h> etc. from here)
install_headers() {
	local src=$1
	mkdir -p "$hdr"
	make -s -C "$src" O="$hdr" ARCH=arm64 CROSS_COMPILE="$KP_CROSS" \
		INSTALL_HDR_PATH="$hdr/usr" headers_install >/dev/null
}

build_test() {
	local src=$1 kvm="$1/tools/testing/selftests/kvm"
	mkdir -p "$sel"
	# LINUX_HDR_PATH/KHDR_INCLUDES point at our installed headers instead of
	# $(top_srcdir)/usr; EXTRA_CFLAGS reaches both compile and link (LINK.c).
	make -C "$kvm" -j"$KP_JOBS" ARCH=arm64 CROSS_COMPILE="$KP_CROSS" \
		OUTPUT="$sel" LINUX_HDR_PATH="$hdr/usr/include/" \
		KHDR_INCLUDES="-isystem $hdr/usr/include" EXTRA_CFLAGS=-static \
		"$sel/dirty_log_perf_test" >"$sel/build.log" 2>&1 || {
		tail -30 "$sel/build.log" >&2
		die "$side: dirty_log_perf_test build failed (log: $sel/build.log)"
	}
}

main() {
	command -v "${KP_CROSS}gcc" >/dev/null || die "${KP_CROSS}gcc missing: run scripts/kernel/deps.sh"
	local key src
	key=$(build_key)
	if [[ -z ${FORCE:-} && -x $dest/dirty_log_perf_test && -f $dest/selftest.stamp &&
		$(cat "$dest/selftest.stamp") == "$key" ]]; then
		log "$side: cached $dest/dirty_log_perf_test"
		return
	fi
	src=$(prepare_tree "$side")
	log "$side: headers_install + dirty_log_perf_test (static, ${KP_CROSS%-})"
	install_headers "$src"
	build_test "$src"
	mkdir -p "$dest"
	cp "$sel/dirty_log_perf_test" "$dest/dirty_log_perf_test"
	# a dynamic binary would not run in the busybox initramfs
	file "$dest/dirty_log_perf_test" | grep -q 'statically linked' ||
		die "$side: dirty_log_perf_test is not static: $(file -b "$dest/dirty_log_perf_test")"
	echo "$key" >"$dest/selftest.stamp"
	log "$side: $(file -b "$dest/dirty_log_perf_test" | cut -d, -f1-2) -> $dest/dirty_log_perf_test"
}

main
