#!/bin/bash
# assert.sh RESULTS: checks one lab run's results against the kernel's own counts.
# Prints PASS:/FAIL:/SKIP: lines and a last line "N passed, N failed, N skipped";
# exits non-zero if anything failed. Every check is a function named check_*, run
# for each vCPU count in the order of CHECKS then KLS_CHECKS: to assert something new (e.g. the
# fault section kvmlockstat will gain), write one function and list it there.
set -uo pipefail
. "$(dirname "$(realpath "$0")")/../../scripts/lab/lablib.sh"
. "$(dirname "$(realpath "$0")")/faults.sh"
R=$1
arch=$(cat "$R/lab-arch" 2>/dev/null || echo unknown)
pass=0 fail=0 skip=0

ok() { echo "PASS: [$arch v$n] $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: [$arch v$n] $*"; fail=$((fail + 1)); }
sk() { echo "SKIP: [$arch v$n] $*"; skip=$((skip + 1)); }
expect_eq() {	# expect_eq WHAT GOT WANT
    if [ "$2" = "$3" ]; then ok "$1: $2"; else ko "$1: got $2, expected $3"; return 1; fi
}

# The first two gate the rest: without a run and its record nothing else is meaningful.
GATES="check_run_ok check_dirtylog_json"
CHECKS="check_pages_dirtied check_wp_faults check_fast_path check_kvm_stats"
# kvmlockstat's own checks, run once its record names the workload's VM.
KLS_CHECKS="check_contention_matches_kernel check_contention_seen $FAULT_CHECKS"

check_run_ok() {
    expect_eq "kvmlockstat -- kvm-dirtylog exit status" "$(cat "$R/rc-v$n" 2>/dev/null || echo missing)" 0 &&
        return
    grep -v '^[ 0-9;]' "$R/run-v$n.log" 2>/dev/null | tail -n 8 | sed 's/^/    /'
    return 1
}

# Complete: every logged pass and the summary are there, numbers where numbers belong.
check_dirtylog_json() {
    local j=$R/dirtylog-v$n.json
    if jq -e --argjson n "$n" '.schema == "kvm-dirtylog/1" and .config.vcpus == $n and
            (.iterations | length) == .config.iterations and
            ([.iterations[] | .dirty_memory_ns, .get_dirty_log_ns, .pages_dirtied] | all(type == "number")) and
            (.summary.dirty_memory_ns | type == "number") and (.pid | type == "number")' "$j" > /dev/null 2>&1
    then ok "kvm-dirtylog JSON complete ($(jq '.iterations | length' "$j") logged passes)"
    else ko "kvm-dirtylog JSON incomplete or unreadable: $j"; return 1
    fi
}

expected_pages() { jq '.config.vcpus * .config.pages_per_vcpu' "$R/dirtylog-v$n.json"; }
expected_wp() { jq '.config.vcpus * .config.pages_per_vcpu * .config.iterations' "$R/dirtylog-v$n.json"; }

check_pages_dirtied() {
    expect_eq "pages in the dirty log, every pass" \
        "$(jq -c '[.iterations[].pages_dirtied] | unique' "$R/dirtylog-v$n.json")" "[$(expected_pages)]"
}

# One write-protection fault per page per logged pass, counted by the kernel (tracefs).
check_wp_faults() {
    if [ "$arch" = arm64 ]; then
        expect_eq "stage-2 permission faults (kvm_guest_fault, ESR DFSC perm)" \
            "$(esr_faults "$R/hist-kvm_guest_fault-v$n.txt" perm)" "$(expected_wp)"
    else
        expect_eq "write-protect faults fixed locklessly (kvmmmu:fast_page_fault, ret RET_PF_FIXED)" \
            "$(fast_fixed_hits "$R" "$n")" "$(expected_wp)"
    fi
}

# The fast path the paired kernel change is about: arm64 relax_perms per page.
check_fast_path() {
    [ "$arch" = arm64 ] || return 0
    expect_eq "kvm_pgtable_stage2_relax_perms calls (kprobe)" \
        "$(hist_sum "$R/hist-kls_relax_perms-v$n.txt")" "$(expected_wp)"
}

# x86: KVM's own counters, read by kvm-dirtylog, agree with tracefs.
check_kvm_stats() {
    [ "$arch" = x86_64 ] || return 0
    expect_eq "KVM stat pf_fast over the logged passes" \
        "$(kvm_stat "$R/dirtylog-v$n.json" pf_fast passes)" "$(expected_wp)"
}

