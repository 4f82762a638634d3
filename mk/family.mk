# Every program in the skeletons is claimed by a probe point of its family
# (tests/unit/test_claims.c): built against the skeletons and the family objects.
# After mk/exporter.mk, which settles USER_OBJS.
CLAIMS_UNIT := $(OUT)/tests/test_claims
UNIT_TESTS += $(CLAIMS_UNIT)

$(CLAIMS_UNIT): tests/unit/test_claims.c $(USER_OBJS) $(LIB) $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(USER_OBJS) $(LIB) $(LDFLAGS) $(LDLIBS) -lcmocka -o $@
