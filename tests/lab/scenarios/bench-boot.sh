#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm
# lab-needs: qemu l2 gnutime
#
# Boot benchmark, driven by tests/lab/bench-boot.sh on the host: boots the L2
# kernel and initramfs hvabs.bench_iters= times (default 3) with QEMU microvm
# and, when it is in /hvabs/bin, with hvabs-vmm, using the same kernel,
# initramfs, command line, memory and vCPUs. For each boot it prints
#   HVABS-BENCH vmm=NAME iter=I marker=S exit=S rss_kb=K rc=N
# where marker is the time to HVABS-L2-UP and exit the time until the VMM
# process ended, both from its start in L1, and rss_kb the VMM's peak RSS.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

iters=$(lab_param bench_iters 3)
cpus=$(lab_param l2cpus 1)
kind=$(lab_param l2kernel vmlinux)
tmo=$(lab_param l2timeout 300)
case $kind in
vmlinux) kernel=/l2/vmlinux ;;
bzimage) kernel=/l2/vmlinuz ;;
*)
	lab_result bench FAIL "hvabs.l2kernel=$kind: want vmlinux or bzimage"
	exit 1
	;;
esac
# Both VMMs end the guest with the L2 init's "poweroff -f" (ACPI S5); a panic
# reboots (reboot=t: triple fault), which both report as a failed boot.
append="console=ttyS0 reboot=t panic=-1 quiet pci=noearly hvabs.expect_cpus=$cpus"

# bench_one NAME ITER COMMAND...: one timed boot.
bench_one() {
	local name=$1 iter=$2 t0 t1 rc rss marker
	shift 2
	rm -f /run/b.up /run/b.rc /run/b.rss /run/b.log
	t0=$(lab_uptime)
	{
		/usr/lib/lab/gnu-time -o /run/b.rss -f '%M' timeout -k 5 "$tmo" "$@" </dev/null 2>&1
		echo $? >/run/b.rc
	} | while IFS= read -r line; do
		case $line in
		*HVABS-L2-UP*) [ -f /run/b.up ] || lab_uptime >/run/b.up ;;
		esac
		echo "$line" >>/run/b.log
	done
	t1=$(lab_uptime)
	rc=$(cat /run/b.rc)
	rss=$(tail -n 1 /run/b.rss)
	marker=none
	[ -f /run/b.up ] && marker=$(lab_elapsed "$t0" "$(cat /run/b.up)")
	# A VMM that exits 0 on the time limit's SIGTERM (QEMU and hvabs-vmm
	# both do) must not pass: the run must also have ended by itself after
	# the guest finished its checks.
	if [ "$(lab_elapsed "$t0" "$t1" | cut -d. -f1)" -ge "$tmo" ]; then
		rc=timeout
	elif ! grep -q HVABS-L2-DONE /run/b.log; then
		rc=no-l2-done
	fi
	echo "HVABS-BENCH vmm=$name iter=$iter marker=$marker exit=$(lab_elapsed "$t0" "$t1") rss_kb=$rss rc=$rc"
	if [ "$marker" = none ] || [ "$rc" != 0 ]; then
		sed "s/^/$name| /" /run/b.log | tail -n 40
		return 1
	fi
	return 0
}

# bench_vmm NAME COMMAND...: all iterations, one result.
bench_vmm() {
	local name=$1 i=1 bad=0
	shift
	while [ $i -le "$iters" ]; do
		bench_one "$name" $i "$@" || bad=$((bad + 1))
		i=$((i + 1))
	done
	if [ $bad = 0 ]; then
		lab_result "bench-$name" PASS "$iters boots reached HVABS-L2-UP, finished and exited 0"
	else
		lab_result "bench-$name" FAIL "$bad of $iters boots failed"
	fi
}

bench_vmm qemu qemu-system-x86_64 -M microvm,rtc=on -enable-kvm -cpu host \
	-m 256 -smp "$cpus" -nodefaults -nographic -serial stdio -no-reboot \
	-kernel "$kernel" -initrd /l2/initrd.img -append "$append"

# ---- HOOK: hvabs-vmm --------------------------------------------------------
# hvabs-vmm (build/examples/hvabs-vmm) is measured when bench-boot.sh finds it
# and passes it with --bin; the backends come with --build. Same guest, same
# command line, same memory and vCPUs as QEMU above.
if command -v hvabs-vmm >/dev/null 2>&1; then
	bench_vmm hvabs hvabs-vmm --kernel "$kernel" --initrd /l2/initrd.img \
		--cmdline "$append" --memory 256M --cpus "$cpus"
else
	lab_log "bench: no hvabs-vmm in /hvabs/bin, measuring QEMU only"
fi
