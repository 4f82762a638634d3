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

# "event-dir trigger-keys [text-key]" per line; a missing event is noted, not fatal.
# text-key: the one key the count from the trace buffer (below) takes from the event's printed
# line, where that differs: fast_page_fault prints "fixed 0|1", not its ret; .fromhex: printed
# in hex, counted in decimal as hist prints it. (contention_begin, the one event with two
# keys, comes with hist triggers.)
counters_arm64() {
    echo "kvm/kvm_guest_fault hsr.hex"
    echo "kprobes/kls_relax_perms common_pid"
    echo "kprobes/kls_spin_slowpath lock.hex"
    echo "lock/contention_begin lock_addr.hex,flags"
}
counters_x86_64() {
    echo "kvmmmu/fast_page_fault ret fixed"
    echo "kvm/kvm_page_fault error_code error_code.fromhex"
    echo "kprobes/kls_spin_slowpath lock.hex"
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
    # mkinitramfs.sh wrote the order: each module after the ones it depends on.
    for m in $(cat /lib/modules/order); do
        insmod "/lib/modules/$m.ko" || fail "insmod $m"
    done
}

counters() { counters_"$LAB_ARCH"; }

# Every entry into the spinlock slow path, by lock: the kernel's own count of contended
# acquisitions where mmu_lock is a spinlock (5.10; a kernel without the rwlock change).
# x86 with paravirt spinlocks names the bare-metal one native_queued_spin_lock_slowpath.
spin_slowpath_kprobe() {
    if [ "$LAB_ARCH" = arm64 ]; then reg=%x0; else reg=%di; fi
    for f in native_queued_spin_lock_slowpath queued_spin_lock_slowpath; do
        grep -q " $f\$" /proc/kallsyms || continue
        echo "p:kprobes/kls_spin_slowpath $f lock=$reg:x64" >> $T/kprobe_events 2>/dev/null && return
    done
}

