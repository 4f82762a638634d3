#!/bin/bash
# demo.sh: from a fresh machine to kvmlockstat watching a real VM's mmu_lock contend.
# Installs what is needed (scripts/setup.sh), builds, then runs contend (a VM with a
# dirty-logged memslot whose mmu_lock is made to contend) under kvmlockstat: on this
# host when it has /dev/kvm, otherwise inside the x86_64 lab (stock Debian 6.1 + KVM
# under qemu). DEMO_SECONDS sets the length of the run (default 4).
set -euo pipefail
cd "$(dirname "$(realpath "$0")")/.."
export CONTEND_SECONDS=${DEMO_SECONDS:-4}

# Only what the demo runs: the test tools come with the full scripts/setup.sh.
if [ -c /dev/kvm ] && [ -r /dev/kvm ]; then
    SETUP_FOR=demo SETUP_LABS=0 scripts/setup.sh
    make -s all build/contend
    echo "demo: a VM on this host, its mmu_lock contending for ${CONTEND_SECONDS}s" >&2
    exec build/kvmlockstat -i 1 -j build/demo.json -- build/contend -s "$CONTEND_SECONDS"
fi
echo "demo: this host has no usable /dev/kvm: running the demo in the x86_64 lab" >&2
SETUP_FOR=demo SETUP_LABS=0 scripts/setup.sh
R=build/lab/demo
LAB_ARCH=x86_64 LAB_GUEST=tests/lab/guest-mmu-lock.sh \
    LAB_RESULTS=$R scripts/lab/lab.sh
echo "demo: kvmlockstat's output inside the lab VM:" >&2
cat "$R/kvmlockstat.out"
echo "demo: the JSON record is $R/mmu_lock.json" >&2
