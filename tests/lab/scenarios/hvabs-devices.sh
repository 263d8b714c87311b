#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm
# lab-needs: l2
#
# hvabs-vmm's virtio devices under the stock Debian kernel, on the nested
# kvm_amd. One L1 boot, three L2 boots (vmlinux through PVH, 1 vCPU):
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
# io       virtio-net, virtio-console and virtio-vsock in one boot
#          (hvabs.io=net,console,vsock, the default, picks them), each
#          checked both ways by an L2 check and its host half here:
#          net: a tap (tunctl) in a network namespace (unshare -n) that
#          hvabs-vmm runs in; the guest pings the host, then the host pings
#          the guest (io-net). console: --console pty; a line each way
#          between the pty and /dev/hvc0 (io-console). vsock: hybrid vsock
#          on $dir/v.sock; the guest connects to the host's port 1024 and the
#          host to the guest's port 5000 (io-vsock). busybox has no vsock
#          client, so socat (BINS /usr/bin/socat; L1 needs the tun module,
#          lab.sh --module tun) is appended to the L2 initramfs here.
#
# Images are 512 KiB, each different, and within each every 512-byte sector
# differs (pattern lines of 19 bytes), so a device that returned the wrong
# sector or read the wrong file cannot match an md5.
# hvabs.l2timeout=SECS per boot (default 300); hvabs.cases=devices,durable,io
# (the default) picks boots.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

tmo=$(lab_param l2timeout 300)
cases=$(lab_param cases devices,durable,io)
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

# run_l2 NAME HOOK APPEND VMM_ARGS...: boots the L2 kernel and initramfs
# ($L2_INITRD, default /l2/initrd.img) with hvabs-vmm, console lines (CR
# removed) to L1's console as "L2| ..." and to $dir/NAME.log. HOOK, if not
# empty, is a function called with each line while the guest runs; L2_PID
# is hvabs-vmm's process. With $L2_NETNS set, hvabs-vmm runs in a new network
# namespace after that shell command set it up. Sets RC (hvabs-vmm's status)
# and T_EXIT.
run_l2() {
	local name=$1 hook=$2 append=$3 t0 line cr
	shift 3
	cr=$(printf '\r')
	rm -f "$dir/$name.log" "$dir/$name.fifo"
	mkfifo "$dir/$name.fifo"
	t0=$(lab_uptime)
	# busybox timeout execs the command in the process it was started as and
	# watches from a child, and busybox unshare -n execs without forking, so
	# $! is hvabs-vmm itself (a SIGKILL must reach the VMM, not a wrapper).
	# --timeout ends a hung guest first.
	set -- timeout -s KILL $((tmo + 15)) $vmm --hypervisor kvm --kernel /l2/vmlinux \
		--initrd "${L2_INITRD:-/l2/initrd.img}" --cmdline "$append" --memory 256M --cpus 1 \
		--timeout "$tmo" "$@"
	if [ -n "${L2_NETNS:-}" ]; then
		set -- unshare -n sh -c "$L2_NETNS && exec \"\$@\"" netns "$@"
	fi
	"$@" </dev/null >"$dir/$name.fifo" 2>&1 &
	L2_PID=$!
	while IFS= read -r line; do
		line=${line%"$cr"}
		echo "$line" >>"$dir/$name.log"
		echo "L2| $line"
		[ -n "$hook" ] && $hook "$line"
	done <"$dir/$name.fifo"
	wait $L2_PID 2>/dev/null
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
	local n data ro detail l2v bad out
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
	if ! grep -q 'HVABS-L2-UP' "$dir/devices.log"; then
		lab_result devices-l2 FAIL "no HVABS-L2-UP from the guest; $detail"
	elif ! l2v=$(lab_l2_verdict "$dir/devices.log"); then
		lab_result devices-l2 FAIL "$l2v; $detail"
	elif [ "$RC" != 0 ] || ! grep -q 'guest stopped: power-off' "$dir/devices.log"; then
		lab_result devices-l2 FAIL "hvabs-vmm did not end with a power-off and status 0; $detail"
	else
		lab_result devices-l2 PASS "$l2v; $detail"
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

# The durable case's hook: SIGKILL to hvabs-vmm on the guest's sync marker.
durable_hook() {
	[ "$KILLED" = 0 ] || return 0
	case $1 in
	*HVABS-DURABLE-SYNCED*)
		KILLED_COMM=$(cat "/proc/$L2_PID/comm" 2>/dev/null)
		kill -KILL "$L2_PID"
		KILLED=1
		lab_log "durable: SIGKILL to $L2_PID ($KILLED_COMM) on HVABS-DURABLE-SYNCED"
		;;
	esac
}

