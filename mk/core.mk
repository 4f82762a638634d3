# Unit tests of the core's user-space modules (model, JSON record).
# Built from source: they need no BPF toolchain, skeleton or root.
CORE_TEST_SRCS := user/model.c user/record.c user/atomic_write.c user/ksyms.c user/lockname.c user/table.c \
		  user/timeline.c user/waitpath.c
# libbpf: lockname.c reads struct kvm from BTF.
CORE_TEST_LIBS := -ljson-c -lbpf
CORE_UNIT := $(addprefix $(OUT)/tests/test_,model record lockname waitpath timeline table)
UNIT_TESTS += $(CORE_UNIT)

$(CORE_UNIT): $(OUT)/tests/test_%: tests/unit/test_%.c $(CORE_TEST_SRCS) $(wildcard user/*.h) bpf/kvmlockstat.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(CORE_TEST_SRCS) $(CORE_TEST_LIBS) -lcmocka -o $@

# The VM whose mmu_lock the demo and the mmu_lock tests make contend.
$(OUT)/contend: tests/integration/contend.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -pthread $< -o $@
ALL_TARGETS += $(OUT)/contend

.PHONY: lab-mmu-lock
lab-mmu-lock:
	$(Q)tests/lab/mmu_lock.sh

# A real VM's views (-a names, in_vmm, -p, not measured): on /dev/kvm, else one x86 lab boot.
.PHONY: lab-vm-views
lab-vm-views: $(OUT)/kvmlockstat $(OUT)/contend
	$(Q)tests/integration/vm_views.sh

# libFuzzer target of the record reader (clang, ASan + UBSan); a bounded run in CI.
FUZZ_SECONDS ?= 60
$(OUT)/tests/fuzz_record: tests/fuzz/fuzz_record.c user/model.c user/record.c user/atomic_write.c user/ksyms.c user/timeline.c $(wildcard user/*.h)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Ibpf -Iuser -I/usr/include/json-c $(filter %.c,$^) -ljson-c -o $@

.PHONY: fuzz
fuzz: $(OUT)/tests/fuzz_record
	$(Q)tests/fuzz/run.sh $(OUT) $(FUZZ_SECONDS)
