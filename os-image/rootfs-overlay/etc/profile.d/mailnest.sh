# Shells on the board (test images only have one) use the data folder /data.
export MAILNEST_DATA=/data
