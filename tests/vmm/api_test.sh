#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# hvabs-vmm's Firecracker API driven over its socket with curl.
#   api_test.sh preboot VMM            every endpoint before the start (any host)
#   api_test.sh mock VMM TINY SCRIPT   InstanceStart on the mock replaying the tiny guest
#   api_test.sh kvm VMM TINY           configure, start, pause, resume, drive swap,
#                                      metrics flush and stop on this host's KVM
#   api_test.sh config-file VMM TINY   --config-file with --api-sock starts at once
# Exits 77 (skipped) without curl, or without /dev/kvm for kvm tests unless
# HVABS_REQUIRE_KVM=1.
set -uo pipefail
mode=$1 vmm=$2 tiny=${3:-} script=${4:-}
command -v curl >/dev/null || { echo "SKIP: no curl"; exit 77; }
if [ "$mode" = kvm ] || [ "$mode" = config-file ]; then
	if ! { [ -c /dev/kvm ] && exec 3<>/dev/kvm; } 2>/dev/null; then
		[ "${HVABS_REQUIRE_KVM:-0}" = 1 ] && { echo "FAIL: /dev/kvm unusable" >&2; exit 1; }
		echo "SKIP: /dev/kvm is not usable here"
		exit 77
	fi
	exec 3>&-
fi
dir=$(mktemp -d)
sock=$dir/api.sock out=$dir/vmm.out pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	echo "---- hvabs-vmm output ----" >&2
	tail -n 30 "$out" >&2
	exit 1
}

# api METHOD PATH [BODY]: sets $code and $body
api() {
	local args=(-s -o "$dir/body" -w '%{http_code}' --unix-socket "$sock" -X "$1")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
	code=$(curl "${args[@]}" "http://localhost$2") || fail "curl $1 $2 failed"
	body=$(cat "$dir/body")
}
# ok METHOD PATH [BODY]: a 204 (or 200 for GET)
ok() {
	api "$@"
	local want=204
	[ "$1" = GET ] && want=200
	[ "$code" = $want ] || fail "$1 $2: $code $body, expected $want"
}
# refused METHOD PATH BODY REGEX: a 400 whose fault_message matches
refused() {
	api "$1" "$2" "$3"
	[ "$code" = 400 ] || fail "$1 $2 $3: $code $body, expected 400"
	echo "$body" | grep -q '"fault_message"' || fail "$1 $2: no fault_message in $body"
	echo "$body" | grep -qE -- "$4" || fail "$1 $2: '$body' does not match '$4'"
}
has() { echo "$body" | grep -qE -- "$1" || fail "reply '$body' lacks '$1'"; }
state() {
	ok GET /
	has "\"state\":\"$1\""
}
launch() {
	"$vmm" --api-sock "$sock" "$@" </dev/null >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 1 400); do
		[ -S "$sock" ] && return 0
		kill -0 $pid 2>/dev/null || fail "hvabs-vmm exited early"
		sleep 0.05
	done
	fail "no socket after 20 s"
}
# stop [STATUS]: SIGTERM, the exit status, and the socket file gone
stop() {
	kill -TERM $pid
	wait $pid
	local rc=$?
	pid=
	[ $rc = "${1:-0}" ] || fail "exit status $rc, expected ${1:-0}"
	[ -e "$sock" ] && fail "the socket file is still there"
	return 0
}

