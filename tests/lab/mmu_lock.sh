#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mmu_lock.sh: kvmlockstat against a real VM whose mmu_lock contends.
#   tests/lab/mmu_lock.sh                      in the x86_64 lab (stock Debian 6.1 + KVM under qemu)
#   tests/lab/mmu_lock.sh --host KVMLOCKSTAT CONTEND   on this host (needs /dev/kvm)
#   tests/lab/mmu_lock.sh --check RESULTS      only the assertions, on results already fetched
# The contention must be reported in the table and the record, attributed to the
# contend process, with plausible waits, and counted exactly as the kernel's own
# hist trigger on lock:contention_begin counts that lock (the lab), or as perf's
# record of lock:contention_begin/end does where the kernel has no hist triggers
# (the host).
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=lab-mmu-lock
. tests/lib.sh


assert_results() {
    local R=$1 J=$1/mmu_lock.json pid lock ours kernel nested
    check "kvmlockstat exited 0" test "$(cat "$R/kvmlockstat.rc" 2>/dev/null)" = 0
    check "record is valid JSON" jq_true .schema "$J"
    pid=$(sed -n 's/^contend: pid \([0-9]*\) vm ready.*/\1/p' "$R/kvmlockstat.out" | head -1)
    check "contend reported its pid" test -n "$pid"
    check "VM attributed to the contend process" jq_true --argjson p "${pid:-0}" \
        '.vms | any(.pid == $p and .comm == "contend" and .kvm != null and .mmu_lock != null)' "$J"
    lock=$(jq -r --argjson p "${pid:-0}" '.vms[] | select(.pid == $p) | .mmu_lock' "$J" | head -1)
    check "its mmu_lock contended for write" jq_true --arg l "$lock" \
        '.locks[] | select(.addr == $l) | .name == "mmu_lock" and .contention.write.count > 0' "$J"
    check "waits plausible (0 < mean <= max < run)" jq_true --arg l "$lock" \
        '. as $r | .locks[] | select(.addr == $l) | .contention.total | .mean_ns > 0 and .mean_ns <= .max_ns and .max_ns < $r.run.duration_ns' "$J"
    check "waiting threads are the VMM's" jq_true --arg l "$lock" --argjson p "${pid:-0}" \
        '.locks[] | select(.addr == $l) | .tasks | any(.pid == $p and .in_vmm)' "$J"
    check "table shows the VM and a write row" sh -c \
        "grep -q 'VM pid ${pid:-x} (contend)' '$R/kvmlockstat.out' && grep -Eq '^ +write +[1-9]' '$R/kvmlockstat.out'"
    ours=$(jq -r --arg l "$lock" '.locks[] | select(.addr == $l) | .contention.total.count' "$J")
    nested=$(jq -r .drops.nested_wait "$J")
    # hist prints "{ lock_addr: ffff... } hitcount: N" (no 0x)
    kernel=$(awk -v l="${lock#0x}" '$3 "" == l || $3 "" == "0x" l { for (i = 1; i <= NF; i++) if ($i == "hitcount:") print $(i+1) }' \
        "$R/contention_begin.hist" 2>/dev/null)
    if [ -s "$R/perf-waits.txt" ]; then
        kernel=$(awk -v l="$lock" '$1 "" == l { print $2 }' "$R/perf-waits.txt")
        check "count equals perf's: kvmlockstat ${ours:-none}, perf ${kernel:-none} waits" \
            test -n "$ours" -a "$ours" = "${kernel:-x}"
    elif [ ! -s "$R/contention_begin.hist" ]; then
        skip "kernel count cross-check: no hist trigger on this kernel (CONFIG_HIST_TRIGGERS) and no perf"
    elif [ -n "$ours" ] && [ "${kernel:-0}" -ge "$ours" ] && [ "$((kernel - ours))" -le "${nested:-0}" ]; then
        pass "count agrees with the kernel's: kvmlockstat $ours, hist trigger $kernel (nested waits $nested)"
    else
        fail "count disagrees: kvmlockstat ${ours:-none}, hist trigger ${kernel:-none} for $lock (nested $nested)"
    fi
}

