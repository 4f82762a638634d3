#!/usr/bin/env bash
# The seed's instrument beside the tool, in the lab, on the kernels of
# `make kernels-lockstat` (kernel-patches/lockstat.config):
#   scripts/kernel/lockstat.sh compare before|after
#       the tree's own dirty_log_perf_test under kvmlockstat at LS_VCPUS vCPUs, /proc/lock_stat
#       cleared right before each run and read right after; per run, the &kvm->mmu_lock
#       class (contentions, waittime-total, con-bounces) beside kvmlockstat's waits and
#       wait time for that VM, and the kernel's tracefs counts of the same window.
#   scripts/kernel/lockstat.sh price before|after
#       what each instrument costs, as instruction counts (qemu -icount, as make bench does
#       for arm64): dirty memory time on the LOCK_STAT kernel (lock_stat on, and off: lockdep
#       alone), on the same tree without LOCK_STAT, and on that tree under kvmlockstat,
#       LS_REPS reps each, interleaved; two boots with one qemu command line.
#   scripts/kernel/lockstat.sh report      the tables of every result there, to stdout
# Settings (environment):
#   LS_VCPUS="1 2 4"  vCPU counts (compare; price uses LS_PRICE_VCPUS="1 2", two boots per count)
#   LS_SIZE=64M       -b, guest memory per vCPU
#   LS_ITER=2         -i, logged passes (the cover letter's)
#   LS_BACKING=anonymous_hugetlb_2mb
#   LS_CPUS=2 LS_MEM=2G   the lab VM: emulated CPUs (the host has 2 cores), RAM
#   LS_CROSS=1        tracefs counts beside the run (compare; 0: kvmlockstat and lock_stat only)
#   LS_REPS=3         price: reps per kind
#   LS_PRICE_WORKLOAD=kvm-dirtylog   price's workload: kvm-dirtylog in the selftest's shape, each
#                     vCPU pinned (repeatable instruction counts), or dirty_log_perf_test
# Output: ${LS_RESULTS:-$OUT/lockstat}/compare-<side>/, .../price-v<N>/price-<side>-{plain,lockstat}/ and the tables.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# shellcheck source=/dev/null
. "$KP_REPO/scripts/lab/lablib.sh"
. "$KP_REPO/scripts/kernel/lockstat-lib.sh"

LS_VCPUS=${LS_VCPUS:-1 2 4}
LS_PRICE_VCPUS=${LS_PRICE_VCPUS:-1 2}
LS_SIZE=${LS_SIZE:-64M}
LS_ITER=${LS_ITER:-2}
LS_BACKING=${LS_BACKING:-anonymous_hugetlb_2mb}
LS_CPUS=${LS_CPUS:-2}
LS_MEM=${LS_MEM:-2G}
LS_CROSS=${LS_CROSS:-1}
LS_REPS=${LS_REPS:-3}
LS_TIMEOUT=${LS_TIMEOUT:-1200}
LS_PRICE_WORKLOAD=${LS_PRICE_WORKLOAD:-kvm-dirtylog}
res=${LS_RESULTS:-$OUT/lockstat}

