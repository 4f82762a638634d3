#!/bin/bash
# overhead.sh: what kvmlockstat costs the workload it watches, as ratios measured in one
# lab boot: kvm-dirtylog's dirty memory time per pass under each kvmlockstat configuration
# / alone, interleaved BENCH_REPS times (scripts/bench/guest-overhead.sh), then one
# --prog-stats run per configuration: each BPF program's events per fault and ns per event.
#   scripts/bench/overhead.sh [arm64|x86_64]      (make bench-lab BENCH_ARCH=...)
# BENCH_VCPUS, BENCH_SIZE, BENCH_ITER, BENCH_REPS tune the workload; BENCH_CONFIGS lists
# kvmlockstat argument strings separated by ';' ("" is the default configuration).
# A benchmark, not a test: it prints figures (and $R/summary.md) and fails only when a
# run fails.
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
arch=${1:-${BENCH_ARCH:-x86_64}}
R=${BENCH_RESULTS:-build/bench/overhead-$arch}
export BENCH_VCPUS=${BENCH_VCPUS:-2} BENCH_SIZE=${BENCH_SIZE:-64M} BENCH_ITER=${BENCH_ITER:-3} BENCH_REPS=${BENCH_REPS:-5}
export BENCH_CONFIGS=${BENCH_CONFIGS-";--backend tracepoint"}
# BENCH_CLOCK=icount (arm64's default): qemu -icount shift=0, the guest's clock advances one ns per
# emulated instruction, so a run's times are its instruction counts, the same whatever else
# the host runs (wall-clock lab ratios spread 3x on a shared 2-core host).  It weighs
# instructions, not cycles: a world switch or TLB miss costs few instructions and many
# cycles on hardware, so a probe's share comes out larger than on hardware, not smaller.
# BENCH_CLOCK=wall (x86_64's default: its guest does not finish booting under -icount):
# the emulated CPUs run as fast as the host lets them.
if [ "$arch" = arm64 ]; then BENCH_CLOCK=${BENCH_CLOCK:-icount}; else BENCH_CLOCK=${BENCH_CLOCK:-wall}; fi
case $BENCH_CLOCK in
icount) export LAB_QEMU_ARGS="${LAB_QEMU_ARGS:-} -icount shift=0,align=off,sleep=off" ;;
wall) ;;
*) echo "overhead: BENCH_CLOCK=$BENCH_CLOCK: icount or wall" >&2; exit 2 ;;
esac
# The guest script reads its settings from the initramfs: bake them in.
guest=$(mktemp /tmp/guest-overhead.XXXXXX.sh)
trap 'rm -f "$guest"' EXIT
{ for v in BENCH_VCPUS BENCH_SIZE BENCH_ITER BENCH_REPS BENCH_CONFIGS; do echo "$v='${!v}'"; done
  cat scripts/bench/guest-overhead.sh; } > "$guest"
# BENCH_SUMMARY_ONLY=1: re-render $R's figures without booting.
if [ "${BENCH_SUMMARY_ONLY:-0}" != 1 ]; then
    mkdir -p "$(dirname "$R")"
    cut -d' ' -f1-3 /proc/loadavg > "$R.load0"
    LAB_ARCH=$arch LAB_CPUS=$((BENCH_VCPUS > 2 ? BENCH_VCPUS : 2)) LAB_GUEST=$guest LAB_RESULTS=$R \
        LAB_EXTRA_BINS="${LAB_EXTRA_BINS:-} tpcount" \
        scripts/lab/lab.sh
    cut -d' ' -f1-3 /proc/loadavg > "$R.load1"
fi
load0=$(cat "$R.load0" 2>/dev/null || echo unknown) load1=$(cat "$R.load1" 2>/dev/null || echo unknown)

