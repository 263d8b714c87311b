#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: xen
#
# hvabs serving guests under real Xen 4.17 (dom0 of the lab), with the tiny
# test guest in /payload/tiny.elf and hvabs-vmm in /hvabs/bin:
#
#  xen-direct        hvabs creates an HVM domain itself, boots the tiny guest
#                    at its PVH entry and serves its I/O; the guest's "irq" mode
#                    takes a UART interrupt that hvabs raises through
#                    set_isa_irq_level and Xen's I/O APIC delivers. Passes on
#                    "uart irq ok" and power-off.
#  xen-direct-2cpu   the same with --cpus 2: the guest finds both CPUs in the
#                    MADT (APIC IDs 0 and 2, Xen's numbering) and wakes the
#                    second with INIT/SIPI through Xen's local APIC: "cpus 2 up 2".
#  xen-attach        `xl create -p` makes a paused PVH domain of the tiny guest;
#                    hvabs-vmm --xen-domid attaches as its device model,
#                    unpauses it, the guest's console comes out of hvabs' 8250,
#                    and its power-off is passed to Xen: xl destroys the domain
#                    (on_poweroff = "destroy").
#  xen-attach-reset  the same guest resetting through hvabs' i8042: hvabs-vmm
#                    ends with "reboot" and Xen must see SHUTDOWN_reboot, which
#                    xl shows by keeping the shut-down domain (on_reboot =
#                    "preserve"). Had hvabs not told Xen, the guest's final
#                    `cli; hlt` would power it off and xl would destroy it.
#
# Each result carries the wall time it took. hvabs.xen_tests=direct+attach
# picks which run, from direct, direct-2cpu, attach and attach-reset (default
# all; lab.sh --param allows no commas). Every step has a time limit, so a
# hang fails.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

GUEST=/payload/tiny.elf
tests=$(lab_param xen_tests direct+direct-2cpu+attach+attach-reset | tr '+' ',')

# Shows a log on the console, each line prefixed, so lab.sh's log keeps it.
show() { # PREFIX FILE
	sed "s/^/$1: /" "$2" 2>/dev/null | tail -n 60
}

no_domains_left() {
	[ "$(xl list 2>/dev/null | awk 'NR > 1 && $1 != "Domain-0"' | wc -l)" -eq 0 ]
}

run_direct() { # NAME CPUS
	local name=$1 cpus=$2 t0 rc out=/tmp/$1.out why="" args="--cmdline irq"
	t0=$(lab_uptime)
	[ "$cpus" = 1 ] || args=""
	# The guest's console on stdout, hvabs-vmm's own messages on stderr.
	# shellcheck disable=SC2086 # args are words
	timeout -s KILL 240 hvabs-vmm --hypervisor xen --kernel "$GUEST" $args --cpus "$cpus" \
		--memory 32M --timeout 180 </dev/null >"$out" 2>"/tmp/$name.err"
	rc=$?
	show "$name" "$out"
	show "$name-vmm" "/tmp/$name.err"
	grep -q 'HVABS-TINY: hello from long mode' "$out" || why="$why no hello;"
	grep -q "HVABS-TINY: cpus $cpus up $cpus" "$out" || why="$why not 'cpus $cpus up $cpus';"
	if [ "$cpus" = 1 ]; then
		grep -q 'HVABS-TINY: uart irq ok' "$out" || why="$why no uart irq;"
	fi
	grep -q 'HVABS-TINY: poweroff' "$out" || why="$why no poweroff;"
	[ "$rc" = 0 ] || why="$why hvabs-vmm rc=$rc;"
	no_domains_left || why="$why a domain was left behind;"
	if [ -n "$why" ]; then
		xl list
		lab_result "xen-$name" FAIL "${why% ;} ($(lab_elapsed "$t0")s)"
	elif [ "$cpus" = 1 ]; then
		lab_result "xen-$name" PASS "HVM domain made by hvabs, UART irq via Xen's IOAPIC, power-off in $(lab_elapsed "$t0")s"
	else
		lab_result "xen-$name" PASS "HVM domain made by hvabs with $cpus vCPUs, all up, power-off in $(lab_elapsed "$t0")s"
	fi
}

# Waits up to 30 s for xl to remove every guest domain; fails if one is left.
wait_no_domains() {
	local i=0
	while [ $i -lt 30 ] && ! no_domains_left; do
		sleep 1
		i=$((i + 1))
	done
	no_domains_left
}

