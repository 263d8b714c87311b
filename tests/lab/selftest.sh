#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# selftest.sh [LOGDIR] — the lab harness fails where it must: a FAIL result, a
# scenario that never ends, a mangled marker line, an L1 kernel crash and a
# usage error each make lab.sh exit non-zero with a message naming the cause,
# and a crash ends the run at once rather than at the time limit.
set -euo pipefail
export LC_ALL=C

LAB=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/lab.sh
logdir=${1:-${TMPDIR:-/tmp}}
mkdir -p -- "$logdir"
bad=0

# expect NAME STATUS PATTERN ABSENT lab.sh-args...: lab.sh must exit with
# STATUS, print PATTERN and not print ABSENT (empty: no such check).
expect() {
	local name=$1 want=$2 pat=$3 absent=$4 out rc t0=$SECONDS
	shift 4
	set +e
	out=$("$LAB" "$@" 2>&1)
	rc=$?
	set -e
	if ((rc != want)); then
		printf 'selftest %s: lab.sh exited %d, want %d\n%s\n' "$name" "$rc" "$want" "$(tail -n 30 <<<"$out")"
		bad=$((bad + 1))
	elif ! grep -qF -- "$pat" <<<"$out"; then
		printf 'selftest %s: no "%s" in the output\n%s\n' "$name" "$pat" "$(tail -n 30 <<<"$out")"
		bad=$((bad + 1))
	elif [[ -n $absent ]] && grep -qF -- "$absent" <<<"$out"; then
		printf 'selftest %s: unexpected "%s" in the output\n%s\n' "$name" "$absent" "$(tail -n 30 <<<"$out")"
		bad=$((bad + 1))
	else
		printf 'selftest %s: ok, exit %d after %ds: %s\n' "$name" "$rc" $((SECONDS - t0)) "$(grep -m1 -F -- "$pat" <<<"$out")"
	fi
}

expect usage 2 "--mode must be kvm or xen" "" --mode vmware --scenario smoke-kvm
expect wrong-mode 2 "runs in mode(s) 'kvm'" "" --mode xen --scenario smoke-kvm
expect fail 1 "lab: FAIL selftest-bad: failing on purpose" "" \
	--scenario selftest-fail --log "$logdir/selftest-fail.log"
expect hang 1 "lab: FAIL timed out after 20s" "" \
	--scenario selftest-hang --timeout 20 --log "$logdir/selftest-hang.log"
expect lost 1 "the log shows pass=2 fail=0" "" \
	--scenario selftest-lost --log "$logdir/selftest-lost.log"
expect crash 1 "no HVABS-LAB-DONE marker" "timed out" \
	--scenario selftest-crash --timeout 400 --log "$logdir/selftest-crash.log"

if ((bad)); then
	printf 'selftest: %d case(s) failed\n' "$bad"
	exit 1
fi
printf 'selftest: all cases behaved\n'
