#!/bin/bash
# run-unit.sh TEST...: runs cmocka test binaries, then one summary line
# "N passed, N failed" over all of them; non-zero exit if any failed.
set -uo pipefail
passed=0 failed=0
for t in "$@"; do
    out=$("$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    # cmocka's own totals: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), ..."
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | head -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | head -1)
    p=${p:-0} f=${f:-0}
    # A crash before cmocka's summary is a failure even if nothing said FAILED.
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "unit: $t exited $rc"; fi
    passed=$((passed + p)) failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
