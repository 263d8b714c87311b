#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages hvabs needs to build, test and document
# itself. Idempotent: only missing packages are installed. Needs root (or sudo).
set -euo pipefail

pkgs=(
	build-essential cmake pkg-config clang clang-format
	libclang-rt-14-dev # libFuzzer and clang's sanitizer runtimes (only recommended by clang)
	libcmocka-dev doxygen
	libjansson-dev libmicrohttpd-dev curl
	liburing-dev
	libseccomp-dev # hvabs-vmm's per-thread seccomp filters
	libxen-dev
	valgrind acpica-tools groff-base
	qemu-system-x86 busybox-static xz-utils zstd cpio kmod socat time
)
extra=${HVABS_EXTRA_PKGS:-}

missing=()
for p in "${pkgs[@]}" $extra; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
