#!/usr/bin/env bash
# make before-after: the cover letter's two tables, measured in the lab on the kernels
# before and after kernel-patches/ (built by scripts/kernel/build.sh).
#   1. kvm-dirtylog under kvmlockstat, through the lab runner (scripts/lab/lab.sh
#      with LAB_KERNEL=<our Image>), per vCPU count
#   2. the kernel's own dirty_log_perf_test from the same tree
#      (scripts/kernel/perftest.sh), so results do not rest on our workload
# Settings (environment):
#   BA_VCPUS="1 2"     vCPU counts (the lab VM has BA_CPUS emulated CPUs)
#   BA_CPUS=2          emulated CPUs of the lab VM
#   BA_SIZE=64M        guest memory per vCPU (kvm-dirtylog -b, dirty_log_perf_test -b)
#   BA_ITER=4          logged passes (the cover letter used 2; on 6.1, where a fault that splits a
#                      block keeps the write lock, passes 1-2 split blocks and only
#                      passes from 3 on show the read-lock fast path)
#   BA_PERFTEST=1      also run dirty_log_perf_test (0: skip)
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
BA_PERFTEST=${BA_PERFTEST:-1}
BA_LAB=${BA_LAB:-1}
BA_REPORT_ONLY=${BA_REPORT_ONLY:-0}
ba="$OUT/before-after"
report="$ba/report.md"

run_lab() {
	local side=$1
	[[ -x $KP_REPO/scripts/lab/lab.sh ]] || die "scripts/lab/lab.sh missing: the lab runner is needed for kvm-dirtylog"
	log "$side: lab run (kvm-dirtylog under kvmlockstat), vCPUs {$BA_VCPUS}"
	# the lab's table/asserts report failures; keep going so both sides get measured
	(cd "$KP_REPO" && LAB_ARCH=arm64 LAB_KERNEL="$KBUILD/$side/Image" LAB_VCPUS="$BA_VCPUS" \
		LAB_CPUS="$BA_CPUS" LAB_SIZE="$BA_SIZE" LAB_ITER="$BA_ITER" \
		LAB_RESULTS="$ba/$side/lab" scripts/lab/lab.sh) >"$ba/$side/lab.log" 2>&1 ||
		log "$side: lab run failed (see $ba/$side/lab.log)"
}

run_perftest() {
	local side=$1
	"$KP_REPO/scripts/kernel/selftest.sh" "$side"
	PERFTEST_VCPUS="$BA_VCPUS" PERFTEST_CPUS="$BA_CPUS" PERFTEST_MEM="$BA_SIZE" PERFTEST_ITER="$BA_ITER" \
		"$KP_REPO/scripts/kernel/perftest.sh" "$side" >"$ba/$side/perftest.log" 2>&1 ||
		log "$side: dirty_log_perf_test run failed (see $ba/$side/perftest.log)"
}

# relative change after vs before, in percent; "-" when not computable
change() {
	awk -v b="$1" -v a="$2" 'BEGIN { if (b == "" || a == "" || b == "-" || a == "-" || b + 0 == 0) print "-";
		else printf "%+.0f%%", (a - b) / b * 100 }'
}

# one lab value for vCPU count N: dirty|contention|wait_ms|wp|relax|tracefs
lab_value() {
	# (words of one `local` are expanded before any is assigned: R on its own line)
	local side=$1 n=$2 what=$3 R vm j
	R="$ba/$side/lab"
	j="$R/dirtylog-v$n.json"
	[[ -f $j ]] || { echo "-"; return; }
	case $what in
	dirty) jq -r '.summary.dirty_memory_avg_ns / 1e6 | . * 10 | floor / 10' "$j" ;;
	wp) esr_faults "$R/hist-kvm_guest_fault-v$n.txt" perm ;;
	relax) hist_sum "$R/hist-kls_relax_perms-v$n.txt" ;;
	contention | wait_ms | mean_ns | tracefs)
		vm=$(kls_vm "$R" "$n")
		[[ -n $vm ]] || { echo "-"; return; }
		case $what in
		contention) kls_count "$vm" all count ;;
		wait_ms) awk -v ns="$(kls_count "$vm" all wait_ns)" 'BEGIN { printf "%.1f", ns / 1e6 }' ;;
		mean_ns) echo "$vm" | jq -r '.contention.total.mean_ns // "-"' ;;
		tracefs) lock_hits "$R/hist-contention_begin-v$n.txt" "$(echo "$vm" | jq -r '.mmu_lock // empty')" all ;;
		esac ;;
	esac
}

pt_value() {
	local side=$1 n=$2 col=$3 f
	f="$KBUILD/perftest/$side/summary.tsv"
	[[ -f $f ]] || { echo "-"; return; }
	awk -F'\t' -v n="$n" -v c="$col" 'NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		$1 == n { print $(idx[c]); exit }' "$f"
}

