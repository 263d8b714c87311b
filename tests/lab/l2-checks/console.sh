#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# L2 check: virtio-console (hvc0), both ways. Runs when the command line has
# "console" in hvabs.expect= and says hvabs.vcon=NONCE:
#   guest to host: the line "HVABS-VCON guest NONCE" written to /dev/hvc0;
#   host to guest: with a reader on /dev/hvc0 started, the check prints
#   "HVABS-VCON-READY" straight to the console (ttyS0); the L1 scenario then
#   writes "HVABS-VCON host NONCE" into hvabs-vmm's pty, and that line must
#   arrive on /dev/hvc0 within 20 s.
# The scenario checks that the guest's line came out of the pty.
want=0 nonce=
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.expect=*)
		case ",${w#*=}," in
		*,console,*) want=1 ;;
		esac
		;;
	hvabs.vcon=*) nonce=${w#*=} ;;
	esac
done
[ $want = 1 ] || exit 77
if [ -z "$nonce" ]; then
	echo "console is expected but there is no hvabs.vcon=NONCE"
	exit 1
fi

i=0
while [ $i -lt 50 ] && [ ! -c /dev/hvc0 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -c /dev/hvc0 ]; then
	echo "no /dev/hvc0 (hvc ttys: $(echo /sys/class/tty/hvc*))"
	exit 1
fi
vdev=""
for d in /sys/bus/virtio/drivers/virtio_console/virtio*; do
	[ -e "$d" ] && vdev=${d##*/}
done
echo "/dev/hvc0 is there; virtio_console drives '$vdev'"
if [ -z "$vdev" ]; then
	echo "hvc0 does not come from virtio_console"
	exit 1
fi
# Raw and without echo, so the host's line is not sent back to it.
stty -F /dev/hvc0 raw -echo || exit 1

timeout 20 head -n 1 /dev/hvc0 >/run/vcon.in &
reader=$!
echo "HVABS-VCON guest $nonce" >/dev/hvc0
echo "HVABS-VCON-READY" >/dev/console
wait $reader
got=$(tr -d '\r' </run/vcon.in)
echo "read from hvc0: '$got'"
[ "$got" = "HVABS-VCON host $nonce" ]
