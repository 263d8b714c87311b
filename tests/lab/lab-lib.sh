# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
#
# Helpers for the lab's first-level VM, sourced by /init and by every scenario
# (busybox ash). A scenario reports with lab_result; /init counts the results and
# prints the final HVABS-LAB-DONE line that lab.sh checks against what it saw.

LAB_RESULTS=/run/lab-results

# lab_param NAME [DEFAULT]: the value of hvabs.NAME= on the kernel command line.
lab_param() {
	local w c
	read -r c </proc/cmdline
	for w in $c; do
		case $w in
		"hvabs.$1="*)
			echo "${w#*=}"
			return 0
			;;
		esac
	done
	echo "${2-}"
}

# lab_result NAME PASS|FAIL [DETAIL...]: one result marker on the console.
lab_result() {
	local name=$1 st=$2
	shift 2
	case $st in
	PASS | FAIL) ;;
	*)
		set -- "(lab_result was given status '$st')" "$@"
		st=FAIL
		;;
	esac
	echo "HVABS-RESULT $name $st $*"
	echo "$st $name" >>"$LAB_RESULTS"
}

# lab_check NAME DETAIL COMMAND...: PASS if COMMAND succeeds.
lab_check() {
	local name=$1 detail=$2
	shift 2
	if "$@"; then
		lab_result "$name" PASS "$detail"
	else
		lab_result "$name" FAIL "$detail (failed: $*)"
	fi
}

lab_log() {
	echo "lab-l1: $*"
}

# Seconds since boot, from /proc/uptime (10 ms resolution, no fork).
lab_uptime() {
	local up rest
	read -r up rest </proc/uptime
	echo "$up"
}

# lab_elapsed T0 [T1]: T1 (default now) minus T0, two decimals.
lab_elapsed() {
	awk -v a="$1" -v b="${2:-$(lab_uptime)}" 'BEGIN { printf "%.2f", b - a }'
}

# lab_insmod DIR: loads DIR/*.ko in the order of DIR/order; module options
# come from NAME.OPTION=VALUE words on the kernel command line, as modprobe
# would apply them.
lab_insmod() {
	local dir=$1 m w opts cmdline failed=""
	[ -f "$dir/order" ] || return 0
	read -r cmdline </proc/cmdline
	while read -r m || [ -n "$m" ]; do
		opts=""
		for w in $cmdline; do
			case $w in
			"$m."*=*) opts="$opts ${w#"$m".}" ;;
			esac
		done
		# shellcheck disable=SC2086 # options are words
		insmod "$dir/$m.ko" $opts || failed="$failed $m"
	done <"$dir/order"
	[ -z "$failed" ] && return 0
	echo "lab: insmod failed:$failed" >&2
	return 1
}
