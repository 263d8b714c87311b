#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# L2 check of the virtio-blk benchmark (scenario bench-blk), appended to the L2
# initramfs as /checks/blkbench.sh together with /usr/bin/hvabs-blkio
# (l2-bench/blkio.c). Runs when the command line has
#   hvabs.blkbench=SEQ_MIB:RAND_OPS
# and skips otherwise. On the one virtio disk, /dev/vda: a sequential write of
# SEQ_MIB MiB (with the final fsync in the timing), a sequential read of it,
# RAND_OPS random 4 KiB reads and RAND_OPS random 4 KiB writes (final fsync
# timed), all with O_DIRECT and the guest page cache dropped before each
# phase. Prints the device's queue limits, then one HVABS-BLKIO line per
# phase; fails if a phase fails.
spec=""
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.blkbench=*) spec=${w#*=} ;;
	esac
done
[ -n "$spec" ] || exit 77
seq=${spec%%:*}
ops=${spec#*:}
case $seq:$ops in
*[!0-9:]* | :* | *:)
	echo "hvabs.blkbench=$spec: want SEQ_MIB:RAND_OPS"
	exit 1
	;;
esac

# virtio_blk probes when its module loads; give the node a moment.
i=0
while [ $i -lt 50 ] && [ ! -b /dev/vda ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -b /dev/vda ]; then
	echo "no /dev/vda"
	exit 1
fi
q=/sys/block/vda/queue
echo "vda: sectors $(cat /sys/block/vda/size) max_sectors_kb $(cat $q/max_sectors_kb)" \
	"max_segments $(cat $q/max_segments) nr_requests $(cat $q/nr_requests)" \
	"hw_queues $(find /sys/block/vda/mq -mindepth 1 -maxdepth 1 | wc -l) scheduler '$(cat $q/scheduler)'" \
	"clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

fail=0
for phase in seqwrite:"$seq" seqread:"$seq" randread:"$ops" randwrite:"$ops"; do
	sync
	echo 3 >/proc/sys/vm/drop_caches
	hvabs-blkio "${phase%%:*}" /dev/vda "${phase#*:}" || fail=1
done
exit $fail
