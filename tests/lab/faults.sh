# faults.sh: lab checks of kvmlockstat's fault family, sourced by tests/lab/assert.sh
# (which provides R, n, arch, ok/ko/sk, expect_eq, expected_wp and lablib.sh).
# Each check reads kvmlockstat's record of kvm-dirtylog's VM and compares it with
# what the workload did (its JSON) or with the kernel's own counts (tracefs hists).
FAULT_CHECKS="check_fault_backends check_fault_perm_per_vcpu check_fault_fast_path
              check_fault_fast_fixed_vs_tracepoint check_fault_latency check_fault_hold
              check_fault_dirty_log check_fault_kvm_stats"

fault_vm() { kls_vm "$R" "$n"; }
fault_json() { cat "$R/kvmlockstat-v$n.json"; }
backend_of() { fault_json | jq -r ".backends.$1 // \"none\""; }

# A metric the run's backend could not give (e.g. a --backend tracepoint run): the
# record must say so in "backends" and "missing".  Returns 1 when it was measured.
unmeasured() {	# unmeasured BACKENDS_KEY "missing what"
    [ "$(backend_of "$1")" = none ] || return 1
    if fault_json | jq -e --arg w "$2" '[.missing[] | select(.what == $w)] | length == 1' > /dev/null
    then ok "$2 not measured by this backend, and the record says why: $(fault_json |
            jq -r --arg w "$2" '.missing[] | select(.what == $w) | .why')"
    else ko "$2 not measured but not listed in the record's missing"
    fi
}

# Gate of the others: the VM's record must have a faults section.
have_faults() {
    local vm
    vm=$(fault_vm)
    [ -n "$vm" ] && echo "$vm" | jq -e '.faults' > /dev/null 2>&1 && return 0
    ko "kvmlockstat JSON has no faults section for kvm-dirtylog's VM"
    return 1
}

