#!/bin/sh
# guest.sh RESULTS: runs inside the lab VM. For each vCPU count in LAB_VCPUS runs
# kvm-dirtylog under kvmlockstat, with the kernel's own counts of the fault path
# (tracefs hist triggers) beside it, and leaves everything in RESULTS.
# The counted events are listed in one place, counters_<arch> below: to count more,
# add a line there (and an assertion in tests/lab/assert.sh).
R=$1
. /lab/config
T=/sys/kernel/tracing
fail() { echo "guest: FAIL: $*"; echo 1 > "$R/.rc"; exit 1; }

# "event-dir trigger-keys" per line; a missing event is noted, not fatal.
counters_arm64() {
    echo "kvm/kvm_guest_fault hsr.hex"
    echo "kprobes/kls_relax_perms common_pid"
    echo "kprobes/kls_spin_slowpath lock.hex"
    echo "lock/contention_begin lock_addr.hex,flags"
}
counters_x86_64() {
    echo "kvmmmu/fast_page_fault ret"
    echo "kvm/kvm_page_fault error_code"
    echo "lock/contention_begin lock_addr.hex,flags"
}

guest_info() {
    echo "uname: $(uname -a)"
    echo "cpus: $(nproc)"
    grep MemTotal /proc/meminfo
    echo "btf: $(ls -l /sys/kernel/btf/vmlinux 2>&1)"
    for p in /sys/module/kvm/parameters/tdp_mmu /sys/module/kvm_amd/parameters/npt; do
        [ -e "$p" ] && echo "$p: $(cat "$p")"
    done
    dmesg | grep -i -E 'kvm|hyp mode|vhe' | head -20
}

load_kvm_modules() {
    # arm64 KVM is built in; so is x86's in some LAB_KERNELs.
    [ "$LAB_ARCH" = x86_64 ] && [ ! -c /dev/kvm ] || return 0
    for m in irqbypass ccp kvm kvm-amd; do
        insmod "/lib/modules/$m.ko" || fail "insmod $m"
    done
}

counters() { counters_"$LAB_ARCH"; }

counters_start() {
    # The relax_perms kprobe shows the fast path of the paired kernel change.
    [ "$LAB_ARCH" = arm64 ] &&
        echo 'p:kprobes/kls_relax_perms kvm_pgtable_stage2_relax_perms' >> $T/kprobe_events 2>/dev/null
    # Every entry into the spinlock slow path, by lock: the kernel's own count of
    # contended acquisitions where mmu_lock is a spinlock (before the rwlock change).
    [ "$LAB_ARCH" = arm64 ] &&
        echo 'p:kprobes/kls_spin_slowpath queued_spin_lock_slowpath lock=%x0:x64' >> $T/kprobe_events 2>/dev/null
    counters | while read -r ev keys; do
        [ -d "$T/events/$ev" ] || { echo "guest: no event $ev on this kernel"; continue; }
        echo "hist:keys=$keys:size=4096" > "$T/events/$ev/trigger" ||
            echo "guest: cannot set a hist trigger on $ev"
    done
}

# Saves each histogram as hist-<event>-v<N>.txt and removes the trigger (resetting it).
counters_stop() {
    counters | while read -r ev keys; do
        [ -e "$T/events/$ev/hist" ] || continue
        cat "$T/events/$ev/hist" > "$R/hist-${ev#*/}-v$1.txt"
        echo "!hist:keys=$keys:size=4096" > "$T/events/$ev/trigger"
    done
}

