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

# lab_l2_verdict LOG: the L2 guest's own checks, from its console log LOG.
# l2-init.sh prints "HVABS-CHECK NAME PASS|FAIL|SKIP" per check and then
# "HVABS-L2-DONE pass=P fail=F skip=S". Succeeds only if every run of the
# guest in LOG (a reboot starts another) ended with that summary, no check
# failed, at least one passed, and the check lines L1 saw add up to the
# guest's own counts: a check line lost or mangled on the console fails too.
# Prints one line: the counts, or why the checks do not pass.
lab_l2_verdict() {
	[ -r "$1" ] || {
		echo "no L2 console log $1"
		return 1
	}
	awk '
	function fin(why) { print why; bad = 1; exit 1 }
	{ sub(/\r$/, "") }
	index($0, "HVABS-CHECK ") {
		n = split(substr($0, index($0, "HVABS-CHECK ") + 12), w, " ")
		if (w[2] == "PASS") p++
		else if (w[2] == "SKIP") s++
		else { f++; failed = failed " " w[1] "(" (n < 2 ? "no status" : w[2]) ")" }
		pending = 1
		next
	}
	index($0, "HVABS-L2-DONE ") {
		d = substr($0, index($0, "HVABS-L2-DONE ") + 14)
		if (d !~ /^pass=[0-9]+ fail=[0-9]+ skip=[0-9]+/)
			fin("malformed guest summary \"HVABS-L2-DONE " d "\"")
		split(d, c, /[ =]/)
		runs++
		if (c[2] + 0 != p + 0 || c[4] + 0 != f + 0 || c[6] + 0 != s + 0)
			fin("the guest reported pass=" c[2] " fail=" c[4] " skip=" c[6] \
			    " in run " runs ", the log shows pass=" p + 0 " fail=" f + 0 " skip=" s + 0 \
			    " (a check line was lost or mangled)")
		if (f) fin(f " L2 check(s) failed in run " runs ":" failed)
		if (!p) fin("no L2 check passed in run " runs)
		tp += p; ts += s; p = f = s = 0; pending = 0
	}
	END {
		if (bad) exit 1
		if (!runs) { print "no HVABS-L2-DONE: the guest did not finish its checks" (f ? "; failed:" failed : ""); exit 1 }
		if (pending) { print "check lines after the last HVABS-L2-DONE: a run did not finish its checks" (f ? "; failed:" failed : ""); exit 1 }
		printf "L2 checks pass=%d skip=%d", tp, ts
		if (runs > 1) printf " in %d runs", runs
		printf "\n"
	}' "$1"
}
