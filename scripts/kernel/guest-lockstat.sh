#!/bin/sh
# guest-lockstat.sh RESULTS [BINDIR]: runs inside the lab VM booted on a kernel of
# `make kernels-lockstat` (or, for LS_MODE=price, on its lab twin without LOCK_STAT).
# The settings (LS_*) are baked in ahead of this file by scripts/kernel/lockstat.sh.
#   LS_MODE=compare: per vCPU count in LS_VCPUS, the kernel's own dirty_log_perf_test under
#     kvmlockstat; /proc/lock_stat cleared right before and read right after; tracefs
#     counts of the same window beside them (LS_CROSS=1): the qspinlock slow path, the
#     lock:contention_begin tracepoint and LOCK_STAT's own lock:lock_contended, by lock.
#   LS_MODE=price: the same command LS_REPS times, alone and under kvmlockstat
#     (lock_stat on and off where the kernel has it), order rotating every rep.
# Each run leaves RESULTS/<tag>.{log,rc} (+ kls-<tag>.json, lock_stat-<tag>.txt, hist-*).
R=$1
B=${2:-/lab}
T=/sys/kernel/tracing
PT="$B/dirty_log_perf_test"
fail() { echo "guest-lockstat: FAIL: $*"; echo 1 > "$R/.rc"; }
[ -d $T/events ] || mount -t tracefs nodev $T 2>/dev/null

# hugetlb pages for N vCPUs of LS_SIZE each, with slack for the test's own slots
hugepages() {
    case $LS_BACKING in *hugetlb*) ;; *) return 0 ;; esac
    mb=$(echo "$LS_SIZE" | awk '/G$/ { print $0 * 1024; next } { print $0 + 0 }')
    echo $(($1 * mb / 2 + 16)) > /proc/sys/vm/nr_hugepages
    echo "guest-lockstat: $(cat /proc/sys/vm/nr_hugepages) hugetlb pages for $1 x $LS_SIZE"
}

# "event keys" per line: the kernel's own counts over the window (LS_CROSS=1).
cross_events() {
    [ -d $T/events/kprobes/ls_slowpath ] && echo "kprobes/ls_slowpath lock.hex"
    echo "lock/contention_begin lock_addr.hex,flags"
    [ -d $T/events/lock/lock_contended ] && echo "lock/lock_contended lockdep_addr.hex"
}
cross_start() {
    [ "$LS_CROSS" = 1 ] || return 0
    [ -d $T/events/kprobes/ls_slowpath ] ||
        echo 'p:kprobes/ls_slowpath queued_spin_lock_slowpath lock=%x0:x64' >> $T/kprobe_events
    cross_events | while read -r ev keys; do echo "hist:keys=$keys:size=8192" > "$T/events/$ev/trigger"; done
}
cross_stop() {
    [ "$LS_CROSS" = 1 ] || return 0
    cross_events | while read -r ev keys; do
        cat "$T/events/$ev/hist" > "$R/hist-${ev#*/}-$1.txt"
        echo "!hist:keys=$keys:size=8192" > "$T/events/$ev/trigger"
    done
}

# The command of one run. compare: the seed's dirty_log_perf_test. price (LS_PRICE_WORKLOAD):
# kvm-dirtylog by default, in the same shape (manual protect, the same backing) with each vCPU
# pinned to its own CPU: dirty_log_perf_test's threads busy-wait for each other, and where the
# scheduler puts them moves its instruction-count times by up to 3.5x between identical reps.
workload_cmd() {
    if [ "$LS_MODE" = price ] && [ "$LS_PRICE_WORKLOAD" = kvm-dirtylog ]; then
        echo "$B/kvm-dirtylog -v $LS_N -b $LS_SIZE -i $LS_ITER -s $LS_BACKING -g -c $(seq -s, 0 $((LS_N - 1))) --json $R/dl-$1.json"
    else
        echo "$PT -b $LS_SIZE -m 2 -i $LS_ITER -s $LS_BACKING -v $LS_N"
    fi
}

# run TAG KLS: one run of the workload, under kvmlockstat when KLS=1
run() {
    tag=$1
    cmd=$(workload_cmd "$tag")
    echo "guest-lockstat: $tag: $cmd${2:+ (kvmlockstat: $2)}"
    if [ "$2" = 1 ]; then
        timeout "$LS_TIMEOUT" "$B/kvmlockstat" -i 0 -j "$R/kls-$tag.json" -- $cmd > "$R/$tag.log" 2>&1
    else
        timeout "$LS_TIMEOUT" $cmd > "$R/$tag.log" 2>&1
    fi
    rc=$?
    echo $rc > "$R/$tag.rc"
    grep -E 'dirty memory time|Populate|^ *[0-9]+ +[0-9.]+ ms' "$R/$tag.log"
    [ $rc = 0 ] || { tail -5 "$R/$tag.log"; fail "$tag exit $rc"; }
}

compare() {
    [ -w /proc/lock_stat ] || { fail "no /proc/lock_stat: not a CONFIG_LOCK_STAT kernel"; return; }
    [ -e /proc/sys/kernel/lock_stat ] && echo 1 > /proc/sys/kernel/lock_stat
    for LS_N in $LS_VCPUS; do
        hugepages "$LS_N"
        cross_start
        echo 0 > /proc/lock_stat
        run "v$LS_N" 1
        cat /proc/lock_stat > "$R/lock_stat-v$LS_N.txt"
        cross_stop "v$LS_N"
        echo 0 > /proc/sys/vm/nr_hugepages
    done
}

# price: kinds rotate each rep so a drift of the emulated machine hits every kind
price() {
    kinds="alone kls"
    [ -e /proc/sys/kernel/lock_stat ] && kinds="lockstat alone kls"
    LS_N=$LS_VCPUS
    hugepages "$LS_N"
    i=1
    while [ "$i" -le "$LS_REPS" ]; do
        order=$(echo "$kinds" | awk -v s=$((i - 1)) '{ for (j = 0; j < NF; j++) printf "%s ", $((j + s) % NF + 1) }')
        for k in $order; do
            # lock_stat=0 keeps lockdep's tracking and drops only the statistics
            [ -e /proc/sys/kernel/lock_stat ] && echo "$([ "$k" = lockstat ] && echo 1 || echo 0)" > /proc/sys/kernel/lock_stat
            run "$k-$i" "$([ "$k" = kls ] && echo 1)"
        done
        i=$((i + 1))
    done
}

echo 0 > "$R/.rc"
uname -a > "$R/uname.txt"
[ -x "$PT" ] || fail "no $PT in the initramfs"
case $LS_MODE in
compare) compare ;;
price) price ;;
*) fail "LS_MODE=$LS_MODE: compare or price" ;;
esac
grep -E 'debug_locks|lock-classes' /proc/lockdep_stats > "$R/lockdep_stats.txt" 2>/dev/null
cat "$R/.rc" > "$R/rc"
