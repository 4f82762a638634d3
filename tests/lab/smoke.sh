#!/bin/bash
# smoke.sh (make lab-smoke): kvm-dirtylog's checks on this host, then the lab on both architectures, stock kernels, small
# memory, 1 and 2 vCPUs, with kvmlockstat attached, then tests/lab/assert.sh on
# each result. Skips an architecture only when its qemu cannot be had.
# Last line: "N passed, N failed, N skipped"; non-zero exit on any failure.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
arches=${LAB_SMOKE_ARCHES:-arm64 x86_64}
vcpus="1 2"
pass=0 fail=0 skip=0

qemu_of() { [ "$1" = arm64 ] && echo qemu-system-aarch64 || echo qemu-system-x86_64; }

# Adds the counts of assert.sh's last line to ours.
tally() {
    local p f s
    read -r p _ f _ s _ <<< "$(echo "$1" | tr ',' ' ')"
    pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + ${s:-0}))
}

smoke_arch() {
    local arch=$1 res=build/lab/smoke-$1 log=build/lab/smoke-$1.log t0 rc=0 out n
    mkdir -p build/lab
    t0=$(date +%s)
    # --lock-functions, --fault-latency: the smoke checks the opt-in metrics too (x86's exact
    # hold time from the lock functions, fault latency, arm64 relax_perms sections).
    LAB_KVMLOCKSTAT_ARGS="--lock-functions --fault-latency ${LAB_KVMLOCKSTAT_ARGS:-}" \
    LAB_DEFAULT_RUN=1 LAB_ARCH=$arch LAB_VCPUS="$vcpus" LAB_CPUS=2 LAB_MEM=1G LAB_SIZE=${LAB_SIZE:-32M} \
        LAB_ITER=2 LAB_TIMEOUT=${LAB_TIMEOUT:-400} LAB_RUN_TIMEOUT=240 LAB_RESULTS=$res \
        scripts/lab/lab.sh > "$log" 2>&1 || rc=$?
    if [ "$rc" != 0 ] && ! command -v "$(qemu_of "$arch")" > /dev/null; then
        echo "SKIP: [$arch] lab smoke ($(qemu_of "$arch") unavailable: see $log)"
        skip=$((skip + 1))
        return
    fi
    if [ "$rc" = 0 ]; then
        echo "PASS: [$arch] lab run ($(($(date +%s) - t0)) s, log $log)"
        pass=$((pass + 1))
    else
        echo "FAIL: [$arch] lab run exited $rc; last lines of $log:"
        tail -n 25 "$log" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
    [ -d "$res" ] || return
    for n in $vcpus; do
        [ -f "$res/rc-v$n" ] || { echo "FAIL: [$arch v$n] the guest did not run $n vCPU(s)"; fail=$((fail + 1)); }
    done
    out=$(tests/lab/assert.sh "$res")
    echo "$out" | sed '$d'
    tally "$(echo "$out" | tail -n 1)"
}

# kvm-dirtylog on this host first: its refusals need no VM.
make -s build/kvm-dirtylog >&2
out=$(tests/lab/dirtylog-cli.sh build/kvm-dirtylog)
echo "$out" | sed '$d'
tally "$(echo "$out" | tail -n 1)"
for a in $arches; do smoke_arch "$a"; done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