ms() { jq '.summary.dirty_memory_avg_ns / 1e6' "$1"; }
stats() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                                             printf "%.3f %.3f %.3f", m, v[1], v[NR] }'; }
ncfg=$(awk -F';' '{ print NF }' <<< "$BENCH_CONFIGS")
[ "$ncfg" -gt 0 ] || ncfg=1
{
echo "kvmlockstat overhead on kvm-dirtylog -v $BENCH_VCPUS -b $BENCH_SIZE -i $BENCH_ITER ($arch lab, $BENCH_REPS reps, interleaved, clock: $BENCH_CLOCK)"
echo "host load average before/after the boot: $load0 / $load1"
echo "alone: dirty memory time per pass, median [min max] ms: $(for f in "$R"/base-[0-9]*.json; do ms "$f"; done | stats)"
echo
echo "| kvmlockstat | traced/alone median | min | max | backends |"
echo "|---|---|---|---|---|"
for c in $(seq 1 "$ncfg"); do
    args=$(awk -F';' -v i="$c" '{ print $i }' <<< "$BENCH_CONFIGS")
    # One ratio per rep: traced over the alone run of the same rep.
    read -r med lo hi <<< "$(for f in "$R"/traced-k$c-[0-9]*.json; do
        i=${f##*-}; i=${i%.json}
        awk -v t="$(ms "$f")" -v b="$(ms "$R/base-$i.json")" 'BEGIN { print t / b }'
    done | stats)"
    be=$(jq -r '[.backends // {} | to_entries[] | "\(.key)=\(.value)"] | join(" ")' "$R/kls-k$c-1.json" 2>/dev/null || true)
    [ "$args" = @hist ] && args="peer: tracefs hist triggers" be="the same fault-path events, aggregated by the kernel"
    if [[ $args == @count* ]]; then
        be="perf counters, no BPF: $(grep -h '^tpcount:' "$R/traced-k$c-1.log" | cut -d' ' -f2- | paste -sd' ')"
        args="floor:${args#@count}"
    fi
    echo "| ${args:-default} | $med | $lo | $hi | ${be:-lock only} |"
done
for c in $(seq 1 "$ncfg"); do
    args=$(awk -F';' -v i="$c" '{ print $i }' <<< "$BENCH_CONFIGS")
    rec=$R/kls-k$c-prof.json
    [ -f "$rec" ] || continue
    faults=$(jq '[.vms[]?.vcpus[]?.faults.total.count // 0] | add // 0' "$R/kls-k$c-prof.json")
    echo
    echo "per probe, ${args:-default} (--prog-stats run: $faults faults counted; share = of the BPF run time)"
    echo
    echo "| program | events | events per fault | ns per event | share |"
    echo "|---|---|---|---|---|"
    awk -v faults="$faults" '/^prog-stats: kvmlockstat/ { self = $0; next }
        /^prog-stats: total/ { total = $6; rate = $8; next }
        /^prog-stats: / && $4 > 0 { name[++n] = $2; cnt[n] = $4; ns[n] = $6 }
        END { for (i = 1; i <= n; i++)
                  printf "| %s | %d | %.3f | %.0f | %.1f%% |\n", name[i], cnt[i],
                         faults ? cnt[i] / faults : 0, ns[i] / cnt[i], total ? 100 * ns[i] / total : 0
              sub(/^prog-stats: /, "", self); printf "\n%s, BPF events/s %s", self, rate }' \
        <(jq -r -f scripts/bench/prog-stats.jq "$rec")
    echo ", drops $(jq '[.drops // {} | .[]] | add // 0' "$R/kls-k$c-prof.json") ($(jq -c '.drops' "$R/kls-k$c-prof.json"))"
done
echo
if [ "$BENCH_CLOCK" = icount ]; then
    echo "(clock: qemu -icount, 1 ns per emulated instruction: ratios of instructions executed, repeatable;"
    echo " on hardware a fault's world switch and TLB work cost far more cycles than instructions)"
else
    echo "(lab timings come from qemu's emulated CPUs: compare the ratios, not the milliseconds)"
fi
} | tee "$R/summary.md"
