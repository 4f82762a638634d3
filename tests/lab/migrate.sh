#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# migrate.sh: the migration lab (scripts/lab/migrate/) against a real QEMU live migration
# with -accel kvm inside the lab VM, per architecture (MIG_TEST_ARCHES, default both):
#   tests/lab/migrate.sh                 boot the lab, run both cases, check
#   tests/lab/migrate.sh --check ARCH R  only the checks, on results already fetched
# Case "migrate": QMP says completed, the guest runs at the destination, kvmlockstat's
# timeline covers the whole run without gaps, permission (arm64) / write-protect (x86)
# faults and dirty-log ioctls appear in the intervals of the migration and not before,
# and the guest's own progress (mean rate) drops in the intervals that have them. Case "kill": the
# destination QEMU killed mid-way gives a clear error, the timeline recorded so far is
# written, and the source carries on.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=lab-migrate
. tests/lib.sh
MIG_FUNCS_ONLY=1 . scripts/lab/migrate/figures.sh
# The test's own settings are the lab's defaults (short: about 75 s a case in TCG).
export MIG_KILL_DST=${MIG_KILL_DST:-5}

# Contiguous: every VM has one row per interval from its first to the last interval.
timeline_gapless() {
    awk -F, 'NR > 1 { k = $6 "/" $7; if (!(k in first)) first[k] = $1; last[k] = $1; n[k]++ }
        END { for (k in n) if (n[k] != last[k] - first[k] + 1) exit 1 }' "$1/timeline.csv"
}

# Mean progress rate over the samples inside the intervals where COLUMN > 0 and that
# end between FROM and TO (unix time).
progress_where() {
    awk -F, -v c="$2" -v a="$3" -v z="$4" 'FNR == 1 && NR == 1 { for (i = 1; i <= NF; i++) { if ($i == c) k = i
            if ($i == "unix_start") us = i; if ($i == "unix_end") ue = i }; next }
        NR == FNR { if ($ue > a && $ue <= z && $k > 0) { s[++m] = $us; e[m] = $ue }; next }
        FNR > 1 { for (i = 1; i <= m; i++) if ($1 > s[i] && $1 <= e[i] + 0.01) { t += $2; n++; break } }
        END { if (n) printf "%.0f\n", t / n; else print "none" }' "$1/timeline.csv" "$1/progress.csv"
}

