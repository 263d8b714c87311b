#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# L2 check: the guest sees the vCPUs the VMM was asked for (hvabs.expect_cpus=N
# on the L2 command line); skipped when the command line does not say.
want=""
for w in $HVABS_CMDLINE; do
	case $w in
	hvabs.expect_cpus=*) want=${w#*=} ;;
	esac
done
[ -n "$want" ] || exit 77
got=$(grep -c '^processor' /proc/cpuinfo)
online=$(cat /sys/devices/system/cpu/online)
echo "want $want, /proc/cpuinfo has $got, online $online"
[ "$got" = "$want" ]
