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
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ifeq ($(ARCH),arm64)
MULTIARCH := aarch64-linux-gnu
else
MULTIARCH := x86_64-linux-gnu
endif

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

# One .bpf.c per probe family; each gets a skeleton.
BPF_APPS := lock fault kvmstat
BPF_OBJS := $(patsubst %,$(OUT)/%.bpf.o,$(BPF_APPS))
SKELS := $(patsubst %,$(OUT)/%.skel.h,$(BPF_APPS))

USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
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

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUT)/user/%.o: user/%.c $(wildcard user/*.h) bpf/kvmlockstat.h $(SKELS) | $(OUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/kvmlockstat: $(OUT)/user/main.o $(USER_OBJS)
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
