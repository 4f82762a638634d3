#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeline.sh: --timeline against real stage-2 faults, in the arm64 lab (stock 6.1):
# kvm-dirtylog's populate pass takes translation faults, its logged passes permission
# faults.  The kernel's own trace says when logging began (the memslot flags change,
# relative to the workload's exec, which kvmlockstat releases at t = 0): no interval
# that ends before it may hold a permission fault, the intervals after it hold all of
# them, one per page per logged pass.  Lab timings are emulated (qemu TCG): the counts
# carry over to hardware, the seconds do not.
#   tests/lab/timeline.sh [RESULTS_DIR]     (make lab-timeline)
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=lab-timeline
. tests/lib.sh

R=${1:-build/lab/arm64-timeline}
if [ "${TL_SKIP_LAB:-0}" != 1 ]; then
    rm -rf "$R"
    if ! LAB_ARCH=arm64 LAB_GUEST=tests/lab/guest-timeline.sh LAB_RESULTS=$R scripts/lab/lab.sh; then
        fail "arm64 lab run (see above)"
        finish
        exit
    fi
fi
csv=$R/timeline.csv json=$R/timeline.json dl=$R/dirtylog.json
check "kvmlockstat exit 0 in the lab" test "$(cat "$R/kvmlockstat.rc" 2>/dev/null)" = 0
check "timeline finalised" test -s "$csv" -a ! -e "$csv.part"
[ -s "$csv" ] && [ -s "$dl" ] || { finish; exit; }

# Seconds from the workload's exec to the first memslot flags change (logging on).
t_log=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = substr($i, 1, length($i) - 1); break } }
    /sched_process_exec:/ && !t_exec { t_exec = t }
    /kls_commit:/ && /change=3/ && t_exec && !t_on { t_on = t }
    END { if (t_exec && t_on) printf "%.6f\n", t_on - t_exec }' "$R/trace.txt")
if [ -z "$t_log" ]; then
    fail "the kernel's trace names the start of dirty logging ($(head -c 200 "$R/trace-setup.err" 2>/dev/null))"
    finish
    exit
fi
pass "dirty logging began ${t_log} s after kvm-dirtylog's exec (kernel trace, $(cat "$R/trace_clock.txt" | grep -o '\[[a-z]*\]') clock)"

pid=$(jq .pid "$dl")
want=$(jq '.config.vcpus * .config.pages_per_vcpu * .config.iterations' "$dl")
# sum COLUMN WHEN: over the VM's rows, WHEN is before|after|all (relative to t_log).
sum() {
    awk -F, -v col="$1" -v when="$2" -v t="$t_log" -v pid="$pid" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["pid"] != pid { next }
        when == "before" && $c["t_end_s"] > t { next }
        when == "after" && $c["t_start_s"] < t { next }
        { s += $c[col]; n++ } END { printf "%d %d\n", s, n }' "$csv"
}
read -r perm_before n_before <<< "$(sum faults_permission before)"
read -r trans_before _ <<< "$(sum faults_translation before)"
read -r perm_after n_after <<< "$(sum faults_permission after)"
read -r perm_all n_all <<< "$(sum faults_permission all)"
read -r logs_before _ <<< "$(sum get_dirty_log_calls before)"
read -r logs_all _ <<< "$(sum get_dirty_log_calls all)"
check "intervals wholly before logging exist ($n_before of $n_all)" test "$n_before" -ge 1
check "populate pass: translation faults before logging ($trans_before)" test "$trans_before" -gt 0
check "no permission fault in the $n_before intervals before logging began" test "$perm_before" -eq 0
check "permission faults in the $n_after intervals after it ($perm_after)" test "$perm_after" -gt 0
check "timeline's permission faults = pages x logged passes ($perm_all = $want)" test "$perm_all" -eq "$want"
check "timeline = record total" test "$perm_all" -eq "$(jq --argjson p "$pid" \
    '[.vms[] | select(.pid == $p) | .faults.by_type.permission.count] | add // 0' "$json")"
check "dirty-log ioctls only after logging began ($logs_before before, $logs_all in all)" \
    test "$logs_before" -eq 0 -a "$logs_all" -gt 0
# arm64 records no call chain in vCPU context: those waits must still come out as faults,
# because their waiters are the VM's vCPU threads (seen faulting).
read -r w_fault _ <<< "$(sum waits_fault all)"
w_total=$(jq --argjson p "$pid" '[.vms[] | select(.pid == $p) | .contention.total.count] | add // 0' "$json")
check "mmu_lock waits on the fault path = all waits ($w_fault of $w_total; chainless: $(jq .drops.stack_not_recorded "$json"))" \
    test "$w_fault" -eq "$w_total"
check "every waiter on the fault path is a vCPU thread of the VM" jq_true --argjson p "$pid" '
    ([.vms[] | select(.pid == $p) | .vcpus[].tid]) as $v
    | [.locks[] | select(.name == "mmu_lock") | .stacks[] | select(.path == "fault") | .tid]
    | all(. as $t | $v | index($t))' "$json"
if command -v gnuplot > /dev/null; then
    check "plot --timeline of the lab run" build/kvmlockstat plot --timeline "$csv" -o "$R/timeline"
fi
echo "lab-timeline: (qemu TCG: counts carry over to hardware, seconds do not)"
finish
