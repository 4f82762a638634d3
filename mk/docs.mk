# make docs-check: README.md, docs/, the man pages, --help and the bash completion agree
# (tests/docs/run.sh): options and subcommands, relative links, make targets, and the
# README's quick start run against contend's VM (root, /dev/kvm; else SKIP).
.PHONY: docs-check
docs-check: $(OUT)/kvmlockstat $(OUT)/kvm-dirtylog $(OUT)/contend
	$(Q)tests/docs/run.sh $(OUT)
