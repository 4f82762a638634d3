#!/bin/bash
# setup.sh: installs, from Debian's packages, everything kvmlockstat needs to build,
# test and run its demo and labs. Idempotent; needs root. Nothing else is assumed.
#   scripts/setup.sh          host tools + both labs' packages
#   SETUP_LABS=0 scripts/setup.sh   host tools only
#   SETUP_FOR=demo SETUP_LABS=0 scripts/setup.sh   only what building and running kvmlockstat needs
# No service a package brings is left enabled or running (Debian's prometheus enables
# prometheus.service): the exporter test runs the prometheus binary itself.
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/.."

[ "$(id -u)" = 0 ] || { echo "setup: run as root (apt-get install)" >&2; exit 1; }

# Building and running kvmlockstat (the demo).
run_pkgs=(
    make gcc clang llvm pkg-config          # build: clang -target bpf, llvm-strip
    libbpf-dev bpftool                      # libbpf + skeleton generator
    libelf-dev zlib1g-dev libzstd-dev       # libbpf's dependencies (static builds too)
    libjson-c-dev                           # the JSON record
    libmicrohttpd-dev                       # kvmlockstat exporter's HTTP server
    libgnutls28-dev libyaml-dev libcrypt-dev # exporter --web-config: TLS, the YAML file, bcrypt
    git                                     # version (git describe)
)
# Testing, packaging, plotting: the rest.
test_pkgs=(
    libcmocka-dev                           # unit tests
    linux-perf                              # perf report/script on our perf.data; cross-checks
    gnuplot-nox                             # kvmlockstat plot
    jq                                      # test assertions on JSON records
    util-linux procps                       # setpriv, ps in tests
    tmux                                    # the live table's test on an 80x24 terminal
    libclang-rt-14-dev                      # fuzz: libFuzzer + sanitizer runtimes (only Recommended by clang)
    build-essential debhelper dpkg-dev      # make deb: dpkg-buildpackage (checks build-essential), dh
    lintian man-db                          # make deb: lintian; man -w
    bash-completion                         # the completion the package ships, tested by the fresh test
    debootstrap                             # the fresh-system test's Debian 12 root
    prometheus curl                         # the exporter test's scraper and server
    openssl apache2-utils                   # exporter tests: certificates, htpasswd -B hashes
)
# Services of the packages above, which their maintainer scripts enable and start.
services=(prometheus.service)

host_pkgs=("${run_pkgs[@]}")
[ "${SETUP_FOR:-all}" = demo ] || host_pkgs+=("${test_pkgs[@]}")

# While installing: no service starts (policy-rc.d, unless the system has its own).
no_service_starts() {
    [ -e /usr/sbin/policy-rc.d ] && return
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
}

# After: none enabled at boot or running (systemctl works offline for enable/disable). Where
# systemd is not installed (a minimal root) the package's maintainer script still enabled the
# service through deb-systemd-helper's symlinks: the same helper, asked as that package's
# maintainer script would ask it, disables it (and so an upgrade leaves it disabled).
no_service_left() {
    local s
    for s in "${services[@]}"; do
        if command -v systemctl > /dev/null; then
            systemctl is-enabled -q "$s" 2>/dev/null || systemctl is-active -q "$s" 2>/dev/null || continue
            echo "setup: disabling $s (a package's service; the tests start what they need)" >&2
            systemctl disable -q "$s" 2>/dev/null || true
            systemctl stop "$s" 2>/dev/null || true
        elif command -v deb-systemd-helper > /dev/null; then
            export DPKG_MAINTSCRIPT_PACKAGE=${s%.service}
            deb-systemd-helper --quiet was-enabled "$s" || continue
            echo "setup: disabling $s (a package's service; the tests start what they need)" >&2
            deb-systemd-helper disable "$s" > /dev/null 2>&1 || true
        fi
    done
}

missing=()
for p in "${host_pkgs[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    no_service_starts
    apt-get update -q -o DPkg::Lock::Timeout=900 >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=900 \
        --no-install-recommends "${missing[@]}" >&2
fi
[ "${SETUP_FOR:-all}" = demo ] || no_service_left

if [ "${SETUP_LABS:-1}" = 1 ]; then
    scripts/lab/deps.sh all
    [ -x scripts/kernel/deps.sh ] && scripts/kernel/deps.sh
fi
echo "setup: ok" >&2
