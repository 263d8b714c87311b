#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm
# lab-needs: qemu l2 gnutime
#
# Boot benchmark, driven by tests/lab/bench-boot.sh on the host: boots the L2
# kernel and initramfs hvabs.bench_iters= times (default 3) with QEMU microvm
# and, when it is in /hvabs/bin, as often with hvabs-vmm, alternating (qemu,
# hvabs, qemu, hvabs, ...), using the same kernel, initramfs, command line,
# memory and vCPUs. For each boot it prints
#   HVABS-BENCH vmm=NAME iter=I marker=S exit=S rss_kb=K up_rss_kb=T
#               guest_kb=G out_anon_kb=A rc=N
# where marker is the time to HVABS-L2-UP and exit the time until the VMM
# process ended, both from its start in L1, and rss_kb the VMM's peak RSS.
#
# Memory outside guest RAM: the L2 initramfs gets one more check,
# /checks/00-hold.sh, which runs right after the virtio modules are loaded,
# prints "HVABS-L2-HOLD start", sleeps hvabs.l2hold= seconds (default 2) and
# prints "HVABS-L2-HOLD end". On the start line this script copies the VMM's
# /proc/PID/smaps (the VMM is exec'd by a shell that first writes its PID),
# the same way for both VMMs: up_rss_kb is the sum of every mapping's Rss,
# guest_kb the Rss of the guest RAM mapping(s), the anonymous (or memfd)
# mappings whose size is the guest's RAM up to 8 MiB more, and out_anon_kb
# the anonymous memory outside them (heap, stacks: the VMM's own, where
# up_rss_kb - guest_kb also counts mapped files such as the kernel image). Both VMMs show
# their RAM so: hvabs-vmm's KVM backend mmaps it anonymous, and so does
# QEMU's memory-backend-ram. Each boot logs the mappings it took for guest RAM
# and the other large ones. The held time, between the two lines
# as L1 sees them, is taken out of exit.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

iters=$(lab_param bench_iters 3)
cpus=$(lab_param l2cpus 1)
kind=$(lab_param l2kernel vmlinux)
tmo=$(lab_param l2timeout 300)
hold=$(lab_param l2hold 2)
ram_mib=256
dir=/run/bench
case $kind in
vmlinux) kernel=/l2/vmlinux ;;
bzimage) kernel=/l2/vmlinuz ;;
*)
	lab_result bench FAIL "hvabs.l2kernel=$kind: want vmlinux or bzimage"
	exit 1
	;;
esac
case $hold in
'' | *[!0-9]* | 0)
	lab_result bench FAIL "hvabs.l2hold=$hold: want whole seconds, at least 1"
	exit 1
	;;
esac
# Both VMMs end the guest with the L2 init's "poweroff -f" (ACPI S5); a panic
# reboots (reboot=t: triple fault), which both report as a failed boot.
append="console=ttyS0 reboot=t panic=-1 quiet pci=noearly hvabs.expect_cpus=$cpus \
hvabs.l2hold=$hold"

