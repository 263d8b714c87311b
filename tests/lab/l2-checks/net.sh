#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# L2 check: virtio-net. Runs when the command line has "net" in
# hvabs.expect=; each interface is one word
#   hvabs.net=MAC:GUEST_IP/PREFIX:PEER_IP
# The interface whose address is MAC must be bound to virtio_net. It is
# brought up with GUEST_IP, then
#   guest to host: "ping -c 3 PEER_IP" gets its 3 replies;
#   host to guest: the check prints "HVABS-NET-READY GUEST_IP" straight to
#   the console and waits up to 20 s until the kernel has answered 3 more
#   echo requests (Icmp OutEchoReps in /proc/net/snmp): the L1 scenario
#   pings the guest when it sees that line.
want=0 nets=""
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.expect=*)
		case ",${w#*=}," in
		*,net,*) want=1 ;;
		esac
		;;
	hvabs.net=*) nets="$nets ${w#*=}" ;;
	esac
done
[ $want = 1 ] || exit 77
if [ -z "$nets" ]; then
	echo "net is expected but no hvabs.net= word says what to check"
	exit 1
fi

# by_mac MAC: the interface with that address.
by_mac() {
	local d
	for d in /sys/class/net/*; do
		if [ "$(cat "$d/address")" = "$1" ]; then
			echo "${d##*/}"
			return 0
		fi
	done
	return 1
}

# icmp FIELD: a counter of the Icmp lines of /proc/net/snmp.
icmp() {
	awk -v f="$1" '$1 == "Icmp:" {
		if (!c) { for (i = 2; i <= NF; i++) if ($i == f) c = i }
		else { print $c; exit }
	}' /proc/net/snmp
}

check_one() { # MAC GUEST_IP/PREFIX PEER_IP
	local mac=$1 addr=$2 peer=$3 dev i drv got before after
	dev=""
	i=0
	while [ $i -lt 50 ]; do
		dev=$(by_mac "$mac") && break
		sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$dev" ]; then
		echo "no interface has address $mac; have: $(cat /sys/class/net/*/address | tr '\n' ' ')"
		return 1
	fi
	drv=$(readlink -f "/sys/class/net/$dev/device/driver")
	echo "$dev: $mac, driver ${drv##*/}, mtu $(cat "/sys/class/net/$dev/mtu")"
	if [ "${drv##*/}" != virtio_net ]; then
		echo "$dev is not a virtio_net interface"
		return 1
	fi
	ip link set "$dev" up && ip addr add "$addr" dev "$dev" || return 1
	i=0
	while [ $i -lt 50 ] && [ "$(cat "/sys/class/net/$dev/carrier" 2>/dev/null)" != 1 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "$dev: carrier $(cat "/sys/class/net/$dev/carrier" 2>/dev/null)"

	ping -c 3 -w 15 "$peer" >/run/net.ping 2>&1
	got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /run/net.ping)
	echo "$dev: ping $peer: $(grep 'packets' /run/net.ping)"
	if [ "$got" != 3 ]; then
		tail -n 5 /run/net.ping
		return 1
	fi

	before=$(icmp OutEchoReps)
	echo "HVABS-NET-READY ${addr%/*}" >/dev/console
	i=0
	after=$before
	while [ $i -lt 200 ] && [ "$after" -lt $((before + 3)) ]; do
		sleep 0.1
		i=$((i + 1))
		after=$(icmp OutEchoReps)
	done
	echo "$dev: answered $((after - before)) echo requests from the host"
	[ "$after" -ge $((before + 3)) ]
}

fail=0
for n in $nets; do
	# shellcheck disable=SC2046 # MAC:ADDR:PEER into words; a MAC has ':' too
	set -- $(echo "$n" | sed 's/^\(..:..:..:..:..:..\):\([^:]*\):\(.*\)$/\1 \2 \3/')
	if [ $# != 3 ]; then
		echo "hvabs.net=$n: want MAC:GUEST_IP/PREFIX:PEER_IP"
		fail=1
		continue
	fi
	check_one "$1" "$2" "$3" || fail=1
done
exit $fail
