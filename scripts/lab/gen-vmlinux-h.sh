#!/bin/bash
# gen-vmlinux-h.sh: regenerate vmlinux/arm64/vmlinux.h from the BTF of the arm64 lab
# kernel (Debian's stock 6.1, fetched by deps.sh). CO-RE relocates against each running
# kernel's BTF, so this header only has to name the types; 6.1 is the oldest we target.
set -euo pipefail
cache=${LAB_CACHE:-build/lab-cache}
image=$(ls "$cache"/root-arm64/kernel/boot/vmlinuz-* | head -1)
btf=$cache/vmlinux-arm64.btf
python3 "$(dirname "$0")/extract-btf.py" "$image" "$btf"
mkdir -p vmlinux/arm64
bpftool btf dump file "$btf" format c > vmlinux/arm64/vmlinux.h.tmp
mv vmlinux/arm64/vmlinux.h.tmp vmlinux/arm64/vmlinux.h
echo "vmlinux/arm64/vmlinux.h from $(basename "$image"): $(wc -l < vmlinux/arm64/vmlinux.h) lines"
