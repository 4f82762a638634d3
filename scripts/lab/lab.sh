#!/bin/bash
# lab.sh: from a fresh machine to results in one command (what `make lab` runs):
#   deps (deps.sh) -> static builds -> initramfs -> boot Debian's stock 6.1 kernel
#   under qemu with nested virtualization -> kvm-dirtylog under kvmlockstat for
#   each vCPU count -> results (over the console, md5-checked) -> table.
# All settings come from the environment; see docs/labs.md.
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/../.."

LAB_ARCH=${LAB_ARCH:-arm64}
LAB_VCPUS=${LAB_VCPUS:-1 2 4}
LAB_MEM=${LAB_MEM:-2G}
LAB_SIZE=${LAB_SIZE:-64M}
LAB_ITER=${LAB_ITER:-2}
LAB_KERNEL=${LAB_KERNEL:-}
LAB_MODULES=${LAB_MODULES:-}
LAB_TIMEOUT=${LAB_TIMEOUT:-1500}
LAB_RUN_TIMEOUT=${LAB_RUN_TIMEOUT:-600}
LAB_STALL=${LAB_STALL:-90}
LAB_NO_KVMLOCKSTAT=${LAB_NO_KVMLOCKSTAT:-0}
LAB_SKIP_DEPS=${LAB_SKIP_DEPS:-0}
LAB_DIRTYLOG_ARGS=${LAB_DIRTYLOG_ARGS:-}
LAB_KVMLOCKSTAT_ARGS=${LAB_KVMLOCKSTAT_ARGS:-}
LAB_DEFAULT_RUN=${LAB_DEFAULT_RUN:-0}
export LAB_CACHE=${LAB_CACHE:-build/lab-cache}
# Runs with their own LAB_RESULTS get their own work directory (console, initramfs),
# so two labs at once (a test and a benchmark, say) never share a console log.
work=build/lab/$LAB_ARCH${LAB_RESULTS:+-work-$(basename "$LAB_RESULTS")}
LAB_RESULTS=${LAB_RESULTS:-$work/results}

log() { echo "lab[$LAB_ARCH]: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Enough emulated CPUs for the largest vCPU count, at least 2.
default_cpus() {
    local max=2 n
    for n in $LAB_VCPUS; do [ "$n" -gt "$max" ] && max=$n; done
    echo "$max"
}
LAB_CPUS=${LAB_CPUS:-$(default_cpus)}

check_settings() {
    case $LAB_ARCH in arm64|x86_64) ;; *) die "LAB_ARCH=$LAB_ARCH: arm64 or x86_64" ;; esac
    local n
    for n in $LAB_VCPUS; do
        [[ $n =~ ^[1-9][0-9]*$ ]] || die "LAB_VCPUS: '$n' is not a vCPU count"
    done
    [[ $LAB_CPUS =~ ^[1-9][0-9]*$ ]] || die "LAB_CPUS=$LAB_CPUS is not a CPU count"
    [[ $LAB_MEM =~ ^[1-9][0-9]*[MG]$ ]] || die "LAB_MEM=$LAB_MEM: e.g. 2G or 1536M"
    [ -z "$LAB_KERNEL" ] || [ -f "$LAB_KERNEL" ] || die "LAB_KERNEL=$LAB_KERNEL: no such file"
}

# Static binaries for the guest; kvmlockstat may be missing only if asked for.
build() {
    local out mk
    if [ "$LAB_ARCH" = arm64 ]; then
        out=build/arm64
        mk=(make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- STATIC=1 OUT=$out)
    else
        out=build/x86-static
        mk=(make ARCH=x86 STATIC=1 OUT=$out)
    fi
    "${mk[@]}" "$out/kvm-dirtylog" >&2 || die "building kvm-dirtylog failed"
    if [ -n "${LAB_GUEST:-}" ]; then
        "${mk[@]}" "$out/contend" >&2 || die "building contend failed"
    fi
    local t
    for t in ${LAB_EXTRA_BINS:-}; do "${mk[@]}" "$out/$t" >&2 || die "building $t failed"; done
    rm -f "$out/kvmlockstat.lab-skip"
    if ! "${mk[@]}" "$out/kvmlockstat" >&2; then
        [ "$LAB_NO_KVMLOCKSTAT" = 1 ] || die "building kvmlockstat failed (LAB_NO_KVMLOCKSTAT=1 runs the workload alone)"
        log "kvmlockstat did not build: running kvm-dirtylog alone (LAB_NO_KVMLOCKSTAT=1)"
        rm -f "$out/kvmlockstat"
    fi
    [ "$LAB_NO_KVMLOCKSTAT" = 1 ] && rm -f "$out/kvmlockstat"
    echo "$out"
}

