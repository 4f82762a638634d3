#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# perf.data written by user/perfdata.c, read by the real perf: perf report
# (by symbol, self and children; by comm,pid) and perf script must read it
# without a complaint, name the kernel functions of the call chains, and
# give each sample its share of the total wait time.
#
#   tests/integration/perfdata.sh PATH/TO/perfdata_gen
#
# Needs root (real addresses in /proc/kallsyms) and perf. Prints PASS:/FAIL:
# lines and "N passed, N failed"; exits 1 on a failure. When it cannot run
# at all it says why in a SKIP: line, counts one skip and exits 0.
set -u

GEN=${1:?usage: $0 PATH/TO/perfdata_gen}
PERF=${PERF:-perf}
TOL=1.0	# percentage points
passed=0
failed=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
skip() { echo "SKIP: $*"; echo "0 passed, 0 failed, 1 skipped"; exit 0; }

command -v "$PERF" >/dev/null || skip "no perf (apt-get install linux-perf)"
[ -x "$GEN" ] || skip "no $GEN (make perfdata-integration builds it)"
awk '$3 == "_text" && $1 ~ /^0+$/ { hidden = 1 } END { exit !hidden }' /proc/kallsyms &&
	skip "/proc/kallsyms hides addresses (not root, or kptr_restrict)"

# First symbol of a list that this kernel has (names move between versions
# and arches); empty if none.
pick() {
	local s
	for s in "$@"; do
		if grep -q " [tT] $s\$" /proc/kallsyms; then echo "$s"; return; fi
	done
}

WLOCK=$(pick queued_write_lock_slowpath _raw_write_lock)
RLOCK=$(pick queued_read_lock_slowpath _raw_read_lock)
NOTIFIER=$(pick kvm_mmu_notifier_invalidate_range_start)
DIRTYLOG=$(pick kvm_get_dirty_log_protect kvm_vm_ioctl)
FAULT=$(pick kvm_mmu_page_fault kvm_handle_guest_abort kvm_vcpu_ioctl)
for v in WLOCK RLOCK NOTIFIER DIRTYLOG FAULT; do
	[ -n "${!v}" ] || skip "kernel lacks a symbol for $v (KVM not built in or not loaded?)"
done

TMP=$(mktemp -d /tmp/perfdata-test.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
DATA=$TMP/perf.data

# Samples: tid comm weight(ns) count stack(innermost first). The expected
# shares below are computed from these weights, not taken from perf.
LOCK=0xffff888812345000
TIDS=(4243 4244 4245)
COMMS=("CPU 0/KVM" "CPU 1/KVM" "qemu-dirtylog")
WEIGHTS=(600000 250000 150000)
COUNTS=(40 25 3)
STACKS=("$WLOCK+0x8;$NOTIFIER+0x10"
	"$RLOCK+0x8;$FAULT+0x10"
	"$WLOCK+0x8;$DIRTYLOG+0x10")
TOTAL=0
args=()
for i in 0 1 2; do
	TOTAL=$((TOTAL + WEIGHTS[i]))
	args+=("4242,${TIDS[i]},${COMMS[i]},${WEIGHTS[i]},${COUNTS[i]},$LOCK,${STACKS[i]}")
done

jq_true() { jq -e "$@" >/dev/null; }
pct() { awk -v w="$1" -v t="$TOTAL" 'BEGIN { printf "%.2f", 100 * w / t }'; }
near() { awk -v a="$1" -v b="$2" -v tol="$TOL" 'BEGIN { d = a - b; exit !(d <= tol && -d <= tol) }'; }

# Run perf; stdout to $TMP/out, stderr to $TMP/err. Succeeds when perf
# exits 0 and says nothing on stderr (but its "[ perf ...: ]" progress
# lines) or in warning lines.
run_perf() {
	"$PERF" "$@" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; return 1; }
	sed -i '/^\[ perf [a-z ]*: .*\]$/d' "$TMP/err"
	if [ -s "$TMP/err" ] || grep -qiE 'warning|error|corrupt|unsupported' "$TMP/out"; then
		cat "$TMP/err"; grep -iE 'warning|error|corrupt|unsupported' "$TMP/out"
		return 1
	fi
}

