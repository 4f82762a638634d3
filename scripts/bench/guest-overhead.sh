#!/bin/sh
# guest-overhead.sh RESULTS [BINDIR]: kvm-dirtylog alone and under each kvmlockstat
# configuration, interleaved (the order rotates every rep, so a drift of the emulated
# machine hits every side), BENCH_REPS times, in one boot of the lab VM.  Then one run
# per configuration with --prog-stats (kernel BPF stats: per-program run count and
# time), kept apart so the stats' own clock reads do not weigh on the ratios.
# BENCH_CONFIGS: configurations separated by ';' (each a kvmlockstat argument string,
# "" the default; "@hist" the peer: the kernel's own hist triggers on the events
# kvmlockstat's default would probe; "@count SPEC..." the floor: perf counters on
# events, no BPF (scripts/bench/tpcount.c, SPEC tp:G/E, func:F or kprobe:F)); set by
# scripts/bench/overhead.sh.
R=$1
B=${2:-/lab}
REPS=${BENCH_REPS:-5}
DL="$B/kvm-dirtylog -v ${BENCH_VCPUS:-2} -b ${BENCH_SIZE:-64M} -i ${BENCH_ITER:-3}"
ncfg=$(echo "$BENCH_CONFIGS" | awk -F';' '{ print NF }')
[ "$ncfg" -gt 0 ] || ncfg=1

cfg_args() { echo "$BENCH_CONFIGS" | awk -F';' -v i="$1" '{ print $i }'; }

# The peer a developer without kvmlockstat reaches for: tracefs hist triggers, aggregated
# in the kernel, on the events of the fault path (arm64: the guest-fault tracepoint by ESR
# and a kprobe event on relax_perms, the fast path; x86: kvm_page_fault by error code and
# fast_page_fault by result).
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T 2>/dev/null
hist_events() {
    if [ -d $T/events/kvm/kvm_guest_fault ]; then
        echo "kvm/kvm_guest_fault hsr"
        echo "kprobes/kls_bench_relax common_pid"
    else
        echo "kvm/kvm_page_fault error_code"
        echo "kvmmmu/fast_page_fault ret"
    fi
}
hist_run() {	# hist_run OUT.json LOG: the workload under the hist triggers
    [ -d $T/events/kvm/kvm_guest_fault ] &&
        echo 'p:kprobes/kls_bench_relax kvm_pgtable_stage2_relax_perms' >> $T/kprobe_events
    hist_events | while read -r ev keys; do echo "hist:keys=$keys:size=4096" > "$T/events/$ev/trigger"; done
    $DL --json "$1" > "$2" 2>&1
    rc=$?
    hist_events | while read -r ev keys; do
        cat "$T/events/$ev/hist" >> "$2.hist"
        echo "!hist:keys=$keys:size=4096" > "$T/events/$ev/trigger"
    done
    [ -d $T/events/kprobes/kls_bench_relax ] && echo '-:kprobes/kls_bench_relax' >> $T/kprobe_events
    return $rc
}

run_one() {	# run_one KIND REP [EXTRA]: KIND base or kN
    if [ "$1" = base ]; then
        $DL --json "$R/base-$2.json" > "$R/base-$2.log" 2>&1
    elif [ "$(cfg_args "${1#k}")" = @hist ]; then
        [ "$2" = prof ] && return	# no BPF to profile
        hist_run "$R/traced-$1-$2.json" "$R/traced-$1-$2.log"
    elif cfg_args "${1#k}" | grep -q '^@count '; then
        [ "$2" = prof ] && return
        # The floor: perf counters on the events, no BPF, nothing written (tpcount.c).
        "$B/tpcount" $(cfg_args "${1#k}" | sed 's/^@count//; s/ \([a-z]*:\)/ -e \1/g') -- \
            $DL --json "$R/traced-$1-$2.json" > "$R/traced-$1-$2.log" 2>&1
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
