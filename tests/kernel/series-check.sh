#!/usr/bin/env bash
# Check kernel-patches/ against the pinned tree (kernel-patches/PINNED):
#   - the installed tarball is the pinned one and extracts to the pinned tree
#   - the series reverse-applies (0003, 0002, 0001) without fuzz, giving the
#     recorded before tree, which really is "before": no KVM_HAVE_MMU_RWLOCK
#     on arm64, no rwlock operation on mmu_lock in arch/arm64/kvm, the
#     selftest without vgic
#   - applying it forward to before gives back the pinned tree byte for byte
#   - each patch is a proper format-patch mail with author and sign-off
# Prints PASS:/FAIL: lines and a last line "N passed, N failed"; exit 1 on failure.
# Needs: the pinned linux-source package (scripts/kernel/deps.sh), git. ~1 min.
set -euo pipefail
. "$(dirname "$0")/../../scripts/kernel/lib.sh"

pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { local msg=$1; shift; if "$@"; then ok "$msg"; else ko "$msg"; fi; }
finish() { echo "$pass passed, $fail failed"; [[ $fail == 0 ]]; exit $?; }

tree="$KBUILD/check/tree"

check_pinned() {
	if [[ ! -f $KP_PINNED ]]; then ko "kernel-patches/PINNED missing"; finish; fi
	ok "PINNED: $PACKAGE $VERSION ($KERNELVERSION)"
	if [[ ! -f $TARBALL ]]; then ko "$TARBALL missing: scripts/kernel/deps.sh installs $PACKAGE"; finish; fi
	local sum have
	sum=$(sha256sum "$TARBALL" | cut -d' ' -f1)
	have=$(dpkg-query -W -f='${Version}' "$PACKAGE" 2>/dev/null || echo unknown)
	if [[ $sum != "$TARBALL_SHA256" ]]; then
		ko "tarball sha256 $sum ($PACKAGE $have) is not the pinned $TARBALL_SHA256 ($VERSION); re-pin with scripts/kernel/pin.sh once the series applies"
		finish
	fi
	ok "tarball sha256 matches PINNED ($PACKAGE $have)"
}

check_mails() {
	local p n=0 total
	total=$(series_patches | wc -l)
	check "series has 3 numbered patches" [ "$total" = 3 ]
	check "cover letter 0000 present" test -f "$(ls "$KP_DIR"/0000-*.patch 2>/dev/null | head -1)"
	while read -r p; do
		n=$((n + 1))
		local b; b=$(basename "$p")
		check "$b: From: Jing Zhang, [PATCH $n/$total] subject" \
			bash -c "grep -q '^From: Jing Zhang <jingzhangos@google.com>' '$p' && grep -q '^Subject: \[PATCH $n/$total\] ' '$p'"
		check "$b: Signed-off-by and backport note (6.1.192)" \
			bash -c "grep -q '^Signed-off-by: ' '$p' && grep -q '6\.1\.192' '$p'"
	done < <(series_patches)
}

# Every patch must reverse-apply to the tree as it is at that point: check, then apply.
check_reverse() {
	local p
	while read -r p; do
		if kp_git_apply "$tree" --check -R "$p" 2>"$KBUILD/check/apply.err" &&
			kp_git_apply "$tree" -R "$p"; then
			ok "reverse-apply $(basename "$p")"
		else
			ko "reverse-apply $(basename "$p"): $(head -3 "$KBUILD/check/apply.err" | tr '\n' ' ')"
			finish
		fi
	done < <(series_patches | tac)
}

check_forward() {
	local p
	while read -r p; do
		if kp_git_apply "$tree" --check "$p" 2>"$KBUILD/check/apply.err" && kp_git_apply "$tree" "$p"; then
			ok "apply $(basename "$p")"
		else
			ko "apply $(basename "$p"): $(head -3 "$KBUILD/check/apply.err" | tr '\n' ' ')"
			finish
		fi
	done < <(series_patches)
}

files_match() { (cd "$tree" && grep -v '^$' <<<"$1" | sha256sum --quiet -c - >/dev/null 2>&1); }

# What makes "before" before, checked on the source, not on our say-so.
check_before_semantics() {
	check "before: no KVM_HAVE_MMU_RWLOCK under arch/arm64" \
		bash -c "! grep -rqw KVM_HAVE_MMU_RWLOCK '$tree/arch/arm64'"
	check "before: no read_lock/write_lock/rwlock op on mmu_lock in arch/arm64/kvm" \
		bash -c "! grep -rEq '(read|write)_(un)?lock\(&[a-z>_-]*mmu_lock\)|cond_resched_rwlock|lockdep_assert_held_write\(&[a-z>_-]*mmu_lock' '$tree/arch/arm64/kvm'"
	check "before: user_mem_abort takes spin_lock(&kvm->mmu_lock)" \
		bash -c "awk '/^static int user_mem_abort/,/^}/' '$tree/arch/arm64/kvm/mmu.c' | grep -q 'spin_lock(&kvm->mmu_lock)'"
	check "before: permission faults still relax perms (under the spinlock)" \
		grep -q 'kvm_pgtable_stage2_relax_perms(pgt, fault_ipa, prot)' "$tree/arch/arm64/kvm/mmu.c"
	check "before: dirty_log_perf_test has no vgic setup" \
		bash -c "! grep -q vgic '$tree/tools/testing/selftests/kvm/dirty_log_perf_test.c'"
}

check_after_semantics() {
	check "after: arm64 defines KVM_HAVE_MMU_RWLOCK" \
		grep -qx '#define KVM_HAVE_MMU_RWLOCK' "$tree/arch/arm64/include/asm/kvm_host.h"
	check "after: user_mem_abort takes read_lock(&kvm->mmu_lock) on the fast path" \
		bash -c "awk '/^static int user_mem_abort/,/^}/' '$tree/arch/arm64/kvm/mmu.c' | grep -q 'read_lock(&kvm->mmu_lock)'"
}

main() {
	check_pinned
	check_mails
	mkdir -p "$KBUILD/check"
	extract_pinned "$tree"
	local sum
	sum=$(tree_sha256 "$tree")
	check "pristine tree checksum = PINNED AFTER_TREE_SHA256" [ "$sum" = "$AFTER_TREE_SHA256" ]
	check_after_semantics

	check_reverse
	sum=$(tree_sha256 "$tree")
	check "before tree checksum = PINNED BEFORE_TREE_SHA256" [ "$sum" = "$BEFORE_TREE_SHA256" ]
	check "before: touched files match PINNED BEFORE_FILES_SHA256" files_match "$BEFORE_FILES_SHA256"
	check_before_semantics

	check_forward
	sum=$(tree_sha256 "$tree")
	check "forward-applied tree is byte-identical to the pinned tree" [ "$sum" = "$AFTER_TREE_SHA256" ]
	check "after: touched files match PINNED AFTER_FILES_SHA256" files_match "$AFTER_FILES_SHA256"
	rm -rf "$tree"
	finish
}

main
