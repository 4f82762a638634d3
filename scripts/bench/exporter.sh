#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# exporter.sh: what kvmlockstat exporter costs: one scrape (latency, bytes, series) and the
# exporter's own CPU with no scrape and at one scrape per second, without a VM and with
# contend's VM contending. A benchmark, not a test: it prints figures, fails only when a
# run fails. Needs root; the VM part needs /dev/kvm.
#   scripts/bench/exporter.sh [BUILD_DIR]       (make bench-exporter; part of make bench)
# BENCH_SCRAPES (default 200) sequential scrapes; BENCH_WINDOW (default 30) seconds per CPU window.
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
B=${1:-build}
K=$B/kvmlockstat
N=${BENCH_SCRAPES:-200}
W=${BENCH_WINDOW:-30}
T=$(mktemp -d /tmp/bench-exporter.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT

port=$((20000 + RANDOM % 40000))
while ss -Hltn "sport = :$port" | grep -q .; do port=$((20000 + RANDOM % 40000)); done
url=http://127.0.0.1:$port/metrics
"$K" exporter --listen "127.0.0.1:$port" --interval 1 > "$T/exporter.log" 2>&1 &
epid=$!
pids+=("$epid")
for _ in $(seq 300); do grep -q "exporter serving" "$T/exporter.log" && break; sleep 0.1; done
grep -q "exporter serving" "$T/exporter.log" || { cat "$T/exporter.log"; exit 1; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$epid/stat"; }
# cpu_window SCRAPES_PER_S: the exporter's CPU share (%) over W seconds.
cpu_window() {
    local t0 t1 hz
    hz=$(getconf CLK_TCK)
    t0=$(cpu_ticks)
    for _ in $(seq "$W"); do
        [ "$1" = 1 ] && curl -sf -o /dev/null "$url"
        sleep 1
    done
    t1=$(cpu_ticks)
    awk -v d=$((t1 - t0)) -v hz="$hz" -v w="$W" 'BEGIN { printf "%.2f", d * 100 / hz / w }'
}
# scrape_cost: "median_ms p99_ms bytes samples vms" over N sequential scrapes.
scrape_cost() {
    for _ in $(seq "$N"); do curl -sf -o /dev/null -w '%{time_total}\n' "$url"; done | sort -n > "$T/lat"
    curl -sf "$url" > "$T/body"
    awk -v n="$N" '{ v[NR] = $1 * 1000 } END { printf "%.2f %.2f ", v[int((n + 1) / 2)], v[int(n * 0.99)] }' "$T/lat"
    printf '%s %s %s\n' "$(wc -c < "$T/body")" "$(grep -vc '^#' "$T/body")" "$(awk '/^kvmlockstat_vms / { print $2 }' "$T/body")"
}

per_vm() { awk -v a="$1" -v b="$2" -v n=$((vms1 - vms0)) 'BEGIN { if (n > 0) printf "%d", (a - b) / n; else printf "?" }'; }

read -r med0 p990 bytes0 series0 vms0 < <(scrape_cost)
idle0=$(cpu_window 0)
busy0=$(cpu_window 1)
vm=
if [ -c /dev/kvm ] && "$B/contend" -s 1 -m 8 > /dev/null 2>&1; then
    "$B/contend" -s $((2 * W + 30)) -m 64 > "$T/contend.out" 2>&1 &
    pids+=("$!")
    sleep 3
    read -r med1 p991 bytes1 series1 vms1 < <(scrape_cost)
    idle1=$(cpu_window 0)
    busy1=$(cpu_window 1)
    vm=1
fi
cat <<EOT

kvmlockstat exporter cost ($(nproc) CPUs, shared; drain every 1 s; $N sequential scrapes, $W s CPU windows)
  ${vms0} VMs (others' on this host): scrape median ${med0} ms, p99 ${p990} ms, ${bytes0} bytes, ${series0} samples
                  exporter CPU: ${idle0}% with no scrape, ${busy0}% at one scrape per second
EOT
[ -z "$vm" ] || cat <<EOT
  ${vms1} VMs, contend's contending: scrape median ${med1} ms, p99 ${p991} ms, ${bytes1} bytes, ${series1} samples
                  (per VM: $(per_vm "$bytes1" "$bytes0") bytes, $(per_vm "$series1" "$series0") samples; latency includes contend's CPU load)
                  exporter CPU: ${idle1}% with no scrape, ${busy1}% at one scrape per second
EOT
[ -n "$vm" ] || echo "  (no usable /dev/kvm: the per-VM figures were not measured)"
kill -TERM "$epid"
wait "$epid"
