# Output modules: perf.data writer, folded stacks, kernel symbols (core library), charts.
# test_plot runs gnuplot (package gnuplot-nox) and skips without it.
# The tests link the core library and plot.c: no BPF toolchain or skeletons.
PD_SRCS := user/plot.c
PD_DEPS := $(PD_SRCS) $(LIB) $(wildcard user/*.h) tests/unit/testutil.h tests/unit/ksyms_fixture.h
PD_CFLAGS = $(CFLAGS) -Wall -Wextra -Wno-unused-parameter -std=gnu11 -Iuser -Itests/unit
PD_UNIT := $(addprefix $(OUT)/tests/test_,ksyms folded perfdata plot)
PD_GEN := $(OUT)/tests/perfdata_gen

UNIT_TESTS += $(PD_UNIT)

.PHONY: perfdata-unit perfdata-integration

$(PD_UNIT): $(OUT)/tests/test_%: tests/unit/test_%.c $(PD_DEPS)
	@mkdir -p $(@D)
	$(CC) $(PD_CFLAGS) $< $(PD_SRCS) $(LIB) -ljson-c -lcmocka -lm -o $@

$(PD_GEN): tests/integration/perfdata_gen.c $(PD_DEPS)
	@mkdir -p $(@D)
	$(CC) $(PD_CFLAGS) $< $(PD_SRCS) $(LIB) -ljson-c -lm -o $@

perfdata-unit: $(PD_UNIT)
	@for t in $^; do $$t || exit 1; done

# Needs root (real /proc/kallsyms addresses) and perf (linux-perf).
perfdata-integration: $(PD_GEN)
	tests/integration/perfdata.sh $(PD_GEN)
