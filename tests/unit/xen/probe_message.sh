#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# hvabs-vmm --hypervisor xen on a host that cannot run it: exit status not 0,
# and exactly one line that says why, naming Xen. Two hosts without Xen:
# no /dev/xen/privcmd, and (through the backend's library seam) Xen's
# libraries missing. Usage: probe_message.sh HVABS_VMM TINY_GUEST
set -u
vmm=$1
guest=$2
fail=0

check() { # NAME EXPECTED-REGEX [ENV=VALUE...]
	name=$1
	want=$2
	shift 2
	out=$(env "$@" "$vmm" --hypervisor xen --kernel "$guest" 2>&1)
	rc=$?
	lines=$(printf '%s\n' "$out" | wc -l)
	if [ "$rc" -eq 0 ] || [ "$lines" -ne 1 ] || ! printf '%s\n' "$out" | grep -Eq "$want"; then
		echo "FAIL $name: rc=$rc, $lines line(s):"
		printf '%s\n' "$out"
		fail=1
	else
		echo "ok $name: rc=$rc: $out"
	fi
}

if [ -e /dev/xen/privcmd ]; then
	echo "this host is a Xen dom0: the no-Xen messages cannot be seen here"
	exit 77
fi
check no-privcmd '^hvabs-vmm: .*no /dev/xen/privcmd: not running as a Xen dom0$' HVABS_XEN_LIBS=
check no-libraries '^hvabs-vmm: .*Xen libraries missing: /nonexistent/libxen\.so: ' \
	HVABS_XEN_LIBS=/nonexistent/libxen.so
exit $fail
