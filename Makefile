# SPDX-License-Identifier: GPL-2.0
# kvmlockstat: BPF objects -> skeletons -> user space, per architecture.
#   make                       native build into build/
#   make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- STATIC=1 OUT=build/arm64
#   make test                  the whole test suite (what .ci/run runs)

OUT ?= build
HOSTARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
ARCH ?= $(HOSTARCH)
CROSS_COMPILE ?=
CC := $(CROSS_COMPILE)gcc
AR := $(CROSS_COMPILE)ar
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

# Debian's multiarch tuple of the target (its asm/ headers): the compiler's own.
MULTIARCH ?= $(shell $(CC) -dumpmachine)

# KVMLOCKSTAT_VERSION: set by debian/rules (the package version); else git describe.
VERSION := $(or $(KVMLOCKSTAT_VERSION),$(shell git describe --always --dirty 2>/dev/null || echo unknown))
CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation -std=gnu11 -I$(OUT) -Ibpf -Iuser \
	  -DKVMLOCKSTAT_VERSION='"$(VERSION)"'
# json-c's headers live in a json-c/ include directory on every Debian arch.
CFLAGS += -I/usr/include/json-c
LDLIBS := -lbpf -lelf -lz -ljson-c -lpthread -lm
ifeq ($(STATIC),1)
LDFLAGS += -static
# libelf pulls in zstd statically; json-c may want -lm.
LDLIBS += -lzstd
endif

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I. -Ibpf \
	      -I/usr/include/$(MULTIARCH)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# One .bpf.c per probe family; each gets a skeleton.  The lock and fault families also
# get an object for kernels with no BPF atomics but the plain add (before 5.12), built
# from the same source with BPF_XADD_ONLY (bpf/stat.bpf.h).
BPF_APPS := lock fault kvmcounters lock_xadd fault_xadd
BPF_OBJS := $(patsubst %,$(OUT)/%.bpf.o,$(BPF_APPS))
SKELS := $(patsubst %,$(OUT)/%.skel.h,$(BPF_APPS))

# The core library: the run model and what reads or renders it, no BPF. Linked by
# kvmlockstat and the unit tests; the fuzz target links a sanitized build of it (mk/core.mk).
LIB_SRCS := user/model.c user/record.c user/timeline.c user/ksyms.c user/perfdata.c \
	    user/folded.c user/atomic_write.c user/lockname.c user/waitpath.c user/table.c
LIB_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(LIB_SRCS))
LIB := $(OUT)/libkvmlockstat.a

USER_SRCS := $(filter-out user/main.c $(LIB_SRCS),$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(USER_SRCS))

ALL_TARGETS := $(OUT)/kvmlockstat
UNIT_TESTS :=

.PHONY: all clean test unit integration
.DELETE_ON_ERROR:
.SECONDARY:
.DEFAULT_GOAL := all

include $(sort $(wildcard mk/*.mk))

all: $(ALL_TARGETS)

$(OUT) $(OUT)/user:
	$(Q)mkdir -p $@

$(OUT)/%.bpf.o: bpf/%.bpf.c bpf/kvmlockstat.h bpf/*.bpf.h vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUT)/%_xadd.bpf.o: bpf/%.bpf.c bpf/kvmlockstat.h bpf/*.bpf.h vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DBPF_XADD_ONLY -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# Headers from the compiler (-MMD); skeletons: each object those it includes.
$(OUT)/user/%.o: user/%.c | $(OUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

skels_of = $(patsubst %,$(OUT)/%,$(shell sed -n 's/^\#include "\([a-z_]*\.skel\.h\)"/\1/p' $(1)))
$(foreach s,$(USER_SRCS) user/main.c,$(eval $(patsubst user/%.c,$(OUT)/user/%.o,$(s)): $(call skels_of,$(s))))
-include $(wildcard $(OUT)/user/*.d)

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUT)/kvmlockstat: $(OUT)/user/main.o $(USER_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

unit: $(UNIT_TESTS)
	$(Q)tests/run-unit.sh $(UNIT_TESTS)

integration: all
	$(Q)tests/integration/run.sh $(OUT)

# The whole suite, one summary line: what README and CI run.
test:
	$(Q)scripts/test.sh

clean:
	rm -rf $(OUT)
