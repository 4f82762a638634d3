#!/bin/bash
# table.sh RESULTS: the lab's results as one table, a row per vCPU count.
set -euo pipefail
. "$(dirname "$(realpath "$0")")/lablib.sh"
R=$1
[ -d "$R" ] || { echo "table: no results directory $R" >&2; exit 1; }
arch=$(cat "$R/lab-arch" 2>/dev/null || echo "?")

ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }

# Write-protection faults the kernel saw over the whole run, and how many took the fast path.
kernel_faults() {
    local n=$1
    if [ "$arch" = arm64 ]; then
        echo "$(esr_faults "$R/hist-kvm_guest_fault-v$n.txt" perm) $(hist_sum "$R/hist-kls_relax_perms-v$n.txt")"
    else
        echo "$(fast_fixed_hits "$R" "$n") $(jq '[.iterations[].kvm_stats.pf_fast // 0] | add' "$R/dirtylog-v$n.json")"
    fi
}

contention() {
    local vm
    vm=$(kls_vm "$R" "$1")
    [ -n "$vm" ] || { echo "-"; return; }
    echo "$(kls_count "$vm" read)/$(kls_count "$vm" write)/$(kls_count "$vm" spin)" \
        "($(ms "$(kls_count "$vm" all wait_ns)") ms)"
}

row() {
    local n=$1 j=$R/dirtylog-v$1.json pages iters f
    [ -f "$j" ] || { printf "%5s  run failed (exit %s): see %s\n" "$n" "$(cat "$R/rc-v$n")" "$R/run-v$n.log"; return; }
    pages=$(jq '.config.vcpus * .config.pages_per_vcpu' "$j")
    iters=$(jq '.config.iterations' "$j")
    f=($(kernel_faults "$n"))
    printf "%5s %10s %12s %10s %10s %12s %12s %12s  %s\n" "$n" "$pages" \
        "$(ms "$(jq .summary.dirty_memory_avg_ns "$j")")" \
        "$(ms "$(jq .summary.get_dirty_log_avg_ns "$j")")" \
        "$(ms "$(jq .summary.clear_dirty_log_avg_ns "$j")")" \
        "$((pages * iters))" "${f[0]}" "${f[1]}" "$(contention "$n")"
}

vcpus=$(result_vcpus "$R")
[ -n "$vcpus" ] || { echo "table: no kvm-dirtylog results in $R" >&2; exit 1; }
fast=$([ "$arch" = arm64 ] && echo relax_perms || echo pf_fast)
under=$(ls "$R"/kvmlockstat-v*.json > /dev/null 2>&1 && echo "under kvmlockstat" || echo "WITHOUT kvmlockstat")
echo "kvm-dirtylog $under, $arch lab ($(sed -n 's/^uname: Linux [^ ]* \([^ ]*\).*/\1/p' "$R/guest-info.txt" 2>/dev/null))"
printf "%5s %10s %12s %10s %10s %12s %12s %12s  %s\n" vCPUs pages/pass "dirty ms" "get-log ms" \
    "clear ms" "wp expected" "wp faults" "$fast" "mmu_lock contention r/w/spin (wait)"
for n in $vcpus; do row "$n"; done
echo "ms: average per logged pass. wp: write-protection faults over all logged passes (kernel tracefs counts)."
echo "Timings come from TCG emulation (qemu -cpu max, nested virtualization): every broadcast TLB"
echo "invalidation is synchronous across the lab's CPUs. Fault and contention counts carry over to real"
echo "hardware; absolute and multi-vCPU times do not."
