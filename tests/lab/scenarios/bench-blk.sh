#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm
# lab-needs: qemu l2
#
# virtio-blk benchmark, driven by tests/lab/bench-blk.sh on the host: the L2
# kernel and initramfs boot hvabs.bench_iters= times (default 3) with QEMU
# microvm and as often with hvabs-vmm (when it is in /hvabs/bin), alternating
# (qemu, hvabs, qemu, ...) so that a change in the host's load hits both
# alike. Every boot gets the same disk, the same guest and command line, and
# the guest runs l2-bench/blkbench.sh once: sequential write and read of
# hvabs.blk_seq_mib= MiB (default: the whole disk) in 1 MiB requests, and
# hvabs.blk_rand_ops= (default 4096) random 4 KiB reads and writes, all
# O_DIRECT at queue depth 1. For each boot it prints
#   HVABS-BENCH vmm=NAME iter=I seqwrite_mbps=W seqread_mbps=R randread_iops=X
#               randwrite_iops=Y rc=N
#
# The disk (hvabs.blk_mib=, default 256 MiB) and its caching,
# hvabs.blk_cache=:
#   writeback (default)  a zero-filled file in L1's /run (tmpfs); QEMU
#                        cache=writeback, hvabs-vmm's default (buffered I/O
#                        through the page cache). L1 has no disk of its own,
#                        and one emulated by TCG would be far slower than
#                        either VMM, so the figures would measure it. In tmpfs
#                        the page cache is the storage itself: nothing is
#                        cached twice, and each figure is the cost of the
#                        VMM's virtio-blk path on top of a memory copy.
#   none                 a brd RAM disk (/dev/ram0; lab.sh --module brd),
#                        because tmpfs refuses O_DIRECT before Linux 6.6;
#                        QEMU cache=none, hvabs-vmm direct=on (O_DIRECT).
# The guest program and check come from the host in /payload/l2 (bench-blk.sh
# builds them) and are appended to the L2 initramfs here.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

rounds=$(lab_param bench_iters 3)
mib=$(lab_param blk_mib 256)
seq=$(lab_param blk_seq_mib "$mib")
ops=$(lab_param blk_rand_ops 4096)
cache=$(lab_param blk_cache writeback)
tmo=$(lab_param l2timeout 300)
dir=/run/bench-blk
mkdir -p $dir

fail_all() {
	lab_result bench-blk FAIL "$*"
	exit 1
}
[ -c /dev/kvm ] || fail_all "/dev/kvm is missing"
if [ ! -x /payload/l2/usr/bin/hvabs-blkio ] || [ ! -f /payload/l2/checks/blkbench.sh ]; then
	fail_all "no guest program in /payload/l2: run this scenario through tests/lab/bench-blk.sh"
fi
case $rounds:$mib:$seq:$ops in
*[!0-9:]* | *::* | :* | *:) fail_all "bench_iters, blk_mib, blk_seq_mib, blk_rand_ops must be numbers" ;;
esac
[ "$seq" -le "$mib" ] || fail_all "blk_seq_mib=$seq is larger than the disk (blk_mib=$mib)"

# The disk.
case $cache in
writeback)
	img=$dir/disk.img
	qcache=writeback
	hdisk="path=$img"
	# Every block written, so that both VMMs read real pages, not holes.
	dd if=/dev/zero of=$img bs=1M count="$mib" 2>/dev/null || fail_all "cannot create $img in /run"
	;;
none)
	# lab.sh --module brd loaded it with the default geometry; reload it with one
	# disk of the size asked for.
	rmmod brd 2>/dev/null
	insmod /lab/modules/brd.ko rd_nr=1 rd_size=$((mib * 1024)) ||
		fail_all "cannot load brd (run lab.sh with --module brd)"
	img=/dev/ram0
	qcache=none
	hdisk="path=$img,direct=on"
	dd if=/dev/zero of=$img bs=1M count="$mib" oflag=direct 2>/dev/null || fail_all "cannot fill $img"
	;;
*) fail_all "hvabs.blk_cache=$cache: want writeback or none" ;;
esac

# The L2 initramfs with /payload/l2 appended: the kernel unpacks concatenated
# archives in order; the uncompressed one must start 4-byte aligned, and the
# zeroes before it are skipped.
(cd /payload/l2 && find . -mindepth 1 | cpio -o -H newc 2>/dev/null) >$dir/extra.cpio ||
	fail_all "cannot pack /payload/l2"
