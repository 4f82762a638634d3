#!/usr/bin/env bash
# Make a git repository for editing the series:
#   scripts/kernel/series-repo.sh [DIR]     (default $OUT/kernel/series-repo)
# DIR gets the before tree committed as "before" (tag), then the series
# applied with `git am` on branch "series". Edit with rebase -i, then
#   git -C DIR format-patch --zero-commit --cover-letter --no-signature \
#       -o kernel-patches before..series
# (keep the existing 0000 cover letter text), then scripts/kernel/pin.sh and
# tests/kernel/series-check.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=${1:-$KBUILD/series-repo}
[[ ! -e $dir ]] || die "$dir exists; remove it first"
extract_pinned "$dir"
reverse_series "$dir"
cd "$dir"
git init -q
git config user.name "kvmlockstat kernel-patches"
git config user.email "kernel-patches@kvmlockstat.invalid"
# Debian's top-level .gitignore ignores everything ("/*"): add by force
git add -f . >/dev/null
git commit -q -m "before: $PACKAGE $VERSION with kernel-patches reverse-applied"
git tag before
git checkout -q -b series
series_patches | xargs git am -q --committer-date-is-author-date
git diff --quiet before series -- || true
log "series repo ready: $dir (before..series = $(git rev-list --count before..series) patches)"