debarch() { [ "$LAB_ARCH" = arm64 ] && echo arm64 || echo amd64; }

kernel_image() {
    if [ -n "$LAB_KERNEL" ]; then echo "$LAB_KERNEL"; return; fi
    ls "$LAB_CACHE/root-$(debarch)/kernel/boot/"vmlinuz-* | head -1
}

write_config() {
    local bindir=$1
    cat > "$work/config" <<EOF
LAB_ARCH='$LAB_ARCH'
LAB_VCPUS='$LAB_VCPUS'
LAB_SIZE='$LAB_SIZE'
LAB_ITER='$LAB_ITER'
LAB_RUN_TIMEOUT='$LAB_RUN_TIMEOUT'
LAB_DIRTYLOG_ARGS='$LAB_DIRTYLOG_ARGS'
LAB_KVMLOCKSTAT_ARGS='$LAB_KVMLOCKSTAT_ARGS'
LAB_DEFAULT_RUN='$LAB_DEFAULT_RUN'
LAB_CHECK_PATHS='${LAB_CHECK_PATHS:-1}'
LAB_THP='${LAB_THP:-}'
LAB_KVMLOCKSTAT='$([ -x "$bindir/kvmlockstat" ] && echo 1 || echo 0)'
EOF
}

# The guest's second serial port (x86 ttyS1: arm64's virt machine has one UART) carries its
# kernel log and a heartbeat (init), the first the results; the monitor socket lets a stalled
# guest's CPU state be read (stall_dump); nokaslr keeps its addresses those of the image.
qemu_cmd() {
    local kernel=$1 initrd=$2
    local mon="-monitor unix:$work/monitor.sock,server=on,wait=off"
    if [ "$LAB_ARCH" = arm64 ]; then
        echo qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max,pauth-impdef=on \
            -smp "$LAB_CPUS" -m "$LAB_MEM" -nographic -no-reboot -kernel "$kernel" -initrd "$initrd" \
            -append "'console=ttyAMA0 rdinit=/init panic=-1 quiet'" $mon ${LAB_QEMU_ARGS:-}
    else
        echo qemu-system-x86_64 -cpu max -smp "$LAB_CPUS" -m "$LAB_MEM" -nographic -no-reboot \
            -kernel "$kernel" -initrd "$initrd" -append "'console=ttyS0 rdinit=/init panic=-1 quiet nokaslr kvm.nx_huge_pages=off'" \
            -serial stdio -serial "file:$work/kmsg.log" $mon ${LAB_QEMU_ARGS:-}
    fi
}

show_console_tail() {
    log "---- last 60 lines of the guest console ($1) ----"
    tail -n 60 "$1" | tr -d '\r' >&2
    log "---- end of console ----"
}

# Progress of the guest: the size of its console and kernel-log files (the heartbeat grows the
# latter every few seconds while the guest schedules anything at all).
progress() { stat -c %s "$1" "$work/kmsg.log" 2> /dev/null | awk '{ s += $1 } END { print s + 0 }'; }

# A guest that stopped making progress: every CPU's registers from the monitor, for the
# record beside the console, then an NMI: the guest (init set unknown_nmi_panic) panics
# and prints, with symbols, the stack it was stuck in on the console before qemu exits.
stall_dump() {
    python3 - "$work/monitor.sock" > "$work/stall-registers.txt" 2>&1 <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(b"info registers -a\ninfo cpus\nnmi\n"); time.sleep(2); out = b""
try:
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
except socket.timeout: pass
sys.stdout.write(out.decode(errors="replace"))
PY
}