lab_tables() {
	local n b a
	echo "### kvm-dirtylog under kvmlockstat (lab runner)"
	echo
	echo "| vCPUs | dirty memory time before (ms) | after (ms) | change | mmu_lock contentions before | after | change |"
	echo "|---|---|---|---|---|---|---|"
	for n in $BA_VCPUS; do
		local db da cb ca
		db=$(lab_value before "$n" dirty) da=$(lab_value after "$n" dirty)
		cb=$(lab_value before "$n" contention) ca=$(lab_value after "$n" contention)
		echo "| $n | $db | $da | $(change "$db" "$da") | $cb | $ca | $(change "$cb" "$ca") |"
	done
	echo
	echo "| vCPUs | wp faults before / after | relax_perms calls before / after | fast-path share after | mmu_lock wait before (ms) | after (ms) | change | tracefs contention_begin on mmu_lock before / after |"
	echo "|---|---|---|---|---|---|---|---|"
	for n in $BA_VCPUS; do
		local wb wa rb ra share
		wb=$(lab_value before "$n" wp) wa=$(lab_value after "$n" wp)
		rb=$(lab_value before "$n" relax) ra=$(lab_value after "$n" relax)
		share=$(awk -v r="$ra" -v w="$wa" 'BEGIN { if (w + 0 > 0 && r != "-") printf "%.0f%%", r / w * 100; else print "-" }')
		b=$(lab_value before "$n" wait_ms) a=$(lab_value after "$n" wait_ms)
		echo "| $n | $wb / $wa | $rb / $ra | $share | $b | $a | $(change "$b" "$a") | $(lab_value before "$n" tracefs) / $(lab_value after "$n" tracefs) |"
	done
	echo
	echo "fast-path share: relax_perms calls / write-protection faults on the after kernel, whose"
	echo "relax_perms runs under the read lock during dirty logging (on before it runs under the spinlock)."
}

pt_table() {
	local n
	echo "### dirty_log_perf_test from the pinned tree (tracefs counts)"
	echo
	echo "\`dirty_log_perf_test -b $BA_SIZE -m 2 -i $BA_ITER -s anonymous_hugetlb_2mb -v N\`"
	echo
	echo "| vCPUs | dirty memory time before (ms) | after (ms) | change | passes >= 3 before (ms) | after (ms) | change | mmu_lock contentions before | after | change | relax_perms before / after |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for n in $BA_VCPUS; do
		local db da sb sa cb ca
		db=$(pt_value before "$n" dirty_ms_avg) da=$(pt_value after "$n" dirty_ms_avg)
		sb=$(pt_value before "$n" dirty_ms_steady) sa=$(pt_value after "$n" dirty_ms_steady)
		cb=$(pt_value before "$n" mmu_lock_contentions) ca=$(pt_value after "$n" mmu_lock_contentions)
		echo "| $n | $db | $da | $(change "$db" "$da") | $sb | $sa | $(change "$sb" "$sa") | $cb | $ca | $(change "$cb" "$ca") | $(pt_value before "$n" relax_perms_calls) / $(pt_value after "$n" relax_perms_calls) |"
	done
	echo
	echo "dirty memory time: average per pass; \"passes >= 3\": only the passes whose faults are 4K"
	echo "permission faults (pass 1 takes no faults, pass 2 splits the hugetlb blocks under the write lock on both)."
	echo "mmu_lock contentions: lock:contention_begin hits on the test VM's kvm->mmu_lock"
	echo "(spinlock before; read+write of the rwlock after)."
}

write_report() {
	# shellcheck source=/dev/null
	. "$KP_REPO/scripts/lab/lablib.sh"
	{
		echo "## before/after kernel-patches (lab, $(date -u +%Y-%m-%d))"
		echo
		echo "Kernels: $PACKAGE $VERSION, before = series reverse-applied, after = as shipped;"
		echo "both with kernel-patches/lab.config. Lab: qemu TCG, $BA_CPUS emulated CPUs, KVM in VHE mode,"
		echo "$BA_SIZE guest memory per vCPU, $BA_ITER logged passes. Command:"
		echo "\`make before-after BA_VCPUS=\"$BA_VCPUS\" BA_SIZE=$BA_SIZE BA_ITER=$BA_ITER\`"
		echo
		if [[ $BA_LAB == 1 || -d $ba/before/lab ]]; then lab_tables; echo; fi
		if [[ $BA_PERFTEST == 1 ]]; then pt_table; echo; fi
		echo "Caveats: emulated CPUs (qemu TCG, nested virtualization): absolute times are not"
		echo "hardware times; vCPU counts above the lab's $BA_CPUS CPUs are overcommitted."
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
		if [[ $BA_LAB == 1 ]]; then run_lab "$side"; fi
		if [[ $BA_PERFTEST == 1 ]]; then run_perftest "$side"; fi
	done
	write_report
	cat "$report"
}

main