check_migrate() {
    local a=$1 M=$2/migrate start end status base before during rate last first
    check "[$a] lab-migrate completed its run" test -f "$M/scenario.rc"
    read -r start end status < <(migration_window "$M")
    check "[$a] QMP query-migrate: $status ($(sed -n 's/^migration completed: //p' "$M/migrate.out"))" \
        test "$status" = completed
    check "[$a] the guest runs at the destination afterwards" jq_true '.status == "running"' "$M/dst-status.json"
    check "[$a] timeline written (renamed into place) and in the record" \
        jq_true '.timeline | length > 0' "$M/kvmlockstat.json"
    # The logger itself must have lasted the run (it once died of SIGBUS on a RAM file
    # QEMU had created but not yet sized, leaving a header only).
    check "[$a] guest progress logged: $(awk 'END { print NR - 1 }' "$M/progress.csv") samples, the last past the migration" \
        awk -F, -v e="$end" 'NR > 1 { l = $1 } END { exit !(l > e) }' "$M/progress.csv"
    first=$(awk -F, 'NR == 2 { print $4 }' "$M/timeline.csv")
    last=$(awk -F, 'NR > 1 { e = $5 } END { print e }' "$M/timeline.csv")
    # From before the guest's first progress to past the end of the migration.
    check "[$a] timeline covers the run: $first .. $last around the migration $start .. $end" \
        awk -v f="$first" -v l="$last" -v p="$(awk -F, 'NR > 1 && $2 > 0 { print $1; exit }' "$M/progress.csv")" \
        -v e="$end" 'BEGIN { exit !(f != "" && f <= p && l >= e) }'
    check "[$a] timeline has no gaps (one row per VM per interval)" timeline_gapless "$M"
    # Write-protect faults fixed on the fast path (arm64 relax_perms under the read lock, x86
    # lockless): only dirty logging makes them, and they are counted whatever the fault source
    # (x86's default reads KVM's pf_fast, which has no type split).
    before=$(timeline_sum "$M" fast_path_fast "$first" "$start")
    during=$(timeline_sum "$M" fast_path_fast "$start" "$end")
    check "[$a] write-protect faults fixed on the fast path: $before before the migration, $during during it" \
        test "$before" = 0 -a "$during" -gt 0
    before=$(( $(timeline_sum "$M" get_dirty_log_calls "$first" "$start") + $(timeline_sum "$M" clear_dirty_log_calls "$first" "$start") ))
    during=$(( $(timeline_sum "$M" get_dirty_log_calls "$start" "$end") + $(timeline_sum "$M" clear_dirty_log_calls "$start" "$end") ))
    if [ "$during" = 0 ] && jq_true '.missing | tostring | test("dirty")' "$M/kvmlockstat.json" 2> /dev/null; then
        skip "[$a] dirty-log ioctls: not measured by this backend"
    else
        check "[$a] dirty-log ioctls: $before before the migration, $during during it" \
            test "$before" = 0 -a "$during" -gt 0
    fi
    base=$(baseline "$M" "$start")
    rate=$(progress_where "$M" fast_path_fast "$start" "$end")
    # How much a fault costs the emulated guest depends on the host's load (TCG makes
    # the TLB invalidation synchronous across the lab's CPUs): 0.29-0.80 of the
    # baseline measured so far (0.08 for x86 at 40 MB/s), hence a loose bound.
    check "[$a] guest progress in the faulting intervals: mean $rate pages/s, under 85 % of its baseline $base" \
        awk -v r="$rate" -v b="$base" 'BEGIN { exit !(r != "none" && b > 0 && r < b * 0.85) }'
    check "[$a] figures: seconds over 99/50/10 % degradation" \
        sh -c "[ \$(grep -cE '^  more than (99|50|10) % +[0-9.]+ ' '$M/figures.txt') = 3 ]"
    check "[$a] plot drawn (svg, png)" test -s "$M/migrate.svg" -a -s "$M/migrate.png"
}

check_kill() {
    local a=$1 K=$2/kill start end status last
    check "[$a] killed destination: the scenario failed" sh -c "[ \"\$(cat '$K/scenario.rc')\" != 0 ]"
    check "[$a] clear error: $(grep -h 'labmig-qmp' "$K/migrate.err" | tail -n 1)" \
        grep -q 'labmig-qmp: migration failed: ' "$K/migrate.err"
    read -r start end status < <(migration_window "$K")
    last=$(awk -F, 'NR > 1 { e = $5 } END { print e }' "$K/timeline.csv" 2> /dev/null)
    check "[$a] the timeline recorded so far is written, past the failure ($last > $end)" \
        awk -v l="${last:-0}" -v e="$end" 'BEGIN { exit !(l > e) }'
    check "[$a] the record has the timeline" jq_true '.timeline | length > 0' "$K/kvmlockstat.json"
    check "[$a] the source carries on after the failed migration" \
        jq_true '.status == "running"' "$K/src-status.json"
    check "[$a] and its guest keeps making progress" \
        awk -F, -v e="$end" 'NR > 1 && $1 > e + 1 && $2 > 0 { ok = 1 } END { exit !ok }' "$K/progress.csv"
}

check_all() { check_migrate "$1" "$2"; check_kill "$1" "$2"; }

case ${1:-} in
--check) check_all "$2" "$3" ;;
*)
    if [ "$(id -u)" != 0 ]; then
        skip "migration lab: needs root (packages, lab)"
    else
        for a in ${MIG_TEST_ARCHES:-arm64 x86_64}; do
            R=build/lab/migrate-test-$a
            if LAB_ARCH=$a LAB_RESULTS=$R MIG_CASES="migrate kill" scripts/lab/migrate/run.sh; then
                check_all "$a" "$R"
            else
                fail "[$a] migration lab run (see above)"
                [ -d "$R/kill" ] && check_kill "$a" "$R"
            fi
        done
    fi ;;
esac
finish
