#!/bin/bash
# setup.sh: installs, from Debian's packages, everything kvmlockstat needs to build,
# test and run its demo and labs. Idempotent; needs root. Nothing else is assumed.
#   scripts/setup.sh          host tools + both labs' packages
#   SETUP_LABS=0 scripts/setup.sh   host tools only
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/.."

[ "$(id -u)" = 0 ] || { echo "setup: run as root (apt-get install)" >&2; exit 1; }

host_pkgs=(
    make gcc clang llvm pkg-config          # build: clang -target bpf, llvm-strip
    libbpf-dev bpftool                      # libbpf + skeleton generator
    libelf-dev zlib1g-dev libzstd-dev       # libbpf's dependencies (static builds too)
    libjson-c-dev                           # the JSON record
    libcmocka-dev                           # unit tests
    linux-perf                              # perf report/script on our perf.data; cross-checks
    gnuplot-nox                             # kvmlockstat plot
    jq                                      # test assertions on JSON records
    util-linux procps                       # setpriv, ps in tests
    git                                     # version (git describe); the fresh test's clone
    libclang-rt-14-dev                      # fuzz: libFuzzer + sanitizer runtimes (only Recommended by clang)
    build-essential debhelper dpkg-dev      # make deb: dpkg-buildpackage (checks build-essential), dh
    lintian man-db                          # make deb: lintian; man -w
    bash-completion                         # the completion the package ships, tested by the fresh test
    debootstrap                             # the fresh-system test's Debian 12 root
    libmicrohttpd-dev prometheus curl       # kvmlockstat exporter: HTTP server; its test's scraper
    libgnutls28-dev libyaml-dev libcrypt-dev # exporter --web-config: TLS, the YAML file, bcrypt
    openssl apache2-utils                   # exporter tests: certificates, htpasswd -B hashes
)

missing=()
for p in "${host_pkgs[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -q -o DPkg::Lock::Timeout=900 >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=900 \
        --no-install-recommends "${missing[@]}" >&2
fi

if [ "${SETUP_LABS:-1}" = 1 ]; then
    scripts/lab/deps.sh all
    [ -x scripts/kernel/deps.sh ] && scripts/kernel/deps.sh
fi
echo "setup: ok" >&2
