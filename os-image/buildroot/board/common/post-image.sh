#!/bin/bash
# Makes sdcard.img with genimage (layout: genimage.cfg.in next to this file).
# $2: the board folder name (rpi4, rpi5, rpi0-2w).
set -euo pipefail
board=${2:?board name expected in BR2_ROOTFS_POST_SCRIPT_ARGS}
here=$(dirname "$(readlink -f "$0")")
board_dir=$here/../$board

cp "$board_dir/config.txt" "$BINARIES_DIR/rpi-firmware/config.txt"
cp "$board_dir/cmdline.txt" "$BINARIES_DIR/rpi-firmware/cmdline.txt"

files=()
for file in "$BINARIES_DIR"/rpi-firmware/* "$BINARIES_DIR"/*.dtb "$BINARIES_DIR"/Image; do
  [ -e "$file" ] || continue
  files+=("${file#"$BINARIES_DIR"/}")
done
list=$(printf '\t\t\t"%s",\n' "${files[@]}" | sed '$ s/,$//')

awk -v files="$list" '{ if ($0 == "#BOOT_FILES#") print files; else print }' \
  "$here/genimage.cfg.in" > "$BINARIES_DIR/genimage.cfg"

support/scripts/genimage.sh -c "$BINARIES_DIR/genimage.cfg"
echo "Mailnest: $BINARIES_DIR/sdcard.img is ready for $board (write it with: dd if=sdcard.img of=/dev/sdX bs=4M conv=fsync)"
