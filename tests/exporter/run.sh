#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# exporter suite: kvmlockstat exporter scraped by a real Prometheus server while a
# real VM's mmu_lock contends (tests/integration/contend), its counters checked
# against the kernel's own count, and its behaviour under bad input, idle and
# parallel clients and SIGTERM mid-scrape; --web-config's TLS, client
# certificates and basic auth scraped by Prometheus, its reload on SIGHUP, and
# the limits on connections, header size and slow clients.
#   tests/exporter/run.sh [BUILD_DIR]     (make exporter; needs root and /dev/kvm)
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=exporter
. tests/lib.sh

B=${1:-build}
K=$(realpath "$B/kvmlockstat")
C=$(realpath "$B/contend")
T=$(mktemp -d /tmp/kvmlockstat-exporter.XXXXXX)
UNIT=contrib/systemd/kvmlockstat-exporter.service
SCRAPE=contrib/prometheus/kvmlockstat.yml
TLS_SCRAPE=contrib/prometheus/kvmlockstat-tls.yml
DASH=contrib/grafana/kvmlockstat-dashboard.json
# The unit's capability bounding set, as setpriv spells it.
CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
started=()

cleanup() {
    for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null; done
    [ -n "${EXPORTER_KEEP:-}" ] && echo "kept: $T" || rm -rf "$T"
}
trap cleanup EXIT

free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}

