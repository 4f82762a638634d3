# --timeline and plot --timeline on this host against a real VM (contend);
# the real-VM part needs root and a usable /dev/kvm and says so when skipped.
.PHONY: timeline
timeline: $(OUT)/kvmlockstat
	$(Q)tests/integration/timeline.sh $(OUT)
