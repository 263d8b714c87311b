#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs hvabs-vmm once and checks how it ended.
#   vmm_test.sh [--needs-kvm] [--status N] [--expect REGEX]... [--reject REGEX]...
#               [--count REGEX:N] [--lines N] [--signal SIG:AFTER_REGEX] [--timeout S]
#               -- VMM ARGS...
# Exits 77 (skipped) when --needs-kvm and /dev/kvm cannot be opened, unless
# HVABS_REQUIRE_KVM=1. On failure prints the tail of the output.
set -uo pipefail
needs_kvm=0 status=0 timeout=60 signal= lines=
expects=() rejects=() counts=()
while [ $# -gt 0 ]; do
	case $1 in
	--needs-kvm) needs_kvm=1 ;;
	--status) status=$2; shift ;;
	--expect) expects+=("$2"); shift ;;
	--reject) rejects+=("$2"); shift ;;
	--count) counts+=("$2"); shift ;;
	--lines) lines=$2; shift ;;
	--signal) signal=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--) shift; break ;;
	*) echo "vmm_test: bad option $1" >&2; exit 2 ;;
	esac
	shift
done
# -c first: as root, opening a missing /dev/kvm read-write would create a file.
if [ $needs_kvm -eq 1 ] && ! { [ -c /dev/kvm ] && exec 3<>/dev/kvm; } 2>/dev/null; then
	if [ "${HVABS_REQUIRE_KVM:-0}" = 1 ]; then
		echo "FAIL: /dev/kvm is not usable here but HVABS_REQUIRE_KVM=1" >&2
		exit 1
	fi
	echo "SKIP: /dev/kvm is not usable here" >&2
	exit 77
fi
# (no 2>/dev/null here: on exec it would silence every FAIL line below)
exec 3>&-
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if [ -n "$signal" ]; then
	sig=${signal%%:*} after=${signal#*:}
	timeout --kill-after=5 "$timeout" "$@" </dev/null >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 1 $((timeout * 10))); do
		grep -qE -- "$after" "$out" && break
		sleep 0.1
	done
	# timeout(1) passes the signal on to the VMM
	kill -s "$sig" $pid
	wait $pid
	rc=$?
else
	timeout --kill-after=5 "$timeout" "$@" </dev/null >"$out" 2>&1
	rc=$?
fi
fail() {
	echo "FAIL: $*" >&2
	echo "---- last output lines ----" >&2
	tail -n 40 "$out" >&2
	exit 1
}
[ $rc -eq 124 ] && fail "timed out after ${timeout}s"
[ $rc -eq "$status" ] || fail "exit status $rc, expected $status"
for re in "${expects[@]}"; do grep -qE -- "$re" "$out" || fail "no line matches '$re'"; done
for re in "${rejects[@]}"; do grep -qE -- "$re" "$out" && fail "a line matches '$re'"; done
for c in "${counts[@]}"; do
	n=$(grep -cE -- "${c%:*}" "$out")
	[ "$n" -ge "${c##*:}" ] || fail "'${c%:*}' seen $n times, expected at least ${c##*:}"
done
if [ -n "$lines" ]; then
	n=$(wc -l <"$out")
	[ "$n" -eq "$lines" ] || fail "$n lines of output, expected exactly $lines"
fi
echo "PASS ($(wc -l <"$out") lines of output)"
