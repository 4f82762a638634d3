#!/bin/sh
# guest-timeline.sh RESULTS [BINDIR]: kvm-dirtylog under kvmlockstat -i 0.5 --timeline in
# the lab VM, with the kernel's own record of when dirty logging began: a kprobe on
# kvm_arch_commit_memory_region (change 3 = KVM_MR_FLAGS_ONLY: the memslot's
# KVM_MEM_LOG_DIRTY_PAGES flag set) and the workload's exec, in one trace buffer, one clock.
R=$1
B=${2:-/lab}
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T
cat $T/trace_clock > "$R/trace_clock.txt"
# arm64 AAPCS: the 4th argument (enum kvm_mr_change change) is in x3.
echo 'p:kls_commit kvm_arch_commit_memory_region change=%x3:u32' >> $T/kprobe_events ||
    echo "guest: no kprobe on kvm_arch_commit_memory_region" > "$R/trace-setup.err"
echo 1 > $T/events/kprobes/kls_commit/enable
echo 'filename ~ "*kvm-dirtylog*"' > $T/events/sched/sched_process_exec/filter
echo 1 > $T/events/sched/sched_process_exec/enable
echo > $T/trace
"$B/kvmlockstat" -i 0.5 --timeline "$R/timeline.csv" -j "$R/timeline.json" \
    -- "$B/kvm-dirtylog" -v "${TL_VCPUS:-2}" -b "${TL_SIZE:-32M}" -i "${TL_ITER:-3}" \
    --json "$R/dirtylog.json" > "$R/kvmlockstat.out" 2>&1
echo $? > "$R/kvmlockstat.rc"
echo 0 > $T/events/sched/sched_process_exec/enable
echo 0 > $T/events/kprobes/kls_commit/enable
cat $T/trace > "$R/trace.txt"
echo '-:kls_commit' >> $T/kprobe_events
tail -5 "$R/kvmlockstat.out"
