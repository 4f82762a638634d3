#!/bin/sh
# guest-mmu-lock.sh RESULTS [BINDIR]: a real VM's mmu_lock made to contend (contend),
# watched by kvmlockstat, with the kernel's own per-address count of
# lock:contention_begin (a tracefs hist trigger) over the same window.
# Runs inside the lab VM (busybox sh) or on a host with /dev/kvm.
R=$1
B=${2:-/lab}
T=/sys/kernel/tracing
TRIG="hist:keys=lock_addr.hex:size=8192"
[ -d $T/events ] || mount -t tracefs nodev $T

hist=0
[ -e $T/events/lock/contention_begin/hist ] && echo "$TRIG" > $T/events/lock/contention_begin/trigger && hist=1
"$B/kvmlockstat" -i 1 -j "$R/mmu_lock.json" --perf-data "$R/mmu_lock.data" --folded "$R/mmu_lock.folded" \
    -- "$B/contend" -s "${CONTEND_SECONDS:-4}" -m 64 > "$R/kvmlockstat.out" 2>&1
echo $? > "$R/kvmlockstat.rc"
# perf on the host reads the perf.data with this boot's symbols.
cat /proc/kallsyms > "$R/kallsyms"
if [ $hist = 1 ]; then
    cat $T/events/lock/contention_begin/hist > "$R/contention_begin.hist"
    echo "!$TRIG" > $T/events/lock/contention_begin/trigger
fi
cat "$R/kvmlockstat.out"
