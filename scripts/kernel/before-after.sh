#!/usr/bin/env bash
# make before-after: the cover letter's two tables, measured in the lab on the kernels
# before and after kernel-patches/ (built by scripts/kernel/build.sh).
#   1. the kernel's own dirty_log_perf_test from the same tree, under kvmlockstat
#      (scripts/kernel/perftest.sh): the seed's command measured by the tool, with
#      tracefs lock:contention_begin beside it as a labelled cross-check
#   2. kvm-dirtylog under kvmlockstat, through the lab runner (scripts/lab/lab.sh
#      with LAB_KERNEL=<our Image>), per vCPU count
# Every time is BA_REPS runs, given as median [min, max]; a before/after change whose
# ranges overlap is said to be within the spread.
# Settings (environment):
#   BA_VCPUS="1 2"     vCPU counts (the lab VM has BA_CPUS emulated CPUs)
#   BA_CPUS=2          emulated CPUs of the lab VM
#   BA_SIZE=64M        guest memory per vCPU (kvm-dirtylog -b, dirty_log_perf_test -b)
#   BA_ITER=4          logged passes (the cover letter used 2; on 6.1, where a fault that splits a
#                      block keeps the write lock, passes 1-2 split blocks and only
#                      passes from 3 on show the read-lock fast path)
#   BA_REPS=3          runs of each measurement (dirty_log_perf_test: in one boot;
#                      kvm-dirtylog: one lab boot each)
#   BA_PERFTEST=1      run dirty_log_perf_test (0: skip)
#   BA_LAB=1           run the lab workload (0: skip)
#   BA_REPORT_ONLY=1   run nothing, write the report from the results already there
# Output: $OUT/before-after/report.md (+ raw results beside it).
# Timings come from qemu TCG (emulated CPUs, nested virtualization): the
# relative change is the figure to read, not the absolute milliseconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BA_VCPUS=${BA_VCPUS:-1 2}
BA_CPUS=${BA_CPUS:-2}
BA_SIZE=${BA_SIZE:-64M}
BA_ITER=${BA_ITER:-4}
BA_REPS=${BA_REPS:-3}
BA_PERFTEST=${BA_PERFTEST:-1}
BA_LAB=${BA_LAB:-1}
BA_REPORT_ONLY=${BA_REPORT_ONLY:-0}
ba="$OUT/before-after"
report="$ba/report.md"

run_lab() {
	local side=$1 r
	[[ -x $KP_REPO/scripts/lab/lab.sh ]] || die "scripts/lab/lab.sh missing: the lab runner is needed for kvm-dirtylog"
	for r in $(seq 1 "$BA_REPS"); do
		log "$side: lab run $r/$BA_REPS (kvm-dirtylog under kvmlockstat), vCPUs {$BA_VCPUS}"
		# the lab's table/asserts report failures; keep going so both sides get measured
		(cd "$KP_REPO" && LAB_ARCH=arm64 LAB_KERNEL="$KBUILD/$side/Image" LAB_VCPUS="$BA_VCPUS" \
			LAB_CPUS="$BA_CPUS" LAB_SIZE="$BA_SIZE" LAB_ITER="$BA_ITER" \
			LAB_RESULTS="$ba/$side/lab-r$r" scripts/lab/lab.sh) >"$ba/$side/lab-r$r.log" 2>&1 ||
			log "$side: lab run $r failed (see $ba/$side/lab-r$r.log)"
	done
}

run_perftest() {
	local side=$1
	"$KP_REPO/scripts/kernel/selftest.sh" "$side"
	PERFTEST_VCPUS="$BA_VCPUS" PERFTEST_CPUS="$BA_CPUS" PERFTEST_MEM="$BA_SIZE" PERFTEST_ITER="$BA_ITER" PERFTEST_REPS="$BA_REPS" \
		"$KP_REPO/scripts/kernel/perftest.sh" "$side" >"$ba/$side/perftest.log" 2>&1 ||
		log "$side: dirty_log_perf_test run failed (see $ba/$side/perftest.log)"
}

# relative change after vs before, in percent; "-" when not computable
change() {
	awk -v b="$1" -v a="$2" 'BEGIN { if (b == "" || a == "" || b == "-" || a == "-" || b + 0 == 0) print "-";
		else printf "%+.0f%%", (a - b) / b * 100 }'
}