preboot() {
	launch --hypervisor mock --quiet
	state "Not started"
	has '"app_name":"hvabs-vmm"'
	ok GET /version
	has '"firecracker_version"'
	ok GET /machine-config
	has '"vcpu_count":1'
	ok PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128, "smt": false}'
	ok PATCH /machine-config '{"mem_size_mib": 96}'
	ok GET /machine-config
	has '"vcpu_count":2' && has '"mem_size_mib":96'
	refused PUT /machine-config '{"vcpu_count": 2}' mem_size_mib
	refused PATCH /machine-config '{"vcpu_cnt": 2}' vcpu_cnt
	refused PUT /machine-config '{"vcpu_count": "2", "mem_size_mib": 64}' vcpu_count
	ok PUT /boot-source "{\"kernel_image_path\": \"$dir/vmlinux\", \"boot_args\": \"console=ttyS0\", \"initrd_path\": null}"
	refused PUT /boot-source '{"boot_args": "x"}' kernel_image_path
	: >"$dir/root.img"
	ok PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$dir/root.img\", \"is_root_device\": true, \"is_read_only\": false}"
	refused PUT /drives/rootfs '{"drive_id": "rootfs", "is_root_device": "yes"}' is_root_device
	refused PUT /drives/other "{\"drive_id\": \"x\", \"path_on_host\": \"$dir/root.img\", \"is_root_device\": false}" '"?x"?'
	refused PATCH /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/x"}' 'before starting'
	ok PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}'
	refused PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "nope"}' guest_mac
	refused PATCH /network-interfaces/eth0 '{"iface_id": "eth0"}' 'before starting'
	ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$dir/v.sock\"}"
	refused PUT /vsock '{"guest_cid": 3}' uds_path
	ok PUT /entropy '{}'
	ok PUT /logger "{\"log_path\": \"$dir/log\", \"level\": \"Debug\", \"show_level\": true, \"show_log_origin\": true}"
	refused PUT /logger '{"level": "Chatty"}' level
	ok PUT /metrics "{\"metrics_path\": \"$dir/metrics\"}"
	refused PUT /metrics '{}' metrics_path
	ok GET /vm/config
	has '"boot-source":\{[^}]*vmlinux' && has '"drive_id":"rootfs"' && has '"iface_id":"eth0"'
	has '"guest_cid":3'
	refused PATCH /vm '{"state": "Paused"}' 'before starting'
	refused PUT /actions '{"action_type": "SendCtrlAltDel"}' 'before starting'
	refused PUT /actions '{"action_type": "Explode"}' Explode
	ok PUT /actions '{"action_type": "FlushMetrics"}'
	grep -q '"put_api_requests"' "$dir/metrics" || fail "no metrics line after FlushMetrics"
	grep -q 'PUT request on "/metrics"' "$dir/log" || fail "the log lacks the requests"
	grep -q '\[Info\] \[api_router.c:' "$dir/log" || fail "the log lacks level and origin"
	for p in /balloon /balloon/statistics /mmds /mmds/config /cpu-config /pmem/p0 /hotplug/memory; do
		refused PUT $p '{}' 'does not support'
	done
	refused PUT /snapshot/create '{"snapshot_path": "s", "mem_file_path": "m"}' 'not supported yet'
	refused PUT /snapshot/load '{"snapshot_path": "s"}' 'not supported yet'
	refused GET /nope '' 'Invalid request method and/or path: GET /nope'
	refused DELETE /drives/rootfs '' 'Invalid request method and/or path'
	refused PUT /boot-source '{"kernel_image_path": ' 'Invalid JSON'
	refused PUT /boot-source '' 'JSON body'
	big=$(head -c 60000 /dev/zero | tr '\0' ' ')
	refused PUT /boot-source "{\"kernel_image_path\": \"/k\"$big}" 'larger than the limit'
	# A second VMM on the same live socket is refused and leaves it working.
	"$vmm" --hypervisor mock --api-sock "$sock" >"$dir/second" 2>&1 && fail "a second VMM took the socket"
	grep -q "another process is listening" "$dir/second" || fail "the second VMM said: $(cat "$dir/second")"
	state "Not started"
	# InstanceStart with a missing kernel fails, says why, and the VMM waits on.
	refused PUT /actions '{"action_type": "InstanceStart"}' 'Cannot start the microVM'
	state "Not started"
	stop 0
	[ "$(grep -c . "$dir/metrics")" -ge 2 ] || fail "no last metrics line at exit"
}

