#!/bin/bash
# matrix-rows.sh RESULTS KERNEL: one lab boot of the kernel matrix (tests/lab/matrix.sh) as
# table rows, tab-separated:
#   kernel arch run metric kvmlockstat-backend measured truth-source expected result
# RESULTS holds the run with --fault-types --fault-latency (run "types+latency") and, in
# RESULTS/default, the run with no option ("defaults"), 2 vCPUs each. Every count kvmlockstat
# reports is held to the same kernel's own count over the same run: tracefs hist triggers, or
# the events read back from a trace buffer where the kernel has no hist triggers (guest.sh),
# and on x86 KVM's own statistics. "-" is a value that was not measured (never 0).
set -uo pipefail
. "$(dirname "$(realpath "$0")")/../../scripts/lab/lablib.sh"
R=$1 kernel=$2
arch=$(cat "$R/lab-arch" 2>/dev/null || echo "?")
n=2

# row RUN METRIC BACKEND MEASURED SOURCE EXPECTED: PASS when both are numbers and equal, or
# when kvmlockstat's record says the kernel skipped at least the missing runs of its programs
# (lost: drops.recursion_miss of the run; a preemptible kernel does not enter a program again on
# a CPU where a preempted task is inside it). The measured cell then says how many were lost.
lost=0
row() {
    local res=FAIL got=$4
    if [[ $4 =~ ^[0-9]+$ && $6 =~ ^[0-9]+$ ]]; then
        if [ "$4" = "$6" ]; then
            res=PASS
        elif [ "$4" -lt "$6" ] && [ $(($6 - $4)) -le "$lost" ]; then
            res=PASS got="$4 (+$(($6 - $4)) lost: the kernel skipped $lost program runs)"
        fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kernel" "$arch" "$1" "$2" "$3" "$got" "$5" "$6" "$res"
}

# A kernel count, or "-" when its file is missing or incomplete (overwritten trace buffer).
counted() {	# counted FILE VALUE
    case $(hist_source "$1") in hist|trace) echo "$2" ;; *) echo - ;; esac
}
src() {		# src FILE EVENT: the truth column
    echo "$(hist_source "$1"):$2"
}

# The write-protection faults the kernel itself saw, against what the workload did.
kernel_wp() {
    local d=$1 run=$2 want f
    want=$(jq '.config.vcpus * .config.pages_per_vcpu * .config.iterations' "$d/dirtylog-v$n.json")
    if [ "$arch" = arm64 ]; then
        f=$d/hist-kvm_guest_fault-v$n.txt
        row "$run" "wp faults, kernel count" "-" "$(counted "$f" "$(esr_faults "$f" perm)")" \
            "pages x passes" "$want"
    else
        f=$d/hist-fast_page_fault-v$n.txt
        row "$run" "wp faults, kernel count" "-" "$(counted "$f" "$(fast_fixed_hits "$d" "$n")")" \
            "pages x passes" "$want"
    fi
}

