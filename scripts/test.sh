#!/bin/bash
# test.sh: the whole test suite, as CI runs it (.ci/run calls this).
# Installs what is needed (scripts/setup.sh), builds, then runs every suite even
# when one fails, and ends with one line: "total: N passed, N failed, N skipped".
# TEST_SUITES="unit integration ..." runs a subset.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/.."

all_suites="unit docs integration timeline fault-host perfdata fuzz lab-smoke lab-matrix diff lab-mmu-lock lab-vm-views lab-timeline lab-migrate kernel lab-lockstat exporter lab-exporter fresh"
suites=${TEST_SUITES:-$all_suites}
log=build/test-logs
tp=0 tf=0 ts=0 broken=()

# Finished kernels are kept by build key (tarball, series, config fragment, toolchain) outside
# the clone, like ccache: a changed or broken patch still forces a real build.
export KERNEL_CACHE=${KERNEL_CACHE:-/var/cache/kvmlockstat/kernel}

scripts/setup.sh || { echo "test: setup failed"; exit 1; }
make -j2 all >&2 || { echo "test: build failed"; exit 1; }
mkdir -p "$log"

# The make target (or command) of each suite; each prints "... N passed, N failed".
suite_cmd() {
    case $1 in
    unit) echo "make -s unit" ;;
    docs) echo "make -s docs-check" ;;
    integration) echo "make -s integration" ;;
    timeline) echo "make -s timeline" ;;
    perfdata) echo "make -s perfdata-integration" ;;
    fuzz) echo "make -s fuzz" ;;
    diff) echo "tests/integration/diff.sh build build/lab/smoke-arm64 build/lab/smoke-x86_64" ;;
    lab-smoke) echo "make -s lab-smoke" ;;
    lab-matrix) echo "make -s lab-matrix-ci" ;;
    lab-mmu-lock) echo "make -s lab-mmu-lock" ;;
    lab-vm-views) echo "make -s lab-vm-views" ;;
    lab-timeline) echo "make -s lab-timeline" ;;
    lab-exporter) echo "make -s lab-exporter" ;;
    lab-migrate) echo "tests/lab/migrate.sh" ;;
    fault-host) echo "make -s fault-host" ;;
    kernel) echo "make -s kernel-ci" ;;
    lab-lockstat) echo "make -s lab-lockstat" ;;
    exporter) echo "make -s exporter" ;;
    fresh) echo "make -s fresh" ;;
    *) return 1 ;;
    esac
}

for s in $suites; do
    cmd=$(suite_cmd "$s") || { echo "test: unknown suite $s"; exit 2; }
    echo "==== $s: $cmd"
    start=$SECONDS
    $cmd 2>&1 | tee "$log/$s.log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log/$s.log" | tail -1)
    p=$(sed -nE 's/.*\b([0-9]+) passed.*/\1/p' <<< "$line")
    f=$(sed -nE 's/.*\b([0-9]+) failed.*/\1/p' <<< "$line")
    k=$(sed -nE 's/.*\b([0-9]+) skipped.*/\1/p' <<< "$line")
    # A suite that failed without saying so (crash, build error) still counts as failed.
    if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then f=1; fi
    [ "$rc" -ne 0 ] && broken+=("$s")
    tp=$((tp + ${p:-0})) tf=$((tf + ${f:-0})) ts=$((ts + ${k:-0}))
    echo "==== $s: exit $rc in $((SECONDS - start))s"
done

[ "${#broken[@]}" -eq 0 ] || echo "test: failing suites: ${broken[*]} (logs in $log/)"
echo "total: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ] && [ "${#broken[@]}" -eq 0 ]
