#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm
# lab-needs: l2
#
# The stock Debian kernel with the L2 initramfs, booted by hvabs-vmm on the
# nested kvm_amd: several cases in one L1 boot, one result each. A case is
# KERNEL:CPUS:END (hvabs.cases=, comma separated, default
# "vmlinux:1:poweroff,vmlinux:2:poweroff,vmlinux:2:reboot,bzimage:2:poweroff"):
#   KERNEL  vmlinux (PVH entry) or bzimage (64-bit boot protocol)
#   CPUS    vCPUs to give; the guest must report that many
#   END     poweroff (L2 runs poweroff -f: ACPI S5) or reboot (reboot -f:
#           ACPI reset register / i8042); hvabs-vmm must exit 0 either way
# Also hvabs.l2timeout=SECS per case (default 300), hvabs.vmmargs=ARGS extra
# hvabs-vmm options with ',' for spaces, and hvabs.crosscheck=1 to pass
# the KVM backend's x86 emulator cross-check option (--backend-options
# crosscheck=1); a case then also needs hvabs-vmm's summary line to report
# MMIO exits checked and no disagreement. With examples/demo-boot.sh in
# /hvabs/bin, one more boot: README command 1's guest (run_demo below).
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

cases=$(lab_param cases "vmlinux:1:poweroff,vmlinux:2:poweroff,vmlinux:2:reboot,bzimage:2:poweroff")
tmo=$(lab_param l2timeout 300)
extra=$(lab_param vmmargs "" | tr ',' ' ')
xcheck=$(lab_param crosscheck 0)
[ "$xcheck" = 1 ] && extra="$extra --backend-options crosscheck=1"
if [ ! -c /dev/kvm ]; then
	lab_result hvabs-linux FAIL "/dev/kvm is missing"
	exit 1
fi
export HVABS_BACKEND_PATH=/hvabs/backends

run_case() {
	kind=$1 cpus=$2 end=$3
	name="hvabs-linux-$kind-${cpus}cpu-$end"
	[ "$xcheck" = 1 ] && name="$name-xcheck"
	case $kind in
	vmlinux) kernel=/l2/vmlinux ;;
	bzimage) kernel=/l2/vmlinuz ;;
	*)
		lab_result "$name" FAIL "unknown kernel kind '$kind'"
		return
		;;
	esac
	# No reboot=t: a triple fault is a crash to hvabs-vmm; Linux's default
	# reboot uses the FADT reset register (the i8042 pulse).
	append="console=ttyS0 panic=-1 quiet pci=noearly hvabs.expect_cpus=$cpus hvabs.l2exit=$end"
	rm -f /run/l2.log /run/l2.up /run/l2.rc
	t0=$(lab_uptime)
	{
		# shellcheck disable=SC2086 # extra options are words
		timeout -k 5 $((tmo + 10)) /hvabs/bin/hvabs-vmm --hypervisor kvm --kernel "$kernel" \
			--initrd /l2/initrd.img --cmdline "$append" --memory 256M --cpus "$cpus" \
			--timeout "$tmo" $extra </dev/null 2>&1
		echo $? >/run/l2.rc
	} | while IFS= read -r line; do
		case $line in
		*HVABS-L2-UP*) lab_uptime >/run/l2.up ;;
		esac
		echo "$line" >>/run/l2.log
		echo "L2| $line"
	done
	t_exit=$(lab_elapsed "$t0")
	rc=$(cat /run/l2.rc)
	up=$(sed -n 's/.*HVABS-L2-UP cpus=\([0-9]*\).*/\1/p' /run/l2.log | head -n 1)
	detail="kernel=$kind cpus=$cpus end=$end vmm_rc=$rc exit=${t_exit}s"
	[ -f /run/l2.up ] && detail="marker=$(lab_elapsed "$t0" "$(cat /run/l2.up)")s $detail"
	# The backend's summary, one line per VM (a reboot makes a second one):
	# "x86emu cross-check: N MMIO exits checked, M disagreements, K not decodable".
	xc=$(sed -n 's/.*x86emu cross-check: \([0-9]*\) MMIO exits checked, \([0-9]*\) disagreements, \([0-9]*\) not decodable.*/\1 \2 \3/p' /run/l2.log |
		awk '{ n += $1; m += $2; k += $3; v++ } END { if (v) printf "%d %d %d", n, m, k }')
	[ "$xcheck" = 1 ] && detail="$detail xcheck(checked/disagree/undecodable)=$(echo "${xc:-none}" | tr ' ' /)"
	if [ -z "$up" ]; then
		lab_result "$name" FAIL "no HVABS-L2-UP from the guest; $detail"
	elif [ "$up" != "$cpus" ]; then
		lab_result "$name" FAIL "guest has $up vCPUs, asked for $cpus; $detail"
	elif ! l2v=$(lab_l2_verdict /run/l2.log); then
		lab_result "$name" FAIL "$l2v; $detail"
	elif [ "$xcheck" = 1 ] && [ -z "$xc" ]; then
		lab_result "$name" FAIL "no x86emu cross-check summary from hvabs-vmm; $detail"
	elif [ "$xcheck" = 1 ] && [ "${xc%% *}" = 0 ]; then
		lab_result "$name" FAIL "the cross-check saw no MMIO exit; $detail"
	elif [ "$xcheck" = 1 ] && [ "$(echo "$xc" | cut -d' ' -f2)" != 0 ]; then
		lab_result "$name" FAIL "the x86 emulator disagrees with KVM; $detail"
	elif [ "$rc" != 0 ]; then
		lab_result "$name" FAIL "hvabs-vmm exit status $rc; $detail"
	elif [ "$end" = reboot ] && ! grep -q 'guest stopped: reboot' /run/l2.log; then
		lab_result "$name" FAIL "hvabs-vmm did not see a reboot; $detail"
	elif [ "$end" = poweroff ] && ! grep -q 'guest stopped: power-off' /run/l2.log; then
		lab_result "$name" FAIL "hvabs-vmm did not see a power-off; $detail"
	else
		lab_result "$name" PASS "$l2v; $detail"
	fi
}

