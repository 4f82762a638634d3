# lablib.sh: reading the lab's results (sourced by table.sh and tests/lab/assert.sh).
# The guest leaves tracefs histograms (hist-<event>-v<N>.txt), kvm-dirtylog's JSON
# (dirtylog-v<N>.json) and kvmlockstat's (kvmlockstat-v<N>.json) per vCPU count N.
# awk here is whatever the host has (mawk on Debian): no gawk extensions.

# hist_rows FILE: one line per histogram entry, "value value ... hitcount", keys in
# trigger order; hex keys stay as printed (lowercase, no 0x).
hist_rows() {
    [ -f "$1" ] || return 0
    awk '/^\{/ {
        line = $0; sub(/^\{ */, "", line); out = ""
        split(line, parts, "}"); n = split(parts[1], kv, ",")
        for (i = 1; i <= n; i++) { v = kv[i]; sub(/^[^:]*: */, "", v); gsub(/ /, "", v); out = out v " " }
        hc = parts[2]; sub(/.*hitcount: */, "", hc); sub(/ .*/, "", hc)
        print out hc }' "$1"
}

# The awk function that turns hex text into a number (exact below 2^53: ESR values are).
awk_hex='function hex(s,  i, c, v) { s = tolower(s); sub(/^0x/, "", s); v = 0
    for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); v = v * 16 + c - 1 }
    return v }'

# arm64: stage-2 data aborts by fault status class in ESR_EL2 (EC 0x24, DFSC bits).
#   esr_faults FILE perm|trans
esr_faults() {
    local lo=12
    [ "$2" = trans ] && lo=4
    hist_rows "$1" | awk -v lo="$lo" "$awk_hex"'
        { e = hex($1); ec = int(e / 67108864) % 64; dfsc = e % 64
          if (ec == 36 && dfsc >= lo && dfsc < lo + 4) n += $2 }
        END { print n + 0 }'
}

# Sum of hitcounts of rows whose first key equals VALUE (all rows without VALUE).
hist_sum() {
    hist_rows "$1" | awk -v want="${2:-}" '(want == "" || $1 == want) { n += $NF } END { print n + 0 }'
}

# lock:contention_begin hits on one lock (hex address, any form), by mode:
#   lock_hits FILE ADDR all|read|write  (LCB_F_READ = 2, LCB_F_WRITE = 4)
lock_hits() {
    local addr
    addr=$(echo "$2" | tr 'A-F' 'a-f' | sed -e 's/^0x//' -e 's/^0*//')
    hist_rows "$1" | awk -v a="$addr" -v mode="$3" '
        { k = $1; sub(/^0*/, "", k); if (k != a) next
          f = $2 + 0; r = int(f / 2) % 2; w = int(f / 4) % 2
          if (mode == "all" || (mode == "read" && r) || (mode == "write" && w)) n += $NF }
        END { print n + 0 }'
}

# The vCPU counts the guest ran (rc-v<N>, left even by a failed run), in numeric order.
result_vcpus() {
    ls "$1"/rc-v* 2>/dev/null | sed 's/.*rc-v\([0-9]*\)$/\1/' | sort -n
}

# kvmlockstat's record for kvm-dirtylog's VM: .vms[] entry with the workload's pid.
kls_vm() {
    local pid
    pid=$(jq -r .pid "$1/dirtylog-v$2.json")
    jq -c --argjson pid "$pid" '[.vms[]? | select(.pid == $pid)] | .[0] // empty' \
        "$1/kvmlockstat-v$2.json" 2>/dev/null
}

# Contention kvmlockstat reported for that VM's mmu_lock (the modes, not "total"):
#   kls_count VMJSON read|write|spin|all [count|wait_ns]
kls_count() {
    echo "$1" | jq -r --arg m "$2" --arg f "${3:-count}" '.contention as $c |
        if $m == "all" then ([$c.read, $c.write, $c.spin | .[$f] // 0] | add)
        else ($c[$m][$f] // 0) end'
}

# KVM's own per-VM stat (kvm-dirtylog's kvm_stats, KVM_GET_STATS_FD), summed over the
# run (the populate pass and every logged pass: the whole life of its vCPUs' faults) or,
# with "passes", over the logged passes only:  kvm_stat DIRTYLOG_JSON STAT [run|passes]
kvm_stat() {
    jq --arg s "$2" --arg over "${3:-run}" \
        '[(if $over == "run" then .populate else empty end), .iterations[] | .kvm_stats[$s]] | add' "$1"
}

# Where a count file came from: "hist" (a hist trigger), "trace" (guest.sh read the events
# from a trace buffer: a kernel without hist triggers), "lost" (that buffer overwrote some:
# the count is incomplete), "none" (no such event on the kernel).
hist_source() {
    [ -f "$1" ] || { echo none; return; }
    if grep -q '^# lost' "$1"; then echo lost
    elif grep -q '^# keys:' "$1"; then echo trace
    else echo hist
    fi
}

# x86: kvmmmu:fast_page_fault events that fixed the fault locklessly, in DIR's run N. The
# event's "ret" is RET_PF_FIXED, whose value the print fmt of its format file gives ("fixed"
# is the last "REC->ret == V": 4 in 6.1, 5 in 6.12); a trace-buffer count (5.10, whose print
# fmt leaves the enum unresolved) keys by the printed "fixed 0|1". Neither: "-", not a guess.
fast_fixed_hits() {
    local f=$1/hist-fast_page_fault-v$2.txt fixed
    if grep -q '^# keys: fixed' "$f" 2>/dev/null; then hist_sum "$f" 1; return; fi
    fixed=$(grep '^print fmt' "$1/format-fast_page_fault.txt" 2>/dev/null |
            grep -o 'REC->ret == [0-9]*' | tail -1 | grep -o '[0-9]*$')
    if [ -n "$fixed" ]; then hist_sum "$f" "$fixed"; else echo -; fi
}

# x86: the kernel's count of permission (present, not reserved-bit) faults: kvm:kvm_page_fault
# by error_code (PFERR_PRESENT 1, PFERR_RSVD 8), the split kvmlockstat's --fault-types makes.
x86_perm_faults() {
    hist_rows "$1" | awk '{ e = $1 + 0; if (e % 2 == 1 && int(e / 8) % 2 == 0) n += $NF } END { print n + 0 }'
}

# Entries into the spinlock slow path on one lock (the kls_spin_slowpath kprobe's count).
spin_hits() {
    local addr
    addr=$(echo "$2" | tr 'A-F' 'a-f' | sed -e 's/^0x//' -e 's/^0*//')
    hist_rows "$1" | awk -v a="$addr" '{ k = $1; sub(/^0*/, "", k); if (k == a) n += $NF } END { print n + 0 }'
}
