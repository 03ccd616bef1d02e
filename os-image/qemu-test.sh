#!/usr/bin/env bash
# Boots the image that os-image/build-image.sh made in QEMU and tests it end to
# end (what `make qemu-test` runs): health, first boot, setup through the CLI,
# SMTP in and IMAP out from the host, a reboot, and a watchdog reset after the
# supervisor is frozen. Prints the boot-to-healthy time and ends with
# `qemu-test: PASS` (exit 0) or `qemu-test: FAIL: reason` (exit 1).
#
#   os-image/qemu-test.sh [REPO_ROOT]
#
# MAILNEST_IMAGE_OUT: where the image is (default REPO_ROOT/.build/os-image).
# MAILNEST_QEMU_TEST_MINUTES: the deadline of the whole run (default 40).
# The serial console is kept in $MAILNEST_IMAGE_OUT/qemu-test/serial.log.
#
# Network: QEMU's user networking, forwards bound to 127.0.0.1 only, restrict=on
# (the guest can reach neither the host nor anything beyond).
set -Eeuo pipefail

repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
here=$repo/os-image
image=${MAILNEST_IMAGE_OUT:-$repo/.build/os-image}
minutes=${MAILNEST_QEMU_TEST_MINUTES:-40}
work=$image/qemu-test

die() { echo "qemu-test: FAIL: $*"; exit 1; }

# Installs the Debian packages named that are missing (apt-get only when needed).
ensure_debian_packages() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} = 0 ] && return 0
  echo "qemu-test: installing Debian packages: ${missing[*]}"
  local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_debian_packages qemu-system-arm qemu-utils swaks libnet-ssleay-perl libio-socket-ssl-perl curl
command -v node >/dev/null || die "node is needed"
for file in mailnest-arm64.img vmlinuz initrd.img cmdline.txt; do
  [ -f "$image/$file" ] || die "$image/$file is missing: run 'make image' first"
done

rm -rf "$work"
mkdir -p "$work"

# Whatever happens, QEMU does not outlive the test.
cleanup() {
  local pid
  pid=$(cat "$work/qemu.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    sleep 2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$work/disk.qcow2"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The harness has its own deadline; timeout(1) is the backstop.
set +e
timeout --kill-after=30 $(( minutes * 60 + 120 )) \
  node "$here/qemu/harness.mjs" --image "$image" --work "$work" --deadline-minutes "$minutes"
status=$?
set -e
if [ $status = 124 ] || [ $status = 137 ]; then
  echo "qemu-test: FAIL: the harness ran over $minutes minutes and was killed"
  status=1
fi
echo "qemu-test: serial console log: $work/serial.log"
exit $status