# README command 1's guest part (examples/demo-boot.sh, when lab.sh --bin
# brought it): on this standard kvm_amd it must choose Linux, not the tiny
# guest, and boot it with the initramfs to a clean power-off. The kernel and
# initramfs are the ones on the host's cache that demo.sh would fetch.
run_demo() {
	local rc l2v detail
	rm -f /run/l2.log /run/l2.rc
	t0=$(lab_uptime)
	{
		HVABS_DEMO_KERNEL=/l2/vmlinuz HVABS_DEMO_INITRD=/l2/initrd.img \
			timeout -k 5 $((tmo + 10)) /hvabs/bin/demo-boot.sh /hvabs/bin/hvabs-vmm \
			/nonexistent/tiny.elf </dev/null 2>&1
		echo $? >/run/l2.rc
	} | while IFS= read -r line; do
		echo "$line" >>/run/l2.log
		echo "L2| $line"
	done
	rc=$(cat /run/l2.rc)
	detail="rc=$rc exit=$(lab_elapsed "$t0")s"
	if ! grep -q '^demo: booting Linux' /run/l2.log; then
		lab_result demo-linux FAIL "demo-boot.sh did not choose Linux on kvm_amd: $(grep '^demo: not' /run/l2.log); $detail"
	elif ! grep -q 'HVABS-L2-UP cpus=2' /run/l2.log; then
		lab_result demo-linux FAIL "no HVABS-L2-UP cpus=2 from the guest; $detail"
	elif ! l2v=$(lab_l2_verdict /run/l2.log); then
		lab_result demo-linux FAIL "$l2v; $detail"
	elif [ "$rc" != 0 ] || ! grep -q 'guest stopped: power-off' /run/l2.log; then
		lab_result demo-linux FAIL "no clean power-off; $detail"
	else
		lab_result demo-linux PASS "Linux on hvabs-vmm, $l2v; $detail"
	fi
}

for c in $(echo "$cases" | tr ',' ' '); do
	# shellcheck disable=SC2046 # KERNEL:CPUS:END into three words
	run_case $(echo "$c" | tr ':' ' ')
done
# An if, not "[ ] && run_demo": as the last command, a false test would be
# the scenario's exit status (lab.kvm.linux-crosscheck has no demo-boot.sh).
if [ -x /hvabs/bin/demo-boot.sh ]; then
	run_demo
fi
