# SPDX-License-Identifier: GPL-2.0
# Shared by the shell test suites: PASS/FAIL/SKIP lines and the closing
# "N passed, N failed, N skipped" line CI reads. Source it, then call finish.
passed=0 failed=0 skipped=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }
# check WHAT CMD...: PASS if CMD succeeds.
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

finish() {
    echo "${SUITE:-tests}: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}
# expect_error WHAT PATTERN CMD...: CMD must fail (not crash: exit < 128) and say PATTERN.
expect_error() {
    local what=$1 pat=$2 rc out; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && grep -q -- "$pat" <<< "$out"; then
        pass "$what"
    else
        fail "$what: exit $rc, output: ${out:0:300}"
    fi
}
# jq_true JQ-ARGS...: true when the jq expression holds (jq -e), quietly.
jq_true() { jq -e "$@" > /dev/null; }

# perf as the kernel's own count of lock waits, where no hist trigger exists.
# perf_lock_start DIR: records lock:contention_begin/end system-wide into DIR/perf.data and
# returns once its events are on (started disabled, enabled through its control fifo and
# acknowledged), so a wait that kvmlockstat sees cannot fall before perf's window.
perf_lock_start() {
    local d=$1
    rm -f "$d/perf.ctl" "$d/perf.ack"; mkfifo "$d/perf.ctl" "$d/perf.ack"
    perf record -q -D -1 --control "fifo:$d/perf.ctl,$d/perf.ack" -m 4096 -a -o "$d/perf.data" \
        -e lock:contention_begin,lock:contention_end > /dev/null 2> "$d/perf.err" &
    PERF_PID=$!
    timeout 60 bash -c 'exec 3< "$1"; echo enable > "$2"; read -r a <&3; [ "$a" = ack ]' _ \
        "$d/perf.ack" "$d/perf.ctl" || { echo "perf record did not start: $(head -c 300 "$d/perf.err")"; return 1; }
}
# perf_lock_waits DIR [FIELD VALUE]: stops perf, prints "lock waits repeats nested" per lock
# (tests/integration/waits.awk), only of the threads whose perf FIELD (comm, pid) is VALUE if
# given; returns 1 if perf lost events, which would make its count short.
perf_lock_waits() {
    local d=$1 f=tid,event,trace
    kill -INT "$PERF_PID"; wait "$PERF_PID"
    [ -n "${2:-}" ] && f=$2,$f
    perf script -i "$d/perf.data" -F "$f" 2> "$d/perf-script.err" |
        awk -v who="${3:-}" -f tests/integration/waits.awk
    ! grep -Eq 'lost [1-9]' "$d/perf-script.err"
}

# bpf_ids PID: the BPF programs, links and maps the process holds, from its own fds:
# "prog:ID", "link:ID", "map:ID" (bpftool here cannot tell which process owns what, and
# other kvmlockstat runs may share the host).
bpf_ids() {
    grep -hE '^(prog_id|link_id|map_id):' /proc/"$1"/fdinfo/* 2>/dev/null |
        awk '{ sub("_id:", ":", $1); print $1 $2 }' | sort -u
}
# bpf_detached IDS_FILE: none of the listed programs and links is left. The kernel frees a
# program after its last fd closes through a deferred work item: allow 5 s.
bpf_detached() {
    local left
    for _ in $(seq 50); do
        left=$(grep -E '^(prog|link):' "$1" | grep -Fx -f - <(bpftool prog show -j | jq -r '.[] | "prog:\(.id)"'
                                                            bpftool link show -j | jq -r '.[] | "link:\(.id)"'))
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    echo "still attached: $(echo $left)"
    return 1
}
