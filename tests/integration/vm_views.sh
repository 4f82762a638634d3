#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What a user sees of a real VM (contend): -a names the locks inside its struct kvm by
# field and counts every thread of its VMM as in_vmm; -p PID ends with that VMM; what
# a run did not measure is empty in the timeline CSV, null in JSON, "not measured" in
# report, and the text fits 80 columns.
#   tests/integration/vm_views.sh                  on this host with /dev/kvm, else in the x86_64 lab
#   tests/integration/vm_views.sh --check RESULTS  assertions only
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=vm-views
. tests/lib.sh

assert_results() {
    local R=$1 pid kvm cpid
    # -a: items of one VM.
    check "-a over contend exits 0" test "$(cat "$R/all.rc")" = 0
    pid=$(sed -n 's/^contend: pid \([0-9]*\) vm ready.*/\1/p' "$R/all.out" | head -1)
    kvm=$(jq -r --argjson p "${pid:-0}" '.vms[] | select(.pid == $p) | .kvm' "$R/all.json" | head -1)
    check "-a: contend's VM found (pid ${pid:-?}, kvm ${kvm:-?})" test -n "$kvm" -a "$kvm" != null
    check "-a: every thread of contend is in_vmm, on every lock ($(jq -c --argjson p "${pid:-0}" \
        '[.locks[].tasks[] | select(.pid == $p) | .in_vmm] | group_by(.) | map({(.[0] | tostring): length}) | add' "$R/all.json"))" \
        jq_true --argjson p "${pid:-0}" '[.locks[].tasks[] | select(.pid == $p)] | length > 0 and all(.in_vmm)' "$R/all.json"
    check "-a: locks inside its struct kvm named by field and attributed to it ($(jq -r --arg k "$kvm" \
        '[.locks[] | select(.in_kvm == $k) | "\(.name) \(.contention.total.count)"] | join(", ")' "$R/all.json"))" \
        jq_true --arg k "$kvm" '[.locks[] | select(.in_kvm == $k) | .name] | length > 0 and all(startswith("kvm->"))' "$R/all.json"
    check "-a: its slots_lock among them" jq_true --arg k "$kvm" \
        'any(.locks[]; .in_kvm == $k and .name == "kvm->slots_lock")' "$R/all.json"
    check "-a: the table names them too" grep -q 'kvm->' "$R/all.out"
    check "-a: no line of the output wider than 80" awk 'length > 80 { print; bad = 1 } END { exit bad }' "$R/all.out"
    # -p PID ends with its VMM.
    cpid=$(cat "$R/p.pid")
    # Within 5 s of contend's end (the lab's clock is coarse), not at a timeout.
    check "-p $cpid: ends when that VMM exits, exit 0 ($(cat "$R/p.rc"); $(( $(cat "$R/p.end") - $(cat "$R/p-contend.end") )) s after it)" \
        sh -c "[ '$(cat "$R/p.rc")' = 0 ] && [ $(( $(cat "$R/p.end") - $(cat "$R/p-contend.end") )) -le 5 ]"
    check "-p $cpid: says why" grep -q "process $cpid exited" "$R/p.out"
    # Not measured is not zero.
    check "tracepoint run exits 0" test "$(cat "$R/tl.rc")" = 0
    check "timeline CSV: dirty-log ioctl cells empty in every row" awk -F, '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["get_dirty_log_calls"] != "" || $c["get_dirty_log_ns"] != "" { bad = 1 } END { exit bad || NR < 2 }' "$R/tl.csv"
    check "record: dirty-log ioctl figures null in every row" \
        jq_true '.timeline | length > 0 and all(.get_dirty_log_calls == null and .get_dirty_log_ns == null)' "$R/tl.json"
    check "report: dirty-log ioctls not measured, not '0 intervals'" \
        sh -c "grep -q 'dirty-log ioctls: not measured' '$R/tl-report.out' && ! grep -q 'dirty-log ioctls in' '$R/tl-report.out'"
}

case ${1:-} in
--check)
    assert_results "$2" ;;
*)
    if [ -c /dev/kvm ]; then
        B=$(mktemp -d /tmp/vm-views-bin.XXXXXX)
        cp build/kvmlockstat build/contend "$B/"
        R=$(mktemp -d /tmp/vm-views.XXXXXX)
        sh tests/integration/guest-views.sh "$R" "$B" > /dev/null 2>&1
        assert_results "$R"
        rm -rf "$R" "$B"
    elif ! command -v qemu-system-x86_64 > /dev/null; then
        skip "real VM: no /dev/kvm and no qemu for the x86 lab (scripts/setup.sh)"
    else
        R=build/lab/x86_64-vm-views
        if LAB_ARCH=x86_64 LAB_GUEST=tests/integration/guest-views.sh LAB_RESULTS=$R scripts/lab/lab.sh; then
            assert_results "$R"
        else
            fail "x86 lab run (see above)"
        fi
    fi ;;
esac
finish
