# kvmlockstat exporter: /metrics for Prometheus through libmicrohttpd, TLS through
# its GnuTLS, --web-config read with libyaml, bcrypt checked by libxcrypt.
# Static builds (the labs') get a stub: libmicrohttpd.a needs gnutls and its chain.
EXPORTER_OBJS := $(patsubst %,$(OUT)/user/%.o,exporter httpd webconfig)
ifeq ($(STATIC),1)
USER_OBJS := $(filter-out $(EXPORTER_OBJS),$(USER_OBJS))
else
USER_OBJS := $(filter-out $(OUT)/user/exporter_stub.o,$(USER_OBJS))
LDLIBS += -lmicrohttpd -lgnutls -lyaml -lcrypt
endif

# Unit tests of the exposition format, the fleet totals and VM naming (no BPF, no root).
EXPORTER_TEST_SRCS := user/promfmt.c user/fleet.c user/metrics.c user/vmid.c
EXPORTER_UNIT := $(OUT)/tests/test_exporter
UNIT_TESTS += $(EXPORTER_UNIT)

$(EXPORTER_UNIT): tests/unit/test_exporter.c $(EXPORTER_TEST_SRCS) $(LIB) $(wildcard user/*.h) bpf/kvmlockstat.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(EXPORTER_TEST_SRCS) $(LIB) -ljson-c -lcmocka -lm -o $@

# --web-config's parser and bcrypt checks (no TLS material, no root).
WEBCONFIG_UNIT := $(OUT)/tests/test_webconfig
ifneq ($(STATIC),1)
UNIT_TESTS += $(WEBCONFIG_UNIT)
endif

$(WEBCONFIG_UNIT): tests/unit/test_webconfig.c user/webconfig.c user/webconfig.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< user/webconfig.c -lcmocka -lyaml -lcrypt -lgnutls -o $@

# The exporter against a real Prometheus server and a contending VM (needs root, /dev/kvm).
.PHONY: exporter
exporter: $(OUT)/kvmlockstat $(OUT)/contend
	$(Q)tests/exporter/run.sh $(OUT)

.PHONY: bench-exporter
bench-exporter: $(OUT)/kvmlockstat $(OUT)/contend
	$(Q)scripts/bench/exporter.sh $(OUT)
# make bench runs it too (its other benchmark is the lab's overhead ratio, mk/core.mk).
bench: bench-exporter

# The real exporter in the x86 lab: its fault counters = KVM's pf_taken/pf_fast (one lab boot).
.PHONY: lab-exporter
lab-exporter: $(OUT)/kvmlockstat
	$(Q)tests/lab/exporter.sh $(OUT)/kvmlockstat
