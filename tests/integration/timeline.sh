#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# --timeline and plot --timeline on this host, against a real VM:
#   tests/integration/timeline.sh BUILD_DIR
# contend (a dirty-logged memslot; KVM_GET_DIRTY_LOG threads against
# MADV_DONTNEED threads, whose MMU notifiers take mmu_lock for write) runs
# under kvmlockstat -i 0.5 --timeline: the rows must cover the whole run,
# add up to the record's totals, and name both writer paths.  SIGTERM
# mid-run still finalises the file; SIGKILL leaves the .part with whole rows.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=timeline
. tests/lib.sh

B=${1:-build}
K=$B/kvmlockstat
T=$(mktemp -d /tmp/kvmlockstat-tl.XXXXXX)
trap 'rm -rf "$T"' EXIT
cc -O2 -pthread tests/integration/contend.c -o "$T/contend" || exit 1

test_bad_input() {
    expect_error "--timeline with -i 0 refused" "needs intervals" "$K" -i 0 --timeline "$T/x.csv" -d 1
    expect_error "unwritable --timeline refused up front" "cannot write" \
        "$K" --timeline /nonexistent/dir/x.csv -d 1
    expect_error "plot --timeline: missing file" "No such file" "$K" plot --timeline "$T/none.csv"
    printf 'a,b\n1,2\n' > "$T/notatimeline.csv"
    expect_error "plot --timeline: not a timeline" "no column interval" \
        "$K" plot --timeline "$T/notatimeline.csv"
    expect_error "plot --timeline: stray argument" "unexpected argument" \
        "$K" plot --timeline "$T/none.csv" extra
    check "no half-written output from refused runs" test ! -e "$T/x.csv" -a ! -e "$T/x.csv.part"
    "$K" plot --help > "$T/plot-help" 2>&1
    check "plot --help lists both modes (sweeps, --timeline)" \
        sh -c "grep -q 'BEFORE \[AFTER\]' '$T/plot-help' && grep -q -- '--timeline' '$T/plot-help'"
}

# A CSV with the header this build writes (a run with no VM: header only) and rows
# set by name: COL=VALUE..., one interval of 0.5 s per row, VMM pid 4242 "contend".
timeline_csv() {
    local out=$1; shift
    "$K" -i 0.5 --timeline "$T/header.csv" -d 0.6 > /dev/null 2>&1 || return 1
    awk -F, -v OFS=, -v sets="$*" 'NR == 1 { print; n = NF; for (i = 1; i <= NF; i++) c[$i] = i; exit }
        END { for (r = 0; r < 6; r++) {
                for (i = 1; i <= n; i++) v[i] = 0
                v[c["interval"]] = r; v[c["t_start_s"]] = r * 0.5; v[c["t_end_s"]] = r * 0.5 + 0.5
                v[c["unix_start"]] = 1796212800 + r * 0.5; v[c["unix_end"]] = 1796212800 + r * 0.5 + 0.5
                v[c["vm"]] = "0xffff888100000000"; v[c["pid"]] = 4242; v[c["comm"]] = "contend"
                v[c["fast_path_share"]] = ""
                m = split(sets, kv, " ")
                for (k = 1; k <= m; k++) { split(kv[k], p, "="); v[c[p[1]]] = p[2] }
                line = v[1]; for (i = 2; i <= n; i++) line = line OFS v[i]; print line } }' \
        "$T/header.csv" > "$out"
}

