#!/bin/bash
# kernel-bpo.sh [arm64|x86_64]: Debian bookworm-backports' stock kernel (6.12) for the lab,
# fetched by kernel-fetch.sh; prints its vmlinuz path, for LAB_KERNEL=.  arm64's 6.1 has no
# BPF trampoline (fentry needs DYNAMIC_FTRACE_WITH_DIRECT_CALLS, arm64 6.4+), so there every
# function probe is a kprobe: this kernel shows what the same probes cost through fentry.
set -euo pipefail
root=$("$(dirname "$(realpath "$0")")/kernel-fetch.sh" 6.12-bpo "${1:-arm64}")
realpath "$root/vmlinuz"