check_kvmlockstat_json() {
    local j=$R/kvmlockstat-v$n.json vm
    [ -f "$j" ] || { ko "no kvmlockstat JSON ($j)"; return 1; }
    jq -e '.schema and (.vms | type == "array")' "$j" > /dev/null 2>&1 ||
        { ko "kvmlockstat JSON incomplete or unreadable: $j"; return 1; }
    vm=$(kls_vm "$R" "$n")
    if [ -n "$vm" ] && echo "$vm" | jq -e '.mmu_lock and .kvm and
            ([.contention.read, .contention.write] | all(.count | type == "number"))' > /dev/null
    then ok "kvmlockstat JSON complete, names the workload's VM (mmu_lock $(echo "$vm" | jq -r .mmu_lock))"
    else ko "kvmlockstat JSON has no VM for kvm-dirtylog's pid $(jq .pid "$R/dirtylog-v$n.json")"; return 1
    fi
}

# kvmlockstat's contention counts on this VM's mmu_lock equal the kernel's
# lock:contention_begin hits on the same address, per mode.
check_contention_matches_kernel() {
    local vm addr mode
    vm=$(kls_vm "$R" "$n")
    [ -n "$vm" ] || { ko "mmu_lock contention: no kvmlockstat record to compare"; return; }
    addr=$(echo "$vm" | jq -r .mmu_lock)
    for mode in read write; do
        expect_eq "mmu_lock $mode contention, kvmlockstat vs kernel tracefs" \
            "$(kls_count "$vm" "$mode")" "$(lock_hits "$R/hist-contention_begin-v$n.txt" "$addr" "$mode")"
    done
    # A spinlock mmu_lock (before the rwlock change): kvmlockstat probes the slow path
    # ("+kprobe" backend); the kernel's count is the kprobe hist on the same function.
    if jq -e '.run.backend | endswith("+kprobe")' "$R/kvmlockstat-v$n.json" > /dev/null; then
        expect_eq "mmu_lock spin contention (slow-path entries), kvmlockstat vs kernel kprobe hist" \
            "$(kls_count "$vm" spin)" "$(awk -v a="${addr#0x}" '$3 == a { print $6 }' \
                "$R/hist-kls_spin_slowpath-v$n.txt" 2>/dev/null | head -1)"
    fi
}

# arm64 6.1 populates under the write lock: two vCPUs faulting at once must contend.
check_contention_seen() {
    local vm
    [ "$arch" = arm64 ] && [ "$n" -ge 2 ] || return 0
    vm=$(kls_vm "$R" "$n")
    [ -n "$vm" ] || return 0
    # write: the rwlock of 5.18+; spin: a "before" kernel's spinlock mmu_lock.
    if [ "$(kls_count "$vm" write)" -gt 0 ] || [ "$(kls_count "$vm" spin)" -gt 0 ]; then
        ok "kvmlockstat saw exclusive mmu_lock contention with $n vCPUs: write $(kls_count "$vm" write), spin $(kls_count "$vm" spin)"
    else ko "kvmlockstat saw no write-side (or spin) mmu_lock contention with $n vCPUs"
    fi
}

# Once per lab run: kvm-dirtylog's errors on a real KVM (see negatives in guest.sh).
check_negative() {
    local name=$1 pattern=$2 line
    line=$(grep "^$name rc=" "$R/negative.txt" 2>/dev/null)
    if [ -z "$line" ]; then ko "bad input '$name' was not tried"
    elif echo "$line" | grep -q " rc=0 "; then ko "bad input '$name' exited 0: $line"
    elif echo "$line" | grep -q -- "$pattern"; then ok "bad input '$name' refused: ${line#* rc=}"
    else ko "bad input '$name': message lacks '$pattern': $line"
    fi
}
# The KVM the lab is about: arm64 VHE, x86_64 SVM with the TDP MMU.
check_kvm_mode() {
    if [ "$arch" = arm64 ]; then
        if grep -q "VHE mode initialized" "$R/guest-info.txt"; then ok "guest KVM runs in VHE mode"
        else ko "guest KVM is not in VHE mode (see guest-info.txt)"; fi
    elif grep -q "tdp_mmu: Y" "$R/guest-info.txt"; then ok "guest KVM uses the TDP MMU (kvm.tdp_mmu=Y)"
    else ko "guest KVM does not use the TDP MMU (see guest-info.txt)"
    fi
}

# A variant run (guest.sh variants): every pass logged every page; JQ adds its own test.
check_variant() {
    local name=$1 what=$2 extra=$3 j=$R/variant-$1.json
    if [ "$(cat "$R/variant-$name.rc" 2>/dev/null)" != 0 ]; then
        ko "$what failed: $(tail -n 1 "$R/variant-$name.log" 2>/dev/null)"
    elif jq -e "([.iterations[].pages_dirtied] | unique) == [.config.vcpus * .config.pages_per_vcpu]
            and ($extra)" "$j" > /dev/null 2>&1; then
        ok "$what: every page logged each pass"
    else ko "$what: wrong record $j"
    fi
}

