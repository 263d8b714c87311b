#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
#
# /init of the second-level (L2) guest initramfs, the guest that QEMU and
# hvabs-vmm boot inside the lab. It prints HVABS-L2-UP as soon as userspace runs
# (boot benchmarks time this line), loads the virtio modules, runs every
# /checks/*.sh and powers off.
#
# Device checks: drop an executable NAME.sh into tests/lab/l2-checks/. It runs
# with the kernel command line in $HVABS_CMDLINE; exit 0 prints
# "HVABS-CHECK NAME PASS", 77 "HVABS-CHECK NAME SKIP" (the device was not asked
# for: use hvabs.expect=blk,net,... on the L2 command line to ask), anything
# else "HVABS-CHECK NAME FAIL". Each check has hvabs.check_timeout= seconds
# (default 60). The run ends with "HVABS-L2-DONE pass=P fail=F skip=S".
#
# Command line: hvabs.l2exit=poweroff (default) or reboot chooses how L2 ends:
# "poweroff -f" needs ACPI power-off from the VMM, "reboot -f" with reboot=t
# needs only a triple fault.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp

echo "HVABS-L2-UP cpus=$(grep -c '^processor' /proc/cpuinfo)"

param() {
	local w c
	read -r c </proc/cmdline
	for w in $c; do
		case $w in
		"hvabs.$1="*)
			echo "${w#*=}"
			return 0
			;;
		esac
	done
	echo "${2-}"
}

# Modules first (virtio_mmio finds devices from ACPI or from its device=
# parameter, which is taken from the command line as modprobe would).
read -r cmdline </proc/cmdline
if [ -f /lib/modules/l2/order ]; then
	while read -r m || [ -n "$m" ]; do
		opts=""
		for w in $cmdline; do
			case $w in
			"$m."*=*) opts="$opts ${w#"$m".}" ;;
			esac
		done
		# shellcheck disable=SC2086 # options are words
		insmod "/lib/modules/l2/$m.ko" $opts || echo "l2: insmod $m failed"
	done </lib/modules/l2/order
fi

export HVABS_CMDLINE="$cmdline"
tmo=$(param check_timeout 60)
pass=0 fail=0 skip=0
for c in /checks/*.sh; do
	[ -f "$c" ] || continue
	name=${c##*/}
	name=${name%.sh}
	timeout "$tmo" sh "$c" >/run/check.out 2>&1
	rc=$?
	sed "s/^/l2: $name: /" /run/check.out
	case $rc in
	0)
		echo "HVABS-CHECK $name PASS"
		pass=$((pass + 1))
		;;
	77)
		echo "HVABS-CHECK $name SKIP"
		skip=$((skip + 1))
		;;
	*)
		echo "HVABS-CHECK $name FAIL rc=$rc"
		fail=$((fail + 1))
		;;
	esac
done
echo "HVABS-L2-DONE pass=$pass fail=$fail skip=$skip"

if [ "$(param l2exit poweroff)" = reboot ]; then
	reboot -f
fi
poweroff -f
