# --timeline and plot --timeline on this host against a real VM (contend);
# the real-VM part needs root and a usable /dev/kvm and says so when skipped.
.PHONY: timeline
timeline: $(OUT)/kvmlockstat
	$(Q)tests/integration/timeline.sh $(OUT)

# arm64 lab (qemu TCG, stock 6.1): permission faults appear in the intervals after
# dirty logging begins (kernel trace) and none before. Not in CI: one lab boot.
.PHONY: lab-timeline
lab-timeline: $(OUT)/kvmlockstat
	$(Q)tests/lab/timeline.sh