# A before/after pair of runs: "median [min, max]" each, the change of the medians, and
# whether the ranges overlap (then the change is within the run-to-run spread).
#   pair_cells BEFORE-VALUES AFTER-VALUES  (newline-separated numbers)
pair_cells() {
	local b a mb ma
	b=$(stats_of <<<"$1") a=$(stats_of <<<"$2")
	mb=${b%% *} ma=${a%% *}
	printf '%s | %s | %s | %s' "$(spread <<<"$1")" "$(spread <<<"$2")" "$(change "${mb:--}" "${ma:--}")" \
		"$(awk -v b="$b" -v a="$a" 'BEGIN { if (b == "" || a == "") { print "-"; exit }
			split(b, x, " "); split(a, y, " ")
			print (y[3] < x[2] || x[3] < y[2]) ? "outside the spread" : "**within the spread**" }')"
}

# one lab value of one run, vCPU count N: dirty|contention|wait_ms|wp|relax|tracefs
lab_value() {
	# (words of one `local` are expanded before any is assigned: R on its own line)
	local R=$1 n=$2 what=$3 vm j
	j="$R/dirtylog-v$n.json"
	[[ -f $j ]] || { echo "-"; return; }
	case $what in
	dirty) jq -r '.summary.dirty_memory_avg_ns / 1e6 | . * 10 | floor / 10' "$j" ;;
	wp) esr_faults "$R/hist-kvm_guest_fault-v$n.txt" perm ;;
	relax) hist_sum "$R/hist-kls_relax_perms-v$n.txt" ;;
	contention | wait_ms | tracefs)
		vm=$(kls_vm "$R" "$n")
		[[ -n $vm ]] || { echo "-"; return; }
		case $what in
		contention) kls_count "$vm" all count ;;
		wait_ms) awk -v ns="$(kls_count "$vm" all wait_ns)" 'BEGIN { printf "%.1f\n", ns / 1e6 }' ;;
		tracefs) lock_hits "$R/hist-contention_begin-v$n.txt" "$(echo "$vm" | jq -r '.mmu_lock // empty')" all ;;
		esac ;;
	esac
}

# the value of every lab run of SIDE, one a line
lab_values() {
	local side=$1 n=$2 what=$3 R
	for R in "$ba/$side"/lab-r*/; do [[ -d $R ]] && lab_value "${R%/}" "$n" "$what"; done
}

# column COL of every dirty_log_perf_test run of SIDE with N vCPUs, one a line
pt_values() {
	local side=$1 n=$2 col=$3 f
	f="$KBUILD/perftest/$side/summary.tsv"
	[[ -f $f ]] || return 0
	awk -F'\t' -v n="$n" -v c="$col" 'NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		$1 == n { print $(idx[c]) }' "$f"
}

# "| N | before/after cells of COL1 | ... |": GET SIDE N COL gives one side's values
pair_row() {
	local n=$1 get=$2 c row
	shift 2
	row="| $n"
	for c in "$@"; do row+=" | $(pair_cells "$($get before "$n" "$c")" "$($get after "$n" "$c")")"; done
	echo "$row |"
}

# "b1/a1, b2/a2 ..." of the runs, for counts where each run matters
runs_list() {
	paste -d/ <(echo "$1") <(echo "$2") | paste -sd' '
}

lab_tables() {
	local n
	echo "### kvm-dirtylog under kvmlockstat (lab runner, $BA_REPS boots per kernel)"
	echo
	echo "| vCPUs | dirty memory time before (ms) | after (ms) | change of medians | vs spread | mmu_lock waits before | after | change of medians | vs spread |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for n in $BA_VCPUS; do
		pair_row "$n" lab_values dirty contention
	done
	echo
	echo "| vCPUs | wp faults before / after, per run | relax_perms calls after, per run | mmu_lock wait before (ms) | after (ms) | change of medians | vs spread | cross-check: tracefs contention_begin on mmu_lock before / after, per run |"
	echo "|---|---|---|---|---|---|---|---|"
	for n in $BA_VCPUS; do
		echo "| $n | $(runs_list "$(lab_values before "$n" wp)" "$(lab_values after "$n" wp)") | $(lab_values after "$n" relax | paste -sd' ') |$(pair_row "$n" lab_values wait_ms | cut -d'|' -f3-6)| $(runs_list "$(lab_values before "$n" tracefs)" "$(lab_values after "$n" tracefs)") |"
	done
	echo
	echo "relax_perms runs under the read lock on the after kernel during dirty logging (under the"
	echo "spinlock before): calls = write-protection faults is the fast path taking all of them."
}

