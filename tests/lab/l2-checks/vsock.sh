#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# L2 check: virtio-vsock stream connections both ways. Runs when the command
# line has "vsock" in hvabs.expect= and says
#   hvabs.vsock=LISTEN_PORT:HOST_PORT:NONCE
# Busybox has no AF_VSOCK client, so this needs socat in the L2 image (the
# hvabs-devices scenario appends it to the initramfs).
#   host to guest: socat listens on vsock port LISTEN_PORT, then the check
#   prints "HVABS-VSOCK-READY" straight to the console; the L1 scenario
#   connects through hvabs-vmm's Unix socket ("CONNECT LISTEN_PORT") and
#   sends "HVABS-VSOCK host NONCE", which must arrive within 20 s;
#   guest to host: a connection to CID 2 (the host) port HOST_PORT carries
#   "HVABS-VSOCK guest NONCE"; the scenario's listener on <socket>_HOST_PORT
#   must have it (checked in L1).
want=0 spec=
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.expect=*)
		case ",${w#*=}," in
		*,vsock,*) want=1 ;;
		esac
		;;
	hvabs.vsock=*) spec=${w#*=} ;;
	esac
done
[ $want = 1 ] || exit 77
# shellcheck disable=SC2046 # meant to split
set -- $(echo "$spec" | tr ':' ' ')
if [ $# != 3 ]; then
	echo "vsock is expected; want hvabs.vsock=LISTEN_PORT:HOST_PORT:NONCE, have '$spec'"
	exit 1
fi
lport=$1 hport=$2 nonce=$3
if ! command -v socat >/dev/null; then
	echo "no socat in this image: busybox cannot open AF_VSOCK sockets"
	exit 1
fi
i=0
while [ $i -lt 50 ] && [ ! -c /dev/vsock ]; do
	sleep 0.1
	i=$((i + 1))
done
vdev=""
for d in /sys/bus/virtio/drivers/vmw_vsock_virtio_transport/virtio*; do
	[ -e "$d" ] && vdev=${d##*/}
done
echo "/dev/vsock $([ -c /dev/vsock ] && echo is there || echo is missing); the virtio transport drives '$vdev'"
[ -n "$vdev" ] || exit 1

# socat -d -d says "listening on" once it listens; the host must not
# connect before that (hybrid vsock refuses and closes).
timeout 20 socat -d -d -u "VSOCK-LISTEN:$lport" CREATE:/run/vsock.in 2>/run/vsock.log &
listener=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'listening on' /run/vsock.log 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
echo "HVABS-VSOCK-READY" >/dev/console

fail=0
if echo "HVABS-VSOCK guest $nonce" | timeout 10 socat -u - "VSOCK-CONNECT:2:$hport" 2>/run/vsock.err; then
	echo "guest to host: sent 'HVABS-VSOCK guest $nonce' to 2:$hport"
else
	echo "guest to host: connect to 2:$hport failed: $(cat /run/vsock.err)"
	fail=1
fi
wait $listener
got=$(cat /run/vsock.in 2>/dev/null)
echo "host to guest: received '$got' on port $lport"
[ -n "$got" ] || grep -E ' [EW] ' /run/vsock.log
[ "$got" = "HVABS-VSOCK host $nonce" ] || fail=1
exit $fail
