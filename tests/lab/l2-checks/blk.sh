#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# L2 check: virtio-blk disks, found by their serial. Runs when the command line
# has "blk" in hvabs.expect=; each disk is one word
#   hvabs.disk=SERIAL:SECTORS:ROLE[:ARGS]
# SERIAL must show in /sys/block/vdX/serial and the disk must have SECTORS
# 512-byte sectors; every vdX must be one of the disks named. ROLE:
#   read:MD5                 the whole disk's md5sum is MD5
#   write:SECTOR:COUNT:SEED  write COUNT sectors of pattern SEED at SECTOR with
#                            conv=fsync (a FLUSH to the device), read them back
#                            with O_DIRECT (past the page cache) and compare;
#                            the scenario checks the image file afterwards
#   ro:MD5                   /sys/block/vdX/ro is 1, a write fails, and the
#                            disk's md5sum read with O_DIRECT is still MD5
# Pattern SEED is the lines "hvabs SEED 0000000", "hvabs SEED 0000001", ...
# cut to length; the L1 scenario makes the same bytes with the same awk.
want=0 ndisks=0
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.expect=*)
		case ",${w#*=}," in
		*,blk,*) want=1 ;;
		esac
		;;
	hvabs.disk=*) ndisks=$((ndisks + 1)) ;;
	esac
done
[ $want = 1 ] || exit 77

pattern() { # SEED BYTES
	awk -v s="$1" -v n="$2" 'BEGIN {
		while (len < n) { l = sprintf("hvabs %s %07d\n", s, i++); printf "%s", l; len += length(l) }
	}' | head -c "$2"
}

count_disks() {
	local d n=0
	for d in /sys/block/vd*; do
		[ -e "$d" ] && n=$((n + 1))
	done
	echo $n
}

# The disks are probed when virtio_blk loads; allow a moment for the nodes.
i=0
while [ $i -lt 50 ] && [ "$(count_disks)" -lt "$ndisks" ]; do
	sleep 0.1
	i=$((i + 1))
done
found=$(count_disks)
for d in /sys/block/vd*; do
	[ -e "$d" ] || continue
	# The transport's platform device: LNRO0005:NN when found through the
	# ACPI DSDT, virtio-mmio.N through virtio_mmio.device=.
	via=$(readlink -f "$d/device/..")
	echo "${d##*/}: serial '$(cat "$d/serial" 2>/dev/null)' sectors $(cat "$d/size") ro $(cat "$d/ro") via ${via##*/}"
done
if [ "$ndisks" = 0 ]; then
	echo "blk is expected but no hvabs.disk= word says what to check"
	exit 1
fi

# by_serial SERIAL: the vdX whose serial is SERIAL.
by_serial() {
	local d
	for d in /sys/block/vd*; do
		if [ -e "$d/serial" ] && [ "$(cat "$d/serial")" = "$1" ]; then
			echo "${d##*/}"
			return 0
		fi
	done
	return 1
}

# disk_md5 DEV: md5 of the whole device, read with O_DIRECT.
disk_md5() {
	dd if="/dev/$1" bs=64K iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1
}

check_write() { # DEV SECTOR COUNT SEED
	local dev=$1 at=$2 n=$3 seed=$4 want_md5 got
	want_md5=$(pattern "$seed" $((n * 512)) | md5sum | cut -d' ' -f1)
	if ! pattern "$seed" $((n * 512)) | dd of="/dev/$dev" bs=512 seek="$at" count="$n" \
		iflag=fullblock conv=fsync 2>/run/blk.err; then
		echo "$dev: write of $n sectors at $at failed: $(cat /run/blk.err)"
		return 1
	fi
	got=$(dd if="/dev/$dev" bs=512 skip="$at" count="$n" iflag=direct 2>/dev/null |
		md5sum | cut -d' ' -f1)
	echo "$dev: wrote $n sectors of pattern $seed at sector $at with fsync, md5 $want_md5, read back $got"
	[ "$got" = "$want_md5" ]
}

check_ro() { # DEV MD5
	local dev=$1 md5=$2 ro got
	ro=$(cat "/sys/block/$dev/ro")
	if pattern readonly 512 | dd of="/dev/$dev" bs=512 count=1 conv=fsync 2>/run/blk.err; then
		echo "$dev: a write to the read-only disk succeeded"
		return 1
	fi
	got=$(disk_md5 "$dev")
	echo "$dev: ro=$ro, write refused ($(head -n 1 /run/blk.err)), md5 $got, want $md5"
	[ "$ro" = 1 ] && [ "$got" = "$md5" ]
}

fail=0
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.disk=*) ;;
	*) continue ;;
	esac
	spec=${w#*=}
	# SERIAL:SECTORS:ROLE:A:B:C into words (serials have no ':').
	# shellcheck disable=SC2046 # meant to split
	set -- $(echo "$spec" | tr ':' ' ')
	serial=$1 sectors=$2 role=$3
	if ! dev=$(by_serial "$serial"); then
		echo "no disk with serial '$serial'"
		fail=1
		continue
	fi
	size=$(cat "/sys/block/$dev/size")
	if [ "$size" != "$sectors" ]; then
		echo "$dev ($serial): $size sectors, want $sectors"
		fail=1
		continue
	fi
	case $role in
	read)
		got=$(disk_md5 "$dev")
		echo "$dev ($serial): md5 $got, want $4"
		[ "$got" = "$4" ] || fail=1
		;;
	write) check_write "$dev" "$4" "$5" "$6" || fail=1 ;;
	ro) check_ro "$dev" "$4" || fail=1 ;;
	*)
		echo "hvabs.disk=$spec: unknown role '$role' (read, write, ro)"
		fail=1
		;;
	esac
done
if [ "$found" != "$ndisks" ]; then
	echo "the guest has $found virtio disks, the command line names $ndisks"
	fail=1
fi
exit $fail
