#!/bin/bash
# run.sh: the migration lab (what `make lab-migrate` runs). Fetches Debian's QEMU for
# the lab's architecture (fetch-qemu.sh), boots the lab with guest.sh as its guest
# script and the guest-side tools (LAB_EXTRA_BINS, built by lab.sh), then prints the cover letter's three figures beside
# the cover letter's (figures.sh) and plots the timeline with the guest's progress.
# Settings (environment or make variables), defaults for a short run:
#   LAB_ARCH arm64|x86_64; LAB_KERNEL before (the kernel-patches/ "before" kernel, arm64)
#   or an image path; LAB_RESULTS (default build/lab/migrate-<arch>[-before]);
#   MIG_MEM MiB of guest RAM; MIG_WSET pages the workload rewrites for ever; MIG_FILL
#   pages written once (data the first migration pass must send); MIG_BW max-bandwidth,
#   bytes/s; MIG_DOWNTIME downtime-limit, ms, until MIG_DIRTY seconds into the migration,
#   then MIG_FINAL_DOWNTIME; MIG_PRE / MIG_POST seconds before / after the migration;
#   MIG_TIMEOUT seconds for the migration; MIG_SAMPLE sampling interval, s (kvmlockstat
#   -i and the progress log); MIG_CASES "migrate" and/or "kill" (the failure test: the
#   destination QEMU is killed MIG_KILL_DST seconds into the migration).
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../../.."
export LAB_ARCH=${LAB_ARCH:-arm64}
# Short by default (the CI test). QEMU switches over once what is left to send fits in
# max-bandwidth x downtime-limit; the working set (16 MiB, rewritten for ever) does not
# fit in 16-40 MB/s x 10 ms, so dirty logging goes on round after round until MIG_DIRTY
# seconds in, when the downtime limit is raised to MIG_FINAL_DOWNTIME and it converges.
# Each round refaults the working set, so faults/s follow the bandwidth; arm64's
# emulated faults cost more: at 40 MB/s its guest all but stops, redirties next to
# nothing and the migration converges at once, so arm64 gets 16 MB/s.
MIG_MEM=${MIG_MEM:-64} MIG_WSET=${MIG_WSET:-4096} MIG_FILL=${MIG_FILL:-2048}
MIG_BW=${MIG_BW:-$([ "$LAB_ARCH" = arm64 ] && echo 16000000 || echo 40000000)} MIG_DOWNTIME=${MIG_DOWNTIME:-10} MIG_DIRTY=${MIG_DIRTY:-20}
MIG_FINAL_DOWNTIME=${MIG_FINAL_DOWNTIME:-60000} MIG_PRE=${MIG_PRE:-10}
MIG_POST=${MIG_POST:-5} MIG_TIMEOUT=${MIG_TIMEOUT:-150} MIG_SAMPLE=${MIG_SAMPLE:-0.5}
MIG_KILL_DST=${MIG_KILL_DST:-5} MIG_CASES=${MIG_CASES:-migrate}
MIG_SETTINGS="MIG_MEM MIG_WSET MIG_FILL MIG_BW MIG_DOWNTIME MIG_DIRTY MIG_FINAL_DOWNTIME MIG_PRE MIG_POST
              MIG_TIMEOUT MIG_SAMPLE MIG_KILL_DST MIG_CASES"
log() { echo "lab-migrate[$LAB_ARCH]: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

check_settings() {
    local v
    for v in MIG_MEM MIG_WSET MIG_FILL MIG_BW MIG_DOWNTIME MIG_DIRTY MIG_FINAL_DOWNTIME MIG_PRE MIG_POST \
        MIG_TIMEOUT MIG_KILL_DST; do
        [[ ${!v} =~ ^[0-9]+$ ]] || die "$v=${!v}: a whole number"
    done
    [[ $MIG_SAMPLE =~ ^[0-9]*\.?[0-9]+$ ]] || die "MIG_SAMPLE=$MIG_SAMPLE: seconds"
    [ "$MIG_WSET" -gt 0 ] || die "MIG_WSET=0: the workload needs pages to write"
    [ "$MIG_DIRTY" -gt 0 ] || die "MIG_DIRTY=0: seconds, more than 0"
    local c
    for c in $MIG_CASES; do
        case $c in migrate|kill) ;; *) die "MIG_CASES: '$c' is not migrate or kill" ;; esac
    done
    # The workload's pages start 4 MiB into RAM.
    [ $(( (MIG_WSET + MIG_FILL) / 256 + 4 )) -lt "$MIG_MEM" ] ||
        die "MIG_WSET + MIG_FILL pages do not fit in MIG_MEM=${MIG_MEM} MiB (4 MiB of it are the guest's own)"
}

