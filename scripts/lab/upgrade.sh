#!/bin/bash
# upgrade.sh (make lab-upgrade): what an operator deciding a kernel upgrade would run. The arm64
# lab on Debian's stock kernels (LAB_UPGRADE_KERNELS, default "5.10 6.1 7.3": mmu_lock a
# spinlock with no read-lock fast path in 5.10, parallel stage-2 faults from 5.18), kvm-dirtylog
# at 1, 2 and 4 vCPUs (LAB_CPUS=4) under kvmlockstat --fault-types --fault-latency, then for
# each kernel against each later one: `kvmlockstat diff` (the cover letter's layout: contention per
# vCPU count, fast-path share, ...) and the permission-fault latency in the same layout.
# Output: build/lab/upgrade/<kernel>/ (sweeps) and build/lab/upgrade/report.md
# (LAB_UPGRADE_REPORT=1 writes the report again from the sweeps, without booting).
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
kernels=${LAB_UPGRADE_KERNELS:-5.10 6.1 7.3}
arch=${LAB_ARCH:-arm64}
vcpus=${LAB_VCPUS:-1 2 4}
out=${LAB_UPGRADE_OUT:-build/lab/upgrade}
log() { echo "lab-upgrade: $*" >&2; }

# Every kernel first: one apt cannot fetch stops the comparison before anything boots.
declare -A root
for k in $kernels; do
    root[$k]=$(scripts/lab/kernel-fetch.sh "$k" "$arch") || exit 1
done
make -s build/kvmlockstat >&2
mkdir -p "$out"

sweep() {
    local k=$1 r=${root[$1]}
    log "$k: booting ($arch, vCPUs $vcpus, log $out/$k.log)"
    LAB_ARCH=$arch LAB_KERNEL=$r/vmlinuz LAB_MODULES=$r/modules LAB_VCPUS=$vcpus LAB_CPUS=4 \
        LAB_MEM=${LAB_MEM:-2G} LAB_SIZE=${LAB_SIZE:-64M} LAB_ITER=${LAB_ITER:-2} LAB_CHECK_PATHS=0 \
        LAB_KVMLOCKSTAT_ARGS="--fault-types --fault-latency" LAB_RESULTS=$out/$k \
        nice -n 10 scripts/lab/lab.sh > "$out/$k.log" 2>&1 || log "$k: lab exit $? (see $out/$k.log)"
}

# Permission-fault latency (p50 and p99, ns) per vCPU count, the layout of kvmlockstat diff.
perm_latency() {
    local b=$1 a=$2 q
    for q in p50_ns p99_ns; do
        echo
        echo "permission-fault latency $q (ns, emulated)"
        echo "+-------+--------------+--------------+--------------+----------+"
        printf "| %5s | %12s | %12s | %12s | %8s |\n" "#vCPU" before after change relative
        echo "+-------+--------------+--------------+--------------+----------+"
        for n in $vcpus; do
            local x y
            x=$(perm_q "$b" "$n" "$q") y=$(perm_q "$a" "$n" "$q")
            awk -v n="$n" -v x="$x" -v y="$y" 'BEGIN {
                c = (x == "-" || y == "-") ? "-" : sprintf("%+d", y - x)
                r = (x == "-" || y == "-" || x == 0) ? "-" : sprintf("%+.1f%%", (y - x) / x * 100)
                printf "| %5s | %12s | %12s | %12s | %8s |\n", n, x, y, c, r }'
        done
        echo "+-------+--------------+--------------+--------------+----------+"
    done
}
perm_q() {	# perm_q SWEEP N QUANTILE: "-" when that run has no record of the VM
    local d=$1 vm
    [ -f "$d/dirtylog-v$2.json" ] && [ -f "$d/kvmlockstat-v$2.json" ] || { echo -; return; }
    vm=$(jq -c --argjson p "$(jq .pid "$d/dirtylog-v$2.json")" '[.vms[]? | select(.pid == $p)][0] // empty' \
        "$d/kvmlockstat-v$2.json" 2>/dev/null)
    [ -n "$vm" ] || { echo -; return; }
    echo "$vm" | jq -r --arg q "$3" '.faults.by_type.permission[$q] // "-"'
}

# LAB_UPGRADE_REPORT=1: only the report, from the sweeps already in LAB_UPGRADE_OUT.
[ "${LAB_UPGRADE_REPORT:-0}" = 1 ] || for k in $kernels; do sweep "$k"; done
{
    echo "# Kernel upgrade, $arch lab: $kernels"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n) ($(nproc) CPUs, host $(uname -r)):"
    echo "\`make lab-upgrade LAB_UPGRADE_KERNELS=\"$kernels\"\` (kvm-dirtylog -b ${LAB_SIZE:-64M} -i ${LAB_ITER:-2}"
    echo "at $vcpus vCPUs, LAB_CPUS=4, kvmlockstat --fault-types --fault-latency)."
    echo
    echo "**Times are from emulation.** qemu's TCG emulates the lab's CPUs and makes every broadcast"
    echo "TLB invalidation synchronous across them: fault and contention *counts* carry over to"
    echo "hardware; absolute times, latencies and the multi-vCPU scaling of times do not."
    # shellcheck disable=SC2086 # a list of kernels, split on purpose
    set -- $kernels
    while [ $# -gt 1 ]; do
        b=$1
        shift
        for k in "$@"; do
            echo
            echo "## $b (before) against $k (after)"
            echo
            echo '```'
            build/kvmlockstat diff "$out/$b" "$out/$k" 2>&1 || true
            perm_latency "$out/$b" "$out/$k"
            echo '```'
        done
    done
} > "$out/report.md"
cat "$out/report.md"
