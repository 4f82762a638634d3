# shellcheck shell=bash
# Reading one side-by-side run of scripts/kernel/guest-lockstat.sh (LS_MODE=compare):
# /proc/lock_stat's &kvm->mmu_lock class beside kvmlockstat's record of the same window.
# Sourced by scripts/kernel/lockstat.sh and tests/lab/lockstat.sh, after lablib.sh.

# The &kvm->mmu_lock class (lockdep names it "&(kvm)->mmu_lock", the text of the
# spin_lock_init/rwlock_init argument) of a /proc/lock_stat dump, all its lines (a spinlock has one,
# an rwlock a -W and a -R line) summed: "con_bounces contentions waittime_total_us
# acquisitions lines". Prints nothing when the class is absent (never acquired in the
# window), so that a missing class cannot read as 0 contentions.
#   columns: name: con-bounces contentions waittime-min -max -total -avg acq-bounces
#            acquisitions holdtime-min -max -total -avg  (times in us)
ls_mmu_lock() {
	[[ -f $1 ]] || return 0
	awk '$1 ~ /^&(\(kvm\)|kvm)->mmu_lock(#[0-9]+)?(-[RW])?:$/ && NF >= 13 {
			b += $2; c += $3; w += $6; a += $9; n++ }
		END { if (n) printf "%d %d %.2f %d %d\n", b, c, w, a, n }' "$1"
}

# Field K (1-5) of ls_mmu_lock, "-" when the class is absent.
ls_field() {
	local row
	row=$(ls_mmu_lock "$1")
	[[ -n $row ]] && awk -v k="$2" '{ print $k }' <<<"$row" || echo "-"
}

# kvmlockstat's mmu_lock waits over every VM of the record (dirty_log_perf_test's probe VM
# and its test VM; LOCK_STAT's class merges them too): "count wait_ns vms".
kls_mmu_lock() {
	jq -r '[.vms[]? | select(.mmu_lock != null)] as $v
		| ([$v[].contention | (.read, .write, .spin) | .count // 0] | add // 0) as $c
		| ([$v[].contention | (.read, .write, .spin) | .wait_ns // 0] | add // 0) as $w
		| "\($c) \($w) \($v | length)"' "$1" 2>/dev/null
}

# The mmu_lock addresses kvmlockstat named (one per VM that contended), one a line.
kls_mmu_addrs() {
	jq -r '.vms[]? | .mmu_lock // empty' "$1" 2>/dev/null
}

# Hits of a hist keyed by lock address (first key) on any of kvmlockstat's mmu_locks.
hist_on_mmu_lock() {
	local hist=$1 json=$2 a n=0
	[[ -f $hist ]] || { echo "-"; return; }
	for a in $(kls_mmu_addrs "$json"); do n=$((n + $(lock_hits "$hist" "$a" all))); done
	echo "$n"
}

# lock:lock_contended hits on kvmlockstat's mmu_locks: the hist is keyed by lockdep_addr, the
# address of the lock's dep_map, 24 bytes into the lock (after the raw lock, magic, owner_cpu
# and owner of DEBUG_SPINLOCK); any key within the lock's first 64 bytes is taken. Addresses
# are compared as exact strings (awk's doubles would round 64-bit addresses).
contended_on_mmu_lock() {
	local hist=$1 json=$2 a off want=""
	[[ -f $hist ]] || { echo "-"; return; }
	for a in $(kls_mmu_addrs "$json"); do
		for off in $(seq 0 8 56); do want+=" $(printf '%x' $((16#${a#0x} + off)))"; done
	done
	hist_rows "$hist" | awk -v want="$want" 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) ok[w[i]] = 1 }
		{ k = $1; sub(/^0*/, "", k); if (k in ok) s += $NF } END { print s + 0 }'
}

# Percent difference of A against B ("-" when B is 0 or either is missing).
pct_diff() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-";
		else printf "%+.2f%%", (a - b) / b * 100 }'
}
