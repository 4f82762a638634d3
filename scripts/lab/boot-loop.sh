#!/bin/bash
# boot-loop.sh N [KERNEL]: boot the lab N times in a row (LAB_ARCH, default x86_64; KERNEL as
# kernel-fetch.sh names it, default 6.1), each a small kvm-dirtylog run under kvmlockstat, with
# no retry, and tally how each boot ended: finished, stalled (lab.sh's heartbeat watch), timed out,
# or failed. Every boot that did not finish keeps its console, kernel log and CPU registers in
# build/lab/boot-loop/<i>/. For hunting a guest hang that shows once in many boots.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
count=${1:?usage: boot-loop.sh N [KERNEL]} kver=${2:-6.1}
arch=${LAB_ARCH:-x86_64}
out=build/lab/boot-loop
root=$(scripts/lab/kernel-fetch.sh "$kver" "$arch") || exit 1
rm -rf "$out"
mkdir -p "$out"
declare -A ended
for i in $(seq 1 "$count"); do
    t0=$SECONDS
    LAB_ARCH=$arch LAB_KERNEL=$root/vmlinuz LAB_MODULES=$root/modules LAB_VCPUS=2 LAB_CPUS=2 \
        LAB_MEM=1G LAB_SIZE=16M LAB_ITER=2 LAB_CHECK_PATHS=0 LAB_RETRY=0 LAB_TIMEOUT=${LAB_TIMEOUT:-400} \
        LAB_RESULTS=$out/results LAB_SKIP_DEPS=1 nice -n 10 scripts/lab/lab.sh > "$out/boot-$i.log" 2>&1
    rc=$?
    if [ "$rc" = 0 ]; then how=finished
    elif grep -q 'stalled' "$out/boot-$i.log"; then how=stalled
    elif grep -q 'did not finish within' "$out/boot-$i.log"; then how=timeout
    else how=failed
    fi
    ended[$how]=$((${ended[$how]:-0} + 1))
    if [ "$how" != finished ]; then
        mkdir -p "$out/$i"
        cp build/lab/"$arch"-work-results/{console.log,kmsg.log,stall-registers.txt,qemu.cmd} "$out/$i/" 2> /dev/null
    fi
    echo "boot $i: $how in $((SECONDS - t0)) s"
done
echo "boot-loop ($arch, $kver, $count boots): $(for k in "${!ended[@]}"; do printf '%s %s, ' "${ended[$k]}" "$k"; done | sed 's/, $//')"
