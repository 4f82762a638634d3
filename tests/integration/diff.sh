#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# diff and plot on real records: the lab smoke's arm64 and x86_64 sweeps
# (kvmlockstat records + kvm-dirtylog reports, one per vCPU count).
#   tests/integration/diff.sh BUILD_DIR BEFORE_DIR AFTER_DIR
# Every figure diff prints is recomputed here with jq from the raw files.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=diff
. tests/lib.sh
K=${1:-build}/kvmlockstat
B=${2:-build/lab/smoke-arm64}
A=${3:-build/lab/smoke-x86_64}
T=$(mktemp -d /tmp/kvmlockstat-diff.XXXXXX)
trap 'rm -rf "$T"' EXIT

if ! ls "$B"/kvmlockstat-v*.json "$A"/kvmlockstat-v*.json > /dev/null 2>&1; then
    skip "diff on real records: no lab sweeps in $B and $A (run make lab-smoke first)"
    finish; exit
fi

# figure SIDE_DIR VCPUS: "contentions dirty_ms" from the raw files.  A VM gone before
# kvmlockstat read its fds has nr_vcpus -1: its vCPU threads count instead, as in sweep.c.
figure() {
    local dir=$1 n=$2 f c d
    f=$(grep -l '"kvmlockstat-run/1"' "$dir"/kvmlockstat-v*.json | while read -r x; do
        jq -e --argjson n "$n" '.vms | max_by(.contention.total.count)
            | (if .nr_vcpus > 0 then .nr_vcpus else (.vcpus | length) end) == $n' "$x" > /dev/null && echo "$x"; done | head -1)
    c=$(jq '.vms | max_by(.contention.total.count) | .contention.total.count' "$f")
    # The report of the run this record traced: same VMM pid.
    d=$(jq --argjson p "$(jq '.vms | max_by(.contention.total.count) | .pid' "$f")" \
        'select(.pid == $p) | .summary.dirty_memory_avg_ns / 1e6' "$dir"/*.json 2>/dev/null)
    echo "$c $d"
}

"$K" diff -f json "$B" "$A" > "$T/diff.json"
check "diff -f json exits 0" test $? -eq 0
for n in $(jq -r '.metrics[0].rows[].vcpus' "$T/diff.json"); do
    read -r cb db <<< "$(figure "$B" "$n")"
    read -r ca da <<< "$(figure "$A" "$n")"
    got=$(jq -r --argjson n "$n" '.metrics[] | select(.name == "mmu_lock contentions") | .rows[] | select(.vcpus == $n) | "\(.before) \(.after) \(.change)"' "$T/diff.json")
    check "$n vCPUs: contentions $cb -> $ca, change $((ca - cb))" test "$got" = "$cb $ca $((ca - cb))"
    got=$(jq -r --argjson n "$n" '.metrics[] | select(.name == "dirty memory time") | .rows[] | select(.vcpus == $n) | .relative' "$T/diff.json")
    want=$(jq -n --argjson b "$db" --argjson a "$da" '($a - $b) / $b')
    check "$n vCPUs: dirty memory time ${db}ms -> ${da}ms, relative $want" \
        jq_true -n --argjson g "$got" --argjson w "$want" '($g - $w) | fabs < 1e-9'
done
"$K" diff "$B" "$A" > "$T/table"
check "table has the cover letter's layout" grep -q '^| #vCPU |       before |        after |' "$T/table"
"$K" diff -f csv "$B" "$A" > "$T/csv"
check "csv has a header and a row per metric and vCPU count" \
    test "$(head -1 "$T/csv")" = "metric,unit,vcpus,before,after,change,relative_pct"
# Every CSV cell equals the JSON figure (empty where JSON has null), both ways round,
# so a decrease (a negative change) is among them.
csv_matches_json() {
    local csv=$1 json=$2
    jq -r '.metrics[] | .name as $m | .unit as $u | .rows[] | select(.before != null or .after != null)
        | [$m, $u, .vcpus, .before, .after, .change, (if .relative == null then null else .relative * 100 end)]
        | map(if . == null then "" else tostring end) | join(",")' "$json" > "$T/want.csv"
    tail -n +2 "$csv" | awk -F, -v OFS=, '{ print $1, $2, $3, $4, $5, $6, $7 }' > "$T/got.csv"
    # Numbers as numbers: the CSV rounds to two decimals.
    paste -d'|' "$T/want.csv" "$T/got.csv" | awk -F'|' '{
        n = split($1, w, ","); split($2, g, ",")
        for (i = 1; i <= n; i++) {
            if ((w[i] == "") != (g[i] == "")) { print "cell " i ": " $0; bad = 1; continue }
            if (i > 3 && w[i] != "" && (w[i] - g[i] > 0.006 || g[i] - w[i] > 0.006)) { print "cell " i ": " $0; bad = 1 }
            if (i <= 3 && w[i] != g[i]) { print "cell " i ": " $0; bad = 1 }
        }
    } END { exit bad }' && test "$(wc -l < "$T/want.csv")" = "$(wc -l < "$T/got.csv")"
}
check "csv cells equal the json figures (before -> after)" csv_matches_json "$T/csv" "$T/diff.json"
"$K" diff -f csv "$A" "$B" > "$T/csv-rev"
"$K" diff -f json "$A" "$B" > "$T/diff-rev.json"
check "csv cells equal the json figures (after -> before)" csv_matches_json "$T/csv-rev" "$T/diff-rev.json"
check "csv shows a decrease with its sign" awk -F, 'NR > 1 && $6 ~ /^-[0-9]/ && $7 ~ /^-[0-9]/ { f = 1 } END { exit !f }' \
    "$T/csv" "$T/csv-rev"

# Bad inputs: a clear error naming the file, non-zero exit.
expect_fail() {
    local what=$1 pat=$2; shift 2
    if "$@" > "$T/out" 2>&1; then fail "$what: exit 0"
    elif grep -q -- "$pat" "$T/out"; then pass "$what"
    else fail "$what: $(head -c 200 "$T/out")"; fi
}
expect_fail "missing input" "No such file" "$K" diff "$B" "$T/none"
echo '{"schema": "kvmlockstat-run/1", "host": {}, "run": {}, "locks": [], "vms": [{"pid": "x"}]}' > "$T/bad.json"
expect_fail "malformed record names file and field" "bad.json: field 'vms\[0\].pid'" "$K" diff "$T/bad.json" "$B"
mkdir "$T/dup" && cp "$B"/kvmlockstat-v1.json "$T/dup/a.json" && cp "$B"/kvmlockstat-v1.json "$T/dup/b.json"
expect_fail "two records of one vCPU count refused" "both have" "$K" diff "$T/dup" "$A"
mkdir "$T/empty"
expect_fail "directory without records" "no kvmlockstat record" "$K" diff "$T/empty" "$A"
expect_fail "one input only" "two inputs" "$K" diff "$B"

"$K" plot -o "$T/scaling" "$B" "$A" 2> "$T/plot.err"
check "plot writes an SVG" grep -q '<svg' "$T/scaling.svg"
check "plot writes a PNG" sh -c "head -c 8 '$T/scaling.png' | od -An -tx1 | grep -q '89 50 4e 47'"
# Records without kvm-dirtylog's reports: that panel says so, the other is drawn.
mkdir "$T/bare-b" "$T/bare-a" && cp "$B"/kvmlockstat-v*.json "$T/bare-b" && cp "$A"/kvmlockstat-v*.json "$T/bare-a"
"$K" plot -o "$T/bare" "$T/bare-b" "$T/bare-a" > "$T/bare.err" 2>&1
rc=$?
check "plot of sweeps without dirty-log reports exits 0: $(head -c 200 "$T/bare.err")" test $rc -eq 0
check "  its dirty-time panel says why it has no line" grep -q 'no kvm-dirtylog report' "$T/bare.svg"
check "  no gnuplot internals" sh -c "! grep -q 'range is invalid' '$T/bare.err'"
[ -n "${KEEP_PLOTS:-}" ] && cp "$T/bare.png" "$T/scaling.png" "$KEEP_PLOTS/"
# Two single runs (one vCPU count): one line saying what a scaling chart needs.
"$K" plot -o "$T/two" "$B"/kvmlockstat-v1.json "$A"/kvmlockstat-v1.json > "$T/two.err" 2>&1
rc=$?
check "plot of two single runs: refused in one line ($(head -1 "$T/two.err"))" \
    sh -c "[ $rc -ne 0 ] && [ \$(wc -l < '$T/two.err') -eq 1 ] && grep -q 'two or more vCPU counts' '$T/two.err'"
check "  and writes nothing" test ! -e "$T/two.png" -a ! -e "$T/two.svg"
finish
