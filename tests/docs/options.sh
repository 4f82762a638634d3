#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# options.sh [BUILD]: the man pages are the one source for options. Every option and
# subcommand that --help shows (kvmlockstat, each subcommand, kvm-dirtylog) must be in the
# man page and in the bash completion, and every one the man page or the completion names
# must be in --help. The completion is asked by running it (bash-completion loaded), the
# man page is read from its .TP entries and .SS headings. Needs no root.
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
B=${1:-build}
SUITE=options
. tests/lib.sh
K=$B/kvmlockstat D=$B/kvm-dirtylog
COMPLETION=completion/kvmlockstat

# Option words of a text: -x and --long (=ARG and punctuation dropped), one a line, sorted.
opt_words() { grep -oE '(^|[^-[:alnum:]])--?[[:alnum:]?][-[:alnum:]]*' | sed -E 's/^[^-]//' | sort -u; }

# argp's own options, on every subcommand; the man page documents them once.
ARGP_GENERIC='^(-\?|--help|--usage)$'

# help_opts SUB: the options `kvmlockstat SUB --help` lists (only its option lines).
help_opts() {
    local sub=$1
    {
        case $sub in
        live) "$K" --help
              # --version (-V) is taken by main before any subcommand; `kvmlockstat help` says so.
              "$K" help | grep -oE '(--version|\(-V\))' | tr -d '()' ;;
        plot) "$K" plot --help; "$K" plot --timeline x.csv --help ;;
        *) "$K" "$sub" --help ;;
        esac
    } | grep -E '^ *(-|--)[[:alnum:]?]' | sed -E 's/  +[A-Z(a-z].*//' | opt_words | grep -Ev "$ARGP_GENERIC"
}

# man_opts PAGE SECTION: option words on the line after each .TP in .SS SECTION (for live:
# .SH OPTIONS). plot gathers both of its .SS (plot and plot --timeline).
man_opts() {
    awk -v want="$2" '
        /^\.SH / { sec = ($0 ~ /^\.SH OPTIONS/) ? "live" : "" }
        /^\.SS / { s = $2; sec = s }
        /^\.TP/ { tp = 1; next }
        tp { tp = 0; if (sec == want) print }' "$1" | sed 's/\\-/-/g' | opt_words |
        grep -Ev "$ARGP_GENERIC|^--$"
}

# man_subcmds: the .SS headings under SUBCOMMANDS.
man_subcmds() {
    awk '/^\.SH / { in_sub = ($0 ~ /^\.SH SUBCOMMANDS/) } in_sub && /^\.SS / { print $2 }' \
        man/kvmlockstat.8 | sort -u
}

# complete WORDS...: what the completion offers for the last word, one a line.
complete_words() {
    bash -c '
        . /usr/share/bash-completion/bash_completion || exit 1
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        fn=$(complete -p "$1" | sed -E "s/.*-F ([^ ]+).*/\1/")
        "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@"
}
comp_opts() { complete_words "$@" | sed 's/=$//' | grep -E '^-' | grep -Ev "$ARGP_GENERIC|^--$" | sort -u; }

# same WHAT A-NAME A-LIST B-NAME B-LIST: each list names every word of the other.
same() {
    local what=$1 an=$2 a=$3 bn=$4 b=$5 only_a only_b
    only_a=$(comm -23 <(echo "$a") <(echo "$b") | tr '\n' ' ')
    only_b=$(comm -13 <(echo "$a") <(echo "$b") | tr '\n' ' ')
    if [ -z "$only_a$only_b" ]; then pass "$what: $an = $bn ($(echo ${a:-none}))"
    else fail "$what: only in $an: ${only_a:-none}; only in $bn: ${only_b:-none}"; fi
}

[ -x "$K" ] && [ -x "$D" ] || { fail "$K or $D not built (make all)"; finish; exit; }
[ -r /usr/share/bash-completion/bash_completion ] ||
    { skip "bash-completion is not installed (scripts/setup.sh installs it)"; finish; exit; }
# The parsers themselves: live has options, so an empty list means a parse broke.
[ -n "$(help_opts live)" ] && [ -n "$(man_opts man/kvmlockstat.8 live)" ] ||
    { fail "no live options read from --help or the man page: the parsers no longer fit"; finish; exit; }

# Subcommands: `kvmlockstat help`, the man page's SUBCOMMANDS, the completion's first word.
# A subcommand list may be in `kvmlockstat help` and in `--help`: a block after a line
# ending in "subcommands:" (any case), one "  NAME  what" line each.
subcmd_list() { awk 'tolower($0) ~ /subcommands:$/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }'; }
h_sub=$( { "$K" help; "$K" --help; } | subcmd_list | sort -u)
h_sub=$(printf '%s\nhelp\n' "$h_sub" | sort -u)
same "subcommands" "kvmlockstat help" "$h_sub" "man SUBCOMMANDS" "$(man_subcmds)"
same "subcommands" "kvmlockstat help" "$h_sub" "completion" "$(complete_words kvmlockstat '' | sort -u)"

for sub in $(grep -vx help <<< "$h_sub"); do
    h=$(help_opts "$sub")
    same "$sub options" "--help" "$h" "man page" "$(man_opts man/kvmlockstat.8 "$sub")"
    same "$sub options" "--help" "$h" "completion" "$(comp_opts kvmlockstat "$sub" -)"
done
# live is also what an option as first word means.
same "live options (no subcommand)" "--help" "$(help_opts live)" "completion" "$(comp_opts kvmlockstat -)"

# kvm-dirtylog: its own usage text, kvm-dirtylog(1)'s OPTIONS, its completion.
d_help=$("$D" -h 2>&1 | grep -E '^ +-' | sed -E 's/^ +(--?[[:alnum:]]+).*/\1/' | sort -u)
d_man=$(awk '/^\.SH / { on = ($0 ~ /^\.SH OPTIONS/) } /^\.TP/ { tp = 1; next } tp { tp = 0; if (on) print }' \
    man/kvm-dirtylog.1 | sed 's/\\-/-/g' | opt_words)
same "kvm-dirtylog options" "-h" "$d_help" "man page" "$d_man"
same "kvm-dirtylog options" "-h" "$d_help" "completion" "$(comp_opts kvm-dirtylog -)"
finish
