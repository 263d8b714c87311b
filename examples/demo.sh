#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 1: set up, build, and boot a guest on the auto-selected
# backend (KVM here), showing its console. The guest is the tiny test guest
# unless a kernel is given:  examples/demo.sh [--kernel FILE --initrd FILE ...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
.ci/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
export HVABS_BACKEND_PATH="$top/build/backends"
if [ $# -eq 0 ]; then
	set -- --kernel build/tests/guest/tiny.elf --memory 64M --cpus 2
fi
echo "demo: build/examples/hvabs-vmm $*" >&2
exec build/examples/hvabs-vmm "$@"