# A kernel without hist triggers (Debian's 5.10): the event goes to a tracefs instance of its
# own instead, whose buffer is read after the run (hist_from_trace).
trace_instance() { echo "$T/instances/kls_$(echo "${1#*/}" | tr -c 'a-z0-9_\n' _)"; }
counters_start() {
    # The relax_perms kprobe shows the fast path of the paired kernel change.
    [ "$LAB_ARCH" = arm64 ] &&
        echo 'p:kprobes/kls_relax_perms kvm_pgtable_stage2_relax_perms' >> $T/kprobe_events 2>/dev/null
    [ -d $T/events/kprobes/kls_spin_slowpath ] || spin_slowpath_kprobe
    counters | while read -r ev keys tkeys; do
        [ -d "$T/events/$ev" ] || { echo "guest: no event $ev on this kernel"; continue; }
        if [ -e "$T/events/$ev/hist" ]; then
            echo "hist:keys=$keys:size=4096" > "$T/events/$ev/trigger" ||
                echo "guest: cannot set a hist trigger on $ev"
            continue
        fi
        i=$(trace_instance "$ev")
        mkdir -p "$i" && echo 16384 > "$i/buffer_size_kb" && echo 1 > "$i/events/$ev/enable" ||
            echo "guest: cannot trace $ev in $i"
    done
}

# The trace buffer of INSTANCE as hist(1)'s output for one KEY: a "{ key: v } hitcount: N" line
# per value, taken from the printed line ("key 0x.." or "key=0x.."; common_pid from the task
# column); .hex keys without 0x as hist prints them, .fromhex ones in decimal. sed, sort and
# uniq do the per-event work (busybox awk takes minutes on 10^5 lines under emulation). Events
# the ring buffer overwrote are said on a "# lost N" line: that count is then incomplete.
hist_from_trace() {
    i=$1 key=$2
    echo 0 > "$i/tracing_on"
    echo "# keys: $key (from the trace buffer: this kernel has no hist triggers)"
    lost=$(cat "$i"/per_cpu/cpu*/stats 2>/dev/null | awk '/^overrun:/ { n += $2 } END { print n + 0 }')
    [ "$lost" = 0 ] || echo "# lost $lost"
    name=${key%.*}
    if [ "$name" = common_pid ]; then
        sed -n 's/^ *[^[]*-\([0-9][0-9]*\) *\[.*/\1/p' "$i/trace"
    else
        sed -n "s/.*[ ,]${name}[ =]\([^ ,]*\).*/\1/p" "$i/trace"
    fi | sort | uniq -c | awk -v key="$key" '
        function dec(s,  i, v) { s = tolower(s); sub(/^0x/, "", s); v = 0
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return sprintf("%.0f", v) }
        { v = $2; name = key; fromhex = sub(/\.fromhex$/, "", name); hexk = sub(/\.hex$/, "", name)
          if (hexk) { v = tolower(v); sub(/^0x/, "", v) }
          if (fromhex) v = dec(v)
          print "{ " name ": " v " } hitcount: " $1 }'
}

# Saves each count as DIR/hist-<event>-v<N>.txt (and the event's format, whose print fmt says
# what its values mean) and removes the trigger or instance.
counters_stop() {
    dir=$1 n=$2
    counters | while read -r ev keys tkeys; do
        [ -d "$T/events/$ev" ] || continue
        cat "$T/events/$ev/format" > "$dir/format-${ev#*/}.txt"
        i=$(trace_instance "$ev")
        if [ -d "$i" ]; then
            hist_from_trace "$i" "${tkeys:-$keys}" > "$dir/hist-${ev#*/}-v$n.txt"
            echo 0 > "$i/events/$ev/enable"
            rmdir "$i"
            continue
        fi
        [ -e "$T/events/$ev/hist" ] || continue
        cat "$T/events/$ev/hist" > "$dir/hist-${ev#*/}-v$n.txt"
        echo "!hist:keys=$keys:size=4096" > "$T/events/$ev/trigger"
    done
}

# run_one DIR N [KVMLOCKSTAT-OPTIONS]: kvm-dirtylog with N vCPUs under kvmlockstat, the
# kernel's counts around it; DIR gets dirtylog-vN.json, kvmlockstat-vN.json, run-vN.log,
# rc-vN and hist-*-vN.txt (the layout tests/lab/assert.sh and table.sh read).
run_one() {
    dir=$1 n=$2
    shift 2
    mkdir -p "$dir"
    dl="kvm-dirtylog -v $n -b $LAB_SIZE -i $LAB_ITER --json $dir/dirtylog-v$n.json $LAB_DIRTYLOG_ARGS"
    echo "guest: run v=$n: kvmlockstat $* -- $dl"
    counters_start
    if [ "$LAB_KVMLOCKSTAT" = 1 ]; then
        # shellcheck disable=SC2086
        timeout "$LAB_RUN_TIMEOUT" kvmlockstat "$@" --json "$dir/kvmlockstat-v$n.json" -- $dl \
            > "$dir/run-v$n.log" 2>&1
    else
        # shellcheck disable=SC2086
        timeout "$LAB_RUN_TIMEOUT" $dl > "$dir/run-v$n.log" 2>&1
    fi
    rc=$?
    echo "$rc" > "$dir/rc-v$n"
    # kvmlockstat refused to start (a kernel it does not support yet): the workload alone, so
    # the kernel's own counts of this run still stand beside the refusal.
    if [ "$rc" != 0 ] && [ ! -f "$dir/dirtylog-v$n.json" ] && [ "$LAB_KVMLOCKSTAT" = 1 ]; then
        # shellcheck disable=SC2086
        timeout "$LAB_RUN_TIMEOUT" $dl > "$dir/run-alone-v$n.log" 2>&1
    fi
    counters_stop "$dir" "$n"
    cat "$dir/run-v$n.log"
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
# LAB_THP=never (the kernel matrix): the workload's memory mapped page by page from the start.
# With transparent huge pages, 7.3 arm64 maps it in 2 MiB blocks, and its first logged pass
# faults once per block for permission and then once per page for translation.
[ -z "${LAB_THP:-}" ] || echo "$LAB_THP" > /sys/kernel/mm/transparent_hugepage/enabled
load_kvm_modules
guest_info > "$R/guest-info.txt" 2>&1
cat "$R/guest-info.txt"
[ -c /dev/kvm ] || fail "no /dev/kvm in the lab VM (see dmesg.txt)"
# LAB_GUEST: a script of the caller's replaces the dirty-logging runs (KVM is ready).
if [ -f /lab/custom.sh ]; then
    sh /lab/custom.sh "$R" /lab || echo 1 > "$R/.rc"
    exit 0
fi
# LAB_CHECK_PATHS=0 (the kernel matrix): only the runs below, not kvm-dirtylog's other paths.
if [ "${LAB_CHECK_PATHS:-1}" = 1 ]; then
    negatives
    variants
fi
for n in $LAB_VCPUS; do
    # shellcheck disable=SC2086
    run_one "$R" "$n" $LAB_KVMLOCKSTAT_ARGS || echo 1 > "$R/.rc"
done
# LAB_DEFAULT_RUN=1: kvmlockstat once more with no option at all, 2 vCPUs, so the
# default's fault source (x86: KVM's own counters) is checked too (assert.sh). Its own
# directory: RESULTS itself is a sweep of one record per vCPU count (diff, plot).
if [ "$LAB_KVMLOCKSTAT" = 1 ] && [ "${LAB_DEFAULT_RUN:-0}" = 1 ]; then
    echo "guest: default run"
    run_one "$R/default" 2 || echo 1 > "$R/.rc"
fi
