#!/bin/sh
# guest-views.sh RESULTS [BINDIR]: runs for tests/integration/vm_views.sh on a real VM
# (contend), in the x86_64 lab VM (busybox sh) or on a host with /dev/kvm.
R=$1
B=${2:-/lab}

# -a: every lock, so contend's threads wait on others than its mmu_lock too
# (slots_lock, inside its struct kvm).
"$B/kvmlockstat" -a -i 1 -j "$R/all.json" -- "$B/contend" -s 3 > "$R/all.out" 2>&1
echo $? > "$R/all.rc"

# -p PID, no -d: the run ends when that VMM does. contend runs until it is killed once
# kvmlockstat is tracing: a VMM that ends on its own could end before a slow (TCG) start
# of kvmlockstat has found it, and that run would rightly refuse the pid.
"$B/contend" -s 600 > "$R/p-contend.out" 2>&1 &
bg=$!
i=0
while ! grep -q 'vm ready' "$R/p-contend.out" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
cpid=$(sed -n 's/^contend: pid \([0-9]*\) vm ready.*/\1/p' "$R/p-contend.out")
(timeout 600 "$B/kvmlockstat" -p "$cpid" -i 1 > "$R/p.out" 2>&1; echo $? > "$R/p.rc"; date +%s > "$R/p.end") &
kls=$!
i=0
while ! grep -q 'tracing mmu_lock contention' "$R/p.out" 2>/dev/null && kill -0 $kls 2> /dev/null && [ $i -lt 1200 ]; do
    sleep 0.1; i=$((i + 1))
done
sleep 2    # an interval or two of contention
kill -TERM "$bg"
wait "$bg"
date +%s > "$R/p-contend.end"
wait "$kls"
echo "$cpid" > "$R/p.pid"

# Fault probes forced to tracepoints: no dirty-log ioctl time (it needs function probes).
"$B/kvmlockstat" -i 0.5 --backend tracepoint --timeline "$R/tl.csv" -j "$R/tl.json" \
    -- "$B/contend" -s 2 > "$R/tl.out" 2>&1
echo $? > "$R/tl.rc"
"$B/kvmlockstat" report "$R/tl.json" > "$R/tl-report.out" 2>&1
cat "$R/all.out" "$R/p.out"
