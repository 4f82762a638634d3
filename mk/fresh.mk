# make fresh: the README on a bare Debian 12 (debootstrap minbase, chroot): setup, make,
# unit + integration, one lab boot per arch, make deb, the installed package against a
# contending VM; a command not found fails it by name (tests/fresh/run.sh, needs root).
.PHONY: fresh
fresh:
	$(Q)tests/fresh/run.sh
