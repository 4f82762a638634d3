#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host integration tests of kvmlockstat against the running kernel:
#   tests/integration/run.sh BUILD_DIR
# Real probes, real workloads, counts checked against perf's own count of
# lock:contention_begin. Real-VM (mmu_lock) checks run here when the host
# has /dev/kvm, and always in the x86 lab (tests/lab/mmu_lock.sh).
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=integration
. tests/lib.sh

B=${1:-build}
K=$B/kvmlockstat
T=$(mktemp -d /tmp/kvmlockstat-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
cc -O2 -pthread tests/integration/mmstorm.c -o "$T/mmstorm" || exit 1
cc -O2 -pthread tests/integration/contend.c -o "$T/contend" || exit 1


test_bad_input() {
    expect_error "bad duration rejected" "invalid duration" "$K" -d abc
    expect_error "negative interval rejected" "invalid interval" "$K" -i -1
    expect_error "bad pid rejected" "invalid PID" "$K" -p 0
    expect_error "pid without a VM rejected" "holds no KVM VM" "$K" -p 1 -d 1
    expect_error "stray argument rejected" "after --" "$K" -d 1 foo
    expect_error "unknown subcommand rejected" "unknown subcommand" "$K" frobnicate
    expect_error "unknown backend rejected" "not tp_btf or raw_tp" "$K" --backend bogus
    expect_error "unwritable --json rejected up front" "cannot write" "$K" -d 1 -j /nonexistent/dir/x.json
    expect_error "report of a missing file" "No such file" "$K" report "$T/none.json"
    echo '{"schema": "kvmlockstat-run/1", "host": {}, "run": {}, "vms": [], "locks": [{"addr": 5}]}' > "$T/bad.json"
    expect_error "report of a malformed record names the field" "locks\[0\].addr" "$K" report "$T/bad.json"
    expect_error "not root: one clear line" "needs root" setpriv --reuid=65534 --regid=65534 --clear-groups "$K" -d 1
}

# Runs mmstorm under kvmlockstat -a with perf recording lock:contention_begin/end
# system-wide around it; the workload's own mmap_lock is private to it, so
# both tools must count exactly the same waits on it.  A wait is one contended
# acquisition: 6.18's rwsem can fire contention_begin twice for one (spinning,
# then sleeping) before its end, so perf's events are folded into waits per
# thread (tests/integration/waits.awk) before they are compared.
test_counts_match_perf() {
    local backend=$1 json=$T/storm-$1.json perf_pid lock ours theirs=0
    perf record -q -e lock:contention_begin,lock:contention_end -a -o "$T/perf.data" >/dev/null 2>"$T/perf.err" &
    perf_pid=$!
    sleep 1
    "$K" -a -i 0 --backend "$backend" -j "$json" -- "$T/mmstorm" -s 2 -t 4 > "$T/table-$backend" 2>&1
    check "$backend: run with a traced command exits 0" test $? -eq 0
    kill -INT "$perf_pid"; wait "$perf_pid"
    check "$backend: backend recorded" test "$(jq -r .run.backend "$json")" = "$backend"
    # The workload's hottest lock (its mmap_lock): most waits by tasks of the command.
    lock=$(jq -r '[.locks[] | select(.tasks | any(.comm == "mmstorm"))] | max_by(.contention.total.count) | .addr' "$json")
    ours=$(jq -r --arg l "$lock" '.locks[] | select(.addr == $l) | .contention.total.count' "$json")
    theirs=$(perf script -i "$T/perf.data" -F tid,event,trace 2>/dev/null |
        awk -f tests/integration/waits.awk | awk -v l="$lock" '$1 "" == l { print $2 }')
    if [ -n "$lock" ] && [ "$lock" != null ] && [ "${ours:-0}" -gt 0 ] && [ "$ours" = "$theirs" ]; then
        pass "$backend: waits on $lock: kvmlockstat $ours = perf $theirs"
    else
        fail "$backend: waits on ${lock:-none}: kvmlockstat ${ours:-none}, perf $theirs"
    fi
    check "$backend: lock named by its caller in the table" \
        grep -Eq "^  $lock +[a-z_]" "$T/table-$backend"
    check "$backend: wait times plausible (0 < mean <= max < duration)" jq_true --arg l "$lock" \
        '.locks[] | select(.addr == $l) | .contention.total | .mean_ns > 0 and .mean_ns <= .max_ns and .max_ns < 2e10' "$json"
    check "$backend: stacks recorded with symbols" jq_true --arg l "$lock" \
        '.locks[] | select(.addr == $l) | .stacks | length > 0 and (.[0].syms | length > 0)' "$json"
}

# Ctrl-C / SIGTERM: probes detached, the record still written, whole.
test_sigterm() {
    local json=$T/term.json pid rc
    "$K" -a -i 0 -j "$json" -- "$T/mmstorm" -s 60 > "$T/term.out" 2>&1 &
    pid=$!
    # Stop it mid-run: once the probes are on (startup parses kernel BTF) and it has waits.
    for _ in $(seq 300); do grep -q "kvmlockstat: tracing" "$T/term.out" && break; sleep 0.1; done
    sleep 2
    kill -TERM "$pid"
    wait "$pid"; rc=$?
    check "SIGTERM: exit 0" test "$rc" -eq 0
    check "SIGTERM: record complete and parseable" jq_true '.run.duration_ns > 1e9 and .run.duration_ns < 3e10 and (.locks | length > 0)' "$json"
    check "SIGTERM: summary printed" grep -q "=== kvmlockstat" "$T/term.out"
    check "SIGTERM: the traced command was stopped too" sh -c "! pgrep -x mmstorm"
    check "SIGTERM: no BPF program left attached" sh -c "! bpftool prog show | grep -q contention_"
    check "SIGTERM: no temporary file left" sh -c "! ls '$T' | grep -q tmp"
    check "report re-renders the record" sh -c "'$K' report '$json' | grep -q '=== kvmlockstat'"
}

# mmu_lock of a real VM, here only when the host has a usable /dev/kvm.
test_mmu_lock_host() {
    if [ ! -c /dev/kvm ]; then
        skip "mmu_lock on the host: no /dev/kvm here (covered by the x86 lab: tests/lab/mmu_lock.sh)"
        return
    fi
    tests/lab/mmu_lock.sh --host "$K" "$T/contend"
    if [ $? -eq 0 ]; then pass "mmu_lock on the host"; else fail "mmu_lock on the host"; fi
}

if [ "$(id -u)" != 0 ]; then
    skip "all integration tests: not root"
else
    [ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
    test_bad_input
    test_counts_match_perf tp_btf
    test_counts_match_perf raw_tp
    test_sigterm
    test_mmu_lock_host
fi
finish
