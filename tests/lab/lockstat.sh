#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lockstat.sh: kvmlockstat's mmu_lock count held to the kernel's own CONFIG_LOCK_STAT,
# the instrument of the seed's cover letter, on the same run.
#   tests/lab/lockstat.sh                 arm64 lab on the "before" kernel of
#                                         `make kernels-lockstat` (built, or taken from
#                                         KERNEL_CACHE), dirty_log_perf_test at 2 vCPUs
#   tests/lab/lockstat.sh --check RESULTS N   only the assertions, on results already there
# /proc/lock_stat is cleared right before the run and read right after. LOCK_STAT counts a
# failed trylock inside LOCK_CONTENDED; kvmlockstat counts entries into the qspinlock slow
# path. Each is checked against the kernel's tracefs count of its own definition
# (lock:lock_contended, a kprobe on the slow path), and the two are reconciled (agreement).
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/../.."
SUITE=lab-lockstat
. tests/lib.sh
. scripts/kernel/lib.sh
. scripts/lab/lablib.sh
. scripts/kernel/lockstat-lib.sh

LS_TOLERANCE=${LS_TOLERANCE:-1}
N=2

# agreement R N: one line, "ok: ..." (exit 0) or "error: ..." (exit 1). A run with no
# &kvm->mmu_lock class, or a class that never contended, is an error: 0 = 0 proves nothing.
# LOCK_STAT's contentions C are failed trylocks; kvmlockstat's waits K are slow-path entries;
# a failed trylock whose lock is free again by the fast path's cmpxchg is in C only. The
# kernel counts both events over the same window (lock:lock_contended LC, a kprobe on
# queued_spin_lock_slowpath SP): K plus those fast-path wins (LC - SP) must make C, within
# LS_TOLERANCE percent, and K can never exceed C.
agreement() {
	local R=$1 n=$2 j="$1/kls-v$2.json" row c k lc sp
	[ -f "$R/lock_stat-v$n.txt" ] || { echo "error: no /proc/lock_stat dump for $n vCPUs"; return 1; }
	row=$(ls_mmu_lock "$R/lock_stat-v$n.txt")
	[ -n "$row" ] || { echo "error: /proc/lock_stat has no &kvm->mmu_lock class: the run never took mmu_lock"; return 1; }
	c=$(awk '{ print $2 }' <<< "$row")
	[ "$c" -gt 0 ] || { echo "error: &kvm->mmu_lock never contended in /proc/lock_stat ($(awk '{ print $4 }' <<< "$row") acquisitions): nothing to compare"; return 1; }
	k=$(kls_mmu_lock "$j" | awk '{ print $1 }')
	[ -n "$k" ] && [ "$k" -gt 0 ] || { echo "error: kvmlockstat counted no mmu_lock wait (${k:-no record}) where /proc/lock_stat has $c"; return 1; }
	[ "$k" -le "$c" ] || { echo "error: kvmlockstat $k waits > /proc/lock_stat $c contentions: a slow-path entry LOCK_STAT did not see"; return 1; }
	lc=$(contended_on_mmu_lock "$R/hist-lock_contended-v$n.txt" "$j")
	sp=$(hist_on_mmu_lock "$R/hist-ls_slowpath-v$n.txt" "$j")
	[ "$lc" != - ] && [ "$sp" != - ] || { echo "error: no tracefs counts of the window (lock_contended, slow path)"; return 1; }
	if awk -v k="$k" -v c="$c" -v w="$((lc - sp))" -v t="$LS_TOLERANCE" 'BEGIN { d = k + w - c; if (d < 0) d = -d; exit !(d * 100 <= t * c) }'; then
		echo "ok: kvmlockstat $k waits + $((lc - sp)) failed trylocks won on the fast path = $((k + lc - sp)), /proc/lock_stat $c contentions (within $LS_TOLERANCE %)"
	else
		echo "error: kvmlockstat $k waits + $((lc - sp)) fast-path wins = $((k + lc - sp)), /proc/lock_stat $c contentions: beyond $LS_TOLERANCE %"
		return 1
	fi
}

assert_results() {
	local R=$1 n=$2 msg j="$1/kls-v$2.json" sp lc c k d
	check "dirty_log_perf_test under kvmlockstat exited 0" test "$(cat "$R/v$n.rc" 2>/dev/null)" = 0
	check "kvmlockstat's record is valid JSON" jq_true .schema "$j"
	check "lockdep stayed on through the run (debug_locks: 1)" grep -Eq 'debug_locks: +1$' "$R/lockdep_stats.txt"
	msg=$(agreement "$R" "$n") && pass "${msg#ok: }" || fail "${msg#error: }"
	# Each instrument against the kernel's count of its own definition, same window.
	c=$(ls_field "$R/lock_stat-v$n.txt" 2) k=$(kls_mmu_lock "$j" | awk '{ print $1 }')
	lc=$(contended_on_mmu_lock "$R/hist-lock_contended-v$n.txt" "$j")
	sp=$(hist_on_mmu_lock "$R/hist-ls_slowpath-v$n.txt" "$j")
	check "LOCK_STAT contentions ($c) are its failed trylocks: lock:lock_contended on mmu_lock ($lc)" \
		test "$c" = "$lc"
	check "kvmlockstat's waits ($k) are the slow-path entries: kprobe on queued_spin_lock_slowpath ($sp)" \
		test "${k:-x}" = "$sp"
	# The edge case, on this run's own data: without the class the check must fail, clearly.
	d=$(mktemp -d)
	cp "$R/kls-v$n.json" "$d/"
	grep -v 'mmu_lock' "$R/lock_stat-v$n.txt" > "$d/lock_stat-v$n.txt"
	local rc=0
	msg=$(agreement "$d" "$n") || rc=$?
	check "a /proc/lock_stat without the mmu_lock class fails: '$msg'" \
		sh -c '[ "$1" != 0 ] && echo "$2" | grep -q "no &kvm->mmu_lock class"' _ "$rc" "$msg"
	rm -rf "$d"
}

case ${1:-} in
--check)
	assert_results "$2" "${3:-$N}" ;;
*)
	if [ "$(id -u)" != 0 ] || ! command -v qemu-system-aarch64 > /dev/null || ! command -v "${KP_CROSS}gcc" > /dev/null; then
		skip "arm64 lab with a LOCK_STAT kernel: needs root, qemu-system-aarch64 and ${KP_CROSS}gcc (scripts/kernel/deps.sh)"
	elif ! nice -n 10 scripts/kernel/build.sh before lockstat; then
		fail "the LOCK_STAT kernel did not build (see above)"
	else
		R=$OUT/lockstat-test
		if LS_RESULTS=$R LS_VCPUS=$N LS_CROSS=1 nice -n 10 scripts/kernel/lockstat.sh compare before; then
			assert_results "$R/compare-before" "$N"
		else
			fail "the lab run (see above)"
		fi
	fi ;;
esac
finish
