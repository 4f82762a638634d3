#!/usr/bin/env bash
# Install what building the lab kernels and the arm64 selftest needs.
# Idempotent: only missing packages are installed, apt-get update runs only
# then. The pinned linux-source version is asked for first; if the archive
# no longer has it, the newest is installed and series-check says so.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS=(make gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross flex bison bc
	libssl-dev libelf-dev dwarves cpio xz-utils kmod python3 git
	rsync file bsdextrautils	# headers_install; selftest's `file`; perftest's `column`
	qemu-system-arm "$PACKAGE")

missing() {
	local p
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

want=$(missing)
# Installed at another version (an upgrade pulled the archive's newest): the pinned one is
# what the series and its checksums are against, so ask for it again.
have=$(dpkg-query -W -f='${Version}' "$PACKAGE" 2>/dev/null || true)
[[ -z $have || $have == "$VERSION" ]] || want="$want $PACKAGE"
if [[ -z $want ]]; then
	log "kernel build deps present"
else
	[[ $(id -u) == 0 ]] || die "missing packages ($(echo $want)); run as root"
	log "installing: $(echo $want)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	pkgs=$(echo $want | sed "s/\b$PACKAGE\b/$PACKAGE=$VERSION/")
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends --allow-downgrades $pkgs >/dev/null ||
		apt-get install -y -qq --no-install-recommends $want >/dev/null
fi
have=$(dpkg-query -W -f='${Version}' "$PACKAGE")
[[ $have == "$VERSION" ]] || log "warning: $PACKAGE $have installed, series pinned to $VERSION"
