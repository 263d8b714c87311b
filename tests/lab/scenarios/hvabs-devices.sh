#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm
# lab-needs: l2
#
# hvabs-vmm's virtio devices under the stock Debian kernel, on the nested
# kvm_amd. One L1 boot, two L2 boots (vmlinux through PVH, 1 vCPU):
#
# devices  three disks and an rng. The images are made here with busybox:
#          data (rw, only read: the guest checks its md5), scratch (rw: the
#          guest writes 8 sectors at sector 100 with conv=fsync) and ro
#          (readonly=on: the write must fail). Results: devices-l2 (boot,
#          checks finished, exit 0 on power-off), devices-check-blk and
#          devices-check-rng (those L2 checks PASS, not SKIP), and
#          devices-images: after hvabs-vmm exits, scratch holds exactly the
#          guest's write and data and ro are unchanged.
# durable  one disk; the durable L2 check writes 9 sectors at sector 7 with
#          conv=fsync and says so on the console; hvabs-vmm gets SIGKILL on
#          that line, and the image must hold the write (devices-durable).
#          SIGKILL proves the device wrote to the file before it completed
#          the guest's flush, not that the file reached stable storage.
#
# Images are 512 KiB, each different, and within each every 512-byte sector
# differs (pattern lines of 19 bytes), so a device that returned the wrong
# sector or read the wrong file cannot match an md5.
# hvabs.l2timeout=SECS per boot (default 300); hvabs.cases=devices,durable
# (the default) picks boots.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

tmo=$(lab_param l2timeout 300)
cases=$(lab_param cases devices,durable)
vmm=/hvabs/bin/hvabs-vmm
dir=/run/devices
sectors=1024
export HVABS_BACKEND_PATH=/hvabs/backends
if [ ! -c /dev/kvm ] || [ ! -x $vmm ]; then
	lab_result hvabs-devices FAIL "need /dev/kvm and $vmm (BINS hvabs-vmm)"
	exit 1
fi
mkdir -p $dir

# pattern SEED BYTES: the lines "hvabs SEED 0000000", ... cut to BYTES, the
# same bytes the L2 checks blk.sh and durable.sh write.
pattern() {
	awk -v s="$1" -v n="$2" 'BEGIN {
		while (len < n) { l = sprintf("hvabs %s %07d\n", s, i++); printf "%s", l; len += length(l) }
	}' | head -c "$2"
}
md5() { md5sum "$1" | cut -d' ' -f1; }

# The images: one awk pass (slow under TCG) makes the base pattern, and tr
# turns it into a different image per name, every sector still distinct.
mkbase() {
	pattern base $((sectors * 512)) >"$dir/base"
}
# mkimage NAME: $dir/NAME.img from the base.
mkimage() {
	case $1 in
	data) cp "$dir/base" "$dir/$1.img" ;;
	scratch) tr '0-9' 'a-j' <"$dir/base" >"$dir/$1.img" ;;
	ro) tr '0-9' 'A-J' <"$dir/base" >"$dir/$1.img" ;;
	*) tr '0-9' 'k-t' <"$dir/base" >"$dir/$1.img" ;;
	esac
}

# expect_write NAME SECTOR COUNT SEED: $dir/NAME.want, the image as it must
# be after the guest wrote COUNT sectors of pattern SEED at SECTOR.
expect_write() {
	cp "$dir/$1.img" "$dir/$1.want"
	pattern "$4" $(($3 * 512)) | dd of="$dir/$1.want" bs=512 seek="$2" conv=notrunc 2>/dev/null
}

# same_image NAME: $dir/NAME.img equals $dir/NAME.want; else says where not.
same_image() {
	local out byte
	if out=$(cmp "$dir/$1.want" "$dir/$1.img" 2>&1); then
		return 0
	fi
	byte=$(echo "$out" | sed -nE 's/.*(byte|char) ([0-9]+).*/\2/p')
	echo "$1.img ${out##*: }${byte:+ (sector $(((byte - 1) / 512)))}"
	return 1
}

# run_l2 NAME KILL_ON APPEND VMM_ARGS...: boots the L2 kernel and initramfs
# with hvabs-vmm, console lines to L1's console as "L2| ..." and to
# $dir/NAME.log. If KILL_ON is not empty, hvabs-vmm gets SIGKILL as soon as a
# line contains it. Sets RC (hvabs-vmm's status) and T_EXIT.
run_l2() {
	local name=$1 kill_on=$2 append=$3 t0 pid line
	shift 3
	rm -f "$dir/$name.log" "$dir/$name.fifo"
	mkfifo "$dir/$name.fifo"
	t0=$(lab_uptime)
	# busybox timeout execs the command in the process it was started as and
	# watches from a child, so $! is hvabs-vmm itself (the SIGKILL below
	# must reach the VMM, not a wrapper). --timeout ends a hung guest first.
	timeout -s KILL $((tmo + 15)) $vmm --hypervisor kvm --kernel /l2/vmlinux \
		--initrd /l2/initrd.img --cmdline "$append" --memory 256M --cpus 1 \
		--timeout "$tmo" "$@" </dev/null >"$dir/$name.fifo" 2>&1 &
	pid=$!
	KILLED=0 KILLED_COMM=
	while IFS= read -r line; do
		echo "$line" >>"$dir/$name.log"
		echo "L2| $line"
		if [ -n "$kill_on" ] && [ $KILLED = 0 ]; then
			case $line in
			*"$kill_on"*)
				KILLED_COMM=$(cat /proc/$pid/comm 2>/dev/null)
				kill -KILL $pid
				KILLED=1
				lab_log "$name: SIGKILL to $pid ($KILLED_COMM) on '$kill_on'"
				;;
			esac
		fi
	done <"$dir/$name.fifo"
	wait $pid 2>/dev/null
	RC=$?
	T_EXIT=$(lab_elapsed "$t0")
}