# The guest kernel's own word that it is wedged: a CPU stuck for a minute (a soft lockup
# report, repeated while it lasts: a single one of 20 s happens when a loaded host starves the
# emulated CPU), a task blocked past hung_task_timeout, a panic. Read from the kernel-log port
# (kmsg.log) and from the console: a wedged guest can stop the task that feeds the former while
# its console keeps printing soft lockups, which would pass for progress until LAB_TIMEOUT.
wedged_line() {
    cat "$work/kmsg.log" "$1" 2> /dev/null |
        grep -a -m1 -o -E 'BUG: soft lockup - CPU#[0-9]+ stuck for ([6-9][0-9]|[0-9]{3,})s.*|.*blocked for more than.*|Kernel panic.*' |
        tr -d '\r'
}
wedged() { [ -n "$(wedged_line "$1")" ]; }

# qemu in the background; done when it exits, or when the guest printed its last
# marker (a power-off that does not reach qemu must not cost LAB_TIMEOUT). A guest whose
# console and kernel log stay still for LAB_STALL seconds (x86: the heartbeat stopped), or
# whose kernel reports itself wedged, has stalled: its CPU state is saved and qemu stopped at
# once (exit 125), not at LAB_TIMEOUT.
run_qemu() {
    local cmd=$1 console=$2 pid waited=0 after_done=0 last=-1 still=0 now
    : > "$work/kmsg.log"
    rm -f "$work/monitor.sock" "$work/stall-registers.txt"
    eval "exec $cmd" < /dev/null > "$console" 2>&1 &
    pid=$!
    # Interrupted (Ctrl-C, CI stop): take qemu down with us.
    trap 'kill '"$pid"' 2> /dev/null || true' EXIT
    trap 'exit 130' INT TERM
    while kill -0 "$pid" 2> /dev/null; do
        if grep -q '@@LAB-DONE' "$console"; then
            after_done=$((after_done + 1))
            [ "$after_done" -gt 10 ] && { kill "$pid"; wait "$pid"; return 0; }
        elif [ "$LAB_ARCH" = x86_64 ] && { [ "$still" -ge "$LAB_STALL" ] || wedged "$console"; }; then
            stall_dump
            for now in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2> /dev/null && sleep 1; done
            kill "$pid" 2> /dev/null
            sleep 2
            kill -9 "$pid" 2> /dev/null
            wait "$pid"
            return 125
        elif [ "$waited" -ge "$LAB_TIMEOUT" ]; then
            kill "$pid"
            sleep 2
            kill -9 "$pid" 2> /dev/null
            wait "$pid"
            return 124
        fi
        sleep 1
        waited=$((waited + 1))
        now=$(progress "$console")
        if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0 last=$now; fi
    done
    wait "$pid"
}

boot() {
    local kernel=$1 initrd=$2 console=$work/console.log rc=0 cmd
    cmd=$(qemu_cmd "$kernel" "$initrd")
    log "booting $(basename "$kernel"): $LAB_CPUS CPUs, $LAB_MEM, timeout ${LAB_TIMEOUT}s"
    echo "$cmd" > "$work/qemu.cmd"
    run_qemu "$cmd" "$console" || rc=$?
    # Emulated CPUs under a loaded host now and then wedge a guest for good (an x86 guest
    # idle with its clock stopped, seen about once in ten boots): one retry, said out loud,
    # the first boot's evidence kept (console.log.hung, kmsg.log.hung, stall-registers.txt.hung);
    # a second hang is a failure.
    if { [ "$rc" = 124 ] || [ "$rc" = 125 ]; } && [ "${LAB_RETRY:-1}" = 1 ]; then
        show_console_tail "$console"
        if [ "$rc" = 125 ]; then
            log "the guest stalled (no console or kernel-log output for LAB_STALL=${LAB_STALL}s, registers saved): booting it once more"
        else
            log "the guest hung (no result within LAB_TIMEOUT=${LAB_TIMEOUT}s): booting it once more"
        fi
        cp "$console" "$console.hung"
        cp "$work/kmsg.log" "$work/kmsg.log.hung" 2> /dev/null || true
        cp "$work/stall-registers.txt" "$work/stall-registers.txt.hung" 2> /dev/null || true
        rc=0
        run_qemu "$cmd" "$console" || rc=$?
    fi
    if [ "$rc" = 124 ]; then
        show_console_tail "$console"
        die "the guest did not finish within LAB_TIMEOUT=${LAB_TIMEOUT}s"
    fi
    if [ "$rc" = 125 ]; then
        show_console_tail "$console"
        die "the guest stalled ($(wedged_line "$console" | grep . || echo "no console or kernel-log output for LAB_STALL=${LAB_STALL}s")): the stack it was in (NMI panic) ends $console; kernel log $work/kmsg.log, CPU registers $work/stall-registers.txt"
    fi
    grep -q '@@LAB-DONE' "$console" || {
        show_console_tail "$console"
        die "the guest stopped without finishing (qemu exit $rc)"
    }
}

