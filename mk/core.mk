# Unit tests of the core's user-space modules (model, JSON record).
# Built from source: they need no BPF toolchain, skeleton or root.
CORE_TEST_SRCS := user/model.c user/record.c user/atomic_write.c user/ksyms.c user/lockname.c
CORE_UNIT := $(addprefix $(OUT)/tests/test_,model record lockname)
UNIT_TESTS += $(CORE_UNIT)

$(CORE_UNIT): $(OUT)/tests/test_%: tests/unit/test_%.c $(CORE_TEST_SRCS) $(wildcard user/*.h) bpf/kvmlockstat.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(CORE_TEST_SRCS) -ljson-c -lcmocka -o $@

# The VM whose mmu_lock the demo and the mmu_lock tests make contend.
$(OUT)/contend: tests/integration/contend.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -pthread $< -o $@
ALL_TARGETS += $(OUT)/contend

.PHONY: lab-mmu-lock
lab-mmu-lock:
	$(Q)tests/lab/mmu_lock.sh
