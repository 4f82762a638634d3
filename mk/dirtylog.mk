# kvm-dirtylog: the dirty-logging workload (plain C + pthreads, no libbpf).
# Included by the top-level Makefile, which sets ARCH (x86|arm64), CC, CFLAGS,
# LDFLAGS, STATIC and OUT; the defaults below let `make -f mk/dirtylog.mk` work alone.
OUT ?= build
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

DIRTYLOG_DIR := user/dirtylog
# Only the guest code of the target architecture is built: the guest runs natively.
DIRTYLOG_SRCS := main.c opts.c vm.c run.c report.c guest_$(ARCH).c
DIRTYLOG_OBJS := $(patsubst %.c,$(OUT)/dirtylog/%.o,$(DIRTYLOG_SRCS))
DIRTYLOG_CFLAGS := -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror=implicit-function-declaration
DIRTYLOG_LDFLAGS := $(if $(filter 1,$(STATIC)),-static)

ALL_TARGETS += $(OUT)/kvm-dirtylog

$(OUT)/dirtylog:
	mkdir -p $@

$(OUT)/dirtylog/%.o: $(DIRTYLOG_DIR)/%.c $(DIRTYLOG_DIR)/dirtylog.h | $(OUT)/dirtylog
	$(CC) $(CFLAGS) $(DIRTYLOG_CFLAGS) -c $< -o $@

$(OUT)/kvm-dirtylog: $(DIRTYLOG_OBJS)
	$(CC) $(LDFLAGS) $(DIRTYLOG_LDFLAGS) $^ -lpthread -o $@
