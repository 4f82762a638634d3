# Lab kernels before/after the kernel-patches/ series.
# Included by the top-level Makefile (which sets OUT); scripts do the work,
# each caching under $(OUT)/kernel so a repeated target costs seconds.
#   make kernel-deps            host packages (cross gcc, pahole, linux-source-6.1, qemu)
#   make kernel-series-check    series reverse/forward-applies to the pinned tree (~1 min)
#   make kernel-before|kernel-after|kernels   arm64 Image(s) in $(OUT)/kernel/<side>/Image
#   make kernel-smoke           boot the before kernel in qemu: KVM VHE, /dev/kvm, mmu_lock type
#   make kernel-selftest        static arm64 dirty_log_perf_test for both trees
#   make kernel-ci              what CI runs: series check, before kernel, boot smoke
#   make before-after           kvm-dirtylog + kvmlockstat on both kernels (scripts/kernel/before-after.sh)
#   make kernels-lockstat       both arm64 Images again with kernel-patches/lockstat.config
#                               (CONFIG_LOCK_STAT) in $(OUT)/kernel/<side>-lockstat/Image
#   make lockstat-compare       /proc/lock_stat beside kvmlockstat, dirty_log_perf_test at 1, 2, 4
#                               vCPUs on both LOCK_STAT kernels (scripts/kernel/lockstat.sh)
#   make lockstat-price         what LOCK_STAT and kvmlockstat cost, instruction counts (-icount),
#                               kvm-dirtylog at 1 and 2 vCPUs on the "before" tree
#   make lab-lockstat           the suite's check: kvmlockstat's mmu_lock count held to /proc/lock_stat
OUT ?= build
KERNEL_ENV := OUT=$(OUT)

.PHONY: kernel-deps kernel-series-check kernel-before kernel-after kernels \
	kernel-smoke kernel-smoke-after kernel-selftest kernel-ci before-after \
	kernels-lockstat lockstat-compare lockstat-price lab-lockstat

kernel-deps:
	$(KERNEL_ENV) scripts/kernel/deps.sh

kernel-series-check: kernel-deps
	$(KERNEL_ENV) tests/kernel/series-check.sh

kernel-before: kernel-deps
	$(KERNEL_ENV) scripts/kernel/build.sh before

kernel-after: kernel-deps
	$(KERNEL_ENV) scripts/kernel/build.sh after

# one after the other: two kernel builds at once only thrash the 2-core host
kernels: kernel-deps
	$(KERNEL_ENV) scripts/kernel/build.sh before
	$(KERNEL_ENV) scripts/kernel/build.sh after

kernel-smoke: kernel-before
	$(KERNEL_ENV) tests/kernel/boot-smoke.sh before

kernel-smoke-after: kernel-after
	$(KERNEL_ENV) tests/kernel/boot-smoke.sh after

kernel-selftest: kernel-deps
	$(KERNEL_ENV) scripts/kernel/selftest.sh before
	$(KERNEL_ENV) scripts/kernel/selftest.sh after

kernel-ci: kernel-series-check kernel-smoke

before-after: kernels
	$(KERNEL_ENV) scripts/kernel/before-after.sh

# one after the other, like kernels; "after" then starts from the "before" objects
kernels-lockstat: kernel-deps
	$(KERNEL_ENV) scripts/kernel/build.sh before lockstat
	$(KERNEL_ENV) scripts/kernel/build.sh after lockstat

lockstat-compare: kernels-lockstat
	$(KERNEL_ENV) scripts/kernel/lockstat.sh compare before
	$(KERNEL_ENV) scripts/kernel/lockstat.sh compare after

# only the "before" tree's two kernels: the price is measured there (spinlock mmu_lock)
lockstat-price: kernel-before
	$(KERNEL_ENV) scripts/kernel/build.sh before lockstat
	$(KERNEL_ENV) scripts/kernel/lockstat.sh price before

lab-lockstat: kernel-deps
	$(KERNEL_ENV) tests/lab/lockstat.sh