# start_exporter NAME CMD...: background exporter, its pid in epid; waits until it serves.
start_exporter() {
    local name=$1
    shift
    "$@" > "$T/$name.log" 2>&1 &
    epid=$!
    started+=("$epid")
    for _ in $(seq 300); do
        grep -q "exporter serving" "$T/$name.log" && return 0
        kill -0 "$epid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop_exporter PID IDS_FILE WHAT: SIGTERM, exit 0 within 15 s, nothing of it left attached.
stop_exporter() {
    local pid=$1 rc
    kill -TERM "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$3: exporter still running 15 s after SIGTERM"
        return
    fi
    wait "$pid"
    rc=$?
    check "$3: exits 0 on SIGTERM" test "$rc" = 0
    check "$3: says its probes are detached" grep -q "probes detached" "$T/$4.log"
    check "$3: held BPF programs and links ($(grep -cE '^(prog|link):' "$2"))" test -s "$2"
    check "$3: bpftool prog/link show none of them afterwards" bpf_detached "$2"
}

scrape() { curl -sf --max-time 10 "http://127.0.0.1:$1/metrics"; }
# sum of a counter's samples with vm_pid=PID in an exposition
vm_sum() { awk -v m="$2" -v p="vm_pid=\"$3\"" 'index($1, m "{") == 1 && index($1, p) { s += $2 } END { print s + 0 }' "$1"; }

# settled_scrape PORT PID: into $T/final.txt once drains have moved the VM's last waits in
# (two scrapes 1.5 s apart, more than one drain interval, agree).
settled_scrape() {
    local v
    scrape "$1" > "$T/final.txt"
    for _ in $(seq 10); do
        sleep 1.5
        v=$(vm_sum "$T/final.txt" kvmlockstat_mmu_lock_contentions_total "$2")
        scrape "$1" > "$T/final.txt"
        [ "$(vm_sum "$T/final.txt" kvmlockstat_mmu_lock_contentions_total "$2")" = "$v" ] && break
    done
}

# waits of VMM PID on one waiter path in the final exposition
path_count() { grep "^kvmlockstat_mmu_lock_path_contentions_total{vm_pid=\"$1\",.*path=\"$2\"}" "$T/final.txt" | awk '{ s += $2 } END { print s + 0 }'; }

test_bad_input() {
    local v out rc
    for v in foo 1.2.3.4 :0 :65536 300.1.1.1:80 '[::1:80' 127.0.0.1:-1 127.0.0.1:80x '' 'host.example:80'; do
        out=$("$K" exporter --listen "$v" 2>&1)
        rc=$?
        check "--listen '$v': exit 2 with one line naming it" \
            sh -c "[ $rc = 2 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && printf '%s' \"\$1\" | grep -q 'invalid --listen'" _ "$out"
    done
    out=$("$K" exporter --grace -1 2>&1)
    check "--grace -1: rejected" sh -c "[ $? != 0 ] && printf '%s' \"\$1\" | grep -q 'invalid --grace'" _ "$out"
    check "not root: one clear line" sh -c "setpriv --reuid=65534 --regid=65534 --clear-groups '$K' exporter \
        --listen 127.0.0.1:$(free_port) 2>&1 | grep -q 'needs root'"
}

test_contrib() {
    check "Grafana dashboard is valid JSON with panels" jq_true '.panels | length > 0' "$DASH"
    check "dashboard shows contentions, wait and fast-path share" jq_true \
        '[.panels[].targets[].expr] | (any(test("contentions_total")) and any(test("wait_seconds")) and any(test("fast_path_fixes_total.*/.*permission_faults_total")))' "$DASH"
    check "scrape config passes promtool check config" promtool check config "$SCRAPE" > /dev/null
    check "TLS scrape config passes promtool check config" promtool check config "$TLS_SCRAPE" > /dev/null
    if command -v systemd-analyze > /dev/null; then
        # verify needs the binary the unit runs: the same unit, pointed at this build.
        mkdir -p "$T/unit"
        sed "s|/usr/sbin/kvmlockstat|$K|g" "$UNIT" > "$T/unit/kvmlockstat-exporter.service"
        systemd-analyze verify "$T/unit/kvmlockstat-exporter.service" > "$T/verify.out" 2>&1
        check "systemd-analyze verify accepts the unit" \
            sh -c "[ $? = 0 ] && ! grep -i kvmlockstat-exporter '$T/verify.out'"
        [ -s "$T/verify.out" ] && sed 's/^/  verify: /' "$T/verify.out" | head -5
    else
        skip "systemd unit: no systemd-analyze"
    fi
    # ExecStart's shell line as systemd hands it to sh ($$ is $), the exporter replaced by echo.
    local cmd out
    cmd=$(sed -n 's/^ExecStart=//p' "$UNIT" | sed -e 's/\$\$/$/g' -e 's|/usr/sbin/kvmlockstat|echo|' \
        -e "s|/etc/kvmlockstat/web-config.yml|$T/unit/web-config.yml|")
    out=$(KVMLOCKSTAT_LISTEN=:9477 KVMLOCKSTAT_OPTS="--per-vcpu --grace 60" eval "$cmd")
    check "unit without /etc/kvmlockstat/web-config.yml: plain options ($out)" \
        test "$out" = "exporter --listen :9477 --per-vcpu --grace 60"
    touch "$T/unit/web-config.yml"
    out=$(KVMLOCKSTAT_LISTEN=:9477 KVMLOCKSTAT_OPTS="--per-vcpu" eval "$cmd")
    check "unit with the file: --web-config it ($out)" \
        test "$out" = "exporter --listen :9477 --web-config $T/unit/web-config.yml --per-vcpu"
    check "unit re-reads the web config on systemctl reload (SIGHUP)" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$UNIT"
    check "unit is hardened as the issue asks" sh -c "grep -qx 'CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_SYS_RESOURCE' '$UNIT' \
        && grep -qx NoNewPrivileges=yes '$UNIT' && grep -qx ProtectSystem=strict '$UNIT'"
}

# Prometheus from Debian, on loopback, scraping the exporter every second with a shipped
# config (default $SCRAPE); the TLS one takes the test's certificates and password file.
start_prometheus() {
    local target=$1
    pport=$(free_port)
    sed -e "s/scrape_interval: 15s/scrape_interval: 1s/; s/scrape_timeout: 10s/scrape_timeout: 1s/" \
        -e "s/- [a-z0-9.-]*:9477\$/- 127.0.0.1:$target/" -e "s|/etc/prometheus/kvmlockstat/|$T/tls/|" \
        -e "s/# \(cert_file\|key_file\):/\1:/" "${2:-$SCRAPE}" > "$T/prometheus.yml"
    prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom-$pport" \
        --web.listen-address="127.0.0.1:$pport" --log.level=warn > "$T/prometheus.log" 2>&1 &
    ppid_=$!
    started+=("$ppid_")
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$pport/-/ready" > /dev/null && return 0
        sleep 0.1
    done
    return 1
}

promql() {  # promql EXPR [TIME]: the API's JSON answer
    curl -sf --max-time 10 "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" \
        ${2:+--data-urlencode "time=$2"}
}

# The exporter's mmu_lock address (hex) for a VMM pid, from its own lock_infos map; the key
# is read from its bytes (little-endian: x86 and arm64), since jq rounds 64-bit numbers.
lock_addr_of() {
    local id
    for id in $(sed -n 's/^map://p' "$2"); do
        bpftool map show id "$id" -j 2>/dev/null | jq -e '.name == "lock_infos"' > /dev/null || continue
        bpftool map dump id "$id" -j | jq -r --argjson p "$1" \
            '.[] | select(.formatted.value.vmm_pid == $p and .formatted.value.is_mmu_lock == 1)
             | .key | reverse | map(ltrimstr("0x")) | join("")' | head -1
    done
}

test_against_prometheus() {
    local port ids cpid ours kernel addr prev=0 mono=1 v tend
    port=$(free_port)
    # The unit's capabilities only: what the service would have.
    if ! start_exporter main setpriv --bounding-set="-all,$CAPS" -- "$K" exporter \
        --listen "127.0.0.1:$port" --interval 1 --grace 6; then
        fail "exporter starts with the unit's capabilities ($CAPS)"; sed 's/^/  /' "$T/main.log"; return
    fi
    pass "exporter starts with only the unit's capabilities ($CAPS)"
    local main=$epid
    bpf_ids "$main" > "$T/main.ids"
    scrape "$port" > "$T/idle.txt"
    check "serves /metrics before any VM of ours runs" grep -q '^kvmlockstat_probe_up{family="lock",probe="contention"} 1' "$T/idle.txt"
    out=$("$K" exporter --listen "127.0.0.1:$port" 2>&1)
    check "port in use: exit 1, one line" sh -c "[ $? = 1 ] && printf '%s' \"\$1\" | grep -q 'cannot listen on 127.0.0.1:$port: Address already in use'" _ "$out"
    if ! start_prometheus "$port"; then
        fail "prometheus starts"; sed 's/^/  /' "$T/prometheus.log" | tail -5; return
    fi
    pass "prometheus serves on 127.0.0.1:$pport"
    # The kernel's own count of waits (tests/lib.sh): perf's events on before contend starts.
    perf_lock_start "$T" || { fail "perf record starts"; stop_exporter "$main" "$T/main.ids" "main exporter" main; return; }
    started+=("$PERF_PID")
    "$C" -s 12 -m 64 -g 3 -z 3 > "$T/contend.out" 2>&1 &
    local cj=$!
    started+=("$cj")
    for _ in $(seq 100); do grep -q "vm ready" "$T/contend.out" && break; sleep 0.1; done
    cpid=$(sed -n 's/^contend: pid \([0-9]*\) vm ready.*/\1/p' "$T/contend.out")
    check "contend runs a VM (pid ${cpid:-none})" test -n "$cpid"
    [ -n "$cpid" ] || return
    while kill -0 "$cj" 2>/dev/null; do
        scrape "$port" > "$T/during.txt" || break
        v=$(vm_sum "$T/during.txt" kvmlockstat_mmu_lock_contentions_total "$cpid")
        [ "$v" -lt "$prev" ] && mono=0
        prev=$v
        sleep 1
    done
    wait "$cj"
    tend=$(date +%s.%N)
    check "counter never went back across scrapes and drains (last $prev)" test "$mono" = 1
    settled_scrape "$port" "$cpid"
    perf_lock_waits "$T" pid "$cpid" > "$T/perf-waits" || echo "  perf lost events (its count may be short)"
    # A starved host can leave contend without a single contended lock: then nothing to compare.
    if [ ! -s "$T/perf-waits" ] && ! grep -q "vm_pid=\"$cpid\"" "$T/final.txt"; then
        skip "VM checks: contend's threads waited on no lock in 12 s (perf saw none; host too loaded)"
        kill -TERM "$ppid_"; wait "$ppid_" 2>/dev/null
        stop_exporter "$main" "$T/main.ids" "main exporter" main
        return
    fi
    check "promtool check metrics passes on the exposition" sh -c "promtool check metrics < '$T/during.txt'"
    check "the VM is named after its process" grep -q "vm_pid=\"$cpid\",vm_name=\"contend\"" "$T/final.txt"
    check "wait histogram: +Inf bucket = _count" awk -v p="vm_pid=\"$cpid\"" '
        index($0, p) && /_wait_seconds_bucket/ && /le="\+Inf"/ { inf[$0 ~ /mode="write"/] = $2 }
        index($0, p) && /_wait_seconds_count/ { cnt[$0 ~ /mode="write"/] = $2 }
        END { exit !(inf[1] == cnt[1] && cnt[1] > 0) }' "$T/final.txt"
    ours=$(vm_sum "$T/final.txt" kvmlockstat_mmu_lock_contentions_total "$cpid")
    check "without CAP_SYSLOG (kallsyms reads 0): waiter paths left out, probe_up says so" sh -c \
        "grep -q '^kvmlockstat_probe_up{family=\"lock\",probe=\"symbols\"} 0' '$T/final.txt' && ! grep -q path_contentions '$T/final.txt'"
    addr=$(lock_addr_of "$cpid" "$T/main.ids")
    kernel=$(awk -v l="0x${addr:-none}" '$1 == l "" { print $2 }' "$T/perf-waits")
    if [ -n "$addr" ] && [ "${kernel:-0}" -gt 0 ] && [ "$ours" -gt 0 ] &&
        awk -v o="$ours" -v k="$kernel" 'BEGIN { d = o - k; if (d < 0) d = -d; exit !(d * 100 <= k) }'; then
        pass "contentions counted = perf's count of waits on its mmu_lock within 1% (exporter $ours, perf $kernel)"
    else
        fail "contentions vs kernel: exporter ${ours:-none}, perf ${kernel:-none} for lock ${addr:-unknown}"
    fi
    # The highest 15 s rate during the run, per series (a loaded host contends in bursts).
    promql "max_over_time(rate(kvmlockstat_mmu_lock_contentions_total{mode=\"write\"}[15s])[30s:1s])" "$tend" > "$T/rate.json"
    v=$(jq -r --arg p "$cpid" '.data.result[] | select(.metric.vm_pid == $p) | .value[1]' "$T/rate.json" 2>/dev/null)
    check "PromQL rate(kvmlockstat_mmu_lock_contentions_total[15s]) for vm_pid $cpid is non-zero (peak ${v:-none}/s)" \
        awk -v v="${v:-0}" 'BEGIN { exit !(v > 0) }'
    local bad=0 expr
    while read -r expr; do
        expr=${expr//\$__rate_interval/10s}; expr=${expr//\$instance/.*}; expr=${expr//\$vm/.*}
        promql "$expr" "$tend" | jq -e '.status == "success"' > /dev/null || { bad=1; echo "  bad: $expr"; }
    done < <(jq -r '.panels[].targets[].expr' "$DASH")
    check "every dashboard query evaluates in Prometheus" test "$bad" = 0
    v=$(promql "count_over_time(up{job=\"kvmlockstat\"}[30s])" "$tend" | jq -r '.data.result[0].value[1]')
    echo "  prometheus: ${v:-no} scrapes in the last 30 s of the run"
    v=$(promql "sum(increase(kvmlockstat_mmu_lock_contentions_total{vm_pid=\"$cpid\"}[30s]))" "$tend" | jq -r '.data.result[0].value[1]')
    check "Prometheus stored the VM's contentions (increase over the run: ${v:-none})" awk -v v="${v:-0}" 'BEGIN { exit !(v > 0) }'
    # --grace 6: the exited VM's series go 6 s after a drain saw it gone (allow 20 s on a loaded host).
    for _ in $(seq 40); do
        scrape "$port" > "$T/after.txt"
        grep -q "vm_pid=\"$cpid\"" "$T/after.txt" || break
        sleep 0.5
    done
    # (contend may close its VM fd up to a drain interval before it exits: 1 s of slack)
    v=$(date +%s.%N)
    check "the VM's series stayed for the grace period (gone $(awk -v a="$v" -v b="$tend" 'BEGIN { printf "%.1f", a - b }') s after contend)" \
        awk -v a="$v" -v b="$tend" 'BEGIN { exit !(a - b >= 5) }'
    check "exited VM dropped after the grace period" sh -c "! grep -q 'vm_pid=\"$cpid\"' '$T/after.txt' && \
        awk '/^kvmlockstat_vms_dropped_total/ { exit !(\$2 >= 1) }' '$T/after.txt'"
    kill -TERM "$ppid_"; wait "$ppid_" 2>/dev/null
    stop_exporter "$main" "$T/main.ids" "main exporter" main
}

test_clients() {
    local port fds=() fd closed=0 codes
    port=$(free_port)
    if ! start_exporter clients "$K" exporter --listen "127.0.0.1:$port" --per-vcpu --timeout 2 --threads 4; then
        fail "exporter (--per-vcpu --timeout 2) starts"; return
    fi
    local pid=$epid
    bpf_ids "$pid" > "$T/clients.ids"
    for _ in $(seq 20); do exec {fd}<>"/dev/tcp/127.0.0.1/$port" && fds+=("$fd"); done
    check "20 clients connected and silent: a scrape still answers" sh -c "curl -sf --max-time 5 http://127.0.0.1:$port/metrics | grep -q build_info"
    sleep 3
    for fd in "${fds[@]}"; do
        timeout 3 cat <&"$fd" > /dev/null && closed=$((closed + 1))
        exec {fd}<&-
    done
    check "silent clients closed by the server after --timeout ($closed of ${#fds[@]})" test "$closed" = "${#fds[@]}"
    local start=$SECONDS curls=()
    for i in $(seq 200); do
        curl -s --max-time 20 -o "$T/p.$i" -w '%{http_code}\n' "http://127.0.0.1:$port/metrics" > "$T/code.$i" &
        curls+=("$!")
    done
    wait "${curls[@]}"
    codes=$(cat "$T"/code.* | sort | uniq -c | tr -s ' ')
    check "200 parallel scrapes all answered 200 in $((SECONDS - start)) s (${codes})" test "$(cat "$T"/code.* | grep -cx 200)" = 200
    check "every parallel scrape complete (ends with build_info)" \
        sh -c "for f in '$T'/p.*; do tail -1 \"\$f\" | grep -q '^kvmlockstat_build_info' || exit 1; done"
    check "promtool check metrics passes with --per-vcpu" sh -c "promtool check metrics < '$T/p.1'"
    # Full root here: kallsyms names each wait's path.
    local cpid2
    if [ -n "$kvm_ok" ]; then
        "$C" -s 6 -m 64 -g 3 -z 3 > "$T/contend2.out" 2>&1
        cpid2=$(sed -n 's/^contend: pid \([0-9]*\) vm ready.*/\1/p' "$T/contend2.out")
        settled_scrape "$port" "$cpid2"
    fi
    if [ -z "$kvm_ok" ]; then
        skip "waiter paths of a real VM: no usable /dev/kvm"
    elif [ "$(vm_sum "$T/final.txt" kvmlockstat_mmu_lock_contentions_total "$cpid2")" = 0 ]; then
        skip "waiter paths: this contend run contended on nothing in 6 s (host too loaded)"
    else
        v=$(vm_sum "$T/final.txt" kvmlockstat_mmu_lock_path_contentions_total "$cpid2")
        check "waits by waiter's path add up to the contentions ($v = $(vm_sum "$T/final.txt" kvmlockstat_mmu_lock_contentions_total "$cpid2"))" \
            test "$v" = "$(vm_sum "$T/final.txt" kvmlockstat_mmu_lock_contentions_total "$cpid2")" -a "$v" -gt 0
        local dl mn ot
        dl=$(path_count "$cpid2" dirty_log) mn=$(path_count "$cpid2" mmu_notifier) ot=$(path_count "$cpid2" other)
        check "contend's writers named (dirty_log $dl, mmu_notifier $mn, other $ot of $v)" \
            test $((dl + mn)) -gt 0 -a $((ot * 10)) -le "$v"
    fi
    check "HTTP: other paths 404, POST 405" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/x) = 404 ] && \
        [ \$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:$port/metrics) = 405 ]"
    # SIGTERM while scrapes are in flight and a silent client is connected.
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    curls=()
    for i in $(seq 100); do
        curl -s --max-time 10 -o /dev/null "http://127.0.0.1:$port/metrics" &
        curls+=("$!")
    done
    sleep 0.05
    stop_exporter "$pid" "$T/clients.ids" "SIGTERM during scrapes" clients
    exec {fd}<&-
    start=$SECONDS
    wait "${curls[@]}"
    check "no client left hanging after the stop ($((SECONDS - start)) s)" test $((SECONDS - start)) -lt 10
}

