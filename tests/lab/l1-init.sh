#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
#
# /init of the lab's first-level VM (L1): Linux with kvm_amd (hvabs.mode=kvm) or
# Xen's PV dom0 (hvabs.mode=xen). It sets the system up, runs the scenario named
# by hvabs.scenario= and ends with HVABS-LAB-DONE and a power-off. If anything
# here dies, the kernel panics (panic=-1) and QEMU (-no-reboot) exits, so a
# broken run ends at once instead of waiting for lab.sh's time limit.

export PATH=/hvabs/bin:/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
# xenconsoled needs ptys for guest consoles (xl create fails without them).
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
# shellcheck source=lab-lib.sh
. /lab/lib.sh
: >"$LAB_RESULTS"

mode=$(lab_param mode kvm)
scenario=$(lab_param scenario)
echo "HVABS-LAB-INIT mode=$mode scenario=$scenario kernel=$(uname -r) cpus=$(nproc) uptime=$(lab_uptime)"

xen_start() {
	mkdir -p /proc/xen /run/xen /var/log/xen /var/lib/xen /var/lib/xenstored
	mount -t xenfs xenfs /proc/xen || return 1
	xenstored --pid-file /run/xenstored.pid || return 1
	xen-init-dom0 || return 1
	xenconsoled --pid-file=/run/xenconsoled.pid --log=none || return 1
}

ok=1
if lab_insmod /lab/modules; then
	mods=$(tr '\n' ' ' </lab/modules/order)
	lab_result l1-modules PASS "${mods% }"
else
	lab_result l1-modules FAIL "see the insmod errors above"
	ok=0
fi
if [ "$mode" = xen ] && [ $ok = 1 ]; then
	if xen_start >/run/xen-start.log 2>&1; then
		lab_result xen-dom0-daemons PASS "xenstored xen-init-dom0 xenconsoled"
	else
		cat /run/xen-start.log
		lab_result xen-dom0-daemons FAIL "see the log above"
		ok=0
	fi
fi

rc=0
if [ $ok = 0 ]; then
	rc=1
elif [ -f "/lab/scenarios/$scenario.sh" ]; then
	export HVABS_LAB=1 HVABS_LAB_MODE="$mode" HVABS_BACKEND_PATH=/hvabs/backends
	# The lab's nested KVM must work: a test that would skip without
	# /dev/kvm fails here instead.
	if [ "$mode" = kvm ]; then
		export HVABS_REQUIRE_KVM=1
	fi
	lab_log "scenario $scenario starts at uptime $(lab_uptime)"
	sh "/lab/scenarios/$scenario.sh"
	rc=$?
else
	lab_result scenario FAIL "no /lab/scenarios/$scenario.sh"
	rc=2
fi

pass=$(grep -c '^PASS ' "$LAB_RESULTS")
fail=$(grep -c '^FAIL ' "$LAB_RESULTS")
if [ "$fail" -gt 0 ] && [ $rc = 0 ]; then
	rc=1
fi
echo "HVABS-LAB-DONE rc=$rc pass=$pass fail=$fail uptime=$(lab_uptime)"
sync
poweroff -f
