#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# completion.sh: the installed bash completion, loaded the way bash-completion loads it
# (by command name), completes kvmlockstat's subcommands and option values and
# kvm-dirtylog's options. Prints PASS/FAIL lines; exits non-zero on a failure.
. /usr/share/bash-completion/bash_completion || exit 1
rc=0
# expect WANT WORDS...: completing the last word of WORDS offers WANT (among others).
expect() {
    local want=$1; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    __load_completion "$1" && $(complete -p "$1" | sed -E 's/.*-F ([^ ]+).*/\1/')
    if [[ " ${COMPREPLY[*]} " == *" $want "* ]]; then echo "PASS: '$*' completes to $want"
    else echo "FAIL: '$*' offers '${COMPREPLY[*]}', not $want"; rc=1; fi
}
expect diff kvmlockstat di
expect exporter kvmlockstat ex
expect --per-vcpu kvmlockstat exporter --per
expect tracepoint kvmlockstat --backend t
expect csv kvmlockstat diff -f c
expect --lock-functions kvmlockstat --lock
expect anonymous_thp kvm-dirtylog -s anonymous_t
exit $rc
