#!/bin/bash
# fault_fallback.sh KVMLOCKSTAT: the fault family on this host, whatever it allows.
# Where fentry and kprobes are refused (this project's build host): kvmlockstat still
# runs and measures lock contention, falls back to tracepoints, names the fault
# metrics it cannot collect and why on ONE stderr line and in the record's "missing",
# and a forced function backend fails with a clear error.  Where function probes
# work: no such line, and the record says which backend each metric used.
# Needs root.  Last line "N passed, N failed"; non-zero exit on any failure.
set -uo pipefail
K=${1:-build/kvmlockstat}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }

# --fault-latency: every fault metric asked for, so each one refused is named.
"$K" -d 1 -i 0 --fault-latency --json "$T/run.json" > "$T/out" 2> "$T/err"
rc=$?
[ "$rc" = 0 ] && ok "kvmlockstat -d 1 exits 0" || ko "kvmlockstat -d 1 exited $rc: $(cat "$T/err")"
b() { jq -r ".backends.$1 // \"none\"" "$T/run.json"; }
[ "$(b lock_contention)" != none ] && ok "lock contention measured ($(b lock_contention))" ||
    ko "no lock contention backend in the record"

# The notice is said once, in the summary (stdout), wrapped to the terminal's width:
# its lines are joined back here (continuation lines are indented).
notices() { cat "$@" | grep -c '^\(kvmlockstat: \)\?not measured: '; }
notice_text() {
    awk '/^(kvmlockstat: )?not measured: /{on=1; printf "%s", $0; next}
         on && /^  /{sub(/^ +/, " "); printf "%s", $0; next} {on=0}' "$@"
}
notice=$(notices "$T/out" "$T/err")
if [ "$(b fault_latency)" = none ]; then
    line=$(notice_text "$T/out" "$T/err")
    [ "$notice" = 1 ] && ok "one notice line: $line" || ko "$notice notice lines, expected 1: $(cat "$T/err")"
    echo "$line" | grep -q 'fault latency.*refused (' && ok "the notice names fault latency and the refusal" ||
        ko "the notice lacks 'fault latency ... refused (': $line"
    jq -e '[.missing[] | select(.what == "fault latency" and (.why | test("refused")))] | length == 1' \
        "$T/run.json" > /dev/null && ok "record: missing names fault latency and why" ||
        ko "record: no missing entry for fault latency: $(jq -c .missing "$T/run.json")"
    if [ -d /sys/kernel/tracing/events/kvm ]; then
        [ "$(b faults)" = tracepoint ] && ok "faults counted from tracepoints" ||
            ko "faults backend '$(b faults)', expected tracepoint"
    fi
    for forced in fentry kprobe; do
        "$K" -d 1 -i 0 --backend "$forced" > /dev/null 2> "$T/ferr"
        rc=$?
        [ "$rc" != 0 ] && grep -q "^kvmlockstat: --backend $forced: .*refused" "$T/ferr" &&
            ok "--backend $forced refused clearly (exit $rc): $(head -n 1 "$T/ferr")" ||
            ko "--backend $forced: exit $rc, stderr: $(cat "$T/ferr")"
    done
else
    [ "$notice" = 0 ] && ok "function probes work here ($(b fault_latency)): no notice" ||
        ko "function probes work but a notice was printed: $(cat "$T/err")"
fi
# Default: fault latency is opt-in, the record says so and no notice names it.
"$K" -d 1 -i 0 --json "$T/default.json" > "$T/dout" 2> "$T/derr"
jq -e '[.missing[] | select(.what == "fault latency" and (.why | test("--fault-latency")))] | length == 1' \
    "$T/default.json" > /dev/null && ok "default run: record lists fault latency as opt-in (--fault-latency)" ||
    ko "default run: no opt-in entry for fault latency: $(jq -c .missing "$T/default.json")"
! notice_text "$T/dout" "$T/derr" | grep -q 'not measured: .*fault latency' &&
    ok "default run: no notice for the opt-in fault latency" ||
    ko "default run: notice names fault latency: $(cat "$T/derr")"
# Where KVM counts faults itself (x86 pf_taken/pf_fast in BTF): by default they come from
# KVM's counters, through kvmlockstat's own duplicate of each vCPU fd, read once more after
# the VMM exited (the held fd keeps the vCPU); without CAP_SYS_PTRACE the probes count them.
C=$(dirname "$K")/contend
if [ -c /dev/kvm ] && [ -x "$C" ] && [ "$(uname -m)" = x86_64 ]; then
    "$K" -i 0 --json "$T/kvm.json" -- "$C" -s 1 -m 16 > /dev/null 2> "$T/kerr"
    vm='[.vms[] | select(.comm == "contend")] | first'
    [ "$(jq -r .backends.faults "$T/kvm.json")" = kvm_stats ] &&
        ok "default: faults from KVM's counters (backends.faults = kvm_stats)" ||
        ko "default: faults backend $(jq -r .backends.faults "$T/kvm.json"), expected kvm_stats: $(cat "$T/kerr")"
    jq -e "$vm | [.vcpus[] | select(.vcpu_id == 0 and (.faults.kvm | has(\"pf_taken\")))] | length == 1" \
        "$T/kvm.json" > /dev/null &&
        ok "contend's vCPU 0 read after contend exited: $(jq -c "$vm | .vcpus[0].faults.kvm" "$T/kvm.json")" ||
        ko "no KVM counters for contend's vCPU 0: $(jq -c "$vm" "$T/kvm.json")"
    setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace -- \
        "$K" -i 0 --json "$T/noptrace.json" -- "$C" -s 1 -m 16 > /dev/null 2> "$T/nerr"
    jq -e '.backends.faults != "kvm_stats" and ([.missing[] | select(.what == "KVM'"'"'s fault counters"
            and (.why | test("CAP_SYS_PTRACE")))] | length == 1)' "$T/noptrace.json" > /dev/null &&
        ok "without CAP_SYS_PTRACE: probes count faults ($(jq -r .backends.faults "$T/noptrace.json")), the record says why" ||
        ko "without CAP_SYS_PTRACE: $(jq -c '[.backends, .missing]' "$T/noptrace.json" 2>&1) $(cat "$T/nerr")"
else
    echo "SKIP: KVM's fault counters (needs /dev/kvm, $C and x86's KVM)"
fi
"$K" -d 1 -i 0 --backend bogus > /dev/null 2> "$T/berr"
rc=$?
[ "$rc" != 0 ] && grep -q "is not tp_btf or raw_tp (lock probes), nor auto, fentry, kprobe or tracepoint" "$T/berr" &&
    ok "--backend bogus rejected (exit $rc)" || ko "--backend bogus: exit $rc: $(cat "$T/berr")"
"$K" report "$T/run.json" > "$T/report" 2>&1 && ok "report re-reads the record" ||
    ko "report failed: $(cat "$T/report")"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