# lab_boot KERNEL RESULTS SIDE MODE [QEMU ARGS]: one lab boot running guest-lockstat.sh
# with its settings baked in and the side's dirty_log_perf_test in /lab.
lab_boot() {
	local kernel=$1 R=$2 side=$3 mode=$4 qargs=${5:-} tmp vcpus=$LS_VCPUS
	[[ -f $kernel ]] || die "$kernel missing: make kernels-lockstat"
	"$KP_REPO/scripts/kernel/selftest.sh" "$side"
	[[ $mode == price ]] && vcpus=$LS_PRICE_VCPUS
	tmp=$(mktemp -d)
	mkdir -p "$tmp/root/lab"
	cp "$KBUILD/$side/dirty_log_perf_test" "$tmp/root/lab/"
	{
		for v in LS_SIZE LS_ITER LS_BACKING LS_CROSS LS_REPS LS_TIMEOUT LS_PRICE_WORKLOAD; do echo "$v='${!v}'"; done
		echo "LS_MODE='$mode' LS_VCPUS='$vcpus'"
		cat "$KP_REPO/scripts/kernel/guest-lockstat.sh"
	} >"$tmp/guest.sh"
	mkdir -p "$(dirname "$R")"
	log "$(basename "$R"): $(basename "$(dirname "$kernel")") kernel, $mode, vCPUs {$vcpus}${qargs:+, qemu $qargs}"
	(cd "$KP_REPO" && LAB_ARCH=arm64 LAB_KERNEL="$kernel" LAB_GUEST="$tmp/guest.sh" LAB_RESULTS="$R" \
		LAB_EXTRA_ROOT="$tmp/root" LAB_CPUS="$LS_CPUS" LAB_MEM="$LS_MEM" LAB_VCPUS="$vcpus" \
		LAB_TIMEOUT=$((LS_TIMEOUT * 4)) LAB_RETRY=0 LAB_QEMU_ARGS="$qargs" scripts/lab/lab.sh) >&2 ||
		{ rm -rf "$tmp"; die "$(basename "$R"): the lab run failed"; }
	rm -rf "$tmp"
	# the tables describe the run from its own settings, not from the caller's environment
	{ for v in LS_SIZE LS_ITER LS_BACKING LS_CPUS LS_MEM LS_REPS LS_PRICE_VCPUS LS_PRICE_WORKLOAD; do echo "$v='${!v}'"; done
	  echo "LS_DATE='$(date -u '+%Y-%m-%d %H:%M UTC')'"; } >"$R/ls-settings"
}

# the settings a result was measured with (lab_boot), into this shell
load_settings() {
	# shellcheck source=/dev/null
	[[ -f $1/ls-settings ]] && . "$1/ls-settings"
	return 0
}

# --- compare ---------------------------------------------------------------------------

compare_row() {
	local R=$1 n=$2 j row kls c k
	j="$R/kls-v$n.json"
	row=$(ls_mmu_lock "$R/lock_stat-v$n.txt")
	kls=$(kls_mmu_lock "$j")
	c=$(awk '{ print $2 }' <<<"$row")
	k=$(awk '{ print $1 }' <<<"$kls")
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
		"$(dirty_ms "$R/v$n.log")" "${c:--}" "${k:--}" "$(pct_diff "${k:--}" "${c:--}")" \
		"$(awk '{ printf "%.1f", $3 / 1000 }' <<<"$row")" "$(awk '{ printf "%.1f", $2 / 1e6 }' <<<"$kls")" \
		"$(awk '{ print $1 }' <<<"$row")" \
		"$(contended_on_mmu_lock "$R/hist-lock_contended-v$n.txt" "$j")" \
		"$(hist_on_mmu_lock "$R/hist-ls_slowpath-v$n.txt" "$j")" \
		"$(hist_on_mmu_lock "$R/hist-contention_begin-v$n.txt" "$j")" \
		"$(awk '{ print $4 }' <<<"$row")"
}

compare_table() {
	local side=$1 R="$res/compare-$1" n
	[[ -d $R ]] || return 0
	load_settings "$R"
	echo "### /proc/lock_stat and kvmlockstat, $side kernel with LOCK_STAT (${LS_DATE:-date unknown})"
	echo
	echo "\`dirty_log_perf_test -b $LS_SIZE -m 2 -i $LS_ITER -s $LS_BACKING -v N\` under \`kvmlockstat -i 0 -j\`,"
	echo "Lab VM: qemu TCG, $LS_CPUS emulated CPUs, $LS_MEM; kernel $(awk '{ print $3 }' "$R/uname.txt" 2>/dev/null)."
	echo
	echo "| vCPUs | dirty memory time (ms, TCG) | LOCK_STAT contentions | kvmlockstat waits | kvmlockstat vs LOCK_STAT | LOCK_STAT waittime-total (ms) | kvmlockstat wait (ms) | LOCK_STAT con-bounces | tracefs lock:lock_contended | tracefs slow-path entries | tracefs lock:contention_begin | LOCK_STAT acquisitions |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	for n in $(ls "$R"/lock_stat-v*.txt 2>/dev/null | sed 's/.*-v\([0-9]*\)\.txt$/\1/' | sort -n); do
		compare_row "$R" "$n"
	done
	echo
}

