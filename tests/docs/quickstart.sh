#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# quickstart.sh [BUILD]: runs the README's quick start as written. The commands it runs are
# the fenced blocks whose info string is "sh check" (the README marks them; nothing here
# names a command). The blocks run in order, in one shell, in a scratch directory where
# build/ is this tree's build output and on PATH (so `kvmlockstat` and `build/contend`
# resolve as they do for a user in the source tree). A command that fails stops the run
# and names the block and the command. Needs root and /dev/kvm (contend's VM).
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
B=$(realpath "${1:-build}")
SUITE=quickstart
. tests/lib.sh
README=${README:-README.md}

# blocks: each "sh check" block's lines, then a line "#@end N FIRST-COMMENT".
blocks() {
    awk '/^```sh check *$/ { on = 1; n++; title = ""; next }
         on && /^```/ { on = 0; print "#@end " n " " title; next }
         on { if (title == "" && $0 ~ /^# /) title = substr($0, 3); print }' "$README"
}
nblocks=$(blocks | grep -c '^#@end ')
[ "$nblocks" -gt 0 ] || { fail "$README has no \`\`\`sh check block"; finish; exit; }
[ "$(id -u)" = 0 ] || { skip "quick start ($nblocks blocks): needs root"; finish; exit; }
[ -c /dev/kvm ] && [ -r /dev/kvm ] ||
    { skip "quick start ($nblocks blocks): no usable /dev/kvm for contend's VM"; finish; exit; }
for f in kvmlockstat contend; do
    [ -x "$B/$f" ] || { fail "$B/$f not built (make all)"; finish; exit; }
done

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ln -s "$B" "$T/build"
{
    echo 'set -eE -o pipefail'
    echo 'trap '\''echo "FAIL: block $BLOCK: \"$BASH_COMMAND\" exited $?"'\'' ERR'
    echo 'trap '\''trap - ERR; kill $(jobs -p) 2>/dev/null; wait'\'' EXIT'
    echo 'BLOCK=1'
    blocks | awk '/^#@end / { n = $2; $1 = $2 = ""; sub(/^ +/, "");
                             printf "echo \"PASS: block %d: %s\"\nBLOCK=%d\n", n, $0, n + 1; next } { print }'
} > "$T/quickstart.sh"
(cd "$T" && PATH=$T/build:$PATH timeout 600 bash "$T/quickstart.sh") > "$T/out" 2>&1
rc=$?
grep -E '^(PASS|FAIL): ' "$T/out" | while read -r what rest; do echo "$what $rest"; done
passed=$(grep -c '^PASS: ' "$T/out")
failed=$(grep -c '^FAIL: ' "$T/out")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    fail "quick start exited $rc (timeout or signal): $(tail -5 "$T/out" | tr '\n' ' ')"
elif [ "$failed" -gt 0 ]; then
    echo "--- output of the failing run (last 30 lines):"; tail -30 "$T/out"
fi
[ "$passed" -eq "$nblocks" ] || [ "$failed" -gt 0 ] ||
    fail "only $passed of $nblocks blocks ran"
finish