# plot --timeline as a person reads it: no all-zero panel (and the title says which
# was left out), small times in µs/s with plain ticks, the VM and its pid in the title.
test_plot_reading() {
    local csv=$T/small.csv svg=$T/small-timeline.svg
    timeline_csv "$csv" waits_dirty_log=20 wait_ns_dirty_log=2000 waits_mmu_notifier=5 \
        wait_ns_mmu_notifier=1000 get_dirty_log_calls=40 get_dirty_log_ns=100000 ||
        { fail "a header from kvmlockstat --timeline"; return; }
    "$K" plot --timeline "$csv" > "$T/small.out" 2>&1
    check "plot --timeline of a run without faults exits 0: $(tail -1 "$T/small.out")" test $? -eq 0
    check "  the all-zero fault panel is left out" sh -c "! grep -q 'faults by type' '$svg'"
    check "  and the title says so" grep -q 'zero throughout, not drawn: faults' "$svg"
    check "  times small enough for µs per second" grep -q 'µs per second' "$svg"
    check "  no milli ticks ("200.0m")" sh -c "! grep -Eq '>[0-9.]+m<' '$svg'"
    check "  the title names the VM and its pid" grep -q 'VM of contend (pid 4242)' "$svg"
    [ -n "${KEEP_PLOTS:-}" ] && cp "$T/small-timeline.png" "$KEEP_PLOTS/"
    # Five fault series (x86 with --fault-types and KVM's count): five colours.
    timeline_csv "$csv" faults_translation=10 faults_permission=20 faults_access=30 faults_other=40 \
        faults_total=150 waits_dirty_log=1 wait_ns_dirty_log=1000000
    "$K" plot --timeline "$csv" > "$T/five.out" 2>&1
    # gnuplot's SVG: the fault panel's lines come before the next panel's title.
    check "  five fault series in five colours" test "$(awk '/waits by writer/ { exit } { print }' "$svg" |
        grep -o "stroke='rgb([0-9, ]*)'" | sort -u | wc -l)" -ge 5
    [ -n "${KEEP_PLOTS:-}" ] && cp "$T/small-timeline.png" "$KEEP_PLOTS/five-timeline.png" && cp "$svg" "$KEEP_PLOTS/"
    # Dirty-log ioctls not measured (their probes refused): empty cells, so no line
    # (a line at 0 would say no ioctl ran), and the title says why there is none.
    timeline_csv "$csv" faults_total=150 faults_translation= faults_permission= faults_access= \
        faults_other= waits_dirty_log=20 wait_ns_dirty_log=2000000 get_dirty_log_calls= \
        get_dirty_log_ns= clear_dirty_log_calls= clear_dirty_log_ns=
    "$K" plot --timeline "$csv" > "$T/nm.out" 2>&1
    check "plot --timeline of unmeasured dirty-log ioctls exits 0: $(tail -1 "$T/nm.out")" test $? -eq 0
    check "  no dirty-log ioctl line" sh -c "! grep -q '>dirty-log ioctls<' '$svg'"
    check "  the title says they were not measured" grep -q 'not measured in this run, not drawn: fault types, dirty-log ioctls' "$svg"
    check "  no fault-type lines, KVM's count drawn" sh -c "! grep -q '>permission<' '$svg' && grep -q 'not typed' '$svg'"
    [ -n "${KEEP_PLOTS:-}" ] && cp "$T/small-timeline.png" "$KEEP_PLOTS/unmeasured-timeline.png"
}

# Sum of column COL over the rows of VMM PID.
col_sum() {
    awk -F, -v col="$2" -v pid="$3" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["pid"] == pid { s += $c[col] } END { printf "%d\n", s }' "$1"
}

# The rows of PID tile [0, duration]: consecutive intervals, each starting where the last ended.
rows_cover() {
    local csv=$1 pid=$2 dur=$3
    awk -F, -v pid="$pid" -v dur="$dur" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["pid"] != pid { next }
        { if (n == 0 && ($c["t_start_s"] > 0.000001 || $c["interval"] != 0)) bad = "first row at " $c["t_start_s"]
          if (n > 0 && ($c["interval"] != last_i + 1 || $c["t_start_s"] != last_end)) bad = "gap at interval " $c["interval"]
          if ($c["t_end_s"] < $c["t_start_s"]) bad = "negative interval " $c["interval"]
          last_i = $c["interval"]; last_end = $c["t_end_s"]; n++ }
        END { if (!n) bad = "no rows"
              else if (last_end < dur - 0.01 || last_end > dur + 0.01) bad = "ends at " last_end " of " dur
              if (bad != "") { print bad; exit 1 } }' "$csv"
}

# Every line of a CSV has as many fields as its header.
whole_rows() {
    awk -F, 'NR == 1 { n = NF; next } NF != n { exit 1 } END { exit NR < 2 }' "$1"
}

