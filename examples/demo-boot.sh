#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# demo-boot.sh VMM TINY_GUEST — the guest part of README command 1
# (examples/demo.sh builds, then runs this). Where the host's KVM can run a
# stock kernel (a standard kvm_intel or kvm_amd), it boots Debian's Linux
# kernel, fetched and cached as the lab does (tests/lab/lab.sh --artifacts),
# with the lab's small busybox initramfs on VMM, showing the console: the
# guest says HVABS-L2-UP, runs its checks and powers off. Otherwise it boots
# the tiny test guest and says why in one line.
#
# Environment: HVABS_DEMO_KERNEL and HVABS_DEMO_INITRD boot those instead of
# fetching (the lab runs this script so in its L1); HVABS_DEMO_TINY=1 boots
# the tiny guest anyway; HVABS_DEMO_SYSFS (default /sys) is where the KVM
# modules are looked for.
# POSIX sh: it also runs under busybox inside the lab.
set -eu
vmm=${1:?usage: demo-boot.sh VMM TINY_GUEST}
tiny=${2:?usage: demo-boot.sh VMM TINY_GUEST}
here=$(cd "$(dirname "$0")" && pwd)
sysfs=${HVABS_DEMO_SYSFS:-/sys}

# Why this host's KVM cannot boot a stock Linux kernel; nothing if it can.
kvm_why_not() {
	if [ "${HVABS_DEMO_TINY:-0}" = 1 ]; then
		echo "HVABS_DEMO_TINY=1 asks for the tiny guest"
	elif [ -d "$sysfs/module/kvm_pvm" ]; then
		echo "this host's KVM is kvm_pvm, a software-assisted KVM without" \
			"hardware virtualization that runs only kernels built as PVM guests"
	elif [ ! -d "$sysfs/module/kvm_intel" ] && [ ! -d "$sysfs/module/kvm_amd" ]; then
		echo "neither kvm_intel nor kvm_amd is loaded (no hardware-assisted KVM)"
	elif [ ! -c /dev/kvm ]; then
		echo "there is no /dev/kvm"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "/dev/kvm is not readable and writable for $(id -un)"
	fi
}

why=$(kvm_why_not)
kernel=${HVABS_DEMO_KERNEL:-}
initrd=${HVABS_DEMO_INITRD:-}
if [ -z "$why" ] && [ -z "$kernel" ]; then
	echo "demo: fetching Debian's kernel and building the initramfs (tests/lab/lab.sh --artifacts; cached)" >&2
	if vars=$("$here/../tests/lab/lab.sh" --artifacts); then
		eval "$vars"
		kernel=$HVABS_LAB_BZIMAGE
		initrd=$HVABS_LAB_L2_INITRD
	else
		why="Debian's kernel could not be fetched (tests/lab/lab.sh --artifacts failed)"
	fi
fi
if [ -z "$why" ]; then
	set -- --kernel "$kernel" --initrd "$initrd" --memory 256M --cpus 2 \
		--cmdline "console=ttyS0 panic=-1 pci=noearly hvabs.expect_cpus=2"
	echo "demo: booting Linux ($kernel) with a busybox initramfs" >&2
else
	set -- --kernel "$tiny" --memory 64M --cpus 2
	echo "demo: not booting Linux: $why; booting the tiny test guest instead" >&2
fi
echo "demo: $vmm $*" >&2
exec "$vmm" "$@"
