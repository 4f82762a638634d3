#!/bin/bash
# all.sh (make bench): every benchmark, one after the other, summaries concatenated into
# build/bench/summary.md.  BENCH_ONLY picks a subset of: x86_64 arm64 arm64-bpo scale host-lock.
#   x86_64, arm64  scripts/bench/overhead.sh: guest overhead ratios per configuration and the
#                  per-probe table (BENCH_CONFIGS, BENCH_REPS...)
#   arm64-bpo      the same on bookworm-backports' arm64 kernel (6.12: fentry, no kprobe trap)
#   scale          x86_64 lab at BENCH_SCALE_VCPUS (4) vCPUs, default configuration: kvmlockstat's
#                  own CPU and RSS, BPF events/s, drops
#   host-lock      scripts/bench/host-lock.sh: lock family vs perf on a contended VM on this host
# Benchmarks, not tests: figures are ratios within one run; exit non-zero only when a run fails.
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
make -s -j2 all >&2
only=${BENCH_ONLY:-x86_64 arm64 arm64-bpo scale host-lock}
out=build/bench/summary.md

# The floor: perf counters on the events the default counts, no BPF (tpcount.c).  arm64's
# relax_perms twice: through a kprobe (the breakpoint kvmlockstat's probe pays) and through
# ftrace's function event (none), which splits the probe's cost into trap and program.
floors() {
    if [ "$1" = arm64 ]; then
        echo "@count tp:kvm/kvm_guest_fault;@count tp:kvm/kvm_guest_fault kprobe:kvm_pgtable_stage2_relax_perms;@count tp:kvm/kvm_guest_fault func:kvm_pgtable_stage2_relax_perms"
    else
        echo "@count tp:kvm/kvm_page_fault tp:kvmmmu/fast_page_fault"
    fi
}
mkdir -p build/bench
: > "$out"
for b in $only; do
    case $b in
    x86_64|arm64)
        BENCH_CONFIGS=${BENCH_CONFIGS-";--backend tracepoint;--fault-types;--fault-latency;--lock-functions;@hist;$(floors "$b")"} \
            scripts/bench/overhead.sh "$b" > "build/bench/$b.log" 2>&1 ;;
    arm64-bpo)
        # The same probes through BPF trampolines: backports' 6.12 has them on arm64.
        kernel=$(scripts/lab/kernel-bpo.sh arm64) || exit 1
        LAB_KERNEL=$kernel BENCH_RESULTS=build/bench/overhead-arm64-bpo \
            BENCH_CONFIGS=${BENCH_CONFIGS-";--backend tracepoint;--fault-types;--fault-latency;@hist;@count tp:kvm/kvm_guest_fault"} \
            scripts/bench/overhead.sh arm64 > "build/bench/$b.log" 2>&1 ;;
    scale)
        BENCH_RESULTS=build/bench/scale-x86_64 BENCH_VCPUS=${BENCH_SCALE_VCPUS:-4} BENCH_REPS=1 \
            BENCH_CONFIGS="" scripts/bench/overhead.sh x86_64 > build/bench/scale.log 2>&1 ;;
    host-lock) scripts/bench/host-lock.sh > build/bench/host-lock.log 2>&1 ;;
    *) echo "bench: unknown BENCH_ONLY entry '$b' (x86_64 arm64 arm64-bpo scale host-lock)" >&2; exit 2 ;;
    esac || { echo "bench: $b failed, see build/bench/$b.log" >&2; exit 1; }
    { echo "## $b"; echo; case $b in
        x86_64|arm64|arm64-bpo) cat "build/bench/overhead-$b/summary.md" ;;
        scale) cat build/bench/scale-x86_64/summary.md ;;
        host-lock) cat build/bench/host-lock.log ;;
      esac; echo; } >> "$out"
done
cat "$out"
