#!/bin/bash
# matrix.sh (make lab-matrix): kvmlockstat on Debian's stock kernels, each architecture.
# For each kernel of LAB_KERNELS (5.10 6.1 6.12 7.3) and arch of LAB_MATRIX_ARCHES (arm64
# x86_64): one lab boot (scripts/lab/lab.sh on that kernel) running `kvm-dirtylog -v 2` under
# kvmlockstat twice, with its defaults and with --fault-types --fault-latency, the kernel's own
# counts around each run; tests/lab/matrix-rows.sh holds every count to them. Every kernel is
# fetched before anything boots, so one apt cannot fetch stops the matrix at once, naming it.
# Output: LAB_MATRIX_OUT/matrix.md (one table: kernel x arch x metric, backend, measured,
# expected) and matrix.tsv; with LAB_MATRIX_DOC=1 the table also replaces the one in
# docs/kernels.md, with date, machine and command (LAB_MATRIX_REPORT=1: again from the rows of
# an earlier run, without booting). Last line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
kernels=${LAB_KERNELS:-5.10 6.1 6.12 7.3}
arches=${LAB_MATRIX_ARCHES:-arm64 x86_64}
out=${LAB_MATRIX_OUT:-build/lab/matrix}
doc=docs/kernels.md
pass=0 fail=0 skip=0

die() { echo "lab-matrix: $*" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
qemu_of() { [ "$1" = arm64 ] && echo qemu-system-aarch64 || echo qemu-system-x86_64; }

# Every kernel, fetched (or found in the cache) before the first boot.
fetch_all() {
    local k a root
    for a in $arches; do
        case $a in arm64|x86_64) ;; *) die "LAB_MATRIX_ARCHES: unknown architecture '$a' (arm64, x86_64)" ;; esac
        for k in $kernels; do
            root=$(scripts/lab/kernel-fetch.sh "$k" "$a" 2> "$out/fetch-$k-$a.log") ||
                die "kernel $k ($a): $(tail -n 1 "$out/fetch-$k-$a.log")"
            echo "$k $a $root" >> "$out/kernels.txt"
        done
    done
}

# One boot; a guest the stall watch stopped is booted once more (LAB_RETRY=0: a failing row
# with its evidence; either way lab.sh keeps the kernel log, registers and stack of the stalled
# boot as *.hung, and says so in the kernel's log here). lab.sh fails when a run inside
# fails (5.10 before kvmlockstat supports it): the rows say which; only a boot without
# results is a row of its own.
boot_one() {
    local k=$1 a=$2 root=$3 res=$out/$1-$2 log=$out/$1-$2.log t0=$SECONDS
    echo "lab-matrix: $k $a: booting $(basename "$root") (log $log)" >&2
    LAB_ARCH=$a LAB_KERNEL=$root/vmlinuz LAB_MODULES=$root/modules LAB_VCPUS=2 LAB_CPUS=2 \
        LAB_MEM=1G LAB_SIZE=${LAB_SIZE:-16M} LAB_ITER=2 LAB_TIMEOUT=${LAB_TIMEOUT:-600} \
        LAB_RUN_TIMEOUT=240 LAB_DEFAULT_RUN=1 LAB_CHECK_PATHS=0 LAB_THP=never LAB_RETRY=${LAB_RETRY:-1} LAB_RESULTS=$res \
        LAB_KVMLOCKSTAT_ARGS="--fault-types --fault-latency" LAB_SKIP_DEPS=${LAB_SKIP_DEPS:-0} \
        nice -n 10 scripts/lab/lab.sh > "$log" 2>&1
    echo "lab-matrix: $k $a: exit $? in $((SECONDS - t0)) s" >&2
    if [ -f "$res/lab-arch" ]; then
        tests/lab/matrix-rows.sh "$res" "$k" >> "$out/matrix.tsv"
    else
        printf '%s\t%s\t-\tlab boot\t-\t-\t%s\t-\tFAIL\n' "$k" "$a" \
            "$(grep -m1 'ERROR' "$log" | cut -c1-160 | tr '\t' ' ')" >> "$out/matrix.tsv"
    fi
}

markdown() {
    echo "| kernel | arch | run | metric | kvmlockstat backend | measured | kernel's count | expected | result |"
    echo "| --- | --- | --- | --- | --- | ---: | --- | ---: | --- |"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' \
        "$out/matrix.tsv"
}

# The table with what produced it, between the markers of docs/kernels.md.
document() {
    local md=$out/matrix.md tmp
    {
        cat "$out/measured.txt"
        echo
        markdown
    } > "$md"
    [ "${LAB_MATRIX_DOC:-0}" = 1 ] || return 0
    grep -q '^<!-- matrix-begin -->$' "$doc" || { echo "lab-matrix: $doc has no matrix markers" >&2; return 1; }
    tmp=$(mktemp)
    awk -v md="$md" '/^<!-- matrix-begin -->$/ { print; while ((getline l < md) > 0) print l; skip = 1; next }
                     /^<!-- matrix-end -->$/ { skip = 0 } !skip' "$doc" > "$tmp" && cat "$tmp" > "$doc"
    rm -f "$tmp"
    echo "lab-matrix: table written to $doc" >&2
}

# Fetch every kernel, then boot each, into a fresh LAB_MATRIX_OUT. A matrix's own directory
# (it has kernels.txt) or nothing is replaced; anything else stays.
run_all() {
    local k a root
    if [ -e "$out" ] && [ ! -e "$out/kernels.txt" ] && [ -n "$(ls -A "$out")" ]; then
        die "LAB_MATRIX_OUT=$out exists and is not a matrix directory"
    fi
    rm -rf "$out"
    mkdir -p "$out"
    : > "$out/kernels.txt"
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n) ($(nproc) CPUs, host kernel" \
         "$(uname -r)), qemu TCG lab, \`make lab-matrix LAB_KERNELS=\"$kernels\"\`" \
         "(arches: $arches; kvm-dirtylog -v 2 -b ${LAB_SIZE:-16M} -i 2)." > "$out/measured.txt"
    fetch_all
    [ "${LAB_SKIP_DEPS:-0}" = 1 ] || for a in $arches; do scripts/lab/deps.sh "$a" >&2 || die "lab deps ($a)"; done
    export LAB_SKIP_DEPS=1
    : > "$out/matrix.tsv"
    while read -r k a root; do
        if ! command -v "$(qemu_of "$a")" > /dev/null; then
            echo "SKIP: [$k $a] $(qemu_of "$a") unavailable"
            skip=$((skip + 1))
            continue
        fi
        boot_one "$k" "$a" "$root"
    done < "$out/kernels.txt"
}

# LAB_MATRIX_REPORT=1: the table and summary again from LAB_MATRIX_OUT's rows, no boot.
if [ "${LAB_MATRIX_REPORT:-0}" = 1 ]; then
    [ -s "$out/matrix.tsv" ] || die "LAB_MATRIX_REPORT=1: no rows in $out/matrix.tsv"
else
    run_all
fi
document
cat "$out/matrix.md"
while IFS=$'\t' read -r k a run metric _ measured source expected res; do
    if [ "$res" = PASS ]; then pass=$((pass + 1))
    else
        echo "FAIL: [$k $a $run] $metric: measured $measured, $source $expected"
        fail=$((fail + 1))
    fi
done < "$out/matrix.tsv"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