# --- price -----------------------------------------------------------------------------

# dirty memory time per pass (ms) of every run of one kind: kvm-dirtylog's JSON, else the
# selftest's "Iteration N dirty memory time" lines
kind_times() {
	local f j
	for f in "$1"/"$2"-[0-9]*.log; do
		[[ -f $f ]] || continue
		j="$1/dl-$(basename "$f" .log).json"
		if [[ -f $j ]]; then jq -r '.summary.dirty_memory_avg_ns / 1e6' "$j"; else dirty_ms "$f"; fi
	done
}

price_table() {
	local side=$1 P="$res/price-$1-plain" L="$res/price-$1-lockstat" base row k dir what
	[[ -d $P || -d $L ]] || return 0
	load_settings "$P"
	load_settings "$L"
	base=$(kind_times "$P" alone | spread | awk '{ print $1 }')
	echo "### What each instrument costs, $side tree (instruction counts, ${LS_DATE:-date unknown})"
	echo
	if [[ ${LS_PRICE_WORKLOAD:-} == kvm-dirtylog ]]; then
		echo "\`kvm-dirtylog -v $LS_PRICE_VCPUS -b $LS_SIZE -i $LS_ITER -s $LS_BACKING -g -c <one CPU per vCPU>\`, qemu -icount shift=0"
	else
		echo "\`dirty_log_perf_test -b $LS_SIZE -m 2 -i $LS_ITER -s $LS_BACKING -v $LS_PRICE_VCPUS\`, qemu -icount shift=0"
	fi
	echo "(the guest clock counts emulated instructions), $LS_REPS reps per kind, interleaved, one boot per kernel."
	echo
	echo "| kernel, instrument | dirty memory time, median [min, max] (ms of instructions) | ratio of medians to the lab kernel alone |"
	echo "|---|---|---|"
	while read -r dir k what; do
		[[ -d $dir ]] || continue
		row=$(kind_times "$dir" "$k" | spread)
		echo "| $what | $row | $(awk -v m="${row%% *}" -v b="$base" 'BEGIN { if (m == "-" || b == "" || b == "-" || b + 0 == 0) print "-"; else printf "%.3f", m / b }') |"
	done <<EOF
$P alone lab kernel, alone
$P kls lab kernel under kvmlockstat
$L alone LOCK_STAT kernel, lock_stat=0 (lockdep's tracking only)
$L lockstat LOCK_STAT kernel, lock_stat=1 (the cover letter's instrument)
$L kls LOCK_STAT kernel, lock_stat=0, under kvmlockstat
EOF
	echo
}

main() {
	local cmd=${1:-} side=${2:-}
	case $cmd in
	compare)
		check_side "$side"
		rm -rf "$res/compare-$side"
		lab_boot "$KBUILD/$side-lockstat/Image" "$res/compare-$side" "$side" compare
		compare_table "$side" ;;
	price)
		check_side "$side"
		local icount="-icount shift=0,align=off,sleep=off" n all=$LS_PRICE_VCPUS base=$res
		for n in $all; do
			LS_PRICE_VCPUS=$n res="$base/price-v$n"
			rm -rf "$res/price-$side-plain" "$res/price-$side-lockstat"
			lab_boot "$KBUILD/$side/Image" "$res/price-$side-plain" "$side" price "$icount"
			lab_boot "$KBUILD/$side-lockstat/Image" "$res/price-$side-lockstat" "$side" price "$icount"
		done
		for n in $all; do res="$base/price-v$n" price_table "$side"; done ;;
	report)
		for side in before after; do
			compare_table "$side"
			for d in "$res"/price-v*/; do [[ -d $d ]] && res=${d%/} price_table "$side"; done
		done ;;
	*) die "usage: $0 compare|price before|after, or $0 report" ;;
	esac
}

main "$@"
