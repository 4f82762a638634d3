#!/usr/bin/env bash
# Run the kernel's own dirty_log_perf_test (built by selftest.sh from the same
# tree) on one lab kernel, under kvmlockstat, as the seed's own workload:
#   scripts/kernel/perftest.sh before|after
# The cover letter's command line, scaled to the lab VM:
#   dirty_log_perf_test -b $PERFTEST_MEM -m 2 -i $PERFTEST_ITER -s $PERFTEST_BACKING -v N
# for N in $PERFTEST_VCPUS, PERFTEST_REPS times each (one boot), every run under
# `kvmlockstat -i 0 -j` (PERFTEST_KLS=0: the test alone). Next to it the kernel
# counts, in tracefs, as a cross-check:
#   - lock:contention_begin by lock address and flags; the host picks
#     kvm->mmu_lock out of it (struct offsets from the kernel's BTF via pahole,
#     the struct kvm pointer from a kprobe on kvm_handle_guest_abort). It misses
#     a qspinlock's first waiter (the one spinning on the pending bit), which
#     kvmlockstat counts by probing the slow path: on a spinlock mmu_lock the
#     tracepoint undercounts.
#   - calls of kvm_pgtable_stage2_relax_perms (the permission-relaxation path)
# Output: $OUT/kernel/perftest/<side>/{console.log,v<N>-r<R>.log,kls-v<N>-r<R>.json,summary.tsv}
# Emulated CPUs (qemu TCG): timings are not representative of hardware.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lockstat-lib.sh"

side=${1:-}
check_side "$side"
PERFTEST_VCPUS=${PERFTEST_VCPUS:-1 2}
PERFTEST_MEM=${PERFTEST_MEM:-64M}
PERFTEST_ITER=${PERFTEST_ITER:-2}
PERFTEST_BACKING=${PERFTEST_BACKING:-anonymous_hugetlb_2mb}
PERFTEST_CPUS=${PERFTEST_CPUS:-2}
PERFTEST_RAM=${PERFTEST_RAM:-2G}
PERFTEST_TIMEOUT=${PERFTEST_TIMEOUT:-1800}
PERFTEST_REPS=${PERFTEST_REPS:-3}
PERFTEST_KLS=${PERFTEST_KLS:-1}
res="$KBUILD/perftest/$side"
img="$KBUILD/$side/Image"
vmlinux="$KBUILD/$side/vmlinux"
test_bin="$KBUILD/$side/dirty_log_perf_test"

# byte offset of MEMBER in STRUCT, from the kernel's own debug info:
# pahole prints "type name; /* offset size */"
offsetof() {
	# awk reads to the end: exiting early would kill pahole with SIGPIPE (pipefail)
	pahole -C "$1" "$vmlinux" 2>/dev/null | awk -v m="$2;" '
		!done { for (i = 1; i < NF; i++) if ($i == m) for (j = i + 1; j < NF; j++) if ($j == "/*") { print $(j + 1); done = 1; break } }'
}

mem_mb() {
	case $PERFTEST_MEM in
	*G) echo $((${PERFTEST_MEM%G} * 1024)) ;;
	*M) echo "${PERFTEST_MEM%M}" ;;
	*) die "PERFTEST_MEM=$PERFTEST_MEM: use e.g. 64M or 1G" ;;
	esac
}

