#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# L2 check: the guest's half of the durability test. Runs when the command
# line has "durable" in hvabs.expect= and says
#   hvabs.durable=SERIAL:SECTOR:COUNT:SEED
# It writes COUNT sectors of pattern SEED (as blk.sh makes it) at SECTOR of the
# disk whose serial is SERIAL with conv=fsync, so the kernel sends a FLUSH and
# waits for it, then prints "HVABS-DURABLE-SYNCED SERIAL SECTOR COUNT" straight
# to the console (check output is only shown after the check ends) and waits.
# The scenario kills hvabs-vmm with SIGKILL on that line and looks for the
# data in the image file. Still running 30 s later means nobody did: FAIL.
want=0 spec=
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.expect=*)
		case ",${w#*=}," in
		*,durable,*) want=1 ;;
		esac
		;;
	hvabs.durable=*) spec=${w#*=} ;;
	esac
done
[ $want = 1 ] || exit 77
if [ -z "$spec" ]; then
	echo "durable is expected but there is no hvabs.durable=SERIAL:SECTOR:COUNT:SEED"
	exit 1
fi
# shellcheck disable=SC2046 # meant to split
set -- $(echo "$spec" | tr ':' ' ')
serial=$1 at=$2 n=$3 seed=$4

dev=
i=0
while [ -z "$dev" ] && [ $i -lt 50 ]; do
	for d in /sys/block/vd*; do
		if [ -e "$d/serial" ] && [ "$(cat "$d/serial")" = "$serial" ]; then
			dev=${d##*/}
		fi
	done
	[ -n "$dev" ] || sleep 0.1
	i=$((i + 1))
done
if [ -z "$dev" ]; then
	echo "no disk with serial '$serial'"
	exit 1
fi
awk -v s="$seed" -v n=$((n * 512)) 'BEGIN {
	while (len < n) { l = sprintf("hvabs %s %07d\n", s, i++); printf "%s", l; len += length(l) }
}' | head -c $((n * 512)) | dd of="/dev/$dev" bs=512 seek="$at" count="$n" iflag=fullblock \
	conv=fsync 2>/run/durable.err
rc=$?
if [ $rc != 0 ]; then
	echo "$dev: write of $n sectors at $at failed: $(cat /run/durable.err)"
	exit 1
fi
echo "HVABS-DURABLE-SYNCED $serial $at $n" >/dev/console
echo "$dev: wrote and synced $n sectors at sector $at; waiting for the SIGKILL"
sleep 30
echo "still running 30 s after HVABS-DURABLE-SYNCED: the scenario did not stop the VMM"
exit 1
