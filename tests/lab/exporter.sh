#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# exporter.sh KVMLOCKSTAT (make lab-exporter): the real exporter in the x86 lab (stock
# Debian 6.1 + KVM under qemu TCG): its stage-2 fault counters for kvm-dirtylog's VM must
# equal KVM's own pf_taken / pf_fast stats for the run, through the same checks
# (tests/lab/faults.sh) that hold kvmlockstat's record to them in lab-smoke; the
# exposition passes promtool; the exporter exits 0 on SIGTERM.
# The lab's own binaries are static, and a static build has no exporter (libmicrohttpd.a
# needs gnutls's static chain): KVMLOCKSTAT is this host's dynamic build, carried into
# the guest's /usr/sbin with its ldd closure and the loader (the guest is Debian 12 amd64
# userland enough: the host's libraries are Debian 12's).
#   tests/lab/exporter.sh build/kvmlockstat | --check RESULTS
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=lab-exporter
. tests/lib.sh
. scripts/lab/lablib.sh
. tests/lab/faults.sh

EXP_VCPUS=2
R=build/lab/x86_64-exporter

# faults.sh's vocabulary, on tests/lib.sh's counters.
arch=x86_64 n=$EXP_VCPUS
ok() { pass "$*"; }
ko() { fail "$*"; }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1: $2"; else ko "$1: got $2, expected $3"; return 1; fi; }

# The exporter's samples of one family for the VM, summed over every other label.
vm_metric() {	# vm_metric NAME
    awk -v m="$1{" -v p="vm_pid=\"$(jq .pid "$R/dirtylog-v$n.json")\"" \
        'index($1, m) == 1 && index($1, p) { s += $2 } END { print s + 0 }' "$R/metrics.txt"
}
# The exporter's fault families for the VM, in the record's shape (.faults.by_type.T.count,
# .faults.paths.P): what faults.sh reads through fault_vm.
fault_vm() {
    sed -n 's/^kvmlockstat_\(stage2_faults\|fault_resolutions\)_total{vm_pid="'"$(jq .pid "$R/dirtylog-v$n.json")"'",.*\(type\|path\)="\([a-z_]*\)"} \([0-9]*\)$/\1 \3 \4/p' \
        "$R/metrics.txt" | jq -R -n -c '[inputs | split(" ")] as $s | {faults: {
            by_type: ([$s[] | select(.[0] == "stage2_faults") | {(.[1]): {count: (.[2] | tonumber)}}] | add),
            paths: ([$s[] | select(.[0] == "fault_resolutions") | {(.[1]): (.[2] | tonumber)}] | add)}}
        | select(.faults.by_type != null)'
}

# An initramfs root with the dynamic kvmlockstat at /usr/sbin, its libraries at the paths
# ldd resolves them to here, and the loader its PT_INTERP names.
exporter_root() {	# exporter_root BIN DIR
    local f
    rm -rf "$2"
    mkdir -p "$2/usr/sbin"
    cp "$1" "$2/usr/sbin/kvmlockstat"
    for f in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        # /lib is /usr/lib here (merged /usr): a real directory in the guest's root.
        mkdir -p "$2$(dirname "$f")"
        cp -L "$f" "$2$f"
    done
}

# Both runs exited 0 and left what the checks read; 1 when not.
run_gate() {
    check "kvm-dirtylog exited 0 under the exporter" test "$(cat "$R/dirtylog.rc" 2>/dev/null)" = 0
    check "exporter exited 0 on SIGTERM (rc $(cat "$R/exporter.rc" 2>/dev/null))" \
        test "$(cat "$R/exporter.rc" 2>/dev/null)" = 0
    if [ ! -s "$R/metrics.txt" ] || [ ! -s "$R/dirtylog-v$n.json" ]; then
        fail "no exposition or no kvm-dirtylog record in $R"
        return 1
    fi
}

