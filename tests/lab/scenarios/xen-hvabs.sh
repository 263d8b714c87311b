#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: xen
#
# hvabs serving guests under real Xen 4.17 (dom0 of the lab), with the tiny
# test guest in /payload/tiny.elf and hvabs-vmm in /hvabs/bin:
#
#  xen-direct  hvabs creates an HVM domain itself, boots the tiny guest at its
#              PVH entry and serves its I/O; the guest's "irq" mode takes a
#              UART interrupt that hvabs raises through set_isa_irq_level and
#              Xen's I/O APIC delivers. Passes on "uart irq ok" and power-off.
#  xen-attach  `xl create -p` makes a paused PVH domain of the tiny guest;
#              hvabs-vmm --xen-domid attaches as its device model, unpauses it
#              and the guest's console comes out of hvabs' 8250.
#
# Each result carries the wall time it took. hvabs.xen_tests=direct+attach
# picks which run (default both; lab.sh --param allows no commas). Every step has a time limit, so a hang fails.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

GUEST=/payload/tiny.elf
tests=$(lab_param xen_tests direct+attach | tr '+' ',')

# Shows a log on the console, each line prefixed, so lab.sh's log keeps it.
show() { # PREFIX FILE
	sed "s/^/$1: /" "$2" 2>/dev/null | tail -n 60
}

no_domains_left() {
	[ "$(xl list 2>/dev/null | awk 'NR > 1 && $1 != "Domain-0"' | wc -l)" -eq 0 ]
}

run_direct() {
	local t0 rc out=/tmp/direct.out why=""
	t0=$(lab_uptime)
	# The guest's console on stdout, hvabs-vmm's own messages on stderr.
	timeout -s KILL 240 hvabs-vmm --hypervisor xen --kernel "$GUEST" --cmdline irq \
		--memory 32M --timeout 180 </dev/null >"$out" 2>/tmp/direct.err
	rc=$?
	show direct "$out"
	show direct-vmm /tmp/direct.err
	grep -q 'HVABS-TINY: hello from long mode' "$out" || why="$why no hello;"
	grep -q 'HVABS-TINY: uart irq ok' "$out" || why="$why no uart irq;"
	grep -q 'HVABS-TINY: poweroff' "$out" || why="$why no poweroff;"
	[ "$rc" = 0 ] || why="$why hvabs-vmm rc=$rc;"
	no_domains_left || why="$why a domain was left behind;"
	if [ -z "$why" ]; then
		lab_result xen-direct PASS "HVM domain made by hvabs, UART irq via Xen's IOAPIC, power-off in $(lab_elapsed "$t0")s"
	else
		xl list
		lab_result xen-direct FAIL "${why% ;} ($(lab_elapsed "$t0")s)"
	fi
}

run_attach() {
	local t0 rc out=/tmp/attach.out why="" domid cfg=/tmp/tiny-attach.cfg
	t0=$(lab_uptime)
	cat >"$cfg" <<EOF
name = "tiny-attach"
type = "pvh"
kernel = "$GUEST"
cmdline = "attach"
memory = 32
vcpus = 1
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
EOF
	if ! timeout -s KILL 120 xl create -p "$cfg" >/tmp/xl-create.out 2>&1; then
		show xl /tmp/xl-create.out
		lab_result xen-attach FAIL "xl create -p failed ($(lab_elapsed "$t0")s)"
		return
	fi
	domid=$(xl domid tiny-attach 2>/dev/null)
	lab_log "xl create -p: domain $domid after $(lab_elapsed "$t0")s"
	timeout -s KILL 240 hvabs-vmm --hypervisor xen --xen-domid "$domid" --memory 16M \
		--timeout 180 </dev/null >"$out" 2>/tmp/attach.err
	rc=$?
	show attach "$out"
	show attach-vmm /tmp/attach.err
	grep -q 'HVABS-TINY: hello from long mode' "$out" || why="$why no hello;"
	grep -q 'HVABS-TINY: start_info ok, cmdline "attach"' "$out" || why="$why no start_info line;"
	grep -q 'HVABS-TINY: poweroff' "$out" || why="$why no poweroff;"
	[ "$rc" = 0 ] || why="$why hvabs-vmm rc=$rc;"
	# The guest halts for good after its power-off write; Xen then powers
	# the domain off and xl destroys it (on_poweroff = "destroy").
	i=0
	while [ $i -lt 30 ] && ! no_domains_left; do
		sleep 1
		i=$((i + 1))
	done
	if ! no_domains_left; then
		why="$why domain still there 30s after hvabs left;"
		xl list
		xl destroy tiny-attach 2>/dev/null
	fi
	if [ -z "$why" ]; then
		lab_result xen-attach PASS "xl create -p PVH domain $domid served by hvabs-vmm --xen-domid in $(lab_elapsed "$t0")s"
	else
		lab_result xen-attach FAIL "${why% ;} ($(lab_elapsed "$t0")s)"
	fi
}

if [ ! -f "$GUEST" ] || ! command -v hvabs-vmm >/dev/null; then
	lab_result xen-hvabs FAIL "needs /payload/tiny.elf and hvabs-vmm (lab.sh --payload, --bin)"
	exit 1
fi
case ",$tests," in *,direct,*) run_direct ;; esac
case ",$tests," in *,attach,*) run_attach ;; esac
xl dmesg 2>/dev/null | grep -iE 'd[1-9][0-9]*v|ioreq|emulat|crash' | tail -n 20 | sed 's/^/xen: /'
exit 0