pt_table() {
	local n
	echo "### dirty_log_perf_test from the pinned tree, under kvmlockstat ($BA_REPS runs per kernel, one boot)"
	echo
	echo "\`kvmlockstat -i 0 -j FILE -- dirty_log_perf_test -b $BA_SIZE -m 2 -i $BA_ITER -s anonymous_hugetlb_2mb -v N\`"
	echo
	echo "| vCPUs | dirty memory time before (ms) | after (ms) | change of medians | vs spread | passes >= 3 before (ms) | after (ms) | change of medians | vs spread |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for n in $BA_VCPUS; do
		pair_row "$n" pt_values dirty_ms_avg dirty_ms_steady
	done
	echo
	echo "| vCPUs | mmu_lock waits (kvmlockstat) before | after | change of medians | vs spread | mmu_lock wait before (ms) | after (ms) | change of medians | vs spread | cross-check: tracefs contention_begin on mmu_lock before / after, per run | relax_perms before / after, per run |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for n in $BA_VCPUS; do
		echo "$(pair_row "$n" pt_values kls_mmu_lock_waits kls_mmu_lock_wait_ms) $(runs_list "$(pt_values before "$n" mmu_lock_contentions)" "$(pt_values after "$n" mmu_lock_contentions)") | $(runs_list "$(pt_values before "$n" relax_perms_calls)" "$(pt_values after "$n" relax_perms_calls)") |"
	done
	echo
	echo "dirty memory time: mean per pass of one run; \"passes >= 3\": only the passes whose faults are 4K"
	echo "permission faults (pass 1 takes no faults, pass 2 splits the hugetlb blocks under the write lock on both)."
	echo "mmu_lock waits: kvmlockstat's contended acquisitions of the test's VMs' kvm->mmu_lock: on the"
	echo "spinlock (before) every entry into queued_spin_lock_slowpath, on the rwlock (after) lock:contention_begin."
	echo "The tracefs column counts lock:contention_begin on the same lock. On the spinlock it"
	echo "undercounts: qspinlock fires it only once a waiter queues, so its first waiter, spinning on"
	echo "the pending bit, is never seen. On the rwlock the two definitions are the same event."
}

write_report() {
	# shellcheck source=/dev/null
	. "$KP_REPO/scripts/lab/lablib.sh"
	{
		echo "## before/after kernel-patches (lab, $(date -u +%Y-%m-%d))"
		echo
		echo "Kernels: $PACKAGE $VERSION, before = series reverse-applied, after = as shipped;"
		echo "both with kernel-patches/lab.config. Lab: qemu TCG, $BA_CPUS emulated CPUs, KVM in VHE mode,"
		echo "$BA_SIZE guest memory per vCPU, $BA_ITER logged passes. Host: $(uname -m), $(nproc) cores, shared. Command:"
		echo "\`make before-after BA_VCPUS=\"$BA_VCPUS\" BA_SIZE=$BA_SIZE BA_ITER=$BA_ITER BA_REPS=$BA_REPS\`"
		echo
		if [[ $BA_PERFTEST == 1 ]]; then pt_table; echo; fi
		if [[ $BA_LAB == 1 ]]; then lab_tables; echo; fi
		echo "Caveats: emulated CPUs (qemu TCG, nested virtualization): absolute times are not"
		echo "hardware times, and wall-clock TCG times on a shared host spread widely between runs"
		echo "(read the ranges); vCPU counts above the lab's $BA_CPUS CPUs are overcommitted."
		echo "Cover letter (Ampere Altra, 64 CPUs, -b 2G): dirty memory time 926 -> 803 ms (1 vCPU),"
		echo "1189 -> 843 ms (2 vCPUs); contentions 0 (1 vCPU), 4732558 (2 vCPUs) before."
	} >"$report"
}

main() {
	local side
	for side in before after; do
		[[ -f $KBUILD/$side/Image ]] || die "$KBUILD/$side/Image missing: make kernels"
		mkdir -p "$ba/$side"
	done
	for side in before after; do
		[[ $BA_REPORT_ONLY == 1 ]] && break
		if [[ $BA_PERFTEST == 1 ]]; then run_perftest "$side"; fi
		if [[ $BA_LAB == 1 ]]; then rm -rf "$ba/$side"/lab-r*; run_lab "$side"; fi
	done
	write_report
	cat "$report"
}

main