# Percentage on the perf report line for symbol $1 (column $2: 1 = first).
report_pct() {
	awk -v sym="$1" -v col="$2" '!/^#/ && $NF == sym { sub("%", "", $col); print $col; exit }' "$TMP/out"
}

# share SYMBOL WEIGHT COLUMN: perf's percentage matches WEIGHT/TOTAL.
share() {
	local got want
	got=$(report_pct "$1" "$3")
	want=$(pct "$2")
	[ -n "$got" ] && near "$got" "$want" || { echo "  $1: perf says '${got:-missing}', expected $want"; return 1; }
}

check "perfdata_gen writes $DATA" "$GEN" -f "$TMP/stacks.folded" "$DATA" "${args[@]}"
check "no temp file left next to it" test "$(ls "$TMP" | tr '\n' ' ')" = "perf.data stacks.folded "

check "perf report --sort sym reads it cleanly" \
	run_perf report -i "$DATA" --stdio --sort sym --no-children -g none --percent-limit 0
check "self share of $WLOCK" share "$WLOCK" $((WEIGHTS[0] + WEIGHTS[2])) 1
check "self share of $RLOCK" share "$RLOCK" "${WEIGHTS[1]}" 1
check "event named in report" grep -q "of event 'kvmlockstat:lock-wait'" "$TMP/out"
check "event count is the total wait" grep -q "Event count (approx.): $TOTAL\$" "$TMP/out"
check "no unresolved symbols" bash -c "! grep -q unknown '$TMP/out'"

check "perf report --children reads it cleanly" \
	run_perf report -i "$DATA" --stdio --sort sym --children -g none --percent-limit 0
check "children share of $NOTIFIER" share "$NOTIFIER" "${WEIGHTS[0]}" 1
check "children share of $FAULT" share "$FAULT" "${WEIGHTS[1]}" 1
check "children share of $DIRTYLOG" share "$DIRTYLOG" "${WEIGHTS[2]}" 1

check "perf report --sort comm,pid reads it cleanly" \
	run_perf report -i "$DATA" --stdio --sort comm,pid -g none --percent-limit 0
for i in 0 1 2; do
	got=$(grep -F "${TIDS[i]}:${COMMS[i]}" "$TMP/out" | awk '{ sub("%", "", $1); print $1; exit }')
	check "share of ${TIDS[i]}:${COMMS[i]}" near "${got:-999}" "$(pct "${WEIGHTS[i]}")"
done

# perf script: each sample's tid, period and call chain, in order.
check "perf script reads it cleanly" run_perf script -i "$DATA" -F tid,period,ip,sym
awk '/^ *[0-9]+ +[0-9]+ *$/ { if (s) print s; s = $1 " " $2 " "; sep = ""; next }
     /^\t/ { s = s sep $2; sep = ";" }
     END { if (s) print s }' "$TMP/out" >"$TMP/script.got"
for i in 0 1 2; do
	echo "${TIDS[i]} ${WEIGHTS[i]} ${STACKS[i]}" | sed 's/+0x[0-9a-f]*//g'
done >"$TMP/script.want"
check "perf script call chains" diff -u "$TMP/script.want" "$TMP/script.got"

# The folded stacks user/folded.c wrote from the same samples are what
# perf script's stacks fold to (comm root, outermost first, period summed).
check "perf script -F comm,tid,period,ip,sym reads it cleanly" \
	run_perf script -i "$DATA" -F comm,tid,period,ip,sym
awk 'function flush() { if (comm != "") sum[stack] += period; comm = "" }
     /^[^\t]/ && NF >= 3 { flush(); period = $NF; comm = $1
			   for (i = 2; i <= NF - 2; i++) comm = comm "_" $i
			   stack = comm; next }
     /^\t/ { split(stack, parts, ";")
	     stack = parts[1] ";" $NF substr(stack, length(parts[1]) + 1) }
     END { flush(); for (s in sum) print s, sum[s] }' "$TMP/out" | LC_ALL=C sort >"$TMP/perf.folded"
