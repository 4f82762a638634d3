# Unit tests of the core library (model, JSON record, timeline, naming, paths, table).
# They link $(LIB) only: no BPF toolchain, skeleton or root (libbpf: lockname.c reads
# struct kvm's lock members from BTF).
CORE_TEST_LIBS := -ljson-c -lbpf -lm
CORE_UNIT := $(addprefix $(OUT)/tests/test_,model record lockname waitpath timeline table)
UNIT_TESTS += $(CORE_UNIT)

$(CORE_UNIT): $(OUT)/tests/test_%: tests/unit/test_%.c $(LIB) $(wildcard user/*.h) bpf/kvmlockstat.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(LIB) $(CORE_TEST_LIBS) -lcmocka -o $@

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
# It links the core library built with the same sanitizers and coverage.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	       -Ibpf -Iuser -I/usr/include/json-c
FUZZ_LIB := $(OUT)/fuzz/libkvmlockstat.a
FUZZ_LIB_OBJS := $(patsubst user/%.c,$(OUT)/fuzz/%.o,$(LIB_SRCS))

$(OUT)/fuzz/%.o: user/%.c $(wildcard user/*.h)
	@mkdir -p $(@D)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUT)/tests/fuzz_record: tests/fuzz/fuzz_record.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB) -ljson-c -lbpf -lm -o $@

.PHONY: fuzz
fuzz: $(OUT)/tests/fuzz_record
	$(Q)tests/fuzz/run.sh $(OUT) $(FUZZ_SECONDS)