# arm64 6.1 has no BPF trampoline: kprobes.  x86 6.1 has: fentry, kprobe if refused.
check_fault_backends() {
    local b want
    local why
    # The lab's kernels take fentry (x86) and kprobes (arm64): a refused function probe here
    # is a program the verifier rejects, not a missing feature, so only "not asked for"
    # (no --fault-latency, or --backend tracepoint) may leave latency unmeasured.
    why=$(fault_json | jq -r '[.missing[]? | select(.what != "fault latency" or (.why | startswith("opt-in") | not))
                               | select(.why | test("refused")) | "\(.what): \(.why)"] | join("; ")')
    if [ -n "$why" ]; then
        ko "function probes refused in the lab (a verifier rejection): $why"
        return
    fi
    if [ "$(backend_of fault_latency)" = none ]; then
        expect_eq "faults counted from tracepoints (latency not asked for, or --backend tracepoint)" \
            "$(backend_of faults)" tracepoint
        return
    fi
    b=$(fault_json | jq -r '[.backends.faults, .backends.fault_latency, .backends.fast_path,
                            .backends.mmu_lock_hold, .backends.dirty_log] | map(. // "none") | join(" ")')
    if [ "$arch" = arm64 ]; then want="kprobe kprobe kprobe kprobe kprobe"
    else want="fentry fentry tracepoint fentry fentry"
    fi
    if [ "$b" = "$want" ]; then ok "fault backends (faults latency fast-path hold dirty-log): $b"
    elif [ "$arch" = x86_64 ] && [ "$b" = "kprobe kprobe tracepoint kprobe kprobe" ]; then
        ok "fault backends: $b (kprobe: forced by --backend, or fentry refused)"
    else ko "fault backends (faults latency fast-path hold dirty-log): got '$b', expected '$want'"
    fi
}

# Every vCPU takes one permission fault per page per logged pass; a few other
# faults (MMIO, instruction pages) may add to the total, never to this type.
check_fault_perm_per_vcpu() {
    have_faults || return
    local vm want got tol bad
    vm=$(fault_vm)
    want=$(jq '.config.pages_per_vcpu * .config.iterations' "$R/dirtylog-v$n.json")
    tol=$(( want / 100 > 2 ? want / 100 : 2 ))
    expect_eq "vCPU threads with faults" "$(echo "$vm" | jq '[.vcpus[] | select(.faults.total.count > 0)] | length')" "$n"
    got=$(echo "$vm" | jq -c '[.vcpus[] | select(.faults.total.count > 0) | .faults.by_type.permission.count]')
    bad=$(echo "$got" | jq --argjson w "$want" --argjson t "$tol" '[.[] | select(. < $w or . > $w + $t)] | length')
    if [ "$bad" = 0 ]; then ok "permission faults per vCPU $got = pages written per vCPU in the logged passes ($want, +$tol)"
    else ko "permission faults per vCPU $got, expected $want (+$tol) each"
    fi
}

# The cover letter's figure: relaxations under the read lock (arm64) or lockless fixes
# (x86) / permission faults.  Stock 6.1 has the change: near 100%.  A kernel
# without it (mmu_lock a spinlock: the record's hold has a "spin" mode, as on
# LAB_KERNEL=build/kernel/before/Image) relaxes everything under the lock: 0%.
check_fault_fast_path() {
    have_faults || return
    unmeasured fast_path "fast-path hit rate" && return
    local rate spin
    rate=$(fault_vm | jq '.faults.fast_path_hit_rate // -1')
    spin=$(fault_vm | jq '.hold.spin.count // 0')
    if [ "$spin" -gt 0 ]; then
        if jq -en --argjson r "$rate" '$r == 0' > /dev/null
        then ok "fast-path hit rate $rate: mmu_lock is a spinlock here (no fast path), every relaxation under it"
        else ko "fast-path hit rate $rate with a spinlock mmu_lock, expected 0"
        fi
    elif jq -en --argjson r "$rate" '$r >= 0.99' > /dev/null; then ok "fast-path hit rate $rate (>= 0.99)"
    else ko "fast-path hit rate $rate, expected >= 0.99 on a kernel with the fast path"
    fi
}

# x86: lockless fixes counted = kvmmmu:fast_page_fault events with ret RET_PF_FIXED.
check_fault_fast_fixed_vs_tracepoint() {
    [ "$arch" = x86_64 ] || return 0
    have_faults || return
    expect_eq "lockless fast-path fixes, kvmlockstat vs kvmmmu:fast_page_fault fixed (ret RET_PF_FIXED)" \
        "$(fault_vm | jq '.faults.paths.fast_fixed')" "$(fast_fixed_hits "$R" "$n")"
}

# x86: the VM's faults against KVM's own per-VM stats over the whole run (kvm-dirtylog
# reads them around every pass).  pf_taken counts the faults kvm_mmu_page_fault hands to
# kvm_mmu_do_page_fault: all but the MMIO ones ("other", reserved-bit sptes) it resolves
# first, so it lies between the faults without "other" and all of them (equal to both
# when "other" is 0).  pf_fast counts fast_page_fault's lockless resolutions (ret
# RET_PF_FIXED or RET_PF_SPURIOUS).  fault_vm may come from the record or the exporter.
check_fault_kvm_stats() {
    [ "$arch" = x86_64 ] || return 0
    have_faults || return
    local dl=$R/dirtylog-v$n.json t taken
    t=$(fault_vm | jq -c '.faults.by_type | [([.translation, .permission, .access_flag] | map(.count) | add),
                                            ([.[].count] | add)]')
    taken=$(kvm_stat "$dl" pf_taken)
    if [ "$(echo "$t" | jq '.[0]')" = "$(echo "$t" | jq '.[1]')" ]; then
        expect_eq "faults = KVM's pf_taken over the run (no MMIO fault)" "$(echo "$t" | jq '.[0]')" "$taken"
    elif echo "$t" | jq -e --argjson k "$taken" '.[0] <= $k and $k <= .[1]' > /dev/null; then
        ok "KVM's pf_taken $taken within [faults without MMIO, all faults] $t"
    else ko "KVM's pf_taken $taken outside [faults without MMIO, all faults] $t"
    fi
    expect_eq "lockless resolutions (fast_fixed + fast_spurious) = KVM's pf_fast over the run" \
        "$(fault_vm | jq '.faults.paths | .fast_fixed + .fast_spurious')" "$(kvm_stat "$dl" pf_fast)"
}

# Latency comes from entry/exit probes: consistent order statistics.
check_fault_latency() {
    have_faults || return
    unmeasured fault_latency "fault latency" && return
    local t
    t=$(fault_vm | jq -c '.faults.total | [.count, .p50_ns, .p99_ns, .max_ns, .mean_ns]')
    if echo "$t" | jq -e '.[0] > 0 and .[1] > 0 and .[1] <= .[2] and .[2] <= .[3] and .[4] <= .[3]' > /dev/null
    then ok "fault latency [count p50 p99 max mean] $t (ns, emulated: orders only)"
    else ko "fault latency inconsistent or empty: [count p50 p99 max mean] $t"
    fi
}

# Both modes are held in these runs: read by the fault path (arm64 relax, x86 TDP
# MMU), write by populate (arm64) and the dirty-log ioctls (both).
check_fault_hold() {
    have_faults || return
    unmeasured mmu_lock_hold "mmu_lock hold time" && return
    local h src want
    # A spinlock mmu_lock (kernel without the change) has one exclusive mode.
    h=$(fault_vm | jq -c '.hold | if .spin.count > 0 then [.spin.count, .spin.wait_ns]
        else [.read.count, .read.wait_ns, .write.count, .write.wait_ns] end')
    src=$(fault_vm | jq -r '.hold.source')
    [ "$arch" = arm64 ] && want=critical_sections || want=lock_functions
    expect_eq "mmu_lock hold measured from" "$src" "$want"
    if echo "$h" | jq -e 'all(. > 0)' > /dev/null; then ok "mmu_lock hold [read n, ns, write n, ns] $h"
    else ko "mmu_lock hold has an empty mode: [read n, ns, write n, ns] $h"
    fi
}

check_fault_dirty_log() {
    have_faults || return
    unmeasured dirty_log "dirty-log ioctl and write-protect time" && return
    local got iters
    got=$(fault_vm | jq -c '[.timings.get_dirty_log.other.count // 0,
        (.timings.write_protect.write.count // 0) + (.timings.write_protect.spin.count // 0)]')
    iters=$(jq '.config.iterations' "$R/dirtylog-v$n.json")
    if echo "$got" | jq -e --argjson i "$iters" '.[0] >= $i and .[1] > 0' > /dev/null
    then ok "dirty-log side [KVM_GET_DIRTY_LOG calls, write-protect sections under the write lock] $got"
    else ko "dirty-log side [get_dirty_log, write_protect(write)] $got, expected >= $iters and > 0"
    fi
}
