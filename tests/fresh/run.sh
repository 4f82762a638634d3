#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh (make fresh, suite "fresh"): the README on a bare Debian 12.
# A minimal bookworm root (debootstrap minbase, cached: tests/fresh/root.sh) gets a clean
# clone of this repository's HEAD and runs, chrooted, with /proc, /sys, /dev, the BPF
# and tracing filesystems mounted: the demo's setup, make, the lab smoke of arm64 and of
# x86_64 (one boot each), the full setup, scripts/test.sh's unit + integration suites, the arm64
# dirty_log_perf_test build (headers_install), make deb, apt-get install of that .deb,
# and the installed kvmlockstat against a VM whose mmu_lock contends. A command that
# is not found anywhere fails the suite, by name: a package setup does not install.
# Environment: FRESH_CACHE (debootstrap tarball and downloaded .debs, default
# /var/cache/kvmlockstat/debootstrap), FRESH_TMP (default /var/tmp), FRESH_KEEP=1
# keeps the root, FRESH_STEPS (default: all) runs a subset of the steps below.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=fresh
. tests/lib.sh

if [ "$(id -u)" != 0 ]; then
    skip "fresh system: needs root (debootstrap, chroot, mounts)"
    finish; exit
fi
# In a mount namespace of our own, every mount below goes away with the last process
# in it, whatever ends us; the trap unmounts in order before that.
if [ -z "${FRESH_IN_NS:-}" ]; then
    FRESH_IN_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

cache=${FRESH_CACHE:-/var/cache/kvmlockstat/debootstrap}
steps=${FRESH_STEPS:-setup demo-only make lab-arm64 lab-x86_64 setup-full no-service suites kernel-selftest deb install version man completion run}
logs=$PWD/build/fresh
work=$(mktemp -d "${FRESH_TMP:-/var/tmp}/kvmlockstat-fresh.XXXXXX")
root=$work/root
src=/root/kvmlockstat           # the clone, as seen inside the root
timings=()
rm -rf "$logs"; mkdir -p "$logs"

# Processes still running in the root are ours (started by the steps below).
root_pids() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
    done
}

