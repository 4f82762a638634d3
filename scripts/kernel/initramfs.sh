#!/usr/bin/env bash
# Build a minimal arm64 busybox initramfs for booting the lab kernels:
#   scripts/kernel/initramfs.sh OUT.cpio.gz INIT_SCRIPT [EXTRA_FILE...]
# INIT_SCRIPT becomes /init; each EXTRA_FILE is copied to /bin.
# busybox-static:arm64 is fetched with `apt-get download` and unpacked, never
# installed: an arm64 /bin/busybox on the host would shadow the host's own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cache="$KBUILD/cache"

busybox_arm64() {
	local bb="$cache/busybox/bin/busybox"
	if [[ ! -x $bb ]]; then
		dpkg --print-foreign-architectures | grep -qx arm64 || {
			dpkg --add-architecture arm64
			apt-get update -qq
		}
		mkdir -p "$cache/deb"
		(cd "$cache/deb" && rm -f busybox-static_*arm64.deb &&
			{ apt-get download -q busybox-static:arm64 >/dev/null 2>&1 ||
				{ apt-get update -qq && apt-get download -q busybox-static:arm64 >/dev/null; }; })
		rm -rf "$cache/busybox"
		dpkg-deb -x "$cache"/deb/busybox-static_*_arm64.deb "$cache/busybox"
	fi
	file -L "$bb" 2>/dev/null | grep -q aarch64 || [[ ! -x /usr/bin/file ]] || die "$bb is not an arm64 binary"
	echo "$bb"
}

main() {
	local out=${1:-} init=${2:-} root bb f
	[[ -n $out && -f $init ]] || die "usage: $0 OUT.cpio.gz INIT_SCRIPT [EXTRA_FILE...]"
	shift 2
	bb=$(busybox_arm64)
	root=$(mktemp -d)
	trap 'rm -rf "$root"' RETURN
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,root,etc}
	cp "$bb" "$root/bin/busybox"
	# applet links: the host can't run the arm64 busybox to list them, so link the common ones
	for f in sh ash cat echo ls mount umount mkdir grep dmesg sleep poweroff halt reboot \
		uname head tail wc sed awk cut tr date ps free df env test true false timeout; do
		ln -s busybox "$root/bin/$f"
	done
	install -m 0755 "$init" "$root/init"
	for f in "$@"; do install -m 0755 "$f" "$root/bin/"; done
	mkdir -p "$(dirname "$out")"
	(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -9 >"$out.tmp"
	mv "$out.tmp" "$out"
	echo "$out"
}

main "$@"
