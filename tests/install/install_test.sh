#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the build with the prefix given only at install time, moves the
# installed tree somewhere else, and uses it from there with no
# HVABS_BACKEND_PATH or LD_LIBRARY_PATH: nothing may point back to where it
# was installed.
#   install_test.sh mock BUILD TINY   consumers (find_package shared/static,
#                                     pkg-config) and hvabs-vmm replaying the
#                                     tiny guest on the mock; man page, HTML
#   install_test.sh kvm BUILD TINY    the installed hvabs-vmm boots the tiny
#                                     guest on /dev/kvm (77 = skipped)
#   install_test.sh device BUILD      the example devices of tests/install/device
#                                     (docs/devices.md), built out of tree
#                                     against the moved install, pass their
#                                     tests on the mock
set -euo pipefail
mode=$1 build=$2 tiny=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
unset HVABS_BACKEND_PATH LD_LIBRARY_PATH HVABS_HYPERVISOR PKG_CONFIG_PATH CMAKE_PREFIX_PATH
export HVABS_LOG=info # the core names the plugin file it took

if [ "$mode" = kvm ] && ! { [ -c /dev/kvm ] && exec 3<>/dev/kvm; } 2>/dev/null; then
	if [ "${HVABS_REQUIRE_KVM:-0}" = 1 ]; then
		echo "FAIL: /dev/kvm is not usable here but HVABS_REQUIRE_KVM=1" >&2
		exit 1
	fi
	echo "SKIP: /dev/kvm is not usable here" >&2
	exit 77
fi
exec 3>&- 2>/dev/null || true

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tmp=$(cd "$tmp" && pwd -P)
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cmake --install "$build" --prefix "$tmp/staged" >/dev/null
mv "$tmp/staged" "$tmp/moved"
p=$tmp/moved
lib=$(dirname "$(find "$p" -name 'libhvabs.so.0' | head -1)")
[ -f "$lib/hvabs/hvabs-mock.so" ] || fail "no plugins in $lib/hvabs"
# A path into the staging directory anywhere in the tree would break the move.
if grep -rlF "$tmp/staged" "$p" >"$tmp/stale"; then
	fail "installed files name the install-time prefix: $(tr '\n' ' ' <"$tmp/stale")"
fi

# Runs the installed hvabs-vmm; $1 is the backend, the rest its extra options.
run_vmm() {
	local be=$1 out=$tmp/vmm-$1.out
	shift
	if ! timeout --kill-after=5 60 "$p/bin/hvabs-vmm" --hypervisor "$be" "$@" \
		--kernel "$tiny" --memory 64M </dev/null >"$out" 2>&1; then
		tail -n 20 "$out" >&2
		fail "installed hvabs-vmm on $be did not run the tiny guest"
	fi
	for want in "backend '$be': $lib/hvabs/hvabs-$be.so" "HVABS-TINY: hello from long mode" \
		"guest stopped: power-off"; do
		grep -qF -- "$want" "$out" || { tail -n 20 "$out" >&2; fail "hvabs-vmm on $be: no '$want'"; }
	done
	echo "installed hvabs-vmm ran the tiny guest on $be with $lib/hvabs/hvabs-$be.so"
}

# Our warnings, -Werror and feature macros stay ours: the package passes none on.
if grep -rlE -- '-W[a-z]|_GNU_SOURCE' "$lib/cmake/hvabs" "$lib/pkgconfig" >"$tmp/flags"; then
	fail "the package imposes build flags on consumers: $(tr '\n' ' ' <"$tmp/flags")"
fi