cleanup() {
    local pids
    trap '' INT TERM
    pids=$(root_pids)
    [ -z "$pids" ] || { kill $pids 2> /dev/null; sleep 1; kill -9 $(root_pids) 2> /dev/null; }
    # Deepest first; -l for a straggler still holding a file open.
    findmnt -rn -o TARGET | grep "^$root/" | sort -r | while read -r m; do
        umount "$m" 2> /dev/null || umount -l "$m"
    done
    [ -d "$root$src" ] && debs_cache keep 2> /dev/null
    if [ "${FRESH_KEEP:-0}" = 1 ]; then echo "fresh: root kept in $root" >&2
    else rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# timed NAME CMD...: runs CMD, logs to $logs/NAME.log, PASS/FAIL with its time.
timed() {
    local name=$1 t0=$SECONDS rc; shift
    # In the background so that a signal is handled now, not when the step ends.
    "$@" > "$logs/$name.log" 2>&1 &
    wait $!; rc=$?
    timings+=("$name $((SECONDS - t0))s")
    if [ "$rc" = 0 ]; then
        pass "$name ($((SECONDS - t0)) s)"
    else
        fail "$name exited $rc ($((SECONDS - t0)) s); last lines of $logs/$name.log:"
        tail -n 15 "$logs/$name.log" | sed 's/^/    /'
    fi
    return "$rc"
}

# inside CMD: a login-like shell in the root, in the clone, with nothing of ours in its environment.
inside() {
    chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI="${CI:-}" \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd $src && $1"
}

# The clone: HEAD of this repository, as a user would git clone it.
make_clone() {
    git clone -q --no-hardlinks "$PWD" "$root$src" &&
        git -C "$root$src" checkout -q --detach "$(git rev-parse HEAD)" &&
        echo "clone of $(git rev-parse --short HEAD)"
}

# The host's apt sources and Acquire settings, DNS, and no service started by a package.
configure_apt() {
    local f
    rm -f "$root/etc/apt/sources.list"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && cp "$f" "$root$f"
    done
    apt-config dump | grep '^Acquire::' > "$root/etc/apt/apt.conf.d/50host-acquire"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod +x "$root/usr/sbin/policy-rc.d"
}

mount_all() {
    mount -t proc proc "$root/proc" &&
        mount -t sysfs sysfs "$root/sys" &&
        mount --rbind /dev "$root/dev" &&
        mount -t bpf bpf "$root/sys/fs/bpf" &&
        mount -t tracefs tracefs "$root/sys/kernel/tracing" &&
        mount -t debugfs debugfs "$root/sys/kernel/debug" || return 1
    debs_cache seed
}

# Downloaded .debs only (what apt and the lab fetch), so a warm run does not download them
# again; every package is still installed by setup in the new root. Hard-linked in and out,
# not bind-mounted: two runs at once must not share apt's archive lock.
debs_cache() {
    local d from to
    for d in apt-archives:/var/cache/apt/archives lab-apt:$src/build/lab-cache/apt \
        lab-debs:$src/build/lab-cache/debs; do
        from=$cache/${d%%:*} to=$root${d#*:}
        mkdir -p "$from" "$to"
        [ "$1" = seed ] || { local t=$from; from=$to to=$t; }
        # hard links when both are on one file system, else copies
        find "$from" -maxdepth 1 -name '*.deb' -exec cp -n -l -t "$to" {} + 2> /dev/null ||
            find "$from" -maxdepth 1 -name '*.deb' -exec cp -n -t "$to" {} +
    done
}

# The lab smoke of one architecture: one boot, 1 and 2 vCPUs, with its assertions.
lab_boot() { inside "LAB_SMOKE_ARCHES=$1 make -s lab-smoke"; }

# The installed package alone: run from /, found on PATH, nothing from the clone but contend.c.
# Whether the zappers' and getters' write locks meet is up to the scheduler (2 shared CPUs
# here): a run that saw no wait on the VM is announced and tried again, 3 runs at most.
installed_run() {
    local try pid
    inside "cc -O2 -pthread tests/integration/contend.c -o /tmp/contend" || return 1
    for try in 1 2 3; do
        chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c \
            'cd / && kvmlockstat -i 0 -j /tmp/run.json -- /tmp/contend -s 4 -z 4 > /tmp/run.out 2>&1; echo $? > /tmp/run.rc; cat /tmp/run.out'
        pid=$(sed -n 's/^contend: pid \([0-9]*\) vm ready.*/\1/p' "$root/tmp/run.out" | head -1)
        echo "run $try: kvmlockstat exit $(cat "$root/tmp/run.rc"), contend pid ${pid:-none}"
        [ "$(cat "$root/tmp/run.rc")" = 0 ] || return 1
        jq -e --argjson p "${pid:-0}" '.vms[] | select(.pid == $p and .comm == "contend" and .kvm != null)
            | .contention.total.count > 0 and .contention.write.count > 0' "$root/tmp/run.json" && return 0
        echo "run $try: no mmu_lock wait recorded for pid ${pid:-none}'s VM" >&2
    done
    return 1
}

has_step() { [[ " $steps " == *" $1 "* ]]; }

# Every "not found" in every log, ours and those the steps left in the clone (the labs
# log there), by command: the packages setup forgot.
check_not_found() {
    local hits
    mkdir -p "$logs/clone"
    (cd "$root$src/build" 2> /dev/null &&
        find . -name '*.log' -size -20M -exec cp --parents -t "$logs/clone" {} +)
    hits=$(grep -r -h -o -E "[^ :'\"]+: command not found|: [^ :'\"]+: not found|env: '[^']+': No such file|make(\[[0-9]+\])?: [^ :]+: No such file or directory|failed to find romfile \"[^\"]+\"" \
        "$logs" 2> /dev/null | sort -u)
    if [ -z "$hits" ]; then
        pass "no command or file not found in any log"
    else
        while read -r h; do fail "not found in the fresh root: $h (grep -rn '$h' $logs)"; done <<< "$hits"
    fi
}

echo "fresh: root in $root, logs in $logs" >&2
timed root tests/fresh/root.sh "$root" &&
    timed clone make_clone &&
    configure_apt &&
    timed mounts mount_all || { finish; exit; }
git diff --quiet HEAD 2> /dev/null || echo "fresh: note: uncommitted changes are not in the clone (HEAD is tested)"

done_steps=" "
# run STEP NEEDS CMD...: STEP runs if asked for and step NEEDS passed ("-": none).
run() {
    local step=$1 needs=$2; shift 2
    has_step "$step" || return 0
    if [ "$needs" != - ] && [[ $done_steps != *" $needs "* ]]; then
        skip "$step: needs step $needs, which did not pass"; return 0
    fi
    timed "$step" "$@" && done_steps+="$step "
}
# Each target on the packages its own path installs, as a user meets them: the demo's setup
# (host tools only), then each lab with its own deps (arm64 first: qemu-system-x86 would pull
# in the ROMs qemu-system-arm only recommends), then the full setup (README: test.sh runs it).
run setup - inside "SETUP_FOR=demo SETUP_LABS=0 scripts/setup.sh"
# The demo's setup installs none of the tools only the tests and packaging use.
run demo-only setup inside 'for p in lintian debhelper debootstrap prometheus libcmocka-dev gnuplot-nox; do
    if dpkg-query -W -f="\${Status}\n" $p 2> /dev/null | grep -q "ok installed"; then
        echo "$p: installed by the demo'"'"'s setup"; exit 1; fi; done'
run make setup inside "make -j2"
run lab-arm64 make lab_boot arm64
run lab-x86_64 make lab_boot x86_64
run setup-full make inside scripts/setup.sh
# Debian's prometheus enables prometheus.service: the full setup leaves it, and every
# other service, neither enabled nor running (the exporter test starts prometheus itself).
no_service_left() {
    local wants pids p bad=0
    wants=$(ls "$root"/etc/systemd/system/*.wants/ 2> /dev/null | grep -v ':$' | grep -E '\.service$' |
        grep -vxE 'e2scrub_reap.service|getty@tty1.service|remote-fs.target')
    [ -z "$wants" ] || { echo "enabled after setup: $wants"; bad=1; }
    pids=$(root_pids)
    for p in $pids; do
        [ "$(cat /proc/$p/comm 2> /dev/null)" = prometheus ] && { echo "running after setup: prometheus (pid $p)"; bad=1; }
    done
    return $bad
}
run no-service setup-full no_service_left
run suites setup-full inside 'TEST_SUITES="unit integration" scripts/test.sh'
# The kernel side's tools (headers_install needs rsync, the check needs file) without a kernel build.
run kernel-selftest setup-full inside "KERNEL_JOBS=2 scripts/kernel/selftest.sh after"
run deb make inside "make deb"
run install deb inside "apt-get install -y -q ./build/deb/kvmlockstat_*.deb &&
    dpkg-query -W -f='\${Depends}\n' kvmlockstat | tee /dev/stderr | grep -q libbpf1 &&
    dpkg -L kvmlockstat"
run version install inside "cd / && kvmlockstat --version | tee /dev/stderr | grep -Eq '^kvmlockstat [^ ]+' &&
    kvmlockstat -V | grep -Eq '^libbpf v[0-9]+\.[0-9]+ '"
run man install inside 'man -w kvmlockstat | tee /dev/stderr | grep -qx /usr/share/man/man8/kvmlockstat.8.gz &&
    man -w kvm-dirtylog | tee /dev/stderr | grep -qx /usr/share/man/man1/kvm-dirtylog.1.gz'
run completion install inside tests/fresh/completion.sh
# Without a usable /dev/kvm (contend cannot create a VM) the installed binary still attaches,
# runs and writes a whole record; watching contend's VM is said to be skipped.
installed_run_novm() {
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c \
        'cd / && kvmlockstat -d 1 -i 0 -j /tmp/run.json > /tmp/run.out 2>&1; echo $? > /tmp/run.rc; cat /tmp/run.out'
    [ "$(cat "$root/tmp/run.rc")" = 0 ] &&
        jq -e '.schema == "kvmlockstat-run/1" and .run.duration_ns > 0' "$root/tmp/run.json"
}
if [ -c /dev/kvm ]; then
    run run install installed_run
else
    run run install installed_run_novm
    has_step run && skip "run: the installed kvmlockstat on contend's VM: no usable /dev/kvm on this host"
fi
for s in lab-arm64 lab-x86_64 suites; do
    [ -f "$logs/$s.log" ] && grep -h -E '^total:|^[0-9]+ passed, [0-9]+ failed' "$logs/$s.log" | tail -1 |
        sed "s/^/fresh: $s: /"
done
check_not_found

echo "fresh: timings: ${timings[*]}"
finish