check "folded stacks match perf script's" diff -u "$TMP/perf.folded" "$TMP/stacks.folded"

check "perf script -F comm,addr,weight reads it cleanly" \
	run_perf script -i "$DATA" -F comm,tid,addr,weight
for i in 0 1 2; do
	check "lock address and count of ${TIDS[i]}" \
		grep -qE "^ *${COMMS[i]} +${TIDS[i]} +${LOCK#0x} +${COUNTS[i]} *\$" "$TMP/out"
done

check "header has arch and event" run_perf report -i "$DATA" --header-only
check "header arch is $(uname -m)" grep -q "^# arch : $(uname -m)\$" "$TMP/out"
check "header os release" grep -q "^# os release : $(uname -r)\$" "$TMP/out"

# perf's other readers: the JSON converter (it dereferences the CPUDESC,
# CPUID and VERSION headers unchecked) and perf inject's rewrite.
check "perf data convert --to-json reads it cleanly" \
	run_perf data convert -i "$DATA" --to-json "$TMP/perf.json"
if command -v jq >/dev/null; then
	check "JSON has every sample" jq_true '.samples | length == 3' "$TMP/perf.json"
	check "JSON sample names its comm and innermost frame" jq_true --arg s "$WLOCK" \
		'.samples[0].comm == "CPU 0/KVM" and .samples[0].callchain[0].symbol == $s' \
		"$TMP/perf.json"
fi
rm -f "$TMP/perf.json"
check "perf inject rewrites it" run_perf inject -i "$DATA" -o "$TMP/injected.data"
check "perf report of the rewrite" run_perf report -i "$TMP/injected.data" \
	--stdio --sort sym --no-children -g none --percent-limit 0
check "self share of $RLOCK after perf inject" share "$RLOCK" "${WEIGHTS[1]}" 1
rm -f "$TMP/injected.data"

# perf diff of a before and an after file: baseline share and its change.
diff_test() {
	local b="$TMP/before.data" a="$TMP/after.data" got want
	"$GEN" "$b" "1,2,CPU 0/KVM,900000,90,$LOCK,$WLOCK+0x8;$FAULT+0x10" \
		"1,3,CPU 1/KVM,100000,9,$LOCK,$RLOCK+0x8;$FAULT+0x10" &&
	"$GEN" "$a" "1,2,CPU 0/KVM,100000,10,$LOCK,$WLOCK+0x8;$FAULT+0x10" \
		"1,3,CPU 1/KVM,300000,30,$LOCK,$RLOCK+0x8;$FAULT+0x10" || { fail "perf diff inputs"; return; }
	check "perf diff reads both cleanly" run_perf diff "$b" "$a"
	got=$(awk -v s="$WLOCK" '!/^#/ && $NF == s { print $1, $2 }' "$TMP/out")
	want=$(awk 'BEGIN { printf "90.00%% %+.2f%%", 100 * 100000 / 400000 - 90 }')
	check "perf diff: $WLOCK baseline and delta are $want" test "$got" = "$want"
	rm -f "$b" "$a"
}
diff_test

# The kernel's build-id, when it has one, is the running kernel's.
KBID=$("$PERF" buildid-list -k 2>/dev/null)
if [ -n "$KBID" ]; then
	check "perf buildid-list reads it cleanly" run_perf buildid-list -i "$DATA"
	check "kernel build-id is the running kernel's" \
		grep -qx "$KBID \[kernel.kallsyms\]" "$TMP/out"
fi