# check_result NAME CHECK: a result for the L2 check CHECK, which must PASS.
check_result() {
	local st
	st=$(sed -n "s/.*HVABS-CHECK $2 \([A-Z]*\).*/\1/p" "$dir/$1.log" | head -n 1)
	if [ "$st" = PASS ]; then
		lab_result "$1-check-$2" PASS "the L2 check passed"
	else
		lab_result "$1-check-$2" FAIL "the L2 check says '${st:-nothing}'; its lines:" \
			"$(grep "l2: $2: " "$dir/$1.log" | tr '\n' ' ')"
	fi
}

case_devices() {
	local n data ro detail fails bad out
	[ -f "$dir/base" ] || mkbase
	for n in data scratch ro; do
		mkimage $n
	done
	data=$(md5 $dir/data.img)
	ro=$(md5 $dir/ro.img)
	expect_write scratch 100 8 written
	cp $dir/data.img $dir/data.want
	cp $dir/ro.img $dir/ro.want
	run_l2 devices "" "console=ttyS0 panic=-1 quiet pci=noearly hvabs.expect_cpus=1 \
hvabs.expect=blk,rng hvabs.disk=hvabs-data:$sectors:read:$data \
hvabs.disk=hvabs-scratch:$sectors:write:100:8:written hvabs.disk=hvabs-ro:$sectors:ro:$ro" \
		--disk "path=$dir/data.img,serial=hvabs-data" \
		--disk "path=$dir/scratch.img,serial=hvabs-scratch" \
		--disk "path=$dir/ro.img,readonly=on,serial=hvabs-ro" --rng

	detail="vmm_rc=$RC exit=${T_EXIT}s"
	fails=$(grep -c 'HVABS-CHECK .* FAIL' "$dir/devices.log")
	if ! grep -q 'HVABS-L2-UP' "$dir/devices.log"; then
		lab_result devices-l2 FAIL "no HVABS-L2-UP from the guest; $detail"
	elif ! grep -q 'HVABS-L2-DONE' "$dir/devices.log"; then
		lab_result devices-l2 FAIL "the guest did not finish its checks; $detail"
	elif [ "$fails" != 0 ]; then
		lab_result devices-l2 FAIL "$fails L2 checks failed; $detail"
	elif [ "$RC" != 0 ] || ! grep -q 'guest stopped: power-off' "$dir/devices.log"; then
		lab_result devices-l2 FAIL "hvabs-vmm did not end with a power-off and status 0; $detail"
	else
		lab_result devices-l2 PASS "$detail"
	fi
	check_result devices blk
	check_result devices rng

	bad=""
	for n in data scratch ro; do
		out=$(same_image $n) || bad="$bad $out;"
	done
	if [ -z "$bad" ]; then
		lab_result devices-images PASS "scratch.img holds the guest's 8 sectors at 100, data.img and ro.img unchanged"
	else
		lab_result devices-images FAIL "after hvabs-vmm exited:$bad"
	fi
}

case_durable() {
	local detail out
	[ -f "$dir/base" ] || mkbase
	mkimage durable
	expect_write durable 7 9 synced
	run_l2 durable HVABS-DURABLE-SYNCED "console=ttyS0 panic=-1 quiet pci=noearly \
hvabs.expect=durable hvabs.durable=hvabs-durable:7:9:synced" \
		--disk "path=$dir/durable.img,serial=hvabs-durable"
	detail="vmm_rc=$RC exit=${T_EXIT}s"
	if [ $KILLED = 0 ]; then
		lab_result devices-durable FAIL "the guest never said HVABS-DURABLE-SYNCED; $detail"
	elif [ "$KILLED_COMM" != hvabs-vmm ]; then
		lab_result devices-durable FAIL "the SIGKILL went to '$KILLED_COMM', not hvabs-vmm; $detail"
	elif [ "$RC" != 137 ]; then
		lab_result devices-durable FAIL "hvabs-vmm was not ended by the SIGKILL (want status 137); $detail"
	elif ! out=$(same_image durable); then
		lab_result devices-durable FAIL "the synced write is not in the image after SIGKILL: $out; $detail"
	else
		lab_result devices-durable PASS "9 sectors at 7 in durable.img after SIGKILL on the sync marker; $detail"
	fi
}

for c in $(echo "$cases" | tr ',' ' '); do
	case $c in
	devices) case_devices ;;
	durable) case_durable ;;
	*) lab_result "hvabs-devices-$c" FAIL "unknown case '$c' (devices, durable)" ;;
	esac
done
