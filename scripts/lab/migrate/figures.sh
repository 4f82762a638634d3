#!/bin/bash
# figures.sh RESULTS: the cover letter's three figures from one migration lab run: seconds the
# guest's progress rate stayed more than 99 %, 50 % and 10 % below its baseline (the
# median rate over the second half of the samples before the migration started), from
# the start of the migration to the end of the log, beside the cover letter's; and what
# kvmlockstat's timeline saw before and during the migration.
# Sourced by tests (MIG_FUNCS_ONLY=1) for its functions.
set -euo pipefail

# migration_window RESULTS: "start end status" (unix seconds) from the query-migrate polls.
migration_window() {
    awk -F, 'NR > 1 { if (!s) s = $1; e = $1; st = $2; if ($2 == "completed") exit }
        END { printf "%.6f %.6f %s\n", s, e, st }' "$1/migrate.csv"
}

# baseline RESULTS START: median progress rate over the later half of the samples before START.
baseline() {
    awk -F, -v s="$2" 'NR > 1 && $1 < s { r[++n] = $2 }
        END { m = 0; for (i = int(n / 2) + 1; i <= n; i++) v[++m] = r[i]
              for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
              printf "%.0f\n", m ? ((m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2) : 0 }' "$1/progress.csv"
}

# degraded RESULTS START BASE PCT: seconds after START with rate below BASE * (1 - PCT/100).
degraded() {
    awk -F, -v s="$2" -v b="$3" -v p="$4" 'NR > 1 { if (prev && $1 > s && $2 < b * (1 - p / 100)) {
            d = $1 - (prev > s ? prev : s); t += d } prev = $1 }
        END { printf "%.1f\n", t }' "$1/progress.csv"
}

# timeline_sum RESULTS COLUMN FROM TO: a timeline column summed over the intervals that end
# in (FROM, TO], all VMs.
timeline_sum() {
    awk -F, -v c="$2" -v a="$3" -v z="$4" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i
            for (i = 1; i <= NF; i++) if ($i == "unix_end") u = i; next }
        k && $u > a && $u <= z { n += $k } END { print n + 0 }' "$1/timeline.csv"
}

[ "${MIG_FUNCS_ONLY:-0}" = 1 ] && return 0

R=${1:?results directory}
arch=$(cat "$R/lab-arch" 2> /dev/null || echo unknown)
label=$(cat "$R/kernel-label" 2> /dev/null || echo stock)
read -r start end status < <(migration_window "$R")
base=$(baseline "$R" "$start")
last=$(tail -n 1 "$R/progress.csv" | cut -d, -f1)
d99=$(degraded "$R" "$start" "$base" 99) d50=$(degraded "$R" "$start" "$base" 50) d10=$(degraded "$R" "$start" "$base" 10)
echo
echo "migration lab, $arch, $label kernel: migration $status after $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }') s"
sed -n 's/^migration completed: /  QEMU: /p' "$R/migrate.out" 2> /dev/null
echo "  guest progress baseline (before the migration): $base pages/s; log runs $(awk -v s="$start" -v l="$last" 'BEGIN { printf "%.1f", l - s }') s past the start"
printf '\n  %-22s %10s %22s %12s\n' "degradation" "lab (s)" "cover letter arm64 (s)" "x86 (s)"
printf '  %-22s %10s %22s %12s\n' "more than 99 %" "$d99" 105 6 "more than 50 %" "$d50" 112 9 "more than 10 %" "$d10" 112 27
if [ -f "$R/timeline.csv" ]; then
    pre=$(awk -F, 'NR == 2 { printf "%.6f", $4 }' "$R/timeline.csv")
    echo
    echo "  kvmlockstat timeline (all VMs)         before migration   during migration"
    for c in faults_total faults_permission fast_path_fast fast_path_slow waits_write waits_read waits_spin wait_ns_dirty_log get_dirty_log_calls clear_dirty_log_calls; do
        printf '  %-38s %16s %18s\n' "$c" "$(timeline_sum "$R" "$c" "$pre" "$start")" "$(timeline_sum "$R" "$c" "$start" "$end")"
    done
fi
echo
echo "  Lab timings come from qemu's TCG emulation (nested KVM in an emulated CPU, 1 vCPU,"
echo "  loopback migration at a set bandwidth): the shape carries over, the seconds do not;"
echo "  the cover letter's figures are from hardware with many vCPUs."
