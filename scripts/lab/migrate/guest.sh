#!/bin/sh
# guest.sh RESULTS [BINDIR]: the migration lab, inside the lab VM (busybox sh; run.sh
# prepends the MIG_* settings). A bare-metal guest (labmig-guest.elf) runs in Debian's
# QEMU with -accel kvm; after MIG_PRE seconds QMP migrates it to a second QEMU started
# with -incoming tcp:127.0.0.1, bandwidth-limited, while kvmlockstat records a
# timeline. The guest's own progress (pages/s, from its RAM file) is logged beside it.
# Leaves in RESULTS/<case> (MIG_CASES: migrate, kill): timeline.csv,
# kvmlockstat.json/.out/.rc, progress.csv, migrate.csv (query-migrate polls),
# migrate.out/.err, qemu-src.log, qemu-dst.log, scenario.rc, dst-/src-status.json.
#   guest.sh --scenario DIR CASE    the part kvmlockstat runs as its command
R=${1:?results}
B=${2:-/lab}
export PATH=/bin:/usr/bin:/lab
# QMP and the migration stream over TCP on 127.0.0.1; a lab kernel without INET (the
# kernel-patches/ kernels: lab.config keeps them small) gets FIFOs instead: QMP on a
# pipe chardev, the stream through "exec:cat" and a named pipe. Same QEMU code paths
# for RAM and dirty logging either way.
if [ -d /proc/sys/net/ipv4 ]; then
    TRANSPORT=tcp QMP_SRC=4444 QMP_DST=4445
    MIG_TO=tcp:127.0.0.1:4446 MIG_FROM=tcp:127.0.0.1:4446
else
    TRANSPORT=pipe QMP_SRC=/tmp/src.qmp QMP_DST=/tmp/dst.qmp
    MIG_TO="exec:cat > /tmp/mig.fifo" MIG_FROM="exec:cat /tmp/mig.fifo"
fi
log() { echo "migrate: $*"; }

if [ "$R" = --scenario ]; then
    R=$2
    B=/lab
    scenario=1
fi


# One command line for both ends; the destination adds -incoming. Run with &: the
# exec makes $! the QEMU itself, so kill reaches it (not a subshell).
qemu() {
    ram=$1 qmp=$2
    shift 2
    if [ "$TRANSPORT" = tcp ]; then
        set -- "$@" -qmp tcp:127.0.0.1:"$qmp",server=on,wait=off
    else
        set -- "$@" -chardev pipe,id=qmp,path="$qmp" -mon chardev=qmp,mode=control
    fi
    if [ "$MIG_ARCH" = arm64 ]; then
        set -- qemu-system-aarch64 -M virt,gic-version=host,memory-backend=mem -cpu host \
            -device loader,addr=0x40200000,data="$MIG_WSET",data-len=8 \
            -device loader,addr=0x40200008,data="$MIG_FILL",data-len=8 "$@"
    else
        set -- qemu-system-x86_64 -M pc,memory-backend=mem \
            -device loader,addr=0x200000,data="$MIG_WSET",data-len=8 \
            -device loader,addr=0x200008,data="$MIG_FILL",data-len=8 "$@"
    fi
    exec "$@" -accel kvm -smp 1 -m "${MIG_MEM}M" -nodefaults -display none -serial none \
        -object memory-backend-file,id=mem,size="${MIG_MEM}M",mem-path="$ram",share=on \
        -kernel "$B/labmig-guest.elf"
}

# Fresh FIFOs per case: nothing a previous case left in them is read.
make_fifos() {
    rm -f /tmp/mig.fifo /tmp/src.qmp.* /tmp/dst.qmp.*
    [ "$TRANSPORT" = pipe ] || return 0
    mkfifo /tmp/mig.fifo /tmp/src.qmp.in /tmp/src.qmp.out /tmp/dst.qmp.in /tmp/dst.qmp.out
}

qmp() { "$B/labmig-qmp" -t 120 "$@"; }

# Everything that ran is stopped, whatever happened (kvmlockstat waits for us).
cleanup() {
    [ -n "${prog:-}" ] && kill "$prog" 2> /dev/null
    [ -n "${dst:-}" ] && kill "$dst" 2> /dev/null
    [ -n "${src:-}" ] && kill "$src" 2> /dev/null
    wait 2> /dev/null
    # (the next case binds the same ports)
}

