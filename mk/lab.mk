# The lab: real stage-2 dirty-logging faults under kvmlockstat, inside qemu with
# nested virtualization on Debian's stock 6.1 kernels (docs/labs.md).
#   make lab [LAB_ARCH=arm64|x86_64] [LAB_VCPUS="1 2 4"] [LAB_CPUS=N] [LAB_MEM=2G]
#            [LAB_KERNEL=path/to/Image] [LAB_RESULTS=dir]
#   make lab-smoke    both architectures, small, with assertions (part of `make test`)
#   make lab-deps     only install/fetch what the lab needs
LAB_ARCH ?= arm64
LAB_VARS := LAB_ARCH LAB_VCPUS LAB_CPUS LAB_MEM LAB_KERNEL LAB_MODULES LAB_RESULTS LAB_SIZE \
	    LAB_ITER LAB_TIMEOUT LAB_RUN_TIMEOUT LAB_NO_KVMLOCKSTAT LAB_SKIP_DEPS \
	    LAB_DIRTYLOG_ARGS LAB_KVMLOCKSTAT_ARGS LAB_KVER LAB_CACHE
# Only the variables given reach the scripts, which hold the defaults.
LAB_ENV = $(foreach v,$(LAB_VARS),$(if $(filter-out undefined,$(origin $(v))),$(v)='$($(v))'))

.PHONY: lab lab-smoke lab-deps

lab:
	$(LAB_ENV) scripts/lab/lab.sh

lab-smoke:
	$(LAB_ENV) tests/lab/smoke.sh

lab-deps:
	$(LAB_ENV) scripts/lab/deps.sh $(LAB_ARCH)

# The kernel matrix: kvmlockstat on Debian's stock kernels (docs/kernels.md), each held to
# that kernel's own counts.  make lab-matrix [LAB_KERNELS="5.10 6.1 6.12 7.3"]
#   [LAB_MATRIX_ARCHES="arm64 x86_64"]; writes build/lab/matrix/ and docs/kernels.md.
LAB_KERNELS ?= 5.10 6.1 6.12 7.3
LAB_MATRIX_ARCHES ?= arm64 x86_64
.PHONY: lab-matrix lab-matrix-ci
lab-matrix:
	$(LAB_ENV) LAB_KERNELS='$(LAB_KERNELS)' LAB_MATRIX_ARCHES='$(LAB_MATRIX_ARCHES)' \
		LAB_MATRIX_DOC=$${LAB_MATRIX_DOC:-1} tests/lab/matrix.sh

# CI: the oldest and the newest kernel (6.1 is lab-smoke's), both architectures.
lab-matrix-ci:
	$(LAB_ENV) LAB_KERNELS='5.10 7.3' LAB_MATRIX_ARCHES='$(LAB_MATRIX_ARCHES)' LAB_MATRIX_DOC=0 \
		LAB_MATRIX_OUT=build/lab/matrix-ci tests/lab/matrix.sh

# Before and after a kernel upgrade (arm64 5.10 vs 6.1 vs 7.3, 1/2/4 vCPUs): kvmlockstat diff
# tables in build/lab/upgrade/report.md (scripts/lab/upgrade.sh).
.PHONY: lab-upgrade
lab-upgrade:
	$(LAB_ENV) $(if $(LAB_UPGRADE_KERNELS),LAB_UPGRADE_KERNELS='$(LAB_UPGRADE_KERNELS)') scripts/lab/upgrade.sh