run_one() {
    n=$1
    dl="kvm-dirtylog -v $n -b $LAB_SIZE -i $LAB_ITER --json $R/dirtylog-v$n.json $LAB_DIRTYLOG_ARGS"
    echo "guest: run v=$n: $dl"
    counters_start
    if [ "$LAB_KVMLOCKSTAT" = 1 ]; then
        # shellcheck disable=SC2086
        timeout "$LAB_RUN_TIMEOUT" kvmlockstat $LAB_KVMLOCKSTAT_ARGS --json "$R/kvmlockstat-v$n.json" -- $dl \
            > "$R/run-v$n.log" 2>&1
    else
        # shellcheck disable=SC2086
        timeout "$LAB_RUN_TIMEOUT" $dl > "$R/run-v$n.log" 2>&1
    fi
    rc=$?
    echo "$rc" > "$R/rc-v$n"
    counters_stop "$n"
    cat "$R/run-v$n.log"
    echo "guest: run v=$n exit $rc"
    return $rc
}

# Bad input on a real KVM: each must fail with a clear message (tests/lab/assert.sh
# matches "name rc=N message"). Cheap: none of them gets as far as a pass.
negative() {
    name=$1
    shift
    kvm-dirtylog "$@" > /tmp/neg.out 2>&1
    echo "$name rc=$? $(head -n 1 /tmp/neg.out)" >> "$R/negative.txt"
}
negatives() {
    negative vcpus-over-host-limit -v 4000 -b 4K
    negative memory-over-host -v 1 -b 64G
    negative size-not-page-multiple -b 12345
    negative unknown-backing -s file
    # A pass that cannot finish in time must end the run, not hang it (TCG: >1 s).
    negative pass-timeout -v 1 -b 256M -t 1
    negative hugetlb-none-reserved -s anonymous_hugetlb_2mb -b 4M
}

# The other paths of kvm-dirtylog, small and without kvmlockstat: manual protect
# (KVM_CLEAR_DIRTY_LOG) over several memslots on THP-backed memory; hugetlbfs.
variant() {
    name=$1
    shift
    kvm-dirtylog "$@" -q --json "$R/variant-$name.json" > "$R/variant-$name.log" 2>&1
    echo $? > "$R/variant-$name.rc"
}
variants() {
    variant manual -v 2 -b 8M -i 2 -g -x 4 -s anonymous_thp -c 1,0
    # 2 MiB hugetlbfs pages, which dirty logging must map (and log) 4 KiB at a time.
    echo 8 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
    variant hugetlb -v 2 -b 8M -i 2 -s anonymous_hugetlb_2mb
    # Far above 4 GiB: x86's page tables and arm64's flat IPA space both reach it.
    variant highgpa -v 2 -b 4M -i 1 -p 0x4000000000
}

echo 0 > "$R/.rc"
load_kvm_modules
guest_info > "$R/guest-info.txt" 2>&1
cat "$R/guest-info.txt"
[ -c /dev/kvm ] || fail "no /dev/kvm in the lab VM (see dmesg.txt)"
# LAB_GUEST: a script of the caller's replaces the dirty-logging runs (KVM is ready).
if [ -f /lab/custom.sh ]; then
    sh /lab/custom.sh "$R" /lab || echo 1 > "$R/.rc"
    exit 0
fi
negatives
variants
for n in $LAB_VCPUS; do
    run_one "$n" || echo 1 > "$R/.rc"
done
# LAB_DEFAULT_RUN=1: kvmlockstat once more with no option at all, 2 vCPUs, so the
# default's fault source (x86: KVM's own counters) is checked too (assert.sh).
if [ "$LAB_KVMLOCKSTAT" = 1 ] && [ "${LAB_DEFAULT_RUN:-0}" = 1 ]; then
    # Its own directory: RESULTS itself is a sweep of one record per vCPU count (diff, plot).
    echo "guest: default run"
    mkdir -p "$R/default"
    timeout "$LAB_RUN_TIMEOUT" kvmlockstat --json "$R/default/kvmlockstat.json" -- \
        kvm-dirtylog -v 2 -b "$LAB_SIZE" -i "$LAB_ITER" -q --json "$R/default/dirtylog.json" \
        > "$R/default/run.log" 2>&1
    echo $? > "$R/default/rc"
fi
