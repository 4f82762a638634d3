#!/bin/sh
# guest-overhead.sh RESULTS [BINDIR]: kvm-dirtylog alone and under each kvmlockstat
# configuration, interleaved (the order rotates every rep, so a drift of the emulated
# machine hits every side), BENCH_REPS times, in one boot of the lab VM.  Then one run
# per configuration with --prog-stats (kernel BPF stats: per-program run count and
# time), kept apart so the stats' own clock reads do not weigh on the ratios.
# BENCH_CONFIGS: configurations separated by ';' (each a kvmlockstat argument string,
# "" the default); set by scripts/bench/overhead.sh.
R=$1
B=${2:-/lab}
REPS=${BENCH_REPS:-5}
DL="$B/kvm-dirtylog -v ${BENCH_VCPUS:-2} -b ${BENCH_SIZE:-64M} -i ${BENCH_ITER:-3}"
ncfg=$(echo "$BENCH_CONFIGS" | awk -F';' '{ print NF }')
[ "$ncfg" -gt 0 ] || ncfg=1

cfg_args() { echo "$BENCH_CONFIGS" | awk -F';' -v i="$1" '{ print $i }'; }

run_one() {	# run_one KIND REP [EXTRA]: KIND base or kN
    if [ "$1" = base ]; then
        $DL --json "$R/base-$2.json" > "$R/base-$2.log" 2>&1
    else
        "$B/kvmlockstat" -i 0 $(cfg_args "${1#k}") $3 -j "$R/kls-$1-$2.json" -- \
            $DL --json "$R/traced-$1-$2.json" > "$R/traced-$1-$2.log" 2>&1
    fi
    echo "bench: rep $2 $1 exit $?"
}

kinds=base
c=1
while [ "$c" -le "$ncfg" ]; do kinds="$kinds k$c"; c=$((c + 1)); done
i=1
while [ "$i" -le "$REPS" ]; do
    # Rotate: rep i starts with kind number i (mod the number of kinds).
    order=$(echo "$kinds" | awk -v s=$((i - 1)) '{ for (j = 0; j < NF; j++) printf "%s ", $((j + s) % NF + 1) }')
    for kind in $order; do run_one "$kind" "$i"; done
    i=$((i + 1))
done
c=1
while [ "$c" -le "$ncfg" ]; do
    run_one "k$c" prof --prog-stats
    c=$((c + 1))
done
