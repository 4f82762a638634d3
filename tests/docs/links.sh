#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# links.sh: in README.md and docs/*.md, every relative link points to a file or directory
# that exists (and a #fragment to a heading of that page), and every `make TARGET` named in
# code (spans or fenced blocks) is a target of this Makefile. Needs no root.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=links
. tests/lib.sh
pages=(README.md docs/*.md)

# anchors PAGE: GitHub's heading anchors (lower case, punctuation dropped, spaces to -).
anchors() {
    grep -E '^#{1,6} ' "$1" | sed -E 's/^#+ +//' | tr 'A-Z' 'a-z' |
        sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}

# Links outside fenced code: [text](target), not http(s)/mailto.
links() {
    awk '/^```/ { code = !code; next } !code' "$1" | grep -oE '\]\([^)]+\)' | sed -E 's/^\]\(//; s/\)$//' |
        grep -Ev '^(https?|mailto):'
}

nlinks=0 f0=$failed
for page in "${pages[@]}"; do
    [ -f "$page" ] || { fail "$page does not exist"; continue; }
    dir=$(dirname "$page")
    while read -r target; do
        [ -n "$target" ] || continue
        nlinks=$((nlinks + 1))
        file=${target%%#*} frag=
        [[ $target == *"#"* ]] && frag=${target#*#}
        path=$page
        if [ -n "$file" ]; then
            path=$(realpath -m "$dir/$file")
            [ -e "$path" ] || { fail "$page: link to $target: no such file"; continue; }
        fi
        if [ -n "$frag" ] && [[ $path == *.md ]] && ! anchors "$path" | grep -qx -- "$frag"; then
            fail "$page: link to $target: no heading #$frag in $(basename "$path")"
        fi
    done < <(links "$page")
done
if [ "$nlinks" -eq 0 ]; then fail "no relative link found in ${#pages[@]} pages: the parser no longer fits"
elif [ "$failed" -eq "$f0" ]; then pass "all $nlinks relative links in ${#pages[@]} pages resolve"; fi

# Targets: from make's own database (what `make -p` knows, rules only).
targets=$(make -qp 2>/dev/null | awk -F: '/^[a-zA-Z0-9][^$#\/\t=]*:([^=]|$)/ { print $1 }' | sort -u)
named=$( for page in "${pages[@]}"; do
        { awk '/^```/ { code = !code; next } code' "$page"          # fenced blocks
          grep -oE '`[^`]*`' "$page"; } |                            # code spans
            grep -oE '(^|[`$ ])make( +[A-Z_]+=[^ `]*)* +[a-z][-a-z0-9]*' | awk '{ print $NF }' |
            sed "s|^|$page |"
    done | sort -u )
nmake=0 f0=$failed
while read -r page t; do
    [ -n "$t" ] || continue
    nmake=$((nmake + 1))
    grep -qx -- "$t" <<< "$targets" || fail "$page: make $t: no such target"
done <<< "$named"
if [ "$nmake" -eq 0 ]; then fail "no make target found in the docs: the parser no longer fits"
elif [ "$failed" -eq "$f0" ]; then pass "all $nmake make targets named in the docs exist"; fi
finish