# The state column of domain NAME in `xl list`: flags r b p s, the shutdown
# reason (- poweroff, r reboot, s suspend, c crash, w watchdog), d.
xl_state() {
	xl list 2>/dev/null | awk -v n="$1" '$1 == n { print $5 }'
}

run_attach() { # NAME GUEST-CMDLINE
	local name=$1 mode=$2 t0 rc out=/tmp/$1.out why="" domid cfg=/tmp/$1.cfg dom=tiny-$1 st
	t0=$(lab_uptime)
	cat >"$cfg" <<CFG
name = "$dom"
type = "pvh"
kernel = "$GUEST"
cmdline = "$mode"
memory = 32
vcpus = 1
on_poweroff = "destroy"
on_reboot = "preserve"
on_crash = "destroy"
CFG
	if ! timeout -s KILL 120 xl create -p "$cfg" >/tmp/xl-create.out 2>&1; then
		show xl /tmp/xl-create.out
		lab_result "xen-$name" FAIL "xl create -p failed ($(lab_elapsed "$t0")s)"
		return
	fi
	domid=$(xl domid "$dom" 2>/dev/null)
	lab_log "xl create -p: domain $domid after $(lab_elapsed "$t0")s"
	HVABS_LOG=info timeout -s KILL 240 hvabs-vmm --hypervisor xen --xen-domid "$domid" \
		--memory 16M --timeout 180 </dev/null >"$out" 2>"/tmp/$name.err"
	rc=$?
	show "$name" "$out"
	show "$name-vmm" "/tmp/$name.err"
	grep -q 'HVABS-TINY: hello from long mode' "$out" || why="$why no hello;"
	grep -q "HVABS-TINY: start_info ok, cmdline \"$mode\"" "$out" || why="$why no start_info line;"
	grep -q "attached to domain $domid" "/tmp/$name.err" || why="$why hvabs did not attach to $domid;"
	[ "$rc" = 0 ] || why="$why hvabs-vmm rc=$rc;"
	case $mode in
	*reset*)
		grep -q 'HVABS-TINY: reset' "$out" || why="$why no reset;"
		grep -q 'guest stopped: reboot' "/tmp/$name.err" || why="$why hvabs-vmm saw no reboot;"
		# on_reboot = "preserve": xl keeps the domain, shut down, and shows
		# the reason after the "s": "---sr-" is SHUTDOWN_reboot. Give xl the
		# time a power-off would take to destroy it, then look.
		sleep 5
		st=$(xl_state "$dom")
		case $st in
		???sr?) ;;
		*) why="$why domain not kept as rebooted (state '$st', want '---sr-');" ;;
		esac
		xl list
		;;
	*)
		grep -q 'HVABS-TINY: poweroff' "$out" || why="$why no poweroff;"
		grep -q 'guest stopped: power-off' "/tmp/$name.err" || why="$why hvabs-vmm saw no power-off;"
		# on_poweroff = "destroy": xl removes it.
		if ! wait_no_domains; then
			why="$why domain still there 30s after hvabs left;"
			xl list
		fi
		;;
	esac
	xl destroy "$dom" 2>/dev/null
	wait_no_domains || why="$why domain left behind;"
	if [ -z "$why" ]; then
		lab_result "xen-$name" PASS "xl create -p PVH domain $domid served by hvabs-vmm --xen-domid, its shutdown seen by xl, in $(lab_elapsed "$t0")s"
	else
		lab_result "xen-$name" FAIL "${why% ;} ($(lab_elapsed "$t0")s)"
	fi
}

if [ ! -f "$GUEST" ] || ! command -v hvabs-vmm >/dev/null; then
	lab_result xen-hvabs FAIL "needs /payload/tiny.elf and hvabs-vmm (lab.sh --payload, --bin)"
	exit 1
fi
case ",$tests," in *,direct,*) run_direct direct 1 ;; esac
case ",$tests," in *,direct-2cpu,*) run_direct direct-2cpu 2 ;; esac
case ",$tests," in *,attach,*) run_attach attach attach ;; esac
case ",$tests," in *,attach-reset,*) run_attach attach-reset "attach reset" ;; esac
xl dmesg 2>/dev/null | grep -iE 'd[1-9][0-9]*v|ioreq|emulat|crash' | tail -n 20 | sed 's/^/xen: /'
exit 0