test_run() {
    local csv=$T/run.csv json=$T/run.json pid dur before after
    before=$(date +%s.%N)
    if ! "$K" -i 0.5 --timeline "$csv" -j "$json" -- "$T/contend" -s 4 -g 2 -z 2 > "$T/run.out" 2> "$T/run.err"; then
        fail "kvmlockstat --timeline over contend: $(tail -3 "$T/run.err")"
        return
    fi
    after=$(date +%s.%N)
    pass "kvmlockstat -i 0.5 --timeline -j -- contend -s 4"
    check "timeline finalised (no .part left)" test -s "$csv" -a ! -e "$csv.part"
    check "every CSV line whole" whole_rows "$csv"
    pid=$(jq -r '.vms[] | select(.comm == "contend") | .pid' "$json" | head -1)
    dur=$(jq -r '.run.duration_ns / 1e9' "$json")
    if [ -z "$pid" ]; then
        fail "the record names contend's VM"
        return
    fi
    local msg
    if msg=$(rows_cover "$csv" "$pid" "$dur"); then
        pass "rows of VM $pid cover the run: $(grep -c ",$pid," "$csv") intervals over $dur s"
    else
        fail "rows cover the run: $msg"
    fi
    check "unix times inside the wall-clock run" awk -F, -v b="$before" -v a="$after" \
        'NR > 1 && ($4 < b - 0.5 || $5 > a + 0.5) { exit 1 }' "$csv"
    # Per-interval counts add up to the summary's totals, mode by mode.
    local m tot sum ok=1
    for m in read write spin; do
        for kind in count wait_ns; do
            tot=$(jq -r --argjson p "$pid" ".vms[] | select(.pid == \$p) | .contention.$m.$kind" "$json")
            if [ $kind = count ]; then sum=$(col_sum "$csv" "waits_$m" "$pid"); else sum=$(col_sum "$csv" "wait_ns_$m" "$pid"); fi
            [ "$sum" = "$tot" ] || { ok=0; fail "interval sum of $m $kind $sum != summary $tot"; }
        done
    done
    tot=$(jq -r --argjson p "$pid" '.vms[] | select(.pid == $p) | .contention.total.count' "$json")
    [ "$ok" = 1 ] && pass "per-interval waits add up to the summary per mode (total $tot)"
    # Writer paths: every wait has one (no stack map drops), and both writers show.
    local dl mn fa ot
    dl=$(col_sum "$csv" waits_dirty_log "$pid"); mn=$(col_sum "$csv" waits_mmu_notifier "$pid")
    fa=$(col_sum "$csv" waits_fault "$pid"); ot=$(col_sum "$csv" waits_other_path "$pid")
    if jq_true '.drops.stat_map_full == 0' "$json"; then
        check "waits by path add up to the total ($dl + $mn + $fa + $ot = $tot)" \
            test $((dl + mn + fa + ot)) -eq "$tot"
    else
        skip "path sum: stack map was full in this run"
    fi
    check "dirty_log writer path non-zero ($dl waits)" test "$dl" -gt 0
    check "mmu_notifier writer path non-zero ($mn waits)" test "$mn" -gt 0
    check "record's wait_paths equal the timeline's" jq_true --argjson p "$pid" --argjson dl "$dl" --argjson mn "$mn" \
        '.vms[] | select(.pid == $p) | .wait_paths.dirty_log.count == $dl and .wait_paths.mmu_notifier.count == $mn' "$json"
    # The record carries the same rows.
    check "record's timeline has the CSV's rows" test "$(jq '.timeline | length' "$json")" -eq $(($(wc -l < "$csv") - 1))
    check "record's timeline sums like the CSV" test \
        "$(jq --argjson p "$pid" '[.timeline[] | select(.pid == $p) | .waits_write] | add' "$json")" = \
        "$(col_sum "$csv" waits_write "$pid")"
    "$K" report "$json" > "$T/report" 2>&1
    check "report prints the timeline summary" grep -q "^Timeline: [0-9]* intervals" "$T/report"
    check "report names both writer paths" grep -q "dirty_log $dl .*mmu_notifier $mn " "$T/report"
    # plot --timeline, with a progress overlay shaped like the lab's.
    awk -F, 'NR > 1 { printf "%s,%d\n", $4, 100 + NR }' "$csv" > "$T/progress.csv"
    if ! command -v gnuplot > /dev/null; then
        skip "plot --timeline: gnuplot not installed (scripts/setup.sh installs gnuplot-nox)"
        return
    fi
    if "$K" plot --timeline "$csv" --progress "$T/progress.csv" -o "$T/tl" > "$T/plot.out" 2>&1; then
        check "plot --timeline: SVG with the panels" grep -q "writer path" "$T/tl.svg"
        check "plot --timeline: PNG valid" sh -c "file '$T/tl.png' | grep -q 'PNG image data'"
        check "plot --timeline: gnuplot said nothing" test "$(grep -vc 'written' "$T/plot.out")" -eq 0
    else
        fail "plot --timeline: $(cat "$T/plot.out")"
    fi
    "$K" plot --timeline "$csv" --pid "$pid" > /dev/null 2>&1
    check "plot --timeline default prefix" test -s "$T/run-timeline.png"
}

