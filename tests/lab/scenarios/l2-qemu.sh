#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm
# lab-needs: qemu l2
#
# The reference that hvabs-vmm is compared with: QEMU's microvm boots the stock
# Debian kernel with the L2 initramfs on the nested KVM, and the L2 /init
# reports HVABS-L2-UP with the vCPU count asked for, runs its checks and ends.
#
# Parameters (lab.sh --param): l2kernel=vmlinux (PVH entry, default) or bzimage,
# l2cpus=N (default 1), l2timeout=SECS (default 300).
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

kind=$(lab_param l2kernel vmlinux)
cpus=$(lab_param l2cpus 1)
tmo=$(lab_param l2timeout 300)
case $kind in
vmlinux) kernel=/l2/vmlinux ;;
bzimage) kernel=/l2/vmlinuz ;;
*)
	lab_result l2-qemu FAIL "hvabs.l2kernel=$kind: want vmlinux or bzimage"
	exit 1
	;;
esac
if [ ! -c /dev/kvm ]; then
	lab_result l2-qemu FAIL "/dev/kvm is missing"
	exit 1
fi

# rtc=on and pci=noearly spare the guest ~80000 port-I/O exits (CMOS UIP
# polling without an RTC, the early PCI scan); quiet spares one exit per
# console byte. See docs/testing.md.
append="console=ttyS0 reboot=t panic=-1 quiet pci=noearly hvabs.expect_cpus=$cpus"
t0=$(lab_uptime)
{
	timeout -k 5 "$tmo" qemu-system-x86_64 -M microvm,rtc=on -enable-kvm -cpu host \
		-m 256 -smp "$cpus" -nodefaults -nographic -serial stdio -no-reboot \
		-kernel "$kernel" -initrd /l2/initrd.img -append "$append" </dev/null 2>&1
	echo $? >/run/l2.rc
} | while IFS= read -r line; do
	case $line in
	*HVABS-L2-UP*) lab_uptime >/run/l2.up ;;
	esac
	echo "$line" >>/run/l2.log
	echo "L2| $line"
done
t_exit=$(lab_elapsed "$t0")
qrc=$(cat /run/l2.rc)

fails=0
# shellcheck disable=SC2013 # NAME:STATUS words
for w in $(sed -n 's/.*HVABS-CHECK \([^ ]*\) \([A-Z]*\).*/\1:\2/p' /run/l2.log); do
	case ${w#*:} in
	PASS) lab_result "l2-check-${w%%:*}" PASS "in the QEMU guest" ;;
	SKIP) ;;
	*)
		lab_result "l2-check-${w%%:*}" FAIL "in the QEMU guest"
		fails=$((fails + 1))
		;;
	esac
done

up=$(sed -n 's/.*HVABS-L2-UP cpus=\([0-9]*\).*/\1/p' /run/l2.log | head -n 1)
detail="kernel=$kind cpus=$cpus qemu_rc=$qrc exit=${t_exit}s"
if [ -f /run/l2.up ]; then
	detail="marker=$(lab_elapsed "$t0" "$(cat /run/l2.up)")s $detail"
fi
if [ -z "$up" ]; then
	lab_result l2-qemu FAIL "no HVABS-L2-UP from the guest; $detail"
elif [ "$up" != "$cpus" ]; then
	lab_result l2-qemu FAIL "guest has $up vCPUs, asked for $cpus; $detail"
elif [ "${t_exit%.*}" -ge "$tmo" ]; then
	# QEMU exits 0 on the time limit's SIGTERM, so the time is what tells.
	lab_result l2-qemu FAIL "timed out after ${tmo}s; $detail"
elif [ "$qrc" != 0 ]; then
	lab_result l2-qemu FAIL "QEMU exit status $qrc; $detail"
elif ! l2v=$(lab_l2_verdict /run/l2.log); then
	lab_result l2-qemu FAIL "$l2v; $detail"
else
	lab_result l2-qemu PASS "$l2v; $detail"
fi
