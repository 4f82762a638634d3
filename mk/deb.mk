# make deb: the Debian binary package (debian/) in $(OUT)/deb/, checked by lintian.
# dpkg-buildpackage writes into the parent of the tree it builds, so it builds a copy
# of this tree (without build output or .git) in $(OUT)/deb/src.
DEB_DIR := $(OUT)/deb
LINTIAN_FAIL_ON ?= error,warning

.PHONY: deb
deb:
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	$(Q)tar -c --exclude=./.git --exclude=./build --exclude=./$(OUT) . | tar -x -C $(DEB_DIR)/src
	$(call msg,DEB,$(DEB_DIR))
	$(Q)cd $(DEB_DIR)/src && KVMLOCKSTAT_GIT=$(VERSION) dpkg-buildpackage -b -us -uc -j2 > ../build.log 2>&1 || \
		{ tail -n 30 ../build.log; echo "make deb: dpkg-buildpackage failed (log: $(DEB_DIR)/build.log)"; exit 1; }
	$(Q)lintian --fail-on $(LINTIAN_FAIL_ON) --info --display-info $(DEB_DIR)/*.changes
	$(Q)rm -rf $(DEB_DIR)/src
	$(Q)ls $(DEB_DIR)/*.deb
