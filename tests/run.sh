#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 2: set up, build and pass every test on a fresh Debian 12.
#   tests/run.sh            everything CI runs
#   tests/run.sh --fast     skip the QEMU lab (label lab, xen-real)
# Steps: packages, clang-format check, normal build + Doxygen (warnings are
# errors) + the CTest suites, then an ASan+UBSan build running unit and
# contract again, then the libFuzzer targets (tests/fuzz) built with clang in
# their own directory and run briefly. Benchmarks never run here (ctest -C
# bench -L bench).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fast=0
[ "${1:-}" = "--fast" ] && fast=1

.ci/deps.sh

echo "== clang-format"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
clang-format --dry-run --Werror $files

jobs=$(nproc)
echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHVABS_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
echo "== the library alone (no examples, so no jansson; no tests)"
cmake -S . -B build-lib -DHVABS_BUILD_EXAMPLES=OFF -DHVABS_BUILD_DOCS=OFF -DHVABS_WERROR=ON >/dev/null
if grep -q JANSSON build-lib/CMakeCache.txt; then
	echo "the library-only configuration looked for jansson" >&2
	exit 1
fi
cmake --build build-lib -j "$jobs"
echo "== docs (Doxygen, WARN_AS_ERROR)"
cmake --build build --target docs

labels='unit|contract|integration|lab|xen-real'
[ $fast -eq 1 ] && labels='unit|contract|integration'
echo "== tests ($labels)"
(cd build && ctest --output-on-failure -L "$labels" -j "$jobs")

echo "== ASan+UBSan build: unit and contract"
cmake -S . -B build-asan -DHVABS_SANITIZE=ON -DHVABS_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --output-on-failure -L 'unit|contract' -j "$jobs")

echo "== fuzz: every libFuzzer target (tests/fuzz), a short fixed-seed run each"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DHVABS_FUZZ=ON -DHVABS_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
	>/dev/null
cmake --build build-fuzz -j "$jobs" --target hvabs_fuzz
(cd build-fuzz && ctest --output-on-failure --no-tests=error -L fuzz)
echo "== all tests passed"