write_init() {
	local vcpu_kvm_off=$1
	cat >"$2" <<EOF
#!/bin/sh
VCPUS="$PERFTEST_VCPUS"; MEM_MB=$(mem_mb); MEM=$PERFTEST_MEM; ITER=$PERFTEST_ITER; BACKING=$PERFTEST_BACKING
REPS=$PERFTEST_REPS; KLS=$PERFTEST_KLS
EOF
	cat >>"$2" <<'EOF'
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mount -t tracefs nodev /sys/kernel/tracing; T=/sys/kernel/tracing
# kvmlockstat's maps and programs (kernels that still charge them to RLIMIT_MEMLOCK)
ulimit -l unlimited
echo "@@PT-INFO uname=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)@@"
dmesg | grep -i 'kvm' | sed 's/^/@@PT-DMESG /'
EOF
	cat >>"$2" <<EOF
echo 'p:kprobes/pt_abort kvm_handle_guest_abort kvm=+$vcpu_kvm_off(%x0):u64' >> \$T/kprobe_events
EOF
	cat >>"$2" <<'EOF'
echo 'p:kprobes/pt_relax kvm_pgtable_stage2_relax_perms' >> $T/kprobe_events
H1='hist:keys=lock_addr.hex,flags:size=8192'; H2='hist:keys=kvm.hex:size=256'; H3='hist:keys=common_pid:size=256'
for n in $VCPUS; do
	case $BACKING in *hugetlb*) echo $(( n * MEM_MB / 2 + 64 )) > /proc/sys/vm/nr_hugepages ;; esac
	r=1
	while [ $r -le $REPS ]; do
		t="v=$n r=$r"
		echo "$H1" > $T/events/lock/contention_begin/trigger
		echo "$H2" > $T/events/kprobes/pt_abort/trigger
		echo "$H3" > $T/events/kprobes/pt_relax/trigger
		echo "@@PT-BEGIN $t@@"
		cmd="/bin/dirty_log_perf_test -b $MEM -m 2 -i $ITER -s $BACKING -v $n"
		if [ "$KLS" = 1 ]; then
			/bin/kvmlockstat -i 0 -j /tmp/kls.json -- $cmd 2>&1
		else
			$cmd 2>&1
		fi
		rc=$?
		echo "@@PT-HIST contention $t@@"; cat $T/events/lock/contention_begin/hist
		echo "@@PT-HIST abort $t@@"; cat $T/events/kprobes/pt_abort/hist
		echo "@@PT-HIST relax $t@@"; cat $T/events/kprobes/pt_relax/hist
		[ -f /tmp/kls.json ] && { echo "@@PT-KLS $t@@"; cat /tmp/kls.json; echo; rm -f /tmp/kls.json; }
		echo "!$H1" > $T/events/lock/contention_begin/trigger
		echo "!$H2" > $T/events/kprobes/pt_abort/trigger
		echo "!$H3" > $T/events/kprobes/pt_relax/trigger
		echo "@@PT-END $t rc=$rc@@"
		r=$((r + 1))
	done
	echo 0 > /proc/sys/vm/nr_hugepages
done
echo "@@PT-DONE@@"
poweroff -f
EOF
}

boot() {
	timeout -k 10 "$PERFTEST_TIMEOUT" qemu-system-aarch64 \
		-M virt,virtualization=on,gic-version=3 -cpu max,pauth-impdef=on \
		-smp "$PERFTEST_CPUS" -m "$PERFTEST_RAM" -nographic -no-reboot \
		-kernel "$img" -initrd "$res/initrd.gz" \
		-append "console=ttyAMA0 rdinit=/init panic=-1 quiet" </dev/null >"$res/console.log" 2>&1 || true
	tr -d '\r' <"$res/console.log" >"$res/console.txt"
	grep -q '^@@PT-DONE@@' "$res/console.txt" || {
		tail -40 "$res/console.txt" >&2
		die "$side: the guest did not finish (see $res/console.txt)"
	}
}

# Lines of the console between "@@PT-<tag>@@" and the next "@@PT-" marker.
section() { awk -v h="@@PT-$1@@" '$0 == h {on = 1; next} /^@@PT-/ {on = 0} on' "$res/console.txt"; }

# hist "hitcount: N" lines summed
hits() { awk 'index($0, "hitcount:") {s += $NF} END {print s + 0}'; }

# "KEY VALUE-as-lowercase-hex-without-0x HITCOUNT" for each hist line carrying KEY
hist_rows() {
	awk -v k="$1:" '{ for (i = 1; i < NF; i++) if ($i == k) { v = tolower($(i + 1)); sub(/^0x/, "", v); gsub(/[^0-9a-f]/, "", v); sub(/^0+/, "", v); print v, $NF } }'
}

# contention_begin flags (include/trace/events/lock.h): LCB_F_SPIN 1, READ 2, WRITE 4
flag_hits() { awk -v f="$1" '{ for (i = 1; i < NF; i++) if ($i == "flags:") { v = $(i + 1); gsub(/[^0-9]/, "", v); if (v == f) s += $NF } } END {print s + 0}'; }

summarise() {
	local mmu_off n r
	mmu_off=$(offsetof kvm mmu_lock)
	[[ $mmu_off =~ ^[0-9]+$ ]] || die "cannot find offsetof(struct kvm, mmu_lock) in $vmlinux"
	printf 'vcpus\trep\tdirty_ms_avg\tdirty_ms_steady\tkls_mmu_lock_waits\tkls_mmu_lock_wait_ms\tmmu_lock_contentions\tread\twrite\tspin\tall_lock_contentions\trelax_perms_calls\trc\n' >"$res/summary.tsv"
	for n in $PERFTEST_VCPUS; do
		for r in $(seq 1 "$PERFTEST_REPS"); do
			summarise_run "$n" "$r" "$mmu_off" >>"$res/summary.tsv"
		done
	done
	echo "kvm->mmu_lock = struct kvm (from kvm_handle_guest_abort) + $mmu_off (pahole on $vmlinux)" >"$res/notes.txt"
}

