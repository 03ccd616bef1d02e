include $(sort $(wildcard $(BR2_EXTERNAL_MAILNEST_PATH)/package/*/*.mk))