for prog in hvabs-vmm hvabs-jailer; do
	runpath=$(readelf -d "$p/bin/$prog" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
	case $runpath in
	'$ORIGIN'/*) ;;
	*) fail "$prog's runpath is '$runpath', not relative to \$ORIGIN" ;;
	esac
done

if [ "$mode" = kvm ]; then
	run_vmm kvm
	# The installed jailer runs the installed VMM, whose $ORIGIN runpath must
	# work in a jail without /proc (docs/jailer.md); as root only.
	if [ "$(id -u)" = 0 ]; then
		timeout --kill-after=5 60 "$p/bin/hvabs-jailer" --id install --exec-file "$p/bin/hvabs-vmm" \
			--uid 65534 --gid 65534 --chroot-base-dir "$tmp/jail" -- --hypervisor kvm \
			--kernel "$tiny" --memory 64M </dev/null >"$tmp/jail.out" 2>&1 &&
			grep -q "guest stopped: power-off" "$tmp/jail.out" ||
			{ tail -n 20 "$tmp/jail.out" >&2; fail "the installed jailer did not run the tiny guest"; }
		echo "installed hvabs-jailer ran the installed hvabs-vmm"
	fi
	exit 0
fi
if [ "$mode" = device ]; then
	cmake -S "$here/device" -B "$tmp/dev" -DCMAKE_PREFIX_PATH="$p" >"$tmp/dev.log" 2>&1 &&
		cmake --build "$tmp/dev" >>"$tmp/dev.log" 2>&1 ||
		{ cat "$tmp/dev.log" >&2; fail "the example devices do not build against the install"; }
	(cd "$tmp/dev" && ctest --output-on-failure) || fail "the example devices' tests failed"
	exit 0
fi

run_vmm mock --backend-options "script=$top/tests/guest/tiny.script"

# Consumers: find_package (shared, and static with hvabs_BACKEND_DIR) and
# pkg-config (with its backenddir), configured against the moved tree.
export PKG_CONFIG_PATH="$lib/pkgconfig"
cmake -S "$here/consumer" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$p" >/dev/null
cmake --build "$tmp/b" >/dev/null
for exe in consumer_cmake consumer_static consumer_pc; do
	out=$("$tmp/b/$exe" 2>&1) || fail "$exe: $out"
	real=$(realpath "$(sed -n 's/.* from \(.*\), vm ok$/\1/p' <<<"$out")")
	[ "$real" = "$lib/hvabs/hvabs-mock.so" ] || fail "$exe took '$real', not the moved tree's plugin: $out"
	echo "$exe: $out"
done
# A statically linked program with no directory given looks beside itself.
mkdir "$tmp/app"
cp "$tmp/b/consumer_static_own" "$tmp/app/"
ln -s "$lib/hvabs" "$tmp/app/hvabs"
out=$("$tmp/app/consumer_static_own" 2>&1) || fail "consumer_static_own: $out"
grep -qF "from $tmp/app/hvabs/hvabs-mock.so, vm ok" <<<"$out" ||
	fail "a static program did not find the plugin beside itself: $out"
echo "consumer_static_own: $out"
objdump -p "$lib/libhvabs.so" | grep -q 'SONAME *libhvabs.so.0' || fail "SONAME is not libhvabs.so.0"

# The man pages render without warnings and document every option --help lists.
for prog in hvabs-vmm hvabs-jailer; do
	man1=$(find "$p" -path "*/man1/$prog.1" | head -1)
	[ -n "$man1" ] || fail "$prog(1) not installed"
	warn=$(groff -mdoc -ww -z "$man1" 2>&1) || fail "groff: $warn"
	[ -z "$warn" ] || fail "$prog(1): $warn"
	for opt in $("$p/bin/$prog" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -qF -- "Fl \\-${opt#--}" "$man1" || fail "$prog(1) does not document $opt"
	done
	echo "$prog(1) documents every option of --help"
done

for f in LICENSE CHANGELOG.md README.md; do
	[ -n "$(find "$p" -path "*/doc/hvabs/$f")" ] || fail "$f not installed"
done
if grep -q '^HVABS_BUILD_DOCS:BOOL=ON' "$build/CMakeCache.txt" && command -v doxygen >/dev/null; then
	html=$(dirname "$(find "$p" -path '*/doc/hvabs/html/index.html' | head -1)")
	grep -q 'A short tour of the API' "$html/index.html" || fail "HTML main page is not the README"
	[ -f "$html/md_docs_devices.html" ] || fail "docs/devices.md is not in the HTML reference"
	echo "HTML reference installed in ${html#"$p"/}"
fi
echo "install test passed"