# A CA, the exporter's certificate for 127.0.0.1, Prometheus's client certificate signed by
# the CA and a self-signed one no CA vouches for: made by openssl here, never committed.
make_certs() {
    local d=$T/tls
    mkdir -p "$d" && chmod 700 "$d" || return 1
    newkey() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/$1.key" "${@:2}"; }
    signed() { openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -copy_extensions copy -out "$d/$1.crt"; }
    {
        newkey ca -x509 -days 2 -subj /CN=kvmlockstat-test-ca -out "$d/ca.crt" &&
        newkey server -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -out "$d/server.csr" &&
        signed server && newkey prometheus -subj /CN=prometheus -out "$d/prometheus.csr" && signed prometheus &&
        newkey rogue -x509 -days 2 -subj /CN=prometheus -out "$d/rogue.crt"
    } > "$d/openssl.log" 2>&1 || return 1
    chmod 600 "$d"/*.key
}

# web_config FILE PASSWORD [CLIENT_AUTH_TYPE]: the test's TLS (paths relative to the file) and
# user prometheus; promtool must accept it (every file a test serves with is checked).
web_config() {
    {
        printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n'
        [ -n "${3:-}" ] && printf '  client_auth_type: %s\n  client_ca_file: ca.crt\n' "$3"
        printf 'basic_auth_users:\n  prometheus: %s\n' "$(htpasswd -nbB prometheus "$2" | cut -d: -f2-)"
    } > "$1.new" && mv "$1.new" "$1"
    web_configs=$((web_configs + 1))
    promtool check web-config "$1" > /dev/null 2>&1 || promtool_refused+=("$1 (${3:-})")
}

# fetch URL CURL_ARGS...: the status (000: no HTTP answer), the body in $T/body.
fetch() {
    local url=$1
    shift
    : > "$T/body"
    curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "$@" "$url"
}
https_get() { local port=$1; shift; fetch "https://127.0.0.1:$port/metrics" --cacert "$T/tls/ca.crt" "$@"; }
no_metrics() { ! grep -q '^kvmlockstat_' "$T/body"; }
refused() { [ "$1" != 200 ] && no_metrics; }
served() { [ "$1" = 200 ] && grep -q '^kvmlockstat_build_info' "$T/body"; }

# reload PID LOGNAME: SIGHUP, then the log's next --web-config line (up to 10 s).
reload() {
    local n
    n=$(grep -c -- '--web-config' "$T/$2.log")
    kill -HUP "$1"
    for _ in $(seq 100); do
        [ "$(grep -c -- '--web-config' "$T/$2.log")" -gt "$n" ] && break
        sleep 0.1
    done
    grep -- '--web-config' "$T/$2.log" | tail -1
}

# promql_wait EXPR: until the query has a result (up to 30 s); its JSON in $T/q.json.
promql_wait() {
    for _ in $(seq 60); do
        promql "$1" > "$T/q.json" && jq -e '.data.result | length > 0' "$T/q.json" > /dev/null && return 0
        sleep 0.5
    done
    return 1
}

test_web_config_invalid() {
    local d=$T/tls f out rc key
    # file|the key its one line must name
    while IFS='|' read -r f key; do
        case $f in
        bad-key) printf 'tls_server_config:\n  cert_fil: server.crt\n  key_file: server.key\n' ;;
        missing-cert) printf 'tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n' ;;
        bad-hash) printf 'basic_auth_users:\n  prometheus: $2y$05$notabcrypthash\n' ;;
        wrong-key) printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: prometheus.key\n' ;;
        bad-auth-type) printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Sometimes\n' ;;
        esac > "$d/$f.yml"
        out=$("$K" exporter --listen "127.0.0.1:$(free_port)" --web-config "$d/$f.yml" 2>&1)
        rc=$?
        check "invalid web config ($f): exit $rc, one line naming $key: $out" \
            sh -c "[ $rc -ne 0 ] && [ $rc -lt 128 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && printf '%s' \"\$1\" | grep -qF '$key: '" _ "$out"
        check "promtool check web-config refuses it too ($f)" sh -c "! promtool check web-config '$d/$f.yml' > /dev/null 2>&1"
    done <<'LIST'
bad-key|tls_server_config.cert_fil
missing-cert|tls_server_config.cert_file
bad-hash|basic_auth_users.prometheus
wrong-key|tls_server_config.key_file
bad-auth-type|tls_server_config.client_auth_type
LIST
}

# The exporter with the unit's capabilities behind TLS and basic auth, scraped by Prometheus
# with the shipped TLS scrape config; then what it refuses, and reloads that swap the
# password and then ask for client certificates, without detaching a probe.
test_tls() {
    local wc=$T/tls/web.yml port pid code v
    port=$(free_port)
    web_config "$wc" first-secret
    printf 'first-secret\n' > "$T/tls/password"
    if ! start_exporter tls setpriv --bounding-set="-all,$CAPS" -- "$K" exporter \
        --listen "127.0.0.1:$port" --web-config "$wc"; then
        fail "exporter starts with --web-config and the unit's capabilities"
        sed 's/^/  /' "$T/tls.log"; return
    fi
    pid=$epid
    check "the unit's capabilities read a key readable by root only (mode $(stat -c '%a, %U' "$T/tls/server.key")); serves https" \
        grep -q "serving https://127.0.0.1:$port/metrics" "$T/tls.log"
    bpf_ids "$pid" > "$T/tls.ids"
    ppid_=
    if start_prometheus "$port" "$TLS_SCRAPE"; then
        if promql_wait 'kvmlockstat_probe_up{job="kvmlockstat"}'; then
            pass "Prometheus scrapes over TLS with basic_auth: PromQL has $(jq '.data.result | length' "$T/q.json") kvmlockstat_probe_up series"
        else
            fail "Prometheus scrapes over TLS with basic_auth (no kvmlockstat_probe_up series in 30 s)"
            promql 'up' | jq -c '.data.result[] | [.metric.instance, .value[1]]' | sed 's/^/  up: /'
        fi
    else
        fail "prometheus starts with the TLS scrape config"; sed 's/^/  /' "$T/prometheus.log" | tail -5
    fi
    code=$(https_get "$port" -u prometheus:wrong)
    check "wrong password: 401 and no metrics (got $code)" sh -c "[ $code = 401 ] && ! grep -q '^kvmlockstat_' '$T/body'"
    code=$(https_get "$port")
    check "no credentials: 401 and no metrics (got $code)" sh -c "[ $code = 401 ] && ! grep -q '^kvmlockstat_' '$T/body'"
    code=$(fetch "http://127.0.0.1:$port/metrics")
    check "plain HTTP to the TLS port: no metrics (HTTP status $code)" no_metrics
    code=$(https_get "$port" -u prometheus:first-secret)
    check "right password over TLS: served (got $code)" served "$code"

    web_config "$wc" second-secret
    v=$(reload "$pid" tls)
    check "SIGHUP re-reads the file ($v)" sh -c "printf '%s' \"\$1\" | grep -q 're-read: 1 user'" _ "$v"
    code=$(https_get "$port" -u prometheus:first-secret)
    check "after the reload the old password is refused (got $code)" sh -c "[ $code = 401 ] && ! grep -q '^kvmlockstat_' '$T/body'"
    code=$(https_get "$port" -u prometheus:second-secret)
    check "after the reload the new password is served (got $code)" served "$code"
    printf 'tls_server_config:\n  cert_fil: server.crt\n' > "$wc"
    v=$(reload "$pid" tls)
    check "a bad file on reload is refused and the old one kept: $v" \
        sh -c "printf '%s' \"\$1\" | grep -q 'cert_fil: unknown key; keeping the previous one'" _ "$v"
    code=$(https_get "$port" -u prometheus:second-secret)
    check "and the kept one still serves (got $code)" served "$code"

    printf 'second-secret\n' > "$T/tls/password"
    web_config "$wc" second-secret RequireAndVerifyClientCert
    v=$(reload "$pid" tls)
    check "reload to RequireAndVerifyClientCert restarts the server on the same socket ($v)" \
        sh -c "printf '%s' \"\$1\" | grep -q 'server restarted'" _ "$v"
    code=$(https_get "$port" -u prometheus:second-secret)
    check "RequireAndVerifyClientCert: a client without a certificate is refused (got $code)" refused "$code"
    code=$(https_get "$port" -u prometheus:second-secret --cert "$T/tls/rogue.crt" --key "$T/tls/rogue.key")
    check "RequireAndVerifyClientCert: a self-signed certificate is refused (got $code)" refused "$code"
    code=$(https_get "$port" -u prometheus:second-secret --cert "$T/tls/prometheus.crt" --key "$T/tls/prometheus.key")
    check "RequireAndVerifyClientCert: a certificate signed by the CA is served (got $code)" served "$code"
    if [ -n "$ppid_" ]; then
        sleep 4
        v=$(promql 'max_over_time(up{job="kvmlockstat"}[3s])' | jq -r '.data.result[0].value[1]')
        check "Prometheus, with its CA-signed certificate, scrapes the restarted server (up in the last 3 s: ${v:-none})" test "$v" = 1
        kill -TERM "$ppid_"; wait "$ppid_" 2>/dev/null
    fi
    web_config "$wc" second-secret RequireAnyClientCert
    reload "$pid" tls > /dev/null
    code=$(https_get "$port" -u prometheus:second-secret --cert "$T/tls/rogue.crt" --key "$T/tls/rogue.key")
    check "RequireAnyClientCert: a self-signed certificate is served (got $code)" served "$code"
    code=$(https_get "$port" -u prometheus:second-secret)
    check "RequireAnyClientCert: a client without a certificate is refused (got $code)" refused "$code"
    bpf_ids "$pid" > "$T/tls.ids.after"
    check "reloads detached no probe: the same BPF programs, links and maps ($(grep -c . "$T/tls.ids"))" \
        cmp -s "$T/tls.ids" "$T/tls.ids.after"
    check "promtool check web-config accepts every file the tests served with ($web_configs; refused: ${promtool_refused[*]:-none})" \
        test "${#promtool_refused[@]}" = 0 -a "$web_configs" -ge 3
    stop_exporter "$pid" "$T/tls.ids" "TLS exporter" tls
}

# slow_client PORT: a request a byte every 0.2 s (about 50 s in all); prints the seconds until
# the server cut it off and keeps what came back in $T/slow.out; fails if never cut off.
slow_client() {
    local fd t0 rc req
    req=$'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: '"$(printf 'a%.0s' $(seq 200))"$'\r\n\r\n'
    exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
    t0=$(date +%s.%N)
    (
        trap '' PIPE
        for ((i = 0; i < ${#req}; i++)); do
            printf '%s' "${req:i:1}" >&"$fd" 2> /dev/null || exit 0
            sleep 0.2
            read -r -t 0 -u "$fd" && exit 0    # readable: the server's end (or an answer)
        done
        exit 1
    )
    rc=$?
    awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'
    timeout 2 cat <&"$fd" > "$T/slow.out" 2> /dev/null
    exec {fd}<&-
    return $rc
}

test_limits() {
    local port pid fds=() fd t code
    port=$(free_port)
    if ! start_exporter limits "$K" exporter --listen "127.0.0.1:$port" --timeout 4 --max-connections 4; then
        fail "exporter (--timeout 4 --max-connections 4) starts"; return
    fi
    pid=$epid
    bpf_ids "$pid" > "$T/limits.ids"
    # libmicrohttpd's own timeout restarts at every byte: this is the deadline's doing.
    t=$(slow_client "$port")
    check "a client sending its headers a byte every 0.2 s is cut off within --timeout 4 (after ${t:-never} s), no metrics" \
        sh -c "[ -n '$t' ] && awk -v t='$t' 'BEGIN { exit !(t <= 5) }' && ! grep -q kvmlockstat_ '$T/slow.out'"
    for _ in 1 2 3 4; do exec {fd}<>"/dev/tcp/127.0.0.1/$port" && fds+=("$fd"); done
    code=$(fetch "http://127.0.0.1:$port/metrics" --max-time 2)
    check "--max-connections 4 with 4 silent clients: a 5th gets nothing (HTTP status $code)" refused "$code"
    for fd in "${fds[@]}"; do exec {fd}<&-; done
    code=$(fetch "http://127.0.0.1:$port/metrics")
    check "once they close, it is served (got $code)" served "$code"
    code=$(fetch "http://127.0.0.1:$port/metrics" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)")
    check "headers of 20 kB: 431 and no metrics (got $code)" sh -c "[ $code = 431 ] && ! grep -q kvmlockstat_ '$T/body'"
    code=$(fetch "http://127.0.0.1:$port/metrics?$(head -c 20000 /dev/zero | tr '\0' a)")
    check "a request line of 20 kB: 414 and no metrics (got $code)" sh -c "[ $code = 414 ] && ! grep -q kvmlockstat_ '$T/body'"
    code=$(fetch "http://127.0.0.1:$port/metrics" -H "X-Big: $(head -c 8000 /dev/zero | tr '\0' a)")
    check "headers of 8 kB are still served (got $code)" served "$code"
    stop_exporter "$pid" "$T/limits.ids" "limits exporter" limits
}

if [ "$(id -u)" != 0 ]; then
    skip "exporter: needs root to load BPF programs"
    finish; exit
fi
for tool in curl promtool prometheus bpftool jq setpriv perf openssl htpasswd; do
    command -v $tool > /dev/null || { fail "$tool missing (scripts/setup.sh installs it)"; finish; exit; }
done
test_bad_input
test_contrib
kvm_ok=
[ -c /dev/kvm ] && "$C" -s 1 -m 8 > /dev/null 2>&1 && kvm_ok=1
if [ -n "$kvm_ok" ]; then
    test_against_prometheus
else
    skip "exporter against a real VM: no usable /dev/kvm here (contend cannot create a VM)"
fi
test_clients
web_configs=0 promtool_refused=()
if make_certs; then
    test_web_config_invalid
    test_tls
else
    fail "openssl makes the test's certificates"; sed 's/^/  /' "$T/tls/openssl.log"
fi
test_limits
finish
