# SPDX-License-Identifier: GPL-2.0
# Shared by the shell test suites: PASS/FAIL/SKIP lines and the closing
# "N passed, N failed, N skipped" line CI reads. Source it, then call finish.
passed=0 failed=0 skipped=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }
# check WHAT CMD...: PASS if CMD succeeds.
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

finish() {
    echo "${SUITE:-tests}: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}
# expect_error WHAT PATTERN CMD...: CMD must fail (not crash: exit < 128) and say PATTERN.
expect_error() {
    local what=$1 pat=$2 rc out; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && grep -q -- "$pat" <<< "$out"; then
        pass "$what"
    else
        fail "$what: exit $rc, output: ${out:0:300}"
    fi
}
# jq_true JQ-ARGS...: true when the jq expression holds (jq -e), quietly.
jq_true() { jq -e "$@" > /dev/null; }
