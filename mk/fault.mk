# Unit tests of the fault family's figures in the run model and JSON record.
# Linked with the core library: no BPF toolchain, skeleton or root.
FAULT_UNIT := $(OUT)/tests/test_fault
UNIT_TESTS += $(FAULT_UNIT)

$(FAULT_UNIT): tests/unit/test_fault.c $(LIB) $(wildcard user/*.h) bpf/kvmlockstat.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(LIB) $(CORE_TEST_LIBS) -lcmocka -o $@

# The fault family on this host: fallback, notice, record (needs root).
.PHONY: fault-host
fault-host: $(OUT)/kvmlockstat
	$(Q)tests/integration/fault_fallback.sh $(OUT)/kvmlockstat
