#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the build into a scratch prefix and builds + runs a downstream
# project against it three ways: find_package (shared and static) and pkg-config.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib* | head -1)
test -f "$libdir/hvabs/hvabs-mock.so"
test -f "$tmp/prefix/include/hvabs/hvabs.h"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cmake -S "$src/consumer" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
export HVABS_BACKEND_PATH="$libdir/hvabs"
for exe in consumer_cmake consumer_static consumer_pc; do
	LD_LIBRARY_PATH="$libdir" "$tmp/b/$exe"
done
# the shared library's SONAME carries the major version
objdump -p "$libdir/libhvabs.so" | grep -q 'SONAME *libhvabs.so.0'
echo "install test passed"