size=$(stat -c %s /l2/initrd.img)
{
	cat /l2/initrd.img
	head -c $(((4 - size % 4) % 4)) /dev/zero
	cat $dir/extra.cpio
} >$dir/l2.img

append="console=ttyS0 reboot=t panic=-1 quiet pci=noearly hvabs.blkbench=$seq:$ops \
hvabs.check_timeout=$((tmo > 60 ? tmo - 30 : tmo))"
lab_log "bench-blk: $mib MiB disk $img, cache=$cache, $seq MiB sequential, $ops random ops, $rounds rounds"

# field LOG OP KEY: KEY's value in the guest's HVABS-BLKIO line for OP, or none.
field() {
	local v
	v=$(sed -n "s/.*HVABS-BLKIO op=$2 .*$3=\([0-9.]*\).*/\1/p" "$1" | head -n 1)
	echo "${v:-none}"
}

# bench_one NAME ITER COMMAND...: one boot, one HVABS-BENCH line.
bench_one() {
	local name=$1 iter=$2 log=$dir/$1.$2.log t0 el rc sw sr rr rw cr
	shift 2
	rm -f $dir/rc "$log"
	cr=$(printf '\r')
	t0=$(lab_uptime)
	{
		timeout -k 5 "$tmo" "$@" </dev/null 2>&1
		echo $? >$dir/rc
	} | while IFS= read -r line; do
		line=${line%"$cr"}
		echo "$line" >>"$log"
		case $line in
		*"l2: blkbench: "*) echo "$name.$iter| ${line#*l2: blkbench: }" ;;
		esac
	done
	el=$(lab_elapsed "$t0")
	rc=$(cat $dir/rc)
	sw=$(field "$log" seqwrite mbps)
	sr=$(field "$log" seqread mbps)
	rr=$(field "$log" randread iops)
	rw=$(field "$log" randwrite iops)
	# Both VMMs exit 0 on the time limit's SIGTERM: a boot counts only if it
	# ended by itself after the guest finished its checks.
	if [ "${el%.*}" -ge "$tmo" ]; then
		rc=timeout
	elif ! grep -q 'HVABS-CHECK blkbench PASS' "$log"; then
		rc=check-failed
	elif ! l2v=$(lab_l2_verdict "$log"); then
		lab_log "bench-blk: $name $iter: $l2v"
		rc=l2-checks
	fi
	echo "HVABS-BENCH vmm=$name iter=$iter seqwrite_mbps=$sw seqread_mbps=$sr" \
		"randread_iops=$rr randwrite_iops=$rw boot_s=$el rc=$rc"
	if [ "$rc" != 0 ]; then
		sed "s/^/$name| /" "$log" | tail -n 40
		return 1
	fi
	return 0
}

qbad=0 hbad=0 have_hvabs=0
if command -v hvabs-vmm >/dev/null 2>&1; then
	have_hvabs=1
else
	lab_log "bench-blk: no hvabs-vmm in /hvabs/bin, measuring QEMU only"
fi
i=1
while [ $i -le "$rounds" ]; do
	bench_one qemu $i qemu-system-x86_64 -M microvm,rtc=on -enable-kvm -cpu host \
		-m 256 -smp 1 -nodefaults -nographic -serial stdio -no-reboot \
		-kernel /l2/vmlinux -initrd $dir/l2.img -append "$append" \
		-drive "id=d0,file=$img,format=raw,if=none,cache=$qcache" \
		-device virtio-blk-device,drive=d0 || qbad=$((qbad + 1))
	if [ $have_hvabs = 1 ]; then
		bench_one hvabs $i hvabs-vmm --kernel /l2/vmlinux --initrd $dir/l2.img \
			--cmdline "$append" --memory 256M --cpus 1 --disk "$hdisk" ||
			hbad=$((hbad + 1))
	fi
	i=$((i + 1))
done

verdict() { # NAME BAD
	if [ "$2" = 0 ]; then
		lab_result "bench-blk-$1" PASS "$rounds boots ran every phase and exited 0"
	else
		lab_result "bench-blk-$1" FAIL "$2 of $rounds boots failed"
	fi
}
verdict qemu $qbad
[ $have_hvabs = 0 ] || verdict hvabs $hbad
