#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bounded libFuzzer run of the JSON record reader (ASan + UBSan), seeded with
# records the tool itself wrote.   tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=fuzz
. tests/lib.sh
B=${1:-build} SECS=${2:-60}
bin=$B/tests/fuzz_record corpus=$B/fuzz-corpus
mkdir -p "$corpus"
# Seeds: the unit tests' sample record and every lab record at hand.
cp tests/fuzz/seeds/*.json "$corpus/" 2>/dev/null
find build/lab -name 'kvmlockstat-*.json' -size -200k 2>/dev/null | head -20 |
    while read -r f; do cp "$f" "$corpus/$(tr / _ <<< "$f")"; done
if "$bin" -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    "$corpus" > "$B/fuzz.log" 2>&1; then
    pass "no crash, leak or sanitizer report in ${SECS}s ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$B/fuzz.log" | grep -o '[0-9]*$') inputs)"
else
    tail -40 "$B/fuzz.log"
    fail "fuzzer found a problem (crash input saved as crash-* in $(pwd))"
fi
finish
