# Benchmarks (not tests: ratios within one run, repeated, printed with median and min/max).
#   make bench                         everything (scripts/bench/all.sh): lab overhead on x86_64
#                                      and arm64, scale, host lock family vs perf
#   make bench BENCH_ONLY="host-lock"  a subset: x86_64 arm64 arm64-bpo scale host-lock
#   make bench-lab BENCH_ARCH=arm64    one lab's overhead ratios and per-probe table
.PHONY: bench bench-lab bench-host
bench:
	$(Q)scripts/bench/all.sh

bench-lab:
	$(Q)scripts/bench/overhead.sh $(BENCH_ARCH)

bench-host: all
	$(Q)scripts/bench/host-lock.sh

# The benchmark's floor (scripts/bench/tpcount.c): perf counters on the fault-path events,
# no BPF; built for the lab by scripts/bench/overhead.sh (LAB_EXTRA_BINS).
$(OUT)/tpcount: scripts/bench/tpcount.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@
