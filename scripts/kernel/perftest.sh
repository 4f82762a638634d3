#!/usr/bin/env bash
# Run the kernel's own dirty_log_perf_test (built by selftest.sh from the same
# tree) on one lab kernel, as a second workload beside kvm-dirtylog:
#   scripts/kernel/perftest.sh before|after
# The seed's command line, scaled to the lab VM:
#   dirty_log_perf_test -b $PERFTEST_MEM -m 2 -i $PERFTEST_ITER -s $PERFTEST_BACKING -v N
# for N in $PERFTEST_VCPUS. Next to the test the kernel counts, in tracefs:
#   - lock:contention_begin by lock address and flags; the host picks
#     kvm->mmu_lock out of it (struct offsets from the kernel's BTF via pahole,
#     the struct kvm pointer from a kprobe on kvm_handle_guest_abort)
#   - calls of kvm_pgtable_stage2_relax_perms (the permission-relaxation path)
# Output: $OUT/kernel/perftest/<side>/{console.log,vN.log,summary.tsv}
# Emulated CPUs (qemu TCG): timings are not representative of hardware.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

side=${1:-}
check_side "$side"
PERFTEST_VCPUS=${PERFTEST_VCPUS:-1 2}
PERFTEST_MEM=${PERFTEST_MEM:-64M}
PERFTEST_ITER=${PERFTEST_ITER:-2}
PERFTEST_BACKING=${PERFTEST_BACKING:-anonymous_hugetlb_2mb}
PERFTEST_CPUS=${PERFTEST_CPUS:-2}
PERFTEST_RAM=${PERFTEST_RAM:-2G}
PERFTEST_TIMEOUT=${PERFTEST_TIMEOUT:-1800}
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
EOF
	cat >>"$2" <<'EOF'
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mount -t tracefs nodev /sys/kernel/tracing; T=/sys/kernel/tracing
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
	echo "$H1" > $T/events/lock/contention_begin/trigger
	echo "$H2" > $T/events/kprobes/pt_abort/trigger
	echo "$H3" > $T/events/kprobes/pt_relax/trigger
	echo "@@PT-BEGIN v=$n@@"
	/bin/dirty_log_perf_test -b $MEM -m 2 -i $ITER -s $BACKING -v $n 2>&1
	rc=$?
	echo "@@PT-HIST contention v=$n@@"; cat $T/events/lock/contention_begin/hist
	echo "@@PT-HIST abort v=$n@@"; cat $T/events/kprobes/pt_abort/hist
	echo "@@PT-HIST relax v=$n@@"; cat $T/events/kprobes/pt_relax/hist
	echo "!$H1" > $T/events/lock/contention_begin/trigger
	echo "!$H2" > $T/events/kprobes/pt_abort/trigger
	echo "!$H3" > $T/events/kprobes/pt_relax/trigger
	echo "@@PT-END v=$n rc=$rc@@"
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
	local mmu_off n
	mmu_off=$(offsetof kvm mmu_lock)
	[[ $mmu_off =~ ^[0-9]+$ ]] || die "cannot find offsetof(struct kvm, mmu_lock) in $vmlinux"
	printf 'vcpus\tdirty_ms_avg\tdirty_ms_steady\tmmu_lock_contentions\tread\twrite\tspin\tall_lock_contentions\trelax_perms_calls\trc\n' >"$res/summary.tsv"
	for n in $PERFTEST_VCPUS; do
		local dirty steady rc kvm lock mine all relax
		section "BEGIN v=$n" >"$res/v$n.log"
		section "HIST contention v=$n" >"$res/contention-v$n.hist"
		section "HIST abort v=$n" >"$res/abort-v$n.hist"
		section "HIST relax v=$n" >"$res/relax-v$n.hist"
		dirty=$(dirty_ms "$res/v$n.log")
		# manual protect + initially set: pass 1 takes no faults, pass 2 splits the block
		# mappings the first clear write-protected (write lock); from 3 on, 4K permission faults
		steady=$(dirty_ms "$res/v$n.log" 3)
		rc=$(sed -n "s/^@@PT-END v=$n rc=\([0-9]*\)@@$/\1/p" "$res/console.txt")
		# the test VM's struct kvm is the pointer most guest aborts came with
		kvm=$(hist_rows kvm <"$res/abort-v$n.hist" | sort -k2,2nr | awk 'NR == 1 {print $1}')
		lock=""
		[[ -n $kvm ]] && lock=$(printf '%x' $((16#$kvm + mmu_off)))
		mine=$(awk -v a="$lock" '{ for (i = 1; i < NF; i++) if ($i == "lock_addr:") { v = tolower($(i + 1)); sub(/^0x/, "", v); gsub(/[^0-9a-f]/, "", v); sub(/^0+/, "", v); if (a != "" && v == a) print } }' "$res/contention-v$n.hist")
		all=$(hits <"$res/contention-v$n.hist")
		relax=$(hits <"$res/relax-v$n.hist")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$dirty" "$steady" "$(hits <<<"$mine")" \
			"$(flag_hits 3 <<<"$mine")" "$(flag_hits 5 <<<"$mine")" "$(flag_hits 1 <<<"$mine")" \
			"$all" "$relax" "${rc:-?}" >>"$res/summary.tsv"
	done
	echo "kvm->mmu_lock = struct kvm (from kvm_handle_guest_abort) + $mmu_off (pahole on $vmlinux)" >"$res/notes.txt"
}

main() {
	[[ -f $img && -f $vmlinux ]] || die "$img missing: make kernel-$side"
	[[ -x $test_bin ]] || die "$test_bin missing: scripts/kernel/selftest.sh $side"
	local off
	off=$(offsetof kvm_vcpu kvm)
	[[ $off =~ ^[0-9]+$ ]] || die "cannot find offsetof(struct kvm_vcpu, kvm) in $vmlinux (pahole)"
	rm -rf "$res" && mkdir -p "$res"
	write_init "$off" "$res/init"
	"$KP_REPO/scripts/kernel/initramfs.sh" "$res/initrd.gz" "$res/init" "$test_bin" >/dev/null
	log "$side: dirty_log_perf_test -b $PERFTEST_MEM -m 2 -i $PERFTEST_ITER -s $PERFTEST_BACKING -v {$PERFTEST_VCPUS} (qemu TCG, $PERFTEST_CPUS CPUs)"
	boot
	summarise
	column -t "$res/summary.tsv"
}

main