# kvmlockstat's counts on the VM: permission faults, fast-path resolutions, mmu_lock waits.
kls_rows() {
    local d=$1 run=$2 j=$1/kvmlockstat-v$n.json vm f want got addr mode
    vm=$(kls_vm "$d" "$n")
    m() { [ -n "$vm" ] && echo "$vm" | jq -r "$1 // \"-\"" || echo -; }
    b() { jq -r ".backends.$1 // \"-\"" "$j" 2>/dev/null || echo -; }
    lost=$(jq -r '.drops.recursion_miss // 0' "$j" 2>/dev/null || echo 0)
    # Permission faults: only where the run splits faults by type (x86's default reads
    # KVM's counters, which do not).
    if [ "$(b faults)" != kvm_stats ]; then
        if [ "$arch" = arm64 ]; then
            f=$d/hist-kvm_guest_fault-v$n.txt
            want=$(counted "$f" "$(esr_faults "$f" perm)")
            row "$run" "permission faults" "$(b faults)" "$(m .faults.by_type.permission.count)" \
                "$(src "$f" "kvm_guest_fault ESR perm")" "$want"
        else
            f=$d/hist-kvm_page_fault-v$n.txt
            row "$run" "permission faults" "$(b faults)" "$(m .faults.by_type.permission.count)" \
                "$(src "$f" "kvm_page_fault PRESENT")" "$(counted "$f" "$(x86_perm_faults "$f")")"
        fi
    fi
    # Fast-path resolutions: arm64 relax_perms (under either lock mode); x86 lockless fixes,
    # against the tracepoint, or KVM's own pf_fast when kvmlockstat read that.
    if [ "$arch" = arm64 ]; then
        f=$d/hist-kls_relax_perms-v$n.txt
        row "$run" "fast-path resolutions" "$(b fast_path)" \
            "$(m '.faults.paths | if . then .relax_read_lock + .relax_write_lock else null end')" \
            "$(src "$f" "kprobe relax_perms")" "$(counted "$f" "$(hist_sum "$f")")"
    elif [ "$(b fast_path)" = kvm_stats ]; then
        got=$(kvm_stat "$d/dirtylog-v$n.json" pf_fast 2>/dev/null)
        [[ $got =~ ^[0-9]+$ ]] || got=-
        row "$run" "fast-path resolutions" kvm_stats "$(m .faults.kvm.pf_fast)" "KVM stat pf_fast" "$got"
    else
        f=$d/hist-fast_page_fault-v$n.txt
        row "$run" "fast-path resolutions" "$(b fast_path)" "$(m .faults.paths.fast_fixed)" \
            "$(src "$f" "fast_page_fault fixed")" "$(counted "$f" "$(fast_fixed_hits "$d" "$n")")"
    fi
    # mmu_lock waits on this VM's lock: lock:contention_begin by address and mode where the
    # kernel has it (5.19+); else every entry into the spinlock slow path on that address.
    addr=$(m .mmu_lock)
    f=$d/hist-contention_begin-v$n.txt
    if [ "$(hist_source "$f")" != none ]; then
        for mode in read write; do
            want=-
            [ "$addr" = - ] || want=$(counted "$f" "$(lock_hits "$f" "$addr" "$mode")")
            row "$run" "mmu_lock $mode waits" "$(b lock_contention)" "$(m ".contention.$mode.count")" \
                "$(src "$f" "contention_begin")" "$want"
        done
    else
        f=$d/hist-kls_spin_slowpath-v$n.txt
        want=-
        [ "$addr" = - ] || want=$(counted "$f" "$(spin_hits "$f" "$addr")")
        row "$run" "mmu_lock spin waits" "$(b lock_contention)" "$(m .contention.spin.count)" \
            "$(src "$f" "kprobe spin_lock_slowpath")" "$want"
    fi
}

# One run: its rows, or why it has none. kvmlockstat refusing to start is a failing row
# carrying the tool's own message.
# (guest.sh then ran kvm-dirtylog alone: the kernel's counts are still there.)
one_run() {
    local d=$1 run=$2 rc msg
    lost=0	# the kernel's own counts lose nothing; kls_rows reads kvmlockstat's
    [ -f "$d/dirtylog-v$n.json" ] || {
        row "$run" "kvm-dirtylog run" - "exit $(cat "$d/rc-v$n" 2>/dev/null || echo -)" \
            "$(tail -n 1 "$d/run-v$n.log" 2>/dev/null | tr '\t' ' ' | cut -c1-160)" 0
        return
    }
    kernel_wp "$d" "$run"
    rc=$(cat "$d/rc-v$n" 2>/dev/null || echo -)
    if [ "$rc" != 0 ] || [ -z "$(kls_vm "$d" "$n")" ]; then
        msg=$(grep -m1 '^kvmlockstat' "$d/run-v$n.log" 2>/dev/null | tr '\t' ' ' | cut -c1-160)
        row "$run" "kvmlockstat exit status" - "$rc" "${msg:-no record of the workload VM}" 0
    fi
    kls_rows "$d" "$run"
}

[ -d "$R" ] || { echo "matrix-rows: no results directory $R" >&2; exit 1; }
one_run "$R/default" defaults
one_run "$R" "types+latency"
