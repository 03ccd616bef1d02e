################################################################################
#
# mailnest: the application from this checkout (dist/ must have been built
# with `make build` on the build machine), with its runtime npm packages from
# os-image/runtime (package.json + lock file, shared with the QEMU image) and
# their native addons cross-compiled by os-image/runtime/build-native.sh
# against the headers of mailnest-node.
#
# The build machine needs node and npm (for npm ci and node-gyp only; what
# runs on the board is mailnest-node) and access to the npm registry.
#
################################################################################

MAILNEST_VERSION = $(shell node -p "require('$(BR2_EXTERNAL_MAILNEST_PATH)/../../package.json').version" 2>/dev/null || echo local)
MAILNEST_SITE = $(BR2_EXTERNAL_MAILNEST_PATH)/../..
MAILNEST_SITE_METHOD = local
MAILNEST_LICENSE = MIT
MAILNEST_DEPENDENCIES = mailnest-node
# Only what the image needs is copied from the checkout.
MAILNEST_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--exclude .git --exclude node_modules --exclude var --exclude .build \
	--exclude test --exclude 'os-image/buildroot/output*'

define MAILNEST_BUILD_CMDS
	test -f $(@D)/dist/mailnest.js || { \
		echo "mailnest: dist/mailnest.js is missing: run 'make build' in the checkout first"; exit 1; }
	test -f $(@D)/dist/web/index.html || { \
		echo "mailnest: dist/web/ (the web UI) is missing: run 'make build' in the checkout first"; exit 1; }
	rm -rf $(@D)/image-runtime
	$(@D)/os-image/runtime/build-native.sh $(@D)/image-runtime \
		$(STAGING_DIR)/usr $(TARGET_CROSS) $(PARALLEL_JOBS)
endef

define MAILNEST_INSTALL_TARGET_CMDS
	rm -rf $(TARGET_DIR)/opt/mailnest
	$(INSTALL) -d -m 0755 $(TARGET_DIR)/opt/mailnest/dist
	$(INSTALL) -m 0644 $(@D)/dist/mailnest.js $(TARGET_DIR)/opt/mailnest/dist/
	if [ -f $(@D)/dist/mailnest.js.map ]; then \
		$(INSTALL) -m 0644 $(@D)/dist/mailnest.js.map $(TARGET_DIR)/opt/mailnest/dist/; fi
	cp -a $(@D)/dist/web $(TARGET_DIR)/opt/mailnest/dist/web
	cp -a $(@D)/image-runtime/node_modules $(TARGET_DIR)/opt/mailnest/node_modules
	echo '{"type":"module","private":true}' > $(TARGET_DIR)/opt/mailnest/package.json
	echo '$(MAILNEST_VERSION)' > $(TARGET_DIR)/opt/mailnest/VERSION
	$(INSTALL) -d -m 0755 $(TARGET_DIR)/data
endef

$(eval $(generic-package))
