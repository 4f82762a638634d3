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
# A name of its own: other runs of this suite, or of mmstorm, may share the machine.
STORM=mmstorm.$$
cc -O2 -pthread tests/integration/mmstorm.c -o "$T/$STORM" || exit 1
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
    # A command that cannot run is refused before any probe is attached: one line, 127.
    local rc
    "$K" -- /nonexistent/cmd > "$T/nocmd" 2>&1
    rc=$?
    check "-- /nonexistent/cmd: exit 127 ($rc), one line, nothing attached: $(head -c 120 "$T/nocmd")" \
        sh -c "[ $rc = 127 ] && [ \$(wc -l < '$T/nocmd') = 1 ] && grep -q 'cannot run /nonexistent/cmd' '$T/nocmd'"
    expect_error "-- a name not in PATH: refused in the shell's words, exit 127" "command not found" "$K" -- no-such-command-here
}

# --help: the subcommands and --version, then live's options.
test_help() {
    "$K" --help > "$T/help" 2>&1
    check "--help exits 0" test $? -eq 0
    check "--help lists the subcommands" sh -c "grep -Eq '^  report ' '$T/help' && grep -Eq '^  diff ' '$T/help' &&
        grep -Eq '^  plot ' '$T/help' && grep -Eq '^  exporter ' '$T/help'"
    check "--help names --version" grep -q -- '--version' "$T/help"
    check "--help still documents live's options" grep -q -- '--interval' "$T/help"
}

# What was not measured is said once, per reason, and not about options left off.
test_not_measured_once() {
    "$K" -d 1 -i 0 > "$T/nm.out" 2>&1
    check "not measured: no line about an option not asked for" sh -c "! grep -q 'opt-in' '$T/nm.out'"
    check "not measured: each reason said once" sh -c "! grep -o 'not measured: .*' '$T/nm.out' |
        sed 's/^not measured: [^:]*: //' | sort | uniq -d | grep -q ."
    check "not measured: not also at the start" sh -c "! grep -q '^kvmlockstat: not measured' '$T/nm.out'"
}

