#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Compiles every public header on its own, as ISO C11 (-pedantic, no
# _GNU_SOURCE or other feature macro) and as C++17, with warnings as errors,
# and checks that no application header pulls in the plugin ABI
# (include/hvabs/plugin/ is for backends only).
#   check_headers.sh CC CXX INCLUDE_DIR [INCLUDE_DIR...]
# The first INCLUDE_DIR holds hvabs/; further ones (a build tree's generated
# headers) are searched too, and their hvabs/*.h are checked as well.
set -u
cc=$1 cxx=$2
shift 2
incs= dirs=
for d in "$@"; do
	incs="$incs -I$d"
	dirs="$dirs $d"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for d in $dirs; do
	[ -d "$d/hvabs" ] || continue
	for h in $(cd "$d" && find hvabs -name '*.h' | sort); do
		n=$((n + 1))
		case $h in
		hvabs/plugin/*) guard= ;;
		*) guard='#ifdef HVABS_PLUGIN_BACKEND_H
#error "an application header includes the plugin ABI"
#endif' ;;
		esac
		printf '#include <%s>\n%s\nint hvabs_header_check_%d;\n' "$h" "$guard" "$n" >"$tmp/t.c"
		cp "$tmp/t.c" "$tmp/t.cpp"
		if ! out=$($cc -std=c11 -pedantic -Wall -Wextra -Werror $incs -c "$tmp/t.c" -o "$tmp/t.o" 2>&1); then
			printf 'FAIL C11: %s\n%s\n' "$h" "$out"
			fail=$((fail + 1))
		fi
		if ! out=$($cxx -std=c++17 -pedantic -Wall -Wextra -Werror $incs -c "$tmp/t.cpp" -o "$tmp/t.o" 2>&1); then
			printf 'FAIL C++17: %s\n%s\n' "$h" "$out"
			fail=$((fail + 1))
		fi
	done
done
if [ "$n" -eq 0 ]; then
	echo "no headers found under: $dirs"
	exit 1
fi
echo "$n headers checked as C11 -pedantic and C++17: $fail failures"
[ "$fail" -eq 0 ]
