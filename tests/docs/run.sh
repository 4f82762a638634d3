#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh [BUILD]: the docs suite. Options in --help, the man pages and the completion agree
# (options.sh); links and make targets in README.md and docs/ exist (links.sh); the README's
# quick start runs (quickstart.sh, root and /dev/kvm). One closing "N passed" line.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
B=${1:-build}
p=0 f=0 s=0
for t in options links quickstart; do
    out=$(tests/docs/$t.sh "$B" 2>&1); rc=$?
    echo "$out" | grep -v -E '^[a-z]+: [0-9]+ passed'
    line=$(echo "$out" | grep -E '^[a-z]+: [0-9]+ passed' | tail -1)
    read -r tp tf ts < <(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/' <<< "$line")
    [ -n "$line" ] || { echo "FAIL: tests/docs/$t.sh ended without a summary (exit $rc)"; tf=1 tp=0 ts=0; }
    [ "$rc" -ne 0 ] && [ "$tf" -eq 0 ] && tf=1
    p=$((p + tp)) f=$((f + tf)) s=$((s + ts))
done
echo "docs: $p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