# Modules (x86 KVM is kvm.ko + kvm_intel.ko/kvm_amd.ko): a made-up module
# past the highest kernel address, in a copy of kallsyms that perf reads
# through --kallsyms. The first sample listed starts inside the module,
# which perf resolves only if the writer puts a core-kernel sample first.
modules_test() {
	local top base fk="$TMP/kallsyms" fm="$TMP/modules" mdata="$TMP/modules.data"
	top=$(awk '{ print $1 }' /proc/kallsyms | sort | tail -1)
	base=$(( (16#$top + 0x200000) & ~0xfffff ))
	# bash arithmetic is signed: kernel addresses are negative, and a
	# positive base means it wrapped past 2^64.
	if [ "$base" -gt 0 ] && [ "$(( 16#$top ))" -lt 0 ]; then
		echo "SKIP: no room for a fake module above $top"; return
	fi
	base=$(printf '%x' "$base")
	{ cat /proc/kallsyms
	  printf '%s t fake_mmu_fn\t[kvm_fake]\n' "$base"
	  printf '%x t fake_fault_fn\t[kvm_fake]\n' $(( 16#$base + 0x400 ))
	  printf '%x d fake_data\t[kvm_fake]\n' $(( 16#$base + 0x2000 ))
	} >"$fk"
	echo "kvm_fake 65536 0 - Live 0x$base" >"$fm"

	check "perfdata_gen writes a file with a module map" "$GEN" -k "$fk" -m "$fm" "$mdata" \
		"4242,5002,CPU 3/KVM,100000,7,$LOCK,fake_mmu_fn+0x10;$FAULT+0x8,1500000000" \
		"4242,5001,CPU 2/KVM,300000,9,$LOCK,$RLOCK+0x8;fake_fault_fn+0x10;$FAULT+0x8,2500000000"
	TOTAL=400000
	check "perf report --kallsyms reads it cleanly" run_perf report -i "$mdata" \
		--kallsyms="$fk" --stdio --sort sym --no-children -g none --percent-limit 0
	check "self share of module symbol fake_mmu_fn" share fake_mmu_fn 100000 1
	check "self share of $RLOCK beside it" share "$RLOCK" 300000 1
	check "no unresolved module symbols" bash -c "! grep -q unknown '$TMP/out'"
	check "perf report --sort dso names the module" run_perf report -i "$mdata" \
		--kallsyms="$fk" --stdio --sort dso --no-children -g none --percent-limit 0
	check "module share" share "[kvm_fake]" 100000 1
	check "perf script with the module reads it cleanly" run_perf script -i "$mdata" \
		--kallsyms="$fk" -F tid,period,ip,sym
	check "perf script names module frames" grep -qx $'\t *[0-9a-f]* fake_fault_fn' "$TMP/out"
	check "first module frame named too" grep -qx $'\t *[0-9a-f]* fake_mmu_fn' "$TMP/out"
}
modules_test

# Samples carry their time (the end of the interval kvmlockstat drained them in):
# perf script lists them in time order, perf report --sort time splits them.
time_test() {
	local tdata="$TMP/time.data"
	check "perfdata_gen writes samples with times" "$GEN" "$tdata" \
		"4242,5003,CPU 1/KVM,100000,1,$LOCK,$WLOCK+0x8;$FAULT+0x10,3000000000" \
		"4242,5001,CPU 1/KVM,100000,1,$LOCK,$WLOCK+0x8;$FAULT+0x10,1000000000" \
		"4242,5002,CPU 1/KVM,100000,1,$LOCK,$WLOCK+0x8;$FAULT+0x10,2000000000"
	check "perf script -F tid,time reads it cleanly" run_perf script -i "$tdata" -F tid,time
	check "perf script: each sample at its time, in time order ($(tr -s ' \n' ' ' < "$TMP/out"))" \
		test "$(awk '{ print $1, $2 }' "$TMP/out" | tr '\n' ' ')" = \
		"5001 1.000000: 5002 2.000000: 5003 3.000000: "
	check "perf report --sort time reads it cleanly" run_perf report -i "$tdata" --stdio \
		--sort time --no-children -g none --percent-limit 0
	check "perf report --sort time: three times" test "$(grep -c '^ .*%' "$TMP/out")" = 3
}
time_test

# Writes that cannot succeed fail, and leave nothing behind.
mkdir "$TMP/dir.data"
check "writing over a directory fails" bash -c "! '$GEN' '$TMP/dir.data' '${args[0]}' 2>/dev/null"
check "and leaves no temp file" test "$(ls "$TMP" | grep -c tmp)" = 0
check "writing into a missing directory fails" \
	bash -c "! '$GEN' '$TMP/missing/perf.data' '${args[0]}' 2>/dev/null"
check "and creates nothing" test ! -e "$TMP/missing"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
