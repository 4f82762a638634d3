#!/bin/bash
# host-lock.sh: the lock family's cost on this host, against the peers a user would reach
# for.  tests/integration/contend (a dirty-logged VM: KVM_GET_DIRTY_LOG fetchers against
# MADV_DONTNEED zappers, real mmu_lock contention) runs untraced, under kvmlockstat, under
# perf record -a -g on the contention tracepoints, under perf lock record -a, and under
# perf stat -e lock:contention_begin (counting only: the floor), interleaved (the order
# rotates every rep) HOST_BENCH_REPS times.  Per mode: contend's operations per second as
# a ratio to the untraced run of the same rep, median [min max], and the bytes the tool
# wrote per second.  The host load average is recorded with every run: other work on the
# machine weighs on both sides of a ratio, not on one.
#   scripts/bench/host-lock.sh          (part of make bench; needs root and /dev/kvm)
# HOST_BENCH_REPS (15), HOST_BENCH_SECS (3), HOST_BENCH_ARGS (contend options).
# A benchmark, not a test: it prints figures (and $R/summary.md); it fails only when a run
# fails, and skips (saying why) without /dev/kvm or perf.
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
R=${HOST_BENCH_RESULTS:-build/bench/host-lock}
# Many short runs rather than a few long ones: the untraced rate itself moves by +-30 % from
# run to run here, and only the number of pairs narrows a median.
REPS=${HOST_BENCH_REPS:-15}
SECS=${HOST_BENCH_SECS:-3}
K=build/kvmlockstat
C=build/contend
if [ "$(id -u)" != 0 ]; then echo "host-lock: skipped: needs root"; exit 0; fi
if ! "$C" -s 1 > /dev/null 2>&1; then echo "host-lock: skipped: contend cannot run a VM here (/dev/kvm?)"; exit 0; fi
if ! command -v perf > /dev/null; then echo "host-lock: skipped: no perf (scripts/setup.sh installs it)"; exit 0; fi
rm -rf "$R"
mkdir -p "$R"
modes="untraced kvmlockstat perf-record perf-lock perf-stat"

run_mode() {	# run_mode MODE REP: contend's stdout in $R/MODE-REP.out, tool output in $R/MODE-REP.data
    local out=$R/$1-$2 cmd=("$C" -s "$SECS" ${HOST_BENCH_ARGS:-})
    case $1 in
    untraced) "${cmd[@]}" ;;
    kvmlockstat) "$K" -i 0 -j "$out.data" -- "${cmd[@]}" 2> "$out.err" ;;
    perf-record) perf record -q -a -g -e lock:contention_begin,lock:contention_end -o "$out.data" \
                     -- "${cmd[@]}" 2> "$out.err" ;;
    perf-lock) perf lock record -a -o "$out.data" -- "${cmd[@]}" 2> "$out.err" ;;
    perf-stat) perf stat -a -e lock:contention_begin -o "$out.data" -- "${cmd[@]}" ;;
    esac > "$out.out"
    echo "$1 $2 load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$R/load.txt"
}

for i in $(seq 1 "$REPS"); do
    order=$(echo $modes | awk -v s=$((i - 1)) '{ for (j = 0; j < NF; j++) printf "%s ", $((j + s) % NF + 1) }')
    for m in $order; do
        run_mode "$m" "$i" || { echo "host-lock: $m rep $i failed (see $R/$m-$i.*)"; exit 1; }
    done
done

# One more kvmlockstat run with --prog-stats: the BPF time itself, which the load cannot blur.
"$K" -i 0 --prog-stats -j "$R/prog-stats.json" -- "$C" -s "$SECS" ${HOST_BENCH_ARGS:-} > /dev/null 2> "$R/prog-stats.err"

rate() { awk '/^contend: ops\/s/ { print $4 }' "$1"; }	# KVM_GET_DIRTY_LOG per second
zap() { awk '/^contend: ops\/s/ { print $6 }' "$1"; }
secs() { awk '/^contend: ops\/s/ { print $8 }' "$1"; }
stats() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                                             printf "%.3f | %.3f | %.3f", m, v[1], v[NR] }'; }
{
echo "contend -s $SECS ${HOST_BENCH_ARGS:-} on this host, $REPS reps interleaved ($(nproc) CPUs; load averages per run in $R/load.txt:"
echo "$(awk '{ print $4 }' "$R/load.txt" | sort -g | sed -n '1p;$p' | paste -sd- ) 1-min range)"
median_of() { for i in $(seq 1 "$REPS"); do $1 "$R/$2-$i.out"; done | stats | cut -d'|' -f1 | tr -d ' '; }	# median_of rate|zap MODE
base_rate=$(median_of rate untraced) base_zap=$(median_of zap untraced)
echo "untraced: KVM_GET_DIRTY_LOG/s median $base_rate"
echo
echo "| mode | getlog/s ratio median | min | max | zap/s ratio median | ratio of medians getlog, zap | bytes written/s |"
echo "|---|---|---|---|---|---|---|"
for m in $modes; do
    [ "$m" = untraced ] && continue
    g=$(for i in $(seq 1 "$REPS"); do
        awk -v t="$(rate "$R/$m-$i.out")" -v b="$(rate "$R/untraced-$i.out")" 'BEGIN { print t / b }'; done | stats)
    z=$(for i in $(seq 1 "$REPS"); do
        awk -v t="$(zap "$R/$m-$i.out")" -v b="$(zap "$R/untraced-$i.out")" 'BEGIN { print t / b }'; done | stats | cut -d'|' -f1 | tr -d ' ')
    bps=$(for i in $(seq 1 "$REPS"); do
        awk -v b="$(stat -c %s "$R/$m-$i.data" 2>/dev/null || echo 0)" -v s="$(secs "$R/$m-$i.out")" 'BEGIN { print b / s }'
    done | sort -g | awk '{ v[NR] = $1 } END { printf "%.0f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    # Runs vary on their own (a shared 2-core host): the median of each mode's rates over
    # the untraced median is the second estimate, which a single outlying pair cannot move.
    rom=$(awk -v t="$(median_of rate "$m")" -v b="$base_rate" -v tz="$(median_of zap "$m")" -v bz="$base_zap" \
        'BEGIN { printf "%.3f, %.3f", t / b, tz / bz }')
    echo "| $m | $g | $z | $rom | $bps |"
done
echo
awk -v ncpu="$(nproc)" '/^prog-stats: contention/ { printf "kvmlockstat --prog-stats: %s %d runs, %.0f ns each\n", $2, $4, $6 / ($4 ? $4 : 1) }
    /^prog-stats: total/ { printf "BPF time %.2f ms over %.1f s: %.3f%% of the %d CPUs; %s events/s\n", $6 / 1e6, $10, 100 * $6 / ($10 * 1e9 * ncpu), ncpu, $8 }
    /^prog-stats: kvmlockstat/ { sub(/^prog-stats: /, ""); print }' \
    <(jq -r -f scripts/bench/prog-stats.jq "$R/prog-stats.json")
echo "mmu_lock waits counted in that run: $(jq '[.vms[]?.contention | (.read.count // 0) + (.write.count // 0)] | add // 0' "$R/prog-stats.json")"
echo
echo "modes: kvmlockstat -i 0 -j FILE -- contend; perf record -a -g -e lock:contention_begin,lock:contention_end;"
echo "perf lock record -a; perf stat -a -e lock:contention_begin (counts only, the floor)"
} | tee "$R/summary.md"
