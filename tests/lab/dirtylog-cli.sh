#!/bin/bash
# dirtylog-cli.sh [KVM_DIRTYLOG]: kvm-dirtylog on this host, no VM needed: bad input
# is refused with a clear message and exit 2; on a host whose KVM cannot run the
# guest natively (no /dev/kvm, or the kvm_pvm backend) it says so and exits 1; on a
# host with hardware KVM a tiny run must produce a complete JSON record.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
bin=${1:-build/kvm-dirtylog}
pass=0 fail=0

ok() { echo "PASS: [host] $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: [host] $*"; fail=$((fail + 1)); }

# expect RC PATTERN ARGS...: exit status and a stderr line matching PATTERN.
expect() {
    local want=$1 pattern=$2 out rc
    shift 2
    out=$("$bin" "$@" 2>&1 > /dev/null)
    rc=$?
    if [ "$rc" = "$want" ] && echo "$out" | grep -q -- "$pattern"; then
        ok "kvm-dirtylog $* -> exit $rc: $(echo "$out" | head -n 1)"
    else
        ko "kvm-dirtylog $* -> exit $rc (want $want), stderr: $(echo "$out" | head -n 2)"
    fi
}

[ -x "$bin" ] || make -s "$bin" >&2 || { ko "cannot build $bin"; echo "$pass passed, $fail failed"; exit 1; }
if "$bin" -h | grep -q -- '-g' && "$bin" -h | grep -q anonymous_hugetlb; then ok "-h documents the options"
else ko "-h output lacks options"; fi
expect 2 "not a positive multiple" -b 12345
expect 2 "bad size suffix" -b 64Q
expect 2 "not a size" -b -1G
expect 2 "not an integer" -v 0
expect 2 "not an integer" -v 99999
expect 2 "not an integer" -i 0
expect 2 "unknown backing" -s file
expect 2 "1 GiB aligned" -p 0x40001000
expect 2 "CPUs given for" -v 2 -c 0
expect 2 "overflows" -v 4096 -b 4096T
expect 2 "split evenly" -x 3 -b 4M
expect 2 "unexpected argument" stray

# What this host's KVM is decides what must happen next.
if [ ! -e /dev/kvm ]; then
    expect 1 "no /dev/kvm" -v 1 -b 4M -i 1
elif [ -d /sys/module/kvm_pvm ]; then
    expect 1 "kvm_pvm" -v 1 -b 4M -i 1
else
    json=$(mktemp)
    if "$bin" -v 1 -b 4M -i 1 --json "$json" > /dev/null &&
        jq -e '.iterations[0].pages_dirtied == 1024' "$json" > /dev/null; then
        ok "a 4 MiB run on this host's KVM dirtied and logged all 1024 pages"
    else
        ko "a 4 MiB run on this host's KVM failed or logged the wrong page count"
    fi
    rm -f "$json"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