# Waits for FILE to hold at least N lines (up to 30 s).
wait_lines() {
    local i
    for i in $(seq 300); do
        [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

test_signals() {
    local csv=$T/term.csv pid rc
    "$K" -i 0.5 --timeline "$csv" -j "$T/term.json" -- "$T/contend" -s 60 > /dev/null 2>&1 &
    pid=$!
    if ! wait_lines "$csv.part" 5; then
        kill -KILL $pid 2> /dev/null; wait $pid 2> /dev/null
        fail "SIGTERM: no rows within 30 s"
        return
    fi
    kill -TERM $pid; wait $pid; rc=$?
    check "SIGTERM mid-run: exit 0 (got $rc)" test "$rc" -eq 0
    check "SIGTERM mid-run: timeline finalised" test -s "$csv" -a ! -e "$csv.part"
    check "SIGTERM mid-run: every line whole" whole_rows "$csv"
    local vm dur
    vm=$(jq -r '.vms[] | select(.comm == "contend") | .pid' "$T/term.json" | head -1)
    dur=$(jq -r '.run.duration_ns / 1e9' "$T/term.json")
    check "SIGTERM mid-run: rows cover the run ($dur s)" rows_cover "$csv" "${vm:-0}" "$dur"
    check "SIGTERM mid-run: stopped early" awk "BEGIN { exit !($dur < 30) }"

    csv=$T/kill.csv
    "$K" -i 0.5 --timeline "$csv" -- "$T/contend" -s 60 > "$T/kill.out" 2>&1 &
    pid=$!
    if wait_lines "$csv.part" 4; then
        kill -KILL $pid; wait $pid 2> /dev/null
        check "SIGKILL: the .part keeps whole rows ($(($(wc -l < "$csv.part") - 1)))" whole_rows "$csv.part"
        if command -v gnuplot > /dev/null; then
            check "SIGKILL: the .part reads back (plot)" "$K" plot --timeline "$csv.part" -o "$T/killed"
        else
            skip "SIGKILL: plot of the .part: gnuplot not installed"
        fi
    else
        kill -KILL $pid 2> /dev/null; wait $pid 2> /dev/null
        fail "SIGKILL: no rows within 30 s"
    fi
    # A SIGKILLed kvmlockstat cannot stop its command: stop it by the pid it printed.
    pid=$(sed -n 's/^contend: pid \([0-9]*\) vm ready.*/\1/p' "$T/kill.out")
    [ -n "$pid" ] && kill -KILL "$pid" 2> /dev/null
}

test_bad_input
if [ "$(id -u)" != 0 ]; then
    skip "real-VM timeline checks: need root"
    skip "plot --timeline reading checks: need root (a header from a real run)"
elif [ ! -c /dev/kvm ] || ! "$T/contend" -s 1 > /dev/null 2>&1; then
    test_plot_reading
    skip "real-VM timeline checks: no usable /dev/kvm here (contend cannot create a VM)"
else
    test_plot_reading
    test_run
    test_signals
fi
finish