case_durable() {
	local detail out
	[ -f "$dir/base" ] || mkbase
	mkimage durable
	expect_write durable 7 9 synced
	KILLED=0 KILLED_COMM=
	run_l2 durable durable_hook "console=ttyS0 panic=-1 quiet pci=noearly \
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

# ---- io: virtio-net, virtio-console, virtio-vsock

IO_MAC=52:54:00:12:34:56
IO_GUEST=10.0.2.15
IO_HOST=10.0.2.1
IO_LPORT=5000 # the guest listens here
IO_HPORT=1024 # the host listens here (<socket>_1024)

# mk_socat_initrd: $dir/l2-socat.img, the L2 initramfs with socat and its
# libraries appended (busybox cannot open AF_VSOCK sockets). The kernel
# unpacks concatenated archives; an uncompressed one must start 4-aligned
# after the compressed one, hence the zero padding, which it skips.
mk_socat_initrd() {
	local st=$dir/l2extra size
	rm -rf "$st"
	mkdir -p "$st/usr/bin" "$st/lib/x86_64-linux-gnu" "$st/lib64"
	cp /hvabs/bin/socat "$st/usr/bin/socat" || return 1
	cp /lib64/ld-linux-x86-64.so.2 "$st/lib64/" || return 1
	# ld.so --list is ldd.
	for lib in $(/lib64/ld-linux-x86-64.so.2 --list /hvabs/bin/socat |
		sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p'); do
		cp "$lib" "$st/lib/x86_64-linux-gnu/" || return 1
	done
	(cd "$st" && find . -mindepth 1 | cpio -o -H newc 2>/dev/null) >"$dir/l2extra.cpio" || return 1
	size=$(stat -c %s /l2/initrd.img)
	{
		cat /l2/initrd.img
		head -c $(((4 - size % 4) % 4)) /dev/zero
		cat "$dir/l2extra.cpio"
	} >"$dir/l2-socat.img"
}

# The io case's hook: the host halves of the net, console and vsock checks,
# started by the guest's markers.
io_hook() {
	case $1 in
	*"virtio-console (hvc0) on "*)
		IO_PTY=${1##* on }
		cat "$IO_PTY" >"$dir/vcon.out" 2>/dev/null &
		IO_CAT=$!
		;;
	*HVABS-NET-READY*)
		nsenter -t "$L2_PID" -n ping -c 3 -w 15 "${1##* }" >"$dir/ping.out" 2>&1 &
		IO_PING=$!
		;;
	*HVABS-VCON-READY*)
		echo "HVABS-VCON host $IO_NONCE" >"$IO_PTY"
		;;
	*HVABS-VSOCK-READY*)
		printf 'CONNECT %s\nHVABS-VSOCK host %s\n' $IO_LPORT "$IO_NONCE" |
			timeout 15 socat -t 5 - "UNIX-CONNECT:$dir/v.sock" >"$dir/vsock-h2g.out" 2>&1 &
		IO_VS=$!
		;;
	esac
}

# io_result NAME CHECK HOST_OK HOST_DETAIL: PASS when the L2 check CHECK
# passed and the host half (HOST_OK = 1) did too.
io_result() {
	local st
	st=$(sed -n "s/.*HVABS-CHECK $2 \([A-Z]*\).*/\1/p" "$dir/io.log" | head -n 1)
	if [ "$st" = PASS ] && [ "$3" = 1 ]; then
		lab_result "$1" PASS "guest: check $2 passed; host: $4"
	else
		lab_result "$1" FAIL "guest: check $2 says '${st:-nothing}'; host: $4; guest lines:" \
			"$(grep "l2: $2: " "$dir/io.log" | tr '\n' ' ')"
	fi
}

