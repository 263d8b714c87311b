#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: xen
# lab-needs: l2
#
# The stock Debian kernel and the L2 initramfs as an HVM domain that hvabs
# creates and serves under real Xen 4.17 (hvabs-vmm --hypervisor xen). One
# result per case. A case is KERNEL:CPUS:DISK; hvabs.cases= lists them with
# "+" between (lab.sh --param allows no commas), default
# "bzimage:1:blk+vmlinux:1:blk+bzimage:2:none":
#   KERNEL  bzimage (64-bit boot protocol: Linux runs as a Xen HVM guest on
#           hvabs' ACPI tables and legacy devices) or vmlinux (the PVH entry:
#           Linux takes its Xen PVH path)
#   CPUS    vCPUs; the guest must report that many online (Xen numbers local
#           APICs 2 x vCPU, and so do hvabs' MADT and MP table on Xen)
#   DISK    blk: a virtio-blk disk (hvabs-vmm --disk) holding an MBR with one
#           partition, which the guest kernel must read ("vda: vda1": a request
#           through the virtqueue, MMIO notifies, the completion interrupt);
#           none: no disk
# Passes when the guest's userspace reports the vCPUs, its checks finish, and
# it powers off through hvabs' ACPI PM device. Also hvabs.l2timeout=SECS
# (default 400) and hvabs.vmmargs=ARGS (',' for spaces).
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

cases=$(lab_param cases "bzimage:1:blk+vmlinux:1:blk+bzimage:2:none")
tmo=$(lab_param l2timeout 400)
extra=$(lab_param vmmargs "" | tr ',' ' ')

# A 1 MiB disk whose MBR has one Linux partition at LBA 1, 100 sectors long.
make_disk() {
	dd if=/dev/zero of="$1" bs=1024 count=1024 2>/dev/null
	printf '\000\000\000\000\203\000\000\000\001\000\000\000\144\000\000\000' |
		dd of="$1" bs=1 seek=446 conv=notrunc 2>/dev/null
	printf '\125\252' | dd of="$1" bs=1 seek=510 conv=notrunc 2>/dev/null
}

run_case() {
	kind=$1 cpus=$2 disk=${3:-none}
	name="xen-linux-$kind-${cpus}cpu-$disk"
	diskargs=""
	if [ "$disk" = blk ]; then
		make_disk /tmp/xen-l2-disk.img
		diskargs="--disk path=/tmp/xen-l2-disk.img,serial=hvabs-xen"
	fi
	case $kind in
	vmlinux) kernel=/l2/vmlinux ;;
	bzimage) kernel=/l2/vmlinuz ;;
	*)
		lab_result "$name" FAIL "unknown kernel kind '$kind'"
		return
		;;
	esac
	append="console=ttyS0 panic=-1 pci=noearly hvabs.expect_cpus=$cpus hvabs.l2exit=poweroff"
	rm -f /run/l2.log /run/l2.rc
	t0=$(lab_uptime)
	{
		# shellcheck disable=SC2086 # extra options are words
		timeout -k 5 $((tmo + 10)) hvabs-vmm --hypervisor xen --kernel "$kernel" \
			--initrd /l2/initrd.img --cmdline "$append" --memory 256M --cpus "$cpus" \
			--timeout "$tmo" $diskargs $extra </dev/null 2>&1
		echo $? >/run/l2.rc
	} | while IFS= read -r line; do
		echo "$line" >>/run/l2.log
		echo "L2| $line"
	done
	rc=$(cat /run/l2.rc)
	up=$(sed -n 's/.*HVABS-L2-UP cpus=\([0-9]*\).*/\1/p' /run/l2.log | head -n 1)
	detail="kernel=$kind cpus=$cpus vmm_rc=$rc in $(lab_elapsed "$t0")s"
	if [ -z "$up" ]; then
		lab_result "$name" FAIL "no HVABS-L2-UP from the guest; $detail"
	elif [ "$up" != "$cpus" ]; then
		lab_result "$name" FAIL "guest has $up vCPUs, asked for $cpus; $detail"
	elif [ "$disk" = blk ] && ! grep -q ' vda: vda1' /run/l2.log; then
		lab_result "$name" FAIL "the guest did not read the virtio-blk disk's partition table; $detail"
	elif ! l2v=$(lab_l2_verdict /run/l2.log); then
		lab_result "$name" FAIL "$l2v; $detail"
	elif [ "$rc" != 0 ] || ! grep -q 'guest stopped: power-off' /run/l2.log; then
		lab_result "$name" FAIL "no clean power-off; $detail"
	else
		lab_result "$name" PASS "$l2v; $detail"
	fi
	# hvabs-vmm destroys its domain on exit: one left behind fails the case.
	if ! doms=$(xl list 2>&1); then
		lab_result "$name-cleanup" FAIL "xl list failed: $doms"
		return
	fi
	left=$(echo "$doms" | awk 'NR > 1 && $1 != "Domain-0" { printf "%s%s(id %s)", sep, $1, $2; sep = ", " }')
	if [ -n "$left" ]; then
		lab_result "$name-cleanup" FAIL "domains left after hvabs-vmm exited: $left"
		for id in $(echo "$doms" | awk 'NR > 1 && $1 != "Domain-0" { print $2 }'); do
			xl destroy "$id" 2>/dev/null
		done
	else
		lab_result "$name-cleanup" PASS "no domain left but Domain-0"
	fi
}

for c in $(echo "$cases" | tr '+,' '  '); do
	# shellcheck disable=SC2046 # KERNEL:CPUS:DISK into words
	run_case $(echo "$c" | tr ':' ' ')
done
xl dmesg 2>/dev/null | tail -n 30 | sed 's/^/xen: /'