negative_checks() {
    n=-
    check_kvm_mode
    check_variant manual "manual protect (-g) over 4 memslots, THP, pinned (-c 1,0)" \
        '.config.manual_protect and .config.memslots == 4 and ([.iterations[].clear_dirty_log_ns] | all(. > 0))'
    check_variant hugetlb "2 MiB hugetlbfs backing" '.config.backing == "anonymous_hugetlb_2mb"'
    check_variant highgpa "test memory at 256 GiB (-p 0x4000000000)" '.config.test_gpa == 274877906944'
    check_negative vcpus-over-host-limit "allows at most"
    check_negative memory-over-host "host memory"
    check_negative size-not-page-multiple "multiple of"
    check_negative unknown-backing "unknown backing"
    check_negative pass-timeout "timed out"
    check_negative hugetlb-none-reserved "huge pages"
}

# The run with no option (LAB_DEFAULT_RUN=1): faults come from the cheapest exact source,
# KVM's own per-vCPU counters on x86 (no probe per fault), a probe per fault on arm64.
# x86's figures are compared with the same counters as kvm-dirtylog read them around
# its passes (its own stats fds) and with what the workload did.
default_checks() {
    local j=$R/default/kvmlockstat-v2.json dl=$R/default/dirtylog-v2.json vm want per
    n=default
    [ -f "$R/default/rc-v2" ] || return 0
    expect_eq "kvmlockstat (no option) -- kvm-dirtylog exit status" "$(cat "$R/default/rc-v2")" 0 || return
    vm=$(jq -c --argjson p "$(jq .pid "$dl")" '[.vms[] | select(.pid == $p)] | first // empty' "$j" 2>/dev/null)
    [ -n "$vm" ] || { ko "the default run's record has no VM for kvm-dirtylog's pid"; return; }
    want=$(jq '.config.vcpus * .config.pages_per_vcpu * .config.iterations' "$dl")
    per=$(jq '.config.pages_per_vcpu * .config.iterations' "$dl")
    if [ "$arch" = arm64 ]; then
        # KVM keeps no fault counter on arm64: the kvm_guest_fault tracepoint, cheaper than
        # a kprobe, counts by ESR type and thread; relax_perms' kprobe the fast path.
        expect_eq "default fault source on arm64 (faults, fast path)" \
            "$(jq -r '"\(.backends.faults) \(.backends.fast_path)"' "$j")" "tracepoint kprobe"
        expect_eq "default run: permission faults = pages x logged passes" \
            "$(echo "$vm" | jq .faults.by_type.permission.count)" "$want"
        expect_eq "default run: per vCPU thread, permission faults = its pages x passes" \
            "$(echo "$vm" | jq -c '[.vcpus[] | .faults.by_type.permission.count] | sort')" \
            "$(jq -c --argjson p "$per" '[range(.config.vcpus) | $p]' "$dl")"
        expect_eq "default run: fast-path hit rate (relax_perms under the read lock)" \
            "$(echo "$vm" | jq .faults.fast_path_hit_rate)" 1
        return
    fi
    expect_eq "default fault source on x86 (no probe per fault)" "$(jq -r .backends.faults "$j")" kvm_stats
    expect_eq "default run: faults = KVM's pf_taken as kvm-dirtylog read it" \
        "$(echo "$vm" | jq .faults.total.count)" "$(kvm_stat "$dl" pf_taken)"
    expect_eq "default run: lockless fixes (pf_fast) = pages x logged passes" \
        "$(echo "$vm" | jq .faults.kvm.pf_fast)" "$want"
    expect_eq "default run: per vCPU (id:pf_fast), each its own pages x passes" \
        "$(echo "$vm" | jq -c '[.vcpus[] | "\(.vcpu_id):\(.faults.kvm.pf_fast)"] | sort')" \
        "$(jq -c --argjson p "$per" '[range(.config.vcpus) | "\(.):\($p)"] | sort' "$dl")"
    expect_eq "default run: fast-path share = pf_fast / pf_taken" \
        "$(echo "$vm" | jq '(.faults.fast_path_hit_rate // -1) * 1e6 | round')" \
        "$(echo "$vm" | jq '.faults.kvm.pf_fast / .faults.kvm.pf_taken * 1e6 | round')"
    if jq -e '[.missing[] | select(.what == "fault types" and (.why | startswith("opt-in")))] | length == 1' "$j" > /dev/null
    then ok "the record says fault types are opt-in (--fault-types)"
    else ko "the record does not say why fault types are not split"
    fi
}

[ -d "$R" ] || { echo "FAIL: no results directory $R"; echo "0 passed, 1 failed"; exit 1; }
vcpus=$(result_vcpus "$R")
[ -n "$vcpus" ] || { n=-; ko "no kvm-dirtylog results in $R"; }
run_checks() {
    local c
    for c in $GATES; do "$c" || { ko "the other checks of this run were not run"; return; }; done
    for c in $CHECKS; do "$c"; done
    check_kvmlockstat_json || { ko "kvmlockstat's checks of this run were not run"; return; }
    for c in $KLS_CHECKS; do "$c"; done
}

negative_checks
for n in $vcpus; do run_checks; done
default_checks
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
