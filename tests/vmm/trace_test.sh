#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# hvabs-vmm --trace-exits on the mock backend:
# 1. replaying the tiny guest's recorded script writes that script back, line
#    for line (the RTC's reads too: the replay runs on the recorded clock);
# 2. an MMIO script against a virtio-rng device records what the device
#    answered (magic, version, device id) in the script format.
#   trace_test.sh VMM TINY_GUEST TINY_SCRIPT
set -euo pipefail
vmm=$1 tiny=$2 script=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
norm() { grep -v '^#' "$1"; }

"$vmm" --hypervisor mock --backend-options "script=$script" --kernel "$tiny" --memory 64M \
	--console none --quiet --trace-exits "$dir/replay.trace" </dev/null >"$dir/out" 2>&1 ||
	fail "replay exited $?: $(tail -5 "$dir/out")"
head -1 "$dir/replay.trace" | grep -q '^# hvabs-vmm --trace-exits' || fail "no header line"
diff <(norm "$script") <(norm "$dir/replay.trace") >"$dir/diff" ||
	fail "the trace differs from the script it replayed: $(head -20 "$dir/diff")"

printf '0 mmio r d0000000 4\n0 mmio r d0000004 4\n0 mmio r d0000008 4\n0 mmio w d0000070 4 0\n0 poweroff\n' \
	>"$dir/mmio.script"
"$vmm" --hypervisor mock --backend-options "script=$dir/mmio.script" --kernel "$tiny" --memory 64M \
	--rng --console none --quiet --trace-exits "$dir/mmio.trace" </dev/null >"$dir/out" 2>&1 ||
	fail "mmio run exited $?: $(tail -5 "$dir/out")"
want='0 mmio r d0000000 4 74726976
0 mmio r d0000004 4 2
0 mmio r d0000008 4 4
0 mmio w d0000070 4 0
0 poweroff'
# (this script sets no clock: the mock's starts at the host's, which the trace records)
got=$(grep -v -e '^#' -e '^0 clock ' "$dir/mmio.trace")
[ "$got" = "$want" ] || fail "mmio trace: got
$got
want
$want"
echo "PASS: trace of the replay matches its script; MMIO reads recorded with the device's answers"
