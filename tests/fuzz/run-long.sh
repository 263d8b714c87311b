#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target for longer than CI does, one after the other
# (one fuzzer at a time: -jobs=1), each over its seed corpus, with what it
# finds kept in a temporary directory (see run-one.sh). Stops at the first
# target that fails; a crashing input is left in the build directory as
# build-fuzz/fuzz-artifacts/<target>/crash-*.
#   tests/fuzz/run-long.sh [seconds per target, default 600] [target...]
# Builds build-fuzz first (clang, -DHVABS_FUZZ=ON) when it is missing.
set -eu
secs=${1:-600}
[ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_FUZZ:-$src/build-fuzz}
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DHVABS_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=Debug >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target hvabs_fuzz
targets=${*:-$(cd "$src/tests/fuzz" && for d in */; do [ -f "$d/fuzz_${d%/}.c" ] && echo "${d%/}"; done)}
for t in $targets; do
	bin=$build/tests/fuzz/$t/fuzz_$t
	[ -x "$bin" ] || { echo "== $t: not built here, skipped"; continue; }
	len=$(grep -o "MAX_LEN [0-9]*" "$src/tests/fuzz/$t/CMakeLists.txt" | cut -d" " -f2)
	echo "== $t: ${secs} s"
	ARTIFACT_DIR=$build/fuzz-artifacts/$t "$src/tests/fuzz/run-one.sh" "$bin" \
		"$src/tests/fuzz/$t/corpus" -max_len="${len:-256}" -max_total_time="$secs" \
		-print_final_stats=1 2>&1 | grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+==|SUMMARY)' || true
	# run-one.sh's status is lost in the pipe: a crash leaves an artifact.
	if ls "$build/fuzz-artifacts/$t"/crash-* "$build/fuzz-artifacts/$t"/leak-* \
		"$build/fuzz-artifacts/$t"/timeout-* >/dev/null 2>&1; then
		echo "== $t FAILED: see $build/fuzz-artifacts/$t"
		exit 1
	fi
done
echo "== every target ran ${secs} s clean"
