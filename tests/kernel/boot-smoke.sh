#!/usr/bin/env bash
# Boot smoke for a lab kernel built by scripts/kernel/build.sh:
#   tests/kernel/boot-smoke.sh [before|after]      (default: before)
# Boots $OUT/kernel/<side>/Image under qemu TCG at EL2 (VHE) with a busybox
# initramfs and checks: the kernel boots to /init, KVM initialised in VHE
# mode, /dev/kvm exists. Also checks from the kernel's BTF that
# kvm->mmu_lock has the type the side must have (spinlock_t before the
# series, rwlock_t after), so a before kernel that quietly kept the rwlock
# fails here. Prints PASS:/FAIL: lines and "N passed, N failed".
set -euo pipefail
. "$(dirname "$0")/../../scripts/kernel/lib.sh"

side=${1:-before}
check_side "$side"
img="$KBUILD/$side/Image"
work="$KBUILD/smoke/$side"
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-300}
pass=0 fail=0

ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [[ $fail == 0 ]]; exit $?; }

write_init() {
	cat >"$1" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "SMOKE: uname=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
dmesg | grep -i kvm | sed 's/^/SMOKE-DMESG: /'
if [ -c /dev/kvm ]; then echo "SMOKE: dev_kvm=yes"; else echo "SMOKE: dev_kvm=no"; fi
echo "SMOKE: done"
poweroff -f
EOF
}

# kvm->mmu_lock's type as the kernel itself describes it (BTF in vmlinux).
mmu_lock_type() {
	pahole -C kvm "$KBUILD/$side/vmlinux" 2>/dev/null | awk '$2 == "mmu_lock;" && !t {t = $1} END {print t}'
}

boot() {
	mkdir -p "$work"
	write_init "$work/init"
	"$KP_REPO/scripts/kernel/initramfs.sh" "$work/initrd.gz" "$work/init" >/dev/null
	local t0=$(date +%s%N)
	# -no-reboot + panic=-1: a panic ends qemu instead of hanging the test
	timeout "$SMOKE_TIMEOUT" qemu-system-aarch64 \
		-M virt,virtualization=on,gic-version=3 -cpu max,pauth-impdef=on \
		-smp "${SMOKE_SMP:-2}" -m "${SMOKE_MEM:-2G}" -nographic -no-reboot \
		-kernel "$img" -initrd "$work/initrd.gz" \
		-append "console=ttyAMA0 rdinit=/init panic=-1" </dev/null >"$work/console.log" 2>&1 || true
	echo "$(( ($(date +%s%N) - t0) / 1000000 ))" >"$work/boot-ms"
}

main() {
	[[ -f $img ]] || { ko "$img missing (make kernel-$side)"; finish; }
	command -v qemu-system-aarch64 >/dev/null || { ko "qemu-system-aarch64 missing (scripts/kernel/deps.sh)"; finish; }
	boot
	local log="$work/console.log"
	grep -q '^SMOKE: done' "$log" && ok "$side kernel boots to /init ($(cat "$work/boot-ms") ms qemu TCG wall time, emulated)" ||
		ko "$side kernel did not reach /init; see $log"
	grep -q 'VHE mode initialized' "$log" && ok "KVM initialised in VHE mode" ||
		ko "no 'VHE mode initialized' in dmesg; see $log"
	grep -q '^SMOKE: dev_kvm=yes' "$log" && ok "/dev/kvm exists" || ko "/dev/kvm missing"

	local want=rwlock_t got
	[[ $side == before ]] && want=spinlock_t
	got=$(mmu_lock_type || true)
	[[ $got == "$want" ]] && ok "BTF: struct kvm mmu_lock is $got" ||
		ko "BTF: struct kvm mmu_lock is '${got:-?}', want $want"
	finish
}

main
