#!/bin/sh
# guest-overhead.sh RESULTS [BINDIR]: kvm-dirtylog alone and under kvmlockstat, alternating,
# BENCH_REPS times each, in one boot of the lab VM (so both see the same machine).
R=$1
B=${2:-/lab}
REPS=${BENCH_REPS:-5}
DL="$B/kvm-dirtylog -v ${BENCH_VCPUS:-2} -b ${BENCH_SIZE:-64M} -i ${BENCH_ITER:-3}"
i=1
while [ "$i" -le "$REPS" ]; do
    # Alternate which goes first, so a drift of the emulated machine hits both.
    if [ $((i % 2)) = 1 ]; then order="base traced"; else order="traced base"; fi
    for kind in $order; do
        if [ "$kind" = base ]; then
            $DL --json "$R/base-$i.json" > "$R/base-$i.log" 2>&1
        else
            "$B/kvmlockstat" -i 0 $BENCH_KLS_ARGS -j "$R/kls-$i.json" -- $DL --json "$R/traced-$i.json" \
                > "$R/traced-$i.log" 2>&1
        fi
        echo "bench: rep $i $kind exit $?"
    done
    i=$((i + 1))
done