# Runs mmstorm ($STORM) under kvmlockstat -a with perf recording lock:contention_begin/end
# system-wide around it.  mmstorm's threads live only while kvmlockstat traces, so
# both tools must count exactly the same waits by them on its hottest lock (its
# mmap_lock, or on a loaded machine a runqueue lock shared with every other task:
# only its threads' waits are compared, perf's window being wider).  A wait is one contended
# acquisition: 6.18's rwsem can fire contention_begin twice for one (spinning,
# then sleeping) before its end, so perf's events are folded into waits per
# thread (tests/integration/waits.awk) before they are compared.
test_counts_match_perf() {
    local backend=$1 json=$T/storm-$1${KVMLOCKSTAT_DENY_FACTS:+-old}.json lock ours theirs=0
    local label=$backend${KVMLOCKSTAT_DENY_FACTS:+ (taken as missing: $KVMLOCKSTAT_DENY_FACTS)}
    perf_lock_start "$T" || { fail "$label: perf record"; return; }
    "$K" -a -i 0 --backend "$backend" -j "$json" -- "$T/$STORM" -s 2 -t 4 > "$T/table-$backend" 2>&1
    check "$label: run with a traced command exits 0" test $? -eq 0
    perf_lock_waits "$T" comm "$STORM" > "$T/perf-waits" || echo "perf lost events (see its count below)"
    check "$label: backend recorded" test "$(jq -r .run.backend "$json")" = "$backend"
    # The lock mmstorm's threads waited on most, and their waits on it.
    local waits='[.tasks[] | select(.comm == $c) | .contention.total.count] | add'
    lock=$(jq -r --arg c "$STORM" "[.locks[] | select(.tasks | any(.comm == \$c)) | {addr, n: ($waits)}] | max_by(.n) | .addr" "$json")
    ours=$(jq -r --arg c "$STORM" --arg l "$lock" ".locks[] | select(.addr == \$l) | $waits" "$json")
    theirs=$(awk -v l="$lock" '$1 "" == l { print $2 }' "$T/perf-waits")
    if [ -n "$lock" ] && [ "$lock" != null ] && [ "${ours:-0}" -gt 0 ] && [ "$ours" = "$theirs" ]; then
        pass "$label: waits on $lock: kvmlockstat $ours = perf $theirs"
    else
        fail "$label: waits on ${lock:-none}: kvmlockstat ${ours:-none}, perf $theirs"
    fi
    check "$label: lock named by its caller in the table" \
        grep -Eq "^  $lock +[a-z_]" "$T/table-$backend"
    check "$label: wait times plausible (0 < mean <= max < duration)" jq_true --arg l "$lock" \
        '.locks[] | select(.addr == $l) | .contention.total | .mean_ns > 0 and .mean_ns <= .max_ns and .max_ns < 2e10' "$json"
    # A chain the stack map could not take (a bucket already holding another chain, which
    # -a on a busy host meets) is a counted drop, not a silent one.
    check "$label: stacks recorded with symbols, chainless waits counted as drops" jq_true --arg l "$lock" \
        '.drops.stack_not_recorded as $d | .locks[] | select(.addr == $l) | .stacks |
         any(.syms | length > 0) and ([.[] | select(.ips | length == 0) | .count] | add // 0) <= $d' "$json"
}

# Ctrl-C / SIGTERM: probes detached, the record still written, whole.
test_sigterm() {
    local json=$T/term.json pid rc
    "$K" -a -i 0 -j "$json" -- "$T/$STORM" -s 60 > "$T/term.out" 2>&1 &
    pid=$!
    # Stop it mid-run: once the probes are on (startup parses kernel BTF) and it has waits.
    for _ in $(seq 300); do grep -q "kvmlockstat: tracing" "$T/term.out" && break; sleep 0.1; done
    sleep 2
    # Its own programs, by the fds it holds (other tracers may run on this machine).
    bpf_ids "$pid" > "$T/term.ids"
    check "SIGTERM: probes attached while running" grep -q '^prog:' "$T/term.ids"
    kill -TERM "$pid"
    wait "$pid"; rc=$?
    check "SIGTERM: exit 0" test "$rc" -eq 0
    check "SIGTERM: record complete and parseable" jq_true '.run.duration_ns > 1e9 and .run.duration_ns < 3e10 and (.locks | length > 0)' "$json"
    check "SIGTERM: summary printed" grep -q "=== kvmlockstat" "$T/term.out"
    check "SIGTERM: the traced command was stopped too" sh -c "! pgrep -x $STORM"
    check "SIGTERM: none of its BPF programs or links left ($(grep -cE '^(prog|link):' "$T/term.ids"))" \
        bpf_detached "$T/term.ids"
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

# The live table on an 80x24 terminal (tmux): no line wider than the terminal, one
# screen redrawn in place each interval; into a pipe, plain text appended instead.
# Over contend's VM when /dev/kvm is usable (the fault table), and with -a over mmstorm.
test_live_terminal() {
    local what=$1 s=kls$$ i; shift
    if ! command -v tmux > /dev/null; then skip "$what at 80x24: no tmux (scripts/setup.sh installs it)"; return; fi
    tmux new-session -d -s "$s" -x 80 -y 24 "$* ; echo kls-done; sleep 60" || { fail "$what: tmux"; return; }
    # Screen 1 once an interval is drawn (start-up parses BTF: slow on a loaded machine),
    # screen 2 once the clock at its top has moved on.
    : > "$T/screen1"
    for i in $(seq 300); do
        tmux capture-pane -t "$s" -p -J > "$T/screen"
        if grep -q 'contention in the last' "$T/screen"; then
            if [ ! -s "$T/screen1" ]; then cp "$T/screen" "$T/screen1"
            elif ! head -1 "$T/screen" | cmp -s - <(head -1 "$T/screen1"); then cp "$T/screen" "$T/screen2"; break; fi
        fi
        sleep 0.1
    done
    for i in $(seq 300); do
        tmux capture-pane -t "$s" -p -J -S - > "$T/screen-end"
        grep -q '^kls-done' "$T/screen-end" && break
        sleep 0.1
    done
    tmux kill-session -t "$s"
    for i in 1 2; do
        check "$what at 80x24, screen $i: one interval on screen, at the top" \
            sh -c "[ \$(grep -c 'contention in the last' '$T/screen$i') = 1 ] &&
                   head -1 '$T/screen$i' | grep -q 'contention in the last'"
        check "$what at 80x24, screen $i: no line wider than 80 ($(awk '{ print length }' "$T/screen$i" | sort -n | tail -1))" \
            awk 'length > 80 { exit 1 }' "$T/screen$i"
    done
    # Two intervals may end within one second of the clock (a late tick is followed by one on
    # time): the whole header line tells two screens apart, its clock alone may not.
    check "$what at 80x24: redrawn (screen 2's header is another interval's)" \
        bash -c "[ -s '$T/screen2' ] && ! head -1 '$T/screen1' | cmp -s - <(head -1 '$T/screen2')"
    check "$what at 80x24: the summary's lines fit too ($(awk '{ print length }' "$T/screen-end" | sort -n | tail -1))" \
        awk '/=== kvmlockstat/ { s = 1 } s && length > 80 { exit 1 }' "$T/screen-end"
    # A wider terminal is used: the caller column of -a's lock table grows with it.
    tmux new-session -d -s "$s" -x 120 -y 30 "$* ; echo kls-done; sleep 60" || { fail "$what: tmux"; return; }
    for i in $(seq 300); do
        tmux capture-pane -t "$s" -p -J > "$T/wide"
        grep -q '^kls-done' "$T/wide" && break
        sleep 0.1
    done
    tmux kill-session -t "$s"
    check "$what at 120 columns: wider lines used, none beyond 120 ($(awk '{ print length }' "$T/wide" | sort -n | tail -1))" \
        awk 'length > 80 { wide = 1 } length > 120 { bad = 1 } END { exit bad || !wide }' "$T/wide"
    "$@" > "$T/piped" 2>&1
    check "$what into a pipe: every interval appended, no terminal codes" \
        sh -c "[ \$(grep -c 'contention in the last' '$T/piped') -ge 2 ] && ! grep -q \$'\\033' '$T/piped'"
}

# --version names the libbpf the dynamic linker loads, which may differ from the headers'.
test_version() {
    local out rc lib maj min
    out=$("$K" --version); rc=$?
    check "--version exits 0" test "$rc" = 0
    check "--version: 'kvmlockstat VERSION' first" grep -Eq '^kvmlockstat [^ ]+$' <<< "$(head -1 <<< "$out")"
    check "-V prints the same" test "$("$K" -V)" = "$out"
    lib=$(readlink -f "$(ldd "$K" | awk '$1 ~ /^libbpf\.so/ { print $3 }')")
    read -r maj min <<< "$(sed -nE 's/.*libbpf\.so\.([0-9]+)\.([0-9]+).*/\1 \2/p' <<< "$lib")"
    check "--version names the libbpf it runs with ($lib)" \
        test "$(sed -n 2p <<< "$out")" = "libbpf v$maj.$min (libbpf.so.$maj)"
}

test_version
if [ "$(id -u)" != 0 ]; then
    skip "all integration tests: not root"
else
    [ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
    test_bad_input
    test_help
    test_not_measured_once
    test_counts_match_perf tp_btf
    test_counts_match_perf raw_tp
    # The variants of kernels before 5.11/5.12 (wait slots by thread id, the plain-add
    # object) on this kernel, against the same truth.
    KVMLOCKSTAT_DENY_FACTS=task_storage,bpf_atomics test_counts_match_perf tp_btf
    test_sigterm
    test_live_terminal "-a over mmstorm" "$K" -a -i 1 -d 6 -- "$T/$STORM" -s 5 -t 4
    if [ -c /dev/kvm ]; then
        test_live_terminal "contend's VM" "$K" -i 1 -d 6 -- "$T/contend" -s 5
    else
        skip "live table over a VM at 80x24: no /dev/kvm here"
    fi
    test_mmu_lock_host
fi
finish
