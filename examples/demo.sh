#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 1: set up, build, and run a guest on the auto-selected
# backend (KVM here), showing what it prints.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
.ci/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
export HVABS_BACKEND_PATH="$top/build/backends"
if [ -x build/examples/hvabs-vmm ] && [ -n "${HVABS_DEMO_VMM:-1}" ] && [ -f build/tests/guest/tiny.elf ]; then
	exec build/examples/hvabs-vmm --kernel build/tests/guest/tiny.elf --memory 64M "$@"
fi
exec build/examples/minimal "$@"