# The results tarball between the markers, checked against the md5 the guest sent.
collect() {
    local console=$work/console.log sum got
    sum=$(tr -d '\r' < "$console" | sed -n 's/^@@LAB-RESULTS-BEGIN \([0-9a-f]*\)@@$/\1/p')
    [ -n "$sum" ] || { show_console_tail "$console"; die "no results on the guest console"; }
    tr -d '\r' < "$console" | sed -n '/^@@LAB-RESULTS-BEGIN/,/^@@LAB-RESULTS-END@@/p' |
        sed '1d;$d' | base64 -d > "$work/results.tgz" || die "results are not valid base64"
    got=$(md5sum < "$work/results.tgz" | cut -d' ' -f1)
    [ "$got" = "$sum" ] || die "results arrived damaged (md5 $got, guest sent $sum)"
    mkdir -p "$LAB_RESULTS"
    tar -xzf "$work/results.tgz" -C "$LAB_RESULTS"
    cp "$console" "$work/qemu.cmd" "$LAB_RESULTS/"
    [ -s "$work/kmsg.log" ] && cp "$work/kmsg.log" "$LAB_RESULTS/"
    echo "$LAB_ARCH" > "$LAB_RESULTS/lab-arch"
    log "results in $LAB_RESULTS"
}

# Old results must not outlive a failed run (and be checked again as if new); only a
# directory the lab made (it has lab-arch) or an empty one is removed.
clear_results() {
    [ -e "$LAB_RESULTS" ] || return 0
    if [ -e "$LAB_RESULTS/lab-arch" ] || [ -z "$(ls -A "$LAB_RESULTS")" ]; then
        rm -rf "$LAB_RESULTS"
    else
        die "LAB_RESULTS=$LAB_RESULTS exists and is not a lab results directory"
    fi
}

main() {
    local bindir kernel moddir
    check_settings
    clear_results
    [ -z "${LAB_GUEST:-}" ] || [ -f "$LAB_GUEST" ] || die "LAB_GUEST=$LAB_GUEST: no such file"
    export LAB_GUEST=${LAB_GUEST:+$(realpath "$LAB_GUEST")}
    [ "$LAB_SKIP_DEPS" = 1 ] || scripts/lab/deps.sh "$LAB_ARCH"
    mkdir -p "$work"
    bindir=$(build)
    kernel=$(kernel_image)
    moddir=${LAB_MODULES:-$LAB_CACHE/root-$(debarch)/kernel/lib/modules}
    write_config "$bindir"
    scripts/lab/mkinitramfs.sh "$LAB_ARCH" "$work/initrd.gz" "$bindir" "$work/config" "$moddir" >&2
    boot "$kernel" "$work/initrd.gz"
    collect
    # A LAB_GUEST script leaves its own results: no dirty-logging table to print.
    [ -n "${LAB_GUEST:-}" ] || scripts/lab/table.sh "$LAB_RESULTS"
    local rc
    rc=$(tr -d '\r' < "$work/console.log" | sed -n 's/^@@LAB-DONE rc=\([0-9]*\)@@$/\1/p')
    [ "$rc" = 0 ] || die "a run inside the guest failed (rc=$rc): see $LAB_RESULTS/guest.log"
}

main "$@"
