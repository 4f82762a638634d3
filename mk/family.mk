# Tests built against the skeletons and the family objects (after mk/exporter.mk, which
# settles USER_OBJS): every program in the skeletons is claimed by a probe point of its
# family (tests/unit/test_claims.c); the lock family's variant choice from kernel facts
# (tests/unit/test_lockplan.c).
FAMILY_UNIT := $(OUT)/tests/test_claims $(OUT)/tests/test_lockplan
UNIT_TESTS += $(FAMILY_UNIT)

$(FAMILY_UNIT): $(OUT)/tests/test_%: tests/unit/test_%.c $(USER_OBJS) $(LIB) $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(USER_OBJS) $(LIB) $(LDFLAGS) $(LDLIBS) -lcmocka -o $@