case_io() {
	local want append ok detail l2v g2h h2g i p
	want=$(lab_param io net,console,vsock)
	IO_NONCE=n$(lab_uptime | tr -d .)
	IO_PTY=/dev/null IO_CAT="" IO_PING="" IO_VS="" IO_LISTEN=""
	rm -f "$dir"/v.sock* "$dir"/vcon.out "$dir"/ping.out "$dir"/vsock-*.out
	set --
	append="console=ttyS0 panic=-1 quiet pci=noearly hvabs.expect=$want"
	L2_NETNS=""
	case ,$want, in
	*,net,*)
		if [ ! -c /dev/net/tun ]; then
			lab_result io-net FAIL "no /dev/net/tun in L1 (lab.sh --module tun)"
			return
		fi
		L2_NETNS="ip link set lo up && tunctl -t hvtap0 >/dev/null && ip link set hvtap0 up \
&& ip addr add $IO_HOST/24 dev hvtap0"
		append="$append hvabs.net=$IO_MAC:$IO_GUEST/24:$IO_HOST"
		set -- "$@" --net "tap=hvtap0,mac=$IO_MAC"
		;;
	esac
	case ,$want, in
	*,console,*)
		append="$append hvabs.vcon=$IO_NONCE"
		set -- "$@" --console pty
		;;
	esac
	L2_INITRD=""
	case ,$want, in
	*,vsock,*)
		if ! command -v socat >/dev/null || ! mk_socat_initrd; then
			lab_result io-vsock FAIL "cannot build the L2 initramfs with socat (BINS /usr/bin/socat)"
			return
		fi
		L2_INITRD=$dir/l2-socat.img
		append="$append hvabs.vsock=$IO_LPORT:$IO_HPORT:$IO_NONCE"
		set -- "$@" --vsock "cid=3,socket=$dir/v.sock"
		# The guest's connection to the host's port lands here.
		timeout $((tmo + 15)) socat -u "UNIX-LISTEN:$dir/v.sock_$IO_HPORT" \
			"CREATE:$dir/vsock-g2h.out" 2>"$dir/vsock-listen.err" &
		IO_LISTEN=$!
		;;
	esac
	run_l2 io io_hook "$append" "$@"
	L2_NETNS="" L2_INITRD=""
	# The host halves end by themselves once the VMM is gone (ping and the
	# CONNECT client are time-limited); the listener and the pty reader may
	# need a push.
	[ -n "$IO_PING" ] && wait "$IO_PING"
	[ -n "$IO_VS" ] && wait "$IO_VS"
	i=0
	while [ -n "$IO_LISTEN" ] && [ $i -lt 20 ] && kill -0 "$IO_LISTEN" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	for p in $IO_LISTEN $IO_CAT; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done

	detail="vmm_rc=$RC exit=${T_EXIT}s"
	if ! l2v=$(lab_l2_verdict "$dir/io.log"); then
		lab_result io-l2 FAIL "$l2v; $detail"
	elif [ "$RC" != 0 ] || ! grep -q 'guest stopped: power-off' "$dir/io.log"; then
		lab_result io-l2 FAIL "hvabs-vmm did not end with a power-off and status 0; $detail"
	else
		lab_result io-l2 PASS "$l2v; $detail"
	fi
	case ,$want, in
	*,net,*)
		ok=0
		grep -q ' 3 packets received' "$dir/ping.out" 2>/dev/null && ok=1
		io_result io-net net $ok "ping from the namespace: $(grep packets "$dir/ping.out" 2>/dev/null)"
		;;
	esac
	case ,$want, in
	*,console,*)
		ok=0
		grep -q "HVABS-VCON guest $IO_NONCE" "$dir/vcon.out" 2>/dev/null && ok=1
		io_result io-console console $ok "pty $IO_PTY gave '$(tr -d '\r' <"$dir/vcon.out" 2>/dev/null | head -n 1)'"
		;;
	esac
	case ,$want, in
	*,vsock,*)
		g2h=$(cat "$dir/vsock-g2h.out" 2>/dev/null)
		h2g=$(head -n 1 "$dir/vsock-h2g.out" 2>/dev/null)
		ok=0
		[ "$g2h" = "HVABS-VSOCK guest $IO_NONCE" ] && [ "${h2g%% *}" = OK ] && ok=1
		io_result io-vsock vsock $ok "_$IO_HPORT got '$g2h', CONNECT $IO_LPORT answered '$h2g'"
		;;
	esac
}

for c in $(echo "$cases" | tr ',' ' '); do
	case $c in
	devices) case_devices ;;
	durable) case_durable ;;
	io) case_io ;;
	*) lab_result "hvabs-devices-$c" FAIL "unknown case '$c' (devices, durable, io)" ;;
	esac
done
