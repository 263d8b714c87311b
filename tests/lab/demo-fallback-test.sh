#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# demo-fallback-test.sh VMM TINY_GUEST — README command 1 where the host's
# KVM cannot boot a stock kernel: examples/demo-boot.sh must say why in one
# line and boot the tiny guest to its power-off instead, without fetching
# anything. The KVM modules are read from a made-up sysfs (HVABS_DEMO_SYSFS):
# one with kvm_pvm (this development host), one with no hardware KVM module.
# The tiny guest runs on this host's /dev/kvm: exit 77 without one, unless
# HVABS_REQUIRE_KVM=1.
set -u
vmm=$1 tiny=$2
demo=$(cd "$(dirname "$0")/../../examples" && pwd)/demo-boot.sh
if [ ! -c /dev/kvm ]; then
	echo "demo-fallback: no /dev/kvm"
	[ "${HVABS_REQUIRE_KVM:-0}" = 1 ] && exit 1
	exit 77
fi
sys=$(mktemp -d)
out=$(mktemp)
trap 'rm -rf "$sys" "$out"' EXIT
bad=0

# case NAME WHY: demo-boot.sh must name WHY and run the tiny guest to power-off.
case_() {
	HVABS_DEMO_SYSFS=$sys timeout 60 "$demo" "$vmm" "$tiny" >"$out" 2>&1
	rc=$?
	n=$(grep -c '^demo: not booting Linux' "$out")
	if [ $rc != 0 ] || [ "$n" != 1 ] || ! grep -q "^demo: not booting Linux: $2" "$out" ||
		! grep -q 'HVABS-TINY: poweroff' "$out" || grep -q 'lab.sh\|fetching' "$out"; then
		echo "demo-fallback $1: FAIL (exit $rc, $n reason lines); output:"
		sed 's/^/  /' "$out"
		bad=$((bad + 1))
	else
		echo "demo-fallback $1: ok: $(grep '^demo: not' "$out")"
	fi
}

mkdir -p "$sys/module/kvm" "$sys/module/kvm_pvm"
case_ kvm_pvm "this host's KVM is kvm_pvm"
rm -rf "$sys/module/kvm_pvm"
case_ no-hardware-kvm "neither kvm_intel nor kvm_amd is loaded"
[ $bad = 0 ] || exit 1
echo "demo-fallback: both cases booted the tiny guest and said why"