# LAB_KERNEL=before: the series' "before" kernel, from the kernel cache when built.
resolve_kernel() {
    [ "${LAB_KERNEL:-}" = before ] || return 0
    [ "$LAB_ARCH" = arm64 ] || die "LAB_KERNEL=before is an arm64 kernel (kernel-patches/)"
    export KERNEL_CACHE=${KERNEL_CACHE:-/var/cache/kvmlockstat/kernel}
    if ! ls "$KERNEL_CACHE"/before-*/Image > /dev/null 2>&1 && ! [ -f build/kernel/before/Image ]; then
        die "no \"before\" kernel in $KERNEL_CACHE or build/kernel/before: make kernel-before (a kernel build, ~25 min)"
    fi
    scripts/kernel/build.sh before >&2
    export LAB_KERNEL=build/kernel/before/Image
    KERNEL_LABEL=before
}

# The guest script reads its settings from the initramfs: bake them in.
guest_script() {
    local v
    { echo "MIG_ARCH=$LAB_ARCH"
      for v in $MIG_SETTINGS; do echo "$v='${!v}'"; done
      cat scripts/lab/migrate/guest.sh; } > "$stage/guest.sh"
}

KERNEL_LABEL=stock
resolve_kernel
check_settings
export LAB_RESULTS=${LAB_RESULTS:-build/lab/migrate-$LAB_ARCH$([ "$KERNEL_LABEL" = before ] && echo -before)}
stage=build/lab/migrate-stage-$(basename "$LAB_RESULTS")
[ "${LAB_SKIP_DEPS:-0}" = 1 ] || scripts/lab/deps.sh "$LAB_ARCH"
scripts/lab/migrate/fetch-qemu.sh "$LAB_ARCH"
rm -rf "$stage" && mkdir -p "$stage"
guest_script
debarch=$([ "$LAB_ARCH" = arm64 ] && echo arm64 || echo amd64)
export LAB_EXTRA_ROOT=$(realpath "${LAB_CACHE:-build/lab-cache}/root-$debarch/qemu")
export LAB_EXTRA_BINS="labmig-qmp labmig-progress labmig-guest.elf"
# 2 emulated CPUs on this 2-core host; room for two copies of the guest's RAM in the lab VM's tmpfs, and QEMU itself.
export LAB_MEM=${LAB_MEM:-$(( (2 * MIG_MEM + 1024) ))M} LAB_CPUS=${LAB_CPUS:-2}
lab_rc=0
LAB_SKIP_DEPS=1 LAB_GUEST=$stage/guest.sh scripts/lab/lab.sh || lab_rc=$?
[ -d "$LAB_RESULTS" ] || die "the lab brought no results back (see above)"
echo "$KERNEL_LABEL" > "$LAB_RESULTS/kernel-label"
for c in $MIG_CASES; do cp "$LAB_RESULTS/lab-arch" "$LAB_RESULTS/kernel-label" "$LAB_RESULTS/$c/" 2> /dev/null || true; done
for c in $MIG_CASES; do
    [ -f "$LAB_RESULTS/$c/scenario.rc" ] || die "case $c left no results (see $LAB_RESULTS/guest.log)"
done
M=$LAB_RESULTS/migrate
if [ -f "$M/progress.csv" ] && [ -f "$M/migrate.csv" ]; then
    scripts/lab/migrate/figures.sh "$M" | tee "$M/figures.txt"
    if make build/kvmlockstat > /dev/null 2>&1 && [ -f "$M/timeline.csv" ]; then
        build/kvmlockstat plot --timeline "$M/timeline.csv" --progress "$M/progress.csv" \
            -o "$M/migrate" && log "plot: $M/migrate.svg, .png"
    else
        log "no plot: build/kvmlockstat does not build here or no timeline.csv"
    fi
fi
[ "$lab_rc" = 0 ] || die "the migration lab failed (see $LAB_RESULTS/guest.log, migrate.err)"
