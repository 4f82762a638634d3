# The migration lab: a real QEMU live migration inside the lab VM, the
# guest's own progress beside kvmlockstat's timeline (scripts/lab/migrate/).
#   make lab-migrate [LAB_ARCH=arm64|x86_64] [LAB_KERNEL=before|PATH] [MIG_...=]
# The guest-side tools, built for the lab's architecture by scripts/lab/migrate/run.sh:
#   labmig-qmp (QMP client, json-c), labmig-progress (progress logger),
#   labmig-guest.elf (bare-metal workload; linked at RAM base + LM_CODE of layout.h).
LABMIG_DIR := scripts/lab/migrate/labmig
ifeq ($(ARCH),arm64)
LABMIG_AS := $(CC) -c
LABMIG_LD := $(CROSS_COMPILE)ld -Ttext=0x40100000
else
LABMIG_AS := $(CC) -m32 -c
LABMIG_LD := $(CROSS_COMPILE)ld -m elf_i386 -Ttext=0x100000
endif
LABMIG_CFLAGS := -D_GNU_SOURCE -O2 -g -Wall -Wextra -I/usr/include/json-c
LABMIG_LDFLAGS := $(if $(filter 1,$(STATIC)),-static)
MIG_VARS := MIG_MEM MIG_WSET MIG_FILL MIG_BW MIG_DOWNTIME MIG_DIRTY MIG_FINAL_DOWNTIME MIG_PRE MIG_POST MIG_TIMEOUT \
	    MIG_SAMPLE MIG_KILL_DST MIG_CASES
MIG_ENV = $(foreach v,$(MIG_VARS),$(if $(filter-out undefined,$(origin $(v))),$(v)='$($(v))'))

.PHONY: lab-migrate labmig

labmig: $(OUT)/labmig-qmp $(OUT)/labmig-progress $(OUT)/labmig-guest.elf

$(OUT)/labmig-qmp: $(LABMIG_DIR)/qmp.c | $(OUT)
	$(CC) $(LABMIG_CFLAGS) $(LABMIG_LDFLAGS) $< -ljson-c -o $@

$(OUT)/labmig-progress: $(LABMIG_DIR)/progress.c $(LABMIG_DIR)/layout.h | $(OUT)
	$(CC) $(LABMIG_CFLAGS) $(LABMIG_LDFLAGS) $< -o $@

# -N: one segment, so x86's multiboot header sits in the image's first 8 KiB.
$(OUT)/labmig-guest.elf: $(LABMIG_DIR)/guest_$(ARCH).S $(LABMIG_DIR)/layout.h | $(OUT)
	$(LABMIG_AS) -I$(LABMIG_DIR) $< -o $@.o
	$(LABMIG_LD) -N --no-warn-rwx-segments -e _start $@.o -o $@
	rm -f $@.o

lab-migrate:
	$(LAB_ENV) $(MIG_ENV) scripts/lab/migrate/run.sh