mock_start() {
	launch --hypervisor mock --backend-options "script=$script"
	ok PUT /boot-source "{\"kernel_image_path\": \"$tiny\"}"
	ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	ok PUT /actions '{"action_type": "InstanceStart"}'
	# The replayed guest powers off at once: the VMM ends, as Firecracker's does.
	wait $pid
	local rc=$?
	pid=
	[ $rc = 0 ] || fail "exit status $rc"
	grep -q "HVABS-TINY: hello from long mode" "$out" || fail "the guest did not run"
	grep -q "guest stopped: power-off" "$out" || fail "no power-off"
	[ -e "$sock" ] && fail "the socket file is still there"
	return 0
}

kvm_lifecycle() {
	launch --hypervisor kvm
	head -c 1048576 /dev/zero >"$dir/a.img"
	head -c 2097152 /dev/zero >"$dir/b.img"
	ok PUT /logger "{\"log_path\": \"$dir/log\", \"level\": \"Info\"}"
	ok PUT /metrics "{\"metrics_path\": \"$dir/metrics\"}"
	ok PUT /boot-source "{\"kernel_image_path\": \"$tiny\", \"boot_args\": \"console=ttyS0 hang\"}"
	ok PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}'
	ok PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$dir/a.img\", \"is_root_device\": false, \"is_read_only\": false}"
	ok PUT /actions '{"action_type": "InstanceStart"}'
	state Running
	for _ in $(seq 1 400); do grep -q "HVABS-TINY: hanging" "$out" && break; sleep 0.05; done
	grep -q "HVABS-TINY: cpus 2 up 2" "$out" || fail "the guest did not boot with 2 vCPUs"
	refused PUT /boot-source "{\"kernel_image_path\": \"$tiny\"}" 'after starting'
	refused PUT /actions '{"action_type": "InstanceStart"}' 'after starting'
	ok PATCH /vm '{"state": "Paused"}'
	state Paused
	ok PATCH /vm '{"state": "Resumed"}'
	state Running
	ok PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$dir/b.img\"}"
	ok GET /vm/config
	has "b.img"
	refused PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$dir/missing.img\"}" 'missing.img'
	ok GET /vm/config
	has "b.img"
	ok PUT /actions '{"action_type": "SendCtrlAltDel"}'
	ok PUT /actions '{"action_type": "FlushMetrics"}'
	line=$(tail -n 1 "$dir/metrics")
	echo "$line" | grep -qE '"exits":\{[^}]*"io":[1-9]' || fail "no I/O exits in $line"
	echo "$line" | grep -q '"block":{"data":{' || fail "no drive counters in $line"
	echo "$line" | grep -q '"patch_api_requests":{[^}]*"vm_count":2' || fail "no PATCH /vm count in $line"
	grep -q "The microVM is paused" "$dir/log" || fail "the log lacks the pause"
	stop 0
	grep -q "guest stopped: host signal" "$out" || fail "no orderly stop"
}

config_file() {
	cat >"$dir/vm.json" <<-JSON
	{
	  "boot-source": {"kernel_image_path": "$tiny", "boot_args": "console=ttyS0 hang", "initrd_path": null},
	  "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
	  "drives": [],
	  "metrics": {"metrics_path": "$dir/metrics"},
	  "balloon": null, "vsock": null
	}
	JSON
	launch --hypervisor kvm --config-file "$dir/vm.json"
	state Running
	refused PUT /actions '{"action_type": "InstanceStart"}' 'after starting'
	ok PATCH /vm '{"state": "Paused"}'
	state Paused
	ok PUT /actions '{"action_type": "FlushMetrics"}'
	grep -q '"vcpu"' "$dir/metrics" || fail "the config file's metrics were not opened"
	stop 0
}

case $mode in
preboot) preboot ;;
mock) mock_start ;;
kvm) kvm_lifecycle ;;
config-file) config_file ;;
*) echo "api_test: unknown mode $mode" >&2; exit 2 ;;
esac
echo "PASS"
