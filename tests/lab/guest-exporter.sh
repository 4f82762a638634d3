#!/bin/sh
# guest-exporter.sh RESULTS [BINDIR]: the real exporter (Debian's dynamically linked
# build with libmicrohttpd, carried in /usr/sbin with its libraries by tests/lab/exporter.sh)
# in the x86 lab VM, on loopback, while kvm-dirtylog runs; its /metrics scraped once the
# VM has exited (within --grace), then SIGTERM; once as the unit runs it (faults from
# KVM's own counters, in RESULTS/kvm) and once with --fault-types (RESULTS/types).
# Runs inside the lab VM (busybox sh).
R0=$1
B=${2:-/lab}
X=/usr/sbin/kvmlockstat
PORT=${EXP_PORT:-9477}

# HTTP/1.0 through nc (the exporter closes after the answer): Debian's static busybox
# wget segfaults at start (1.35.0-4+deb12u1, here and on the host). Body only, on 200.
scrape() {
    printf 'GET /metrics HTTP/1.0\r\n\r\n' | timeout 10 nc 127.0.0.1 "$PORT" | tr -d '\r' > /tmp/http.out
    head -n 1 /tmp/http.out | grep -q '^HTTP/1\.[01] 200 ' || return 1
    sed '1,/^$/d' /tmp/http.out > "$1"
    # Whole: as long as the server said.
    [ "$(wc -c < "$1")" = "$(sed -n 's/^[Cc]ontent-[Ll]ength: *\([0-9]*\)$/\1/p' /tmp/http.out)" ]
}
# The fault families' samples: equal in two scrapes two drains apart = settled.
faults_of() { grep -E '^kvmlockstat_(stage2_faults|faults|fast_path_[a-z_]*|fault_resolutions)_total' "$1"; }

# run_exporter DIR [ARGS]: one exporter's life around one kvm-dirtylog run.
run_exporter() {
R=$1
shift
mkdir -p "$R"
"$X" exporter --listen "127.0.0.1:$PORT" --grace 600 "$@" > "$R/exporter.out" 2>&1 &
xpid=$!
i=0
until scrape "$R/metrics-before.txt"; do
    i=$((i + 1))
    if [ $i -ge 60 ] || ! kill -0 $xpid 2> /dev/null; then
        echo "guest: the exporter never served /metrics"; cat "$R/exporter.out"
        kill -TERM $xpid 2> /dev/null
        return 1
    fi
    sleep 1
done
echo "guest: /metrics up after ${i} s"

timeout "${EXP_RUN_TIMEOUT:-120}" "$B/kvm-dirtylog" -v "${EXP_VCPUS:-2}" -b "${EXP_SIZE:-32M}" \
    -i "${EXP_ITER:-2}" --json "$R/dirtylog-v${EXP_VCPUS:-2}.json" > "$R/dirtylog.out" 2>&1
echo $? > "$R/dirtylog.rc"
tail -3 "$R/dirtylog.out"

sleep 2
scrape "$R/metrics.txt"
for i in 1 2 3 4 5 6 7 8 9 10; do
    sleep 2
    faults_of "$R/metrics.txt" > /tmp/f.prev
    scrape "$R/metrics.txt"
    faults_of "$R/metrics.txt" | cmp -s - /tmp/f.prev && break
done
echo "guest: scraped after the run ($i settle rounds)"

# A zombie answers kill -0: a watchdog bounds the wait instead (137 = it had to kill).
kill -TERM $xpid
( sleep 30; kill -KILL $xpid 2> /dev/null ) &
dog=$!
wait $xpid
echo $? > "$R/exporter.rc"
kill $dog 2> /dev/null
echo "guest: exporter exit $(cat "$R/exporter.rc") after SIGTERM"
tail -3 "$R/exporter.out"
}

ip link set lo up
run_exporter "$R0/kvm"
run_exporter "$R0/types" --fault-types