assert_results() {
    local dl=$R/dirtylog-v$n.json perm
    run_gate || return
    check "fault probes up in the lab: $(grep -c '^kvmlockstat_probe_up{family="fault".* 1$' "$R/metrics.txt") of 4" \
        test "$(grep -c '^kvmlockstat_probe_up{family="fault".* 1$' "$R/metrics.txt")" = 4
    if command -v promtool > /dev/null; then
        check "promtool check metrics passes on the lab's exposition" sh -c "promtool check metrics < '$R/metrics.txt'"
    else
        skip "promtool check metrics: no promtool (Debian prometheus)"
    fi
    check_fault_kvm_stats
    # The fast-path pair as exported: fixes = pf_fast, candidates = the permission faults,
    # every one of them (one per page per logged pass) fixed locklessly.
    perm=$(fault_vm | jq '.faults.by_type.permission.count')
    expect_eq "kvmlockstat_fast_path_fixes_total = KVM's pf_fast" \
        "$(vm_metric kvmlockstat_fast_path_fixes_total)" "$(kvm_stat "$dl" pf_fast)"
    expect_eq "kvmlockstat_fast_path_permission_faults_total = permission faults" \
        "$(vm_metric kvmlockstat_fast_path_permission_faults_total)" "$perm"
    expect_eq "permission faults = pages written x logged passes" "$perm" \
        "$(jq '.config.vcpus * .config.pages_per_vcpu * .config.iterations' "$dl")"
}

# The unit's way (x86, root): faults and lockless fixes are KVM's own counters.
assert_kvm_counters() {
    local dl=$R/dirtylog-v$n.json
    run_gate || return
    expect_eq "kvmlockstat_faults_total = KVM's pf_taken as kvm-dirtylog read it" \
        "$(vm_metric kvmlockstat_faults_total)" "$(kvm_stat "$dl" pf_taken)"
    expect_eq "kvmlockstat_fast_path_fixes_total = KVM's pf_fast = pages x logged passes" \
        "$(vm_metric kvmlockstat_fast_path_fixes_total)" \
        "$(jq '.config.vcpus * .config.pages_per_vcpu * .config.iterations' "$dl")"
    check "no probe per fault: no stage2_faults_total family" sh -c "! grep -q '^kvmlockstat_stage2_faults_total' '$R/metrics.txt'"
    if command -v promtool > /dev/null; then
        check "promtool check metrics passes (KVM's counters)" sh -c "promtool check metrics < '$R/metrics.txt'"
    fi
}

case ${1:-} in
--check) R=$2 ;;
"") echo "usage: tests/lab/exporter.sh KVMLOCKSTAT | --check RESULTS" >&2; exit 2 ;;
*)
    if ! ldd "$1" > /dev/null 2>&1 || ! "$1" exporter --help > /dev/null 2>&1; then
        skip "x86 lab exporter: $1 is not a dynamic build with the exporter (STATIC=1 builds carry the stub)"
        finish
        exit
    fi
    if ! command -v qemu-system-x86_64 > /dev/null && [ "$(id -u)" != 0 ]; then
        skip "x86 lab: no qemu and not root to install it"
        finish
        exit
    fi
    root=$(realpath -m build/lab/x86_64-exporter-root)
    exporter_root "$1" "$root"
    rm -rf "$R"
    # One boot, bounded (no hang retry): the suite fits CI's 3 minutes.
    if ! LAB_ARCH=x86_64 LAB_CPUS=2 LAB_MEM=1G LAB_TIMEOUT=${LAB_TIMEOUT:-150} LAB_RETRY=0 \
        LAB_EXTRA_ROOT=$root LAB_GUEST=tests/lab/guest-exporter.sh LAB_RESULTS=$R \
        scripts/lab/lab.sh > "$R.log" 2>&1; then
        tail -n 25 "$R.log" | sed 's/^/    /'
        fail "x86 lab run (log $R.log)"
    fi ;;
esac
base=$R
R=$base/kvm
assert_kvm_counters
R=$base/types
assert_results
echo "lab-exporter: (qemu TCG: counts carry over to hardware, timings do not)"
finish
