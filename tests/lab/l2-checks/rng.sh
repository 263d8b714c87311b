#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# L2 check: virtio-rng. Runs when the command line has "rng" in hvabs.expect=:
# the hw_random core must have picked the virtio device
# (/sys/class/misc/hw_random/rng_current names virtio), and /dev/hwrng must
# give 16 bytes that are not all zero (a device that completes requests
# without writing the buffer gives zeroes; a real one does so 1 time in 2^128).
want=0
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.expect=*)
		case ",${w#*=}," in
		*,rng,*) want=1 ;;
		esac
		;;
	esac
done
[ $want = 1 ] || exit 77

sys=/sys/class/misc/hw_random
# virtio_rng registers with the hw_random core as it probes; allow a moment.
i=0
while [ $i -lt 50 ] && ! grep -q virtio "$sys/rng_current" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
cur=$(cat "$sys/rng_current" 2>/dev/null)
echo "rng_current '$cur', rng_available '$(cat "$sys/rng_available" 2>/dev/null)'"
case $cur in
*virtio*) ;;
*)
	echo "the hw_random core does not use a virtio device"
	exit 1
	;;
esac
if [ ! -c /dev/hwrng ]; then
	echo "/dev/hwrng is missing"
	exit 1
fi
bytes=$(dd if=/dev/hwrng bs=16 count=1 iflag=fullblock 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
echo "/dev/hwrng gave '$bytes'"
case $bytes in
????????????????????????????????) ;;
*)
	echo "want 16 bytes, got $((${#bytes} / 2))"
	exit 1
	;;
esac
if [ "$bytes" = 00000000000000000000000000000000 ]; then
	echo "all 16 bytes are zero"
	exit 1
fi