run_scenario() {
    rm -f /tmp/src.ram /tmp/dst.ram
    make_fifos
    echo "$TRANSPORT" > "$R/transport"
    qemu /tmp/src.ram $QMP_SRC > "$R/qemu-src.log" 2>&1 &
    src=$!
    "$B/labmig-progress" -i "$MIG_SAMPLE" /tmp/src.ram /tmp/dst.ram "$R/progress.csv" &
    prog=$!
    qmp $QMP_SRC '{"execute":"query-status"}' > /dev/null || { log "FAIL: the source QEMU did not start"; return 1; }
    # The destination starts now, so its start-up is not in the baseline.
    qemu /tmp/dst.ram $QMP_DST -incoming "$MIG_FROM" > "$R/qemu-dst.log" 2>&1 &
    dst=$!
    qmp $QMP_DST '{"execute":"query-status"}' > /dev/null || { log "FAIL: the destination QEMU did not start"; return 1; }
    log "source and destination running; migration in ${MIG_PRE}s"
    sleep "$MIG_PRE"
    log "migrating at $MIG_BW bytes/s, downtime limit $MIG_DOWNTIME ms, raised to $MIG_FINAL_DOWNTIME ms after ${MIG_DIRTY}s"
    # The failure test: the destination dies mid-way.  At an eighth of the bandwidth the
    # first pass alone (all of the guest's RAM) outlasts MIG_KILL_DST on any machine: at
    # full bandwidth a fast host finished it first (x86: 4.4 s, 128 MB), with nothing to kill.
    bw=$MIG_BW
    [ "$case" = kill ] && bw=$((MIG_BW / 8))
    [ "$case" = kill ] && (sleep "$MIG_KILL_DST"; kill -9 "$dst"; log "destination QEMU killed") &
    # Until the downtime limit is raised, the working set (dirtied again every round)
    # does not fit in max-bandwidth x downtime-limit: round after round of dirty logging.
    qmp -w -i "$MIG_SAMPLE" -T "$MIG_TIMEOUT" -l "$R/migrate.csv" -x "$MIG_DIRTY" \
        -X "{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"downtime-limit\":$MIG_FINAL_DOWNTIME}}" $QMP_SRC \
        "{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"max-bandwidth\":$bw,\"downtime-limit\":$MIG_DOWNTIME}}" \
        "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"$MIG_TO\"}}" > "$R/migrate.out" 2> "$R/migrate.err"
    rc=$?
    cat "$R/migrate.out" "$R/migrate.err"
    [ "$rc" = 0 ] || log "FAIL: migration did not complete (rc=$rc): $(tail -n 1 "$R/migrate.err")"
    # The guest carries on at the destination (or the source, after a failure).
    sleep "$MIG_POST"
    if [ "$rc" = 0 ]; then
        qmp $QMP_DST '{"execute":"query-status"}' > "$R/dst-status.json"
    else
        qmp $QMP_SRC '{"execute":"query-status"}' > "$R/src-status.json"
    fi
    return $rc
}

if [ -n "${scenario:-}" ]; then
    case=$3
    trap cleanup EXIT
    trap 'exit 143' TERM INT
    run_scenario
    rc=$?
    echo $rc > "$R/scenario.rc"
    exit $rc
fi

[ "$TRANSPORT" = tcp ] && ifconfig lo 127.0.0.1 up
log "QMP and migration over $TRANSPORT"
log "QEMU: $(qemu-system-aarch64 --version 2> /dev/null || qemu-system-x86_64 --version | head -1)"
# Each case under its own kvmlockstat: "migrate" must complete, "kill" (the
# destination killed mid-way) must fail clearly and still leave its timeline.
ok=1
for c in $MIG_CASES; do
    mkdir -p "$R/$c"
    log "case $c"
    "$B/kvmlockstat" -i "$MIG_SAMPLE" --timeline "$R/$c/timeline.csv" -j "$R/$c/kvmlockstat.json" \
        -- sh "$0" --scenario "$R/$c" "$c" > "$R/$c/kvmlockstat.out" 2>&1
    echo $? > "$R/$c/kvmlockstat.rc"
    tail -n 30 "$R/$c/kvmlockstat.out"
    rc=$(cat "$R/$c/scenario.rc" 2> /dev/null || echo none)
    # Only the "migrate" case's outcome is the lab's; "kill" is judged by the test.
    [ "$c" = migrate ] && [ "$rc" != 0 ] && ok=0
done
[ "$ok" = 1 ]
