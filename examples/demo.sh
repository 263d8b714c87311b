#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 1: set up, build, and boot a guest on the auto-selected
# backend, showing its console. With a hardware-assisted KVM (kvm_intel or
# kvm_amd) the guest is Debian's Linux kernel with a busybox initramfs;
# otherwise the tiny test guest, and one line says why (examples/demo-boot.sh).
# With arguments they go to hvabs-vmm instead:
#   examples/demo.sh [--kernel FILE --initrd FILE ...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
.ci/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
export HVABS_BACKEND_PATH="$top/build/backends"
if [ $# -eq 0 ]; then
	exec examples/demo-boot.sh build/examples/hvabs-vmm build/tests/guest/tiny.elf
fi
echo "demo: build/examples/hvabs-vmm $*" >&2
exec build/examples/hvabs-vmm "$@"
