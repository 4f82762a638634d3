#!/bin/bash
# overhead.sh: what kvmlockstat costs the workload it watches, as a ratio measured in one
# run: kvm-dirtylog's dirty memory time under kvmlockstat / alone, in the lab (real KVM
# faults), alternating the two BENCH_REPS times in one boot.
#   scripts/bench/overhead.sh [arm64|x86_64]      (make bench BENCH_ARCH=...)
# BENCH_VCPUS, BENCH_SIZE, BENCH_ITER, BENCH_REPS tune the workload; BENCH_KLS_ARGS adds
# kvmlockstat options (e.g. --backend tracepoint, to price one probe set). A benchmark, not a
# test: it prints figures and fails only when a run fails.
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
arch=${1:-${BENCH_ARCH:-x86_64}}
R=build/bench/overhead-$arch
export BENCH_VCPUS=${BENCH_VCPUS:-2} BENCH_SIZE=${BENCH_SIZE:-64M} BENCH_ITER=${BENCH_ITER:-3} BENCH_REPS=${BENCH_REPS:-5}
# The guest script reads its settings from the initramfs: bake them in.
guest=$(mktemp /tmp/guest-overhead.XXXXXX.sh)
trap 'rm -f "$guest"' EXIT
{ for v in BENCH_VCPUS BENCH_SIZE BENCH_ITER BENCH_REPS; do echo "$v=${!v}"; done
  echo "BENCH_KLS_ARGS='${BENCH_KLS_ARGS:-}'"
  cat scripts/bench/guest-overhead.sh; } > "$guest"
LAB_ARCH=$arch LAB_CPUS=$((BENCH_VCPUS > 2 ? BENCH_VCPUS : 2)) LAB_GUEST=$guest LAB_RESULTS=$R \
    scripts/lab/lab.sh

# Mean dirty memory time per logged pass, per run, in ms.
times() { for f in "$R"/$1-*.json; do jq '.summary.dirty_memory_avg_ns / 1e6' "$f"; done | sort -n; }
median() { awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
base=$(times base | median)
traced=$(times traced | median)
backend=$(jq -r '[.backends // {} | to_entries[] | "\(.key)=\(.value)"] | join(" ")' "$R/kls-1.json" 2>/dev/null)
cat <<EOT

kvmlockstat overhead on kvm-dirtylog -v $BENCH_VCPUS -b $BENCH_SIZE -i $BENCH_ITER ($arch lab, $BENCH_REPS runs each)
  dirty memory time per pass, median: alone ${base} ms, under kvmlockstat ${traced} ms
  ratio traced/alone: $(awk -v t="$traced" -v b="$base" 'BEGIN { printf "%.3f", t / b }')
  kvmlockstat backends: ${backend:-lock only}
  (lab timings come from qemu's emulated CPUs: compare the ratio, not the milliseconds)
EOT