# The L2 initramfs with the hold check appended: the kernel unpacks
# concatenated archives in order; the uncompressed one must start 4-byte
# aligned, and the zeroes before it are skipped. The check writes its lines
# to /dev/console because the L2 init shows a check's stdout only after it
# ended.
mkdir -p $dir/extra/checks
cat >$dir/extra/checks/00-hold.sh <<'HOLD'
s=0
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.l2hold=*) s=${w#*=} ;;
	esac
done
[ "$s" != 0 ] || exit 77
echo "HVABS-L2-HOLD start secs=$s" >/dev/console
sleep "$s"
echo "HVABS-L2-HOLD end" >/dev/console
HOLD
size=$(stat -c %s /l2/initrd.img)
{
	cat /l2/initrd.img
	head -c $(((4 - size % 4) % 4)) /dev/zero
	(cd $dir/extra && find . -mindepth 1 | cpio -o -H newc 2>/dev/null)
} >$dir/l2.img

# smaps_figures FILE: "TOTAL_KB GUEST_KB ANON_KB [NAME:SIZE/RSS ...] others:
# [NAME:SIZE/RSS ...]" from a copy of /proc/PID/smaps: the Rss of every
# mapping and of the guest RAM mapping(s), the anonymous memory (heap,
# stacks, private copies) outside guest RAM, then the guest RAM mappings and
# every other one of 64 MiB or more or with 4 MiB or more resident (sizes in
# kB), so that the log shows what was and was not taken for guest RAM, and
# where the rest went.
smaps_figures() {
	awk -v ram=$((ram_mib * 1024)) '
	/^[0-9a-f]+-[0-9a-f]+ / {
		anon = NF == 5 || $6 ~ /^\/memfd:/ || $6 ~ /^\[anon/
		name = NF == 5 ? "anon" : $6
		next
	}
	$1 == "Size:" { size = $2 }
	$1 == "Rss:" {
		total += $2
		is_ram = anon && size >= ram && size <= ram + 8192
		if (is_ram) {
			guest += $2
			list = list " " name ":" size "/" $2
		} else if (size >= 65536 || $2 >= 4096)
			other = other " " name ":" size "/" $2
	}
	$1 == "Anonymous:" && !is_ram { anon_out += $2 }
	END { printf "%d %d %d%s others:%s\n", total, guest, anon_out, list, other }' "$1"
}

# bench_one NAME ITER COMMAND...: one timed boot.
bench_one() {
	local name=$1 iter=$2 t0 t1 rc rss marker held t_exit mem up guest anon
	shift 2
	rm -f /run/b.up /run/b.rc /run/b.rss /run/b.log /run/b.pid /run/b.smaps /run/b.comm \
		/run/b.hold0 /run/b.hold1
	t0=$(lab_uptime)
	{
		# busybox timeout execs its command in its own process, and so does
		# the shell: /run/b.pid is the VMM's PID, and GNU time's child.
		# shellcheck disable=SC2016 # $$ and $@ are the inner shell's
		/usr/lib/lab/gnu-time -o /run/b.rss -f '%M' timeout -k 5 "$tmo" \
			sh -c 'echo $$ >/run/b.pid && exec "$@"' vmm "$@" </dev/null 2>&1
		echo $? >/run/b.rc
	} | while IFS= read -r line; do
		case $line in
		*HVABS-L2-UP*) [ -f /run/b.up ] || lab_uptime >/run/b.up ;;
		*"HVABS-L2-HOLD start"*)
			lab_uptime >/run/b.hold0
			pid=$(cat /run/b.pid 2>/dev/null)
			if [ -n "$pid" ]; then
				cat "/proc/$pid/comm" >/run/b.comm 2>/dev/null
				cat "/proc/$pid/smaps" >/run/b.smaps 2>/dev/null
			fi
			;;
		*"HVABS-L2-HOLD end"*) lab_uptime >/run/b.hold1 ;;
		esac
		echo "$line" >>/run/b.log
	done
	t1=$(lab_uptime)
	rc=$(cat /run/b.rc)
	rss=$(tail -n 1 /run/b.rss)
	marker=none
	[ -f /run/b.up ] && marker=$(lab_elapsed "$t0" "$(cat /run/b.up)")
	held=0
	if [ -f /run/b.hold0 ] && [ -f /run/b.hold1 ]; then
		held=$(lab_elapsed "$(cat /run/b.hold0)" "$(cat /run/b.hold1)")
	fi
	t_exit=$(awk -v a="$(lab_elapsed "$t0" "$t1")" -v h="$held" 'BEGIN { printf "%.2f", a - h }')
	up=none guest=none anon=none
	if [ -s /run/b.smaps ]; then
		mem=$(smaps_figures /run/b.smaps)
		lab_log "bench: $name $iter: smaps of $(cat /run/b.comm), held ${held}s: Rss" \
			"${mem%% *} kB; guest RAM (name:size/rss kB):${mem#* * * }"
		up=${mem%% *}
		guest=$(echo "$mem" | cut -d' ' -f2)
		anon=$(echo "$mem" | cut -d' ' -f3)
		[ "$guest" -gt 0 ] || guest=none
	fi
	# A VMM that exits 0 on the time limit's SIGTERM (QEMU and hvabs-vmm
	# both do) must not pass: the run must also have ended by itself after
	# the guest finished its checks.
	if [ "$(lab_elapsed "$t0" "$t1" | cut -d. -f1)" -ge "$tmo" ]; then
		rc=timeout
	elif ! l2v=$(lab_l2_verdict /run/b.log); then
		lab_log "bench: $name $iter: $l2v"
		rc=l2-checks
	elif [ "$up" = none ]; then
		rc=no-smaps
	elif [ "$guest" = none ]; then
		# Without the RAM mapping the figure outside guest RAM would be wrong.
		rc=no-guest-ram-mapping
	fi
	echo "HVABS-BENCH vmm=$name iter=$iter marker=$marker exit=$t_exit rss_kb=$rss" \
		"up_rss_kb=$up guest_kb=$guest out_anon_kb=$anon rc=$rc"
	if [ "$marker" = none ] || [ "$rc" != 0 ]; then
		sed "s/^/$name| /" /run/b.log | tail -n 40
		return 1
	fi
	return 0
}

# The rounds alternate the VMMs (qemu, hvabs, qemu, hvabs, ...), so that a
# change in the host's load hits both rather than all boots of one.
qbad=0 hbad=0 have_hvabs=0
# ---- HOOK: hvabs-vmm --------------------------------------------------------
# hvabs-vmm (build/examples/hvabs-vmm) is measured when bench-boot.sh finds it
# and passes it with --bin; the backends come with --build. Same guest, same
# command line, same memory and vCPUs as QEMU.
if command -v hvabs-vmm >/dev/null 2>&1; then
	have_hvabs=1
else
	lab_log "bench: no hvabs-vmm in /hvabs/bin, measuring QEMU only"
fi
i=1
while [ $i -le "$iters" ]; do
	bench_one qemu $i qemu-system-x86_64 -M microvm,rtc=on -enable-kvm -cpu host \
		-m $ram_mib -smp "$cpus" -nodefaults -nographic -serial stdio -no-reboot \
		-kernel "$kernel" -initrd $dir/l2.img -append "$append" || qbad=$((qbad + 1))
	if [ $have_hvabs = 1 ]; then
		bench_one hvabs $i hvabs-vmm --kernel "$kernel" --initrd $dir/l2.img \
			--cmdline "$append" --memory ${ram_mib}M --cpus "$cpus" || hbad=$((hbad + 1))
	fi
	i=$((i + 1))
done

verdict() { # NAME BAD
	if [ "$2" = 0 ]; then
		lab_result "bench-$1" PASS "$iters boots reached HVABS-L2-UP, were measured while held, finished and exited 0"
	else
		lab_result "bench-$1" FAIL "$2 of $iters boots failed"
	fi
}
verdict qemu $qbad
[ $have_hvabs = 0 ] || verdict hvabs $hbad