# one row of summary.tsv: run N vCPUs, rep R
summarise_run() {
	local n=$1 r=$2 mmu_off=$3 t="v=$1 r=$2" f="$res/v$1-r$2" dirty steady rc kvm lock mine all relax kls
	section "BEGIN $t" >"$f.log"
	section "HIST contention $t" >"$f-contention.hist"
	section "HIST abort $t" >"$f-abort.hist"
	section "HIST relax $t" >"$f-relax.hist"
	section "KLS $t" >"$res/kls-v$n-r$r.json"
	dirty=$(dirty_ms "$f.log")
	# manual protect + initially set: pass 1 takes no faults, pass 2 splits the block
	# mappings the first clear write-protected (write lock); from 3 on, 4K permission faults
	steady=$(dirty_ms "$f.log" 3)
	rc=$(sed -n "s/^@@PT-END $t rc=\([0-9]*\)@@$/\1/p" "$res/console.txt")
	# the test VM's struct kvm is the pointer most guest aborts came with
	kvm=$(hist_rows kvm <"$f-abort.hist" | sort -k2,2nr | awk 'NR == 1 {print $1}')
	lock=""
	[[ -n $kvm ]] && lock=$(printf '%x' $((16#$kvm + mmu_off)))
	mine=$(awk -v a="$lock" '{ for (i = 1; i < NF; i++) if ($i == "lock_addr:") { v = tolower($(i + 1)); sub(/^0x/, "", v); gsub(/[^0-9a-f]/, "", v); sub(/^0+/, "", v); if (a != "" && v == a) print } }' "$f-contention.hist")
	all=$(hits <"$f-contention.hist")
	relax=$(hits <"$f-relax.hist")
	kls=$(kls_mmu_lock "$res/kls-v$n-r$r.json")
	[[ -n $kls ]] || kls="- -"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$r" "$dirty" "$steady" \
		"$(awk '{ print $1 }' <<<"$kls")" "$(awk '{ if ($2 == "-") print "-"; else printf "%.1f", $2 / 1e6 }' <<<"$kls")" \
		"$(hits <<<"$mine")" "$(flag_hits 3 <<<"$mine")" "$(flag_hits 5 <<<"$mine")" "$(flag_hits 1 <<<"$mine")" \
		"$all" "$relax" "${rc:-?}"
}

# the static arm64 kvmlockstat the lab runner builds too
kvmlockstat_arm64() {
	make -s -C "$KP_REPO" ARCH=arm64 CROSS_COMPILE="$KP_CROSS" STATIC=1 OUT=build/arm64 build/arm64/kvmlockstat >&2 ||
		die "building the static arm64 kvmlockstat failed"
	echo "$KP_REPO/build/arm64/kvmlockstat"
}

main() {
	[[ -f $img && -f $vmlinux ]] || die "$img missing: make kernel-$side"
	[[ -x $test_bin ]] || die "$test_bin missing: scripts/kernel/selftest.sh $side"
	local off
	off=$(offsetof kvm_vcpu kvm)
	[[ $off =~ ^[0-9]+$ ]] || die "cannot find offsetof(struct kvm_vcpu, kvm) in $vmlinux (pahole)"
	rm -rf "$res" && mkdir -p "$res"
	write_init "$off" "$res/init"
	local bins=("$test_bin")
	[[ $PERFTEST_KLS == 1 ]] && bins+=("$(kvmlockstat_arm64)")
	"$KP_REPO/scripts/kernel/initramfs.sh" "$res/initrd.gz" "$res/init" "${bins[@]}" >/dev/null
	log "$side: dirty_log_perf_test -b $PERFTEST_MEM -m 2 -i $PERFTEST_ITER -s $PERFTEST_BACKING -v {$PERFTEST_VCPUS} x $PERFTEST_REPS$([[ $PERFTEST_KLS == 1 ]] && echo ' under kvmlockstat') (qemu TCG, $PERFTEST_CPUS CPUs)"
	boot
	summarise
	column -t "$res/summary.tsv"
}

main
