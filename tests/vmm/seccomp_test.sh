#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# hvabs-vmm's seccomp filters on this host's KVM with the tiny guest.
#   seccomp_test.sh status VMM TINY     every thread shows Seccomp: 2 and NoNewPrivs: 1
#   seccomp_test.sh kill KIND VMM TINY  a KIND thread (main, vcpu, loop, api) makes a
#                                       syscall outside its filter: the VMM dies of SIGSYS
#   seccomp_test.sh off VMM TINY        --seccomp=off: the same syscall on a vCPU thread
#                                       is harmless, the guest boots and powers off
# The forbidden syscall comes from HVABS_VMM_SECCOMP_TEST=KIND, a test-only hook.
# Exits 77 (skipped) without /dev/kvm, unless HVABS_REQUIRE_KVM=1.
set -uo pipefail
mode=$1
kind=
[ "$mode" = kill ] && { kind=$2; shift; }
vmm=$2 tiny=$3
if ! { [ -c /dev/kvm ] && exec 3<>/dev/kvm; } 2>/dev/null; then
	[ "${HVABS_REQUIRE_KVM:-0}" = 1 ] && { echo "FAIL: /dev/kvm unusable" >&2; exit 1; }
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
exec 3>&-
dir=$(mktemp -d)
sock=$dir/api.sock out=$dir/vmm.out pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	echo "---- hvabs-vmm output ----" >&2
	tail -n 30 "$out" >&2
	exit 1
}
# start [ARGS...]: the tiny guest, 2 vCPUs, with an API socket; sets $pid
start() {
	"$vmm" --hypervisor kvm --kernel "$tiny" --memory 64M --cpus 2 --api-sock "$sock" "$@" \
		</dev/null >"$out" 2>&1 &
	pid=$!
}
# wait_for REGEX: up to 20 s for a line of the output
wait_for() {
	for _ in $(seq 200); do
		grep -qE -- "$1" "$out" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# finish: waits for the VMM (at most 20 s) and sets $rc
finish() {
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "still running after 20 s"
	wait "$pid"
	rc=$? pid=
}

case $mode in
status)
	# Two disks, so virtio-blk's I/O threads run too: a worker per queue
	# (sync engine) and an io_uring reaper.
	head -c 1048576 /dev/zero >"$dir/a.img"
	head -c 1048576 /dev/zero >"$dir/b.img"
	start --cmdline hang --disk "path=$dir/a.img" --disk "path=$dir/b.img,engine=io_uring"
	wait_for "HVABS-TINY: hanging" || fail "the guest did not reach 'hanging'"
	# main, the API thread, the event loop, two vCPUs and blk's I/O threads
	n=0
	for st in /proc/$pid/task/*/status; do
		name=$(awk '/^Name:/ {print $2}' "$st")
		grep -qE '^Seccomp:[[:space:]]+2$' "$st" || fail "thread $st ($name): $(grep ^Seccomp: "$st")"
		grep -qE '^NoNewPrivs:[[:space:]]+1$' "$st" || fail "thread $st ($name): $(grep ^NoNewPrivs: "$st")"
		n=$((n + 1))
	done
	[ "$n" -ge 7 ] || fail "$n threads, expected at least 7"
	kill -TERM "$pid"
	finish
	[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM, expected 0"
	echo "PASS: $n threads, all filtered with no_new_privs"
	;;
kill)
	if [ "$kind" = io ]; then
		head -c 1048576 /dev/zero >"$dir/a.img"
		HVABS_VMM_SECCOMP_TEST=$kind start --cmdline hang --disk "path=$dir/a.img"
	else
		HVABS_VMM_SECCOMP_TEST=$kind start --cmdline hang
	fi
	if [ "$kind" = api ]; then
		wait_for "HVABS-TINY: hanging" || fail "the guest did not reach 'hanging'"
		curl -s -m 5 --unix-socket "$sock" http://localhost/ >/dev/null
	fi
	finish
	# 128 + SIGSYS (31): the kernel killed the whole process
	[ "$rc" = 159 ] || fail "exit status $rc, expected 159 (SIGSYS)"
	grep -q "HVABS_VMM_SECCOMP_TEST: $kind thread calls getpgid" "$out" ||
		fail "the $kind thread never reached the test hook"
	echo "PASS: the $kind thread's forbidden syscall ended the VMM"
	;;
off)
	HVABS_VMM_SECCOMP_TEST=vcpu start --seccomp=off
	finish
	[ "$rc" = 0 ] || fail "exit status $rc, expected 0"
	for re in "seccomp filters are OFF" "HVABS_VMM_SECCOMP_TEST: vcpu thread calls getpgid" \
		"HVABS-TINY: hello from long mode" "HVABS-TINY: poweroff"; do
		grep -q -- "$re" "$out" || fail "no line matches '$re'"
	done
	echo "PASS: with --seccomp=off the guest boots and powers off"
	;;
*)
	echo "usage: $0 status|kill KIND|off VMM TINY" >&2
	exit 2
	;;
esac