# perf report on the perf.data kvmlockstat wrote in the guest, with the guest's symbols:
# each KVM function's share of the wait time (perf's "children" column: the samples whose
# chain holds it) must be the share the record's stacks give it.
assert_perf_report() {
    local R=$1 sym want got
    if ! command -v perf > /dev/null; then skip "perf report: no perf"; return; fi
    perf report -i "$R/mmu_lock.data" --kallsyms "$R/kallsyms" --stdio --children -g none \
        --sort sym --percent-limit 0 > "$R/perf-report.txt" 2> "$R/perf-report.err"
    check "perf report reads the perf.data without complaint" \
        sh -c "[ -s '$R/perf-report.txt' ] && ! grep -qiE 'error|invalid|corrupt' '$R/perf-report.err'"
    # Expected: per KVM symbol, the wait of the stacks that hold it / all mmu_lock wait.
    jq -r '[.locks[] | select(.kvm != null) | .stacks[] | select(.syms | length > 0)
            | {s: ([.syms[] | sub("\\+0x.*"; "")] | unique), w: .wait_ns}] as $st
           | ($st | map(.w) | add) as $t
           | [$st[].s[] | select(startswith("kvm_"))] | unique[] as $f
           | "\($f) \([$st[] | select(.s | index($f)) | .w] | add * 100 / $t)"' \
        "$R/mmu_lock.json" | sort -k2 -n -r | head -4 > "$R/expected-shares.txt"
    check "the record's stacks name KVM functions" test -s "$R/expected-shares.txt"
    while read -r sym want; do
        got=$(awk -v s="$sym" '$NF == s && $1 ~ /%$/ { sub("%", "", $1); print $1; exit }' "$R/perf-report.txt")
        check "perf report: $sym in $(printf %.1f "$want")% of the wait (perf: ${got:-none}%)" \
            awk -v g="${got:-x}" -v w="$want" 'BEGIN { exit !(g != "x" && (g - w) < 1 && (w - g) < 1) }'
    done < "$R/expected-shares.txt"
    check "folded stacks carry the same total wait" awk -v t="$(jq '[.locks[] | select(.kvm != null) | .stacks[] | select(.ips | length > 0) | .wait_ns] | add' "$R/mmu_lock.json")" \
        '{ s += $NF } END { exit !(s == t) }' "$R/mmu_lock.folded"
}

case ${1:-} in
--check)
    assert_results "$2"
    assert_perf_report "$2" ;;
--host)
    R=$(mktemp -d /tmp/mmu-lock.XXXXXX)
    B=$(mktemp -d /tmp/mmu-lock-bin.XXXXXX)
    cp "$2" "$B/kvmlockstat"; cp "$3" "$B/contend"
    # This kernel may lack hist triggers: perf counts the same window instead.
    if command -v perf > /dev/null; then
        perf record -q -e lock:contention_begin,lock:contention_end -a -o "$R/perf.data" \
            > /dev/null 2> "$R/perf.err" &
        perf_pid=$!
        sleep 1
    fi
    sh tests/lab/guest-mmu-lock.sh "$R" "$B" > /dev/null
    if [ -n "${perf_pid:-}" ]; then
        kill -INT "$perf_pid"; wait "$perf_pid"
        perf script -i "$R/perf.data" -F tid,event,trace 2> /dev/null |
            awk -f tests/integration/waits.awk > "$R/perf-waits.txt"
    fi
    assert_results "$R"
    [ "${KEEP:-0}" = 1 ] && echo "kept $R" || rm -rf "$R" "$B" ;;
*)
    if ! [ -e /dev/kvm ] && ! command -v qemu-system-x86_64 > /dev/null && [ "$(id -u)" != 0 ]; then
        skip "x86 lab: no qemu and not root to install it"
    else
        R=build/lab/x86_64-mmu-lock
        if LAB_ARCH=x86_64 LAB_GUEST=tests/lab/guest-mmu-lock.sh \
            LAB_RESULTS=$R scripts/lab/lab.sh; then
            assert_results "$R"
            assert_perf_report "$R"
        else
            fail "x86 lab run (see above)"
        fi
    fi ;;
esac
finish
