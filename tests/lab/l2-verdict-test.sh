#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
#
# l2-verdict-test.sh [AWK] — host-side test of lab_l2_verdict (lab-lib.sh),
# the function every lab scenario uses to judge the L2 guest's checks, on a
# console log recorded from a real L2 boot (testdata/l2-console.log: hvabs-vmm
# on the nested kvm_amd) and on variants of it: a failed check, a check line
# lost or mangled on the console, a guest that never finished, a reboot.
# With AWK (e.g. a busybox binary) "awk" is that program, as in the lab's L1.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rec=$here/testdata/l2-console.log
if [ -n "${1:-}" ]; then
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	ln -s "$1" "$bin/awk"
	PATH=$bin:$PATH
fi
# shellcheck source=lab-lib.sh
. "$here/lab-lib.sh"
tmp=$(mktemp)
bad=0

# case NAME WANT(0 pass, 1 fail) PATTERN: lab_l2_verdict on $tmp.
case_() {
	out=$(lab_l2_verdict "$tmp")
	rc=$?
	if [ "$rc" != "$2" ] || ! echo "$out" | grep -q -- "$3"; then
		echo "l2-verdict $1: FAIL: exit $rc (want $2), said '$out' (want '$3')"
		bad=$((bad + 1))
	else
		echo "l2-verdict $1: ok: $out"
	fi
}

if ! grep -q 'HVABS-L2-DONE pass=[1-9]' "$rec"; then
	echo "l2-verdict: $rec is missing or has no passing run"
	exit 1
fi
want=$(sed -n 's/.*HVABS-L2-DONE pass=\([0-9]*\) fail=0 skip=\([0-9]*\).*/pass=\1 skip=\2/p' "$rec")

cp "$rec" "$tmp"
case_ recorded 0 "L2 checks $want\$"

# cpus failed, and the guest counted it so.
sed 's/\(HVABS-CHECK cpus\) PASS/\1 FAIL rc=1/' "$rec" |
	awk '/HVABS-L2-DONE/ { split($0, c, /[ =]/); $0 = "HVABS-L2-DONE pass=" c[3] - 1 " fail=1 skip=" c[7] } 1' >"$tmp"
case_ failed-check-counted 1 "check(s) failed in run 1: cpus(FAIL)"

sed 's/\(HVABS-CHECK cpus\) PASS/\1 FAIL rc=1/' "$rec" >"$tmp"
case_ failed-check-miscounted 1 "the guest reported pass="

sed 's/HVABS-CHECK cpus PASS/HVABS-CH[    2.104] virtio_blk virtio0: ECK cpus PASS/' "$rec" >"$tmp"
case_ check-line-mangled 1 "a check line was lost or mangled"

grep -v 'HVABS-CHECK cpus' "$rec" >"$tmp"
case_ check-line-lost 1 "a check line was lost or mangled"

sed '/HVABS-L2-DONE/,$d' "$rec" >"$tmp"
case_ truncated 1 "no HVABS-L2-DONE"

sed 's/HVABS-CHECK \([a-z0-9]*\) SKIP/HVABS-CHECK \1 MAYBE/' "$rec" >"$tmp"
grep -q MAYBE "$tmp" && case_ unknown-status 1 "lost or mangled"

sed 's/HVABS-L2-DONE .*/HVABS-L2-DONE pass=/' "$rec" >"$tmp"
case_ malformed-summary 1 "malformed guest summary"

# A reboot runs the guest's /init again: each run is judged on its own.
cat "$rec" "$rec" >"$tmp"
case_ two-runs 0 "in 2 runs"
{
	cat "$rec"
	sed '/HVABS-L2-DONE/,$d' "$rec"
} >"$tmp"
case_ second-run-unfinished 1 "a run did not finish its checks"

grep -v 'HVABS-CHECK .* PASS' "$rec" | sed 's/HVABS-L2-DONE pass=[0-9]*/HVABS-L2-DONE pass=0/' >"$tmp"
case_ nothing-passed 1 "no L2 check passed"

# Serial consoles end lines with CR LF.
sed 's/$/\r/' "$rec" >"$tmp"
case_ crlf 0 "L2 checks $want\$"

rm -f "$tmp"
case_ no-log 1 "no L2 console log"

if [ $bad != 0 ]; then
	echo "l2-verdict: $bad case(s) failed"
	exit 1
fi
echo "l2-verdict: all cases behaved"
