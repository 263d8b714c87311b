#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# hvabs-jailer end to end on this host's KVM (docs/jailer.md):
#   jailer_test.sh kvm JAILER VMM TINY
#   jailer_test.sh mock JAILER VMM TINY SCRIPT   (only: the mock replay, no /dev/kvm given)
# 1. the tiny guest boots and powers off through the jailer, exit 0;
# 2. while a hanging guest runs, /proc shows the VMM is not root, has no
#    capability, NoNewPrivs, its own root holding only what it should, its own
#    mount/PID/IPC/net namespaces, its cgroup and rlimit, and no fd it does not
#    need (an fd this script leaves open must not reach it); SIGTERM to the
#    jailer reaches the VMM, which exits 0, and the cgroup is removed;
# 3. refusals that need root: a used jail directory, a missing kernel;
# 4. --daemonize returns at once; the guest's serial file, in a directory the
#    jail gives the VMM, shows it booted and powered off; --api-sock answers
#    at <jail root>/<path>;
# 5. --netns: the VMM attaches to a tap that exists only in that namespace.
# Needs root (and /dev/kvm for kvm): exits 77 (skipped) otherwise, unless HVABS_REQUIRE_KVM=1.
set -uo pipefail
mode=$1 jailer=$2 vmm=$3 tiny=$4
skip() {
	[ "${HVABS_REQUIRE_KVM:-0}" = 1 ] && { echo "FAIL: $* but HVABS_REQUIRE_KVM=1" >&2; exit 1; }
	echo "SKIP: $*" >&2
	exit 77
}
[ "$(id -u)" = 0 ] || skip "the jailer needs root"
if [ "$mode" = kvm ]; then
	{ [ -c /dev/kvm ] && exec 3<>/dev/kvm; } 2>/dev/null || skip "/dev/kvm is not usable here"
	exec 3>&-
fi
base=$(mktemp -d)
out=$base/out
vp= cgroot= cg= netns=
cleanup() {
	[ -n "$vp" ] && kill -9 $jp $vp 2>/dev/null && sleep 0.2
	[ -n "$netns" ] && ip netns del "$netns"
	[ -n "$cgroot" ] && [ -d "$cgroot/$cg" ] && { rmdir "$cgroot/$cg"/* 2>/dev/null; rmdir "$cgroot/$cg"; }
	rm -rf "$base"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -f "$out" ] && { echo "---- jailer output ----" >&2; tail -n 20 "$out" >&2; }
	exit 1
}
U=65534 G=65534
jail=("$jailer" --exec-file "$vmm" --uid $U --gid $G --chroot-base-dir "$base")
vm=(--hypervisor kvm --kernel "$tiny" --memory 64M)

if [ "$mode" = mock ]; then
	timeout --kill-after=5 60 "${jail[@]}" --id mock -- --hypervisor mock \
		--backend-options "script=$5" --kernel "$tiny" --memory 64M </dev/null >"$out" 2>&1
	rc=$?
	[ $rc -eq 0 ] || fail "jailed mock replay exited $rc, expected 0"
	grep -q "guest stopped: power-off" "$out" || fail "the mock replay did not end at power-off"
	root=$base/hvabs-vmm/mock/root
	[ -e "$root$5" ] || fail "the script file is not in the jail"
	[ ! -e $root/dev/kvm ] || fail "a mock VM was given /dev/kvm"
	echo "ok: the mock replay runs through the jailer, with its script and without /dev/kvm"
	echo PASS
	exit 0
fi

# 1. Boots and powers off.
timeout --kill-after=5 60 "${jail[@]}" --id boot -- "${vm[@]}" </dev/null >"$out" 2>&1
rc=$?
[ $rc -eq 0 ] || fail "jailed boot exited $rc, expected 0"
grep -q "HVABS-TINY: poweroff" "$out" || fail "the jailed guest did not power off"
echo "ok: the tiny guest boots and powers off through the jailer"

# 2. Inspect a running one. fd 7 is ours: it must not reach the VMM.
cg=hvabs-jailer-test-$$
cgopt=()
for r in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	[ "$(stat -f -c %T $r 2>/dev/null)" = cgroup2fs ] && cgroot=$r && cgopt=(--parent-cgroup $cg --cgroup cgroup.max.depth=0) && break
done
exec 7<"$tiny"
"${jail[@]}" --id run --new-netns --resource-limit no-file=64 "${cgopt[@]}" -- "${vm[@]}" --cmdline hang \
	</dev/null >"$out" 2>&1 &
jp=$!
exec 7<&-
for _ in $(seq 1 300); do
	grep -q "HVABS-TINY: hanging" "$out" && break
	sleep 0.1
done
grep -q "HVABS-TINY: hanging" "$out" || fail "the jailed guest did not start"
vp=$(pgrep -P $jp)
[ -n "$vp" ] || fail "no VMM process under the jailer ($jp)"
st=/proc/$vp/status
grep -qE "^Uid:\s+$U\s+$U\s+$U\s+$U$" $st || fail "VMM uids: $(grep Uid $st)"
grep -qE "^Gid:\s+$G\s+$G\s+$G\s+$G$" $st || fail "VMM gids: $(grep Gid $st)"
grep -qE "^Groups:\s*$" $st || fail "VMM keeps groups: $(grep Groups $st)"
grep -qE "^CapEff:\s+0+$" $st || fail "VMM has capabilities: $(grep CapEff $st)"
grep -qE "^NoNewPrivs:\s+1$" $st || fail "VMM lacks NoNewPrivs: $(grep NoNewPrivs $st)"
echo "ok: the VMM runs as $U:$G, no groups, no capabilities, NoNewPrivs 1"
for ns in mnt pid ipc net; do
	[ "$(readlink /proc/$vp/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ] ||
		fail "the VMM shares our $ns namespace"
done
echo "ok: own mount, PID, IPC and (--new-netns) network namespaces"
[ "$(stat -L -c %d:%i /proc/$vp/root)" != "$(stat -c %d:%i /)" ] || fail "the VMM's root is ours"
# Everything that is not a directory must be something this VM needs.
pdir=$(dirname "$(ldd "$vmm" | sed -n 's/.*=> \(.*libhvabs\.so[^ ]*\) .*/\1/p')")/hvabs
allow="^(/dev/kvm|/dev/urandom|/etc/ld\.so\.cache|$vmm|$tiny|$pdir/.*|/.*/lib[^/]*\.so(\.[0-9]+)*|/lib64/ld-linux-x86-64\.so\.2)$"
files=$(cd /proc/$vp/root && find . -mindepth 1 ! -type d | sed 's/^\.//')
extra=$(grep -vE "$allow" <<<"$files")
[ -z "$extra" ] || fail "the jail holds what the VM does not need: $extra"
for f in /dev/kvm /dev/urandom "$vmm" "$tiny"; do
	grep -qxF "$f" <<<"$files" || fail "the jail lacks $f"
done
[ "$(stat -c %F:%u /proc/$vp/root/dev/kvm)" = "character special file:$U" ] ||
	fail "/dev/kvm in the jail: $(stat -c %F:%u /proc/$vp/root/dev/kvm)"
[ ! -e /proc/$vp/root/dev/net/tun ] || fail "/dev/net/tun given to a VM without a network"
echo "ok: own root with $(wc -l <<<"$files") files, each one the VM needs"
for fd in /proc/$vp/fd/*; do
	n=${fd##*/} t=$(readlink "$fd")
	[ "$n" -le 2 ] && continue
	[[ $t =~ ^(/dev/kvm|anon_inode:.*)$ ]] || fail "VMM fd $n -> $t is not one it needs"
done
echo "ok: no fd but stdio, /dev/kvm and the VMM's own anonymous ones ($(ls /proc/$vp/fd | wc -l) fds)"
grep -qE "^Max open files +64 +64 " /proc/$vp/limits || fail "no-file limit not applied"
if [ -n "${cgroot:-}" ]; then
	grep -qx "0::/$cg/run" /proc/$vp/cgroup || fail "VMM cgroup: $(cat /proc/$vp/cgroup)"
	[ "$(cat $cgroot/$cg/run/cgroup.max.depth)" = 0 ] || fail "--cgroup value not written"
	echo "ok: the VMM is in cgroup $cg/run with its value"
fi
kill -TERM $jp
for _ in $(seq 1 200); do
	kill -0 $jp 2>/dev/null || break
	sleep 0.1
done
kill -0 $jp 2>/dev/null && fail "SIGTERM to the jailer did not end the VMM within 20 s"
wait $jp
rc=$?
vp=
[ $rc -eq 0 ] || fail "SIGTERM to the jailer: exit $rc, expected 0"
grep -q "signal 15: stopping the guest" "$out" || fail "SIGTERM did not reach the VMM"
if [ -n "${cgroot:-}" ]; then
	[ ! -d $cgroot/$cg/run ] || fail "the VMM's cgroup was left behind"
fi
echo "ok: SIGTERM reaches the VMM, exit 0, cgroup removed"

# 3. Refusals as root: one line each, naming the step and the errno.
expect() { # STATUS REGEX ID [args]
	local status=$1 re=$2
	shift 2
	"${jail[@]}" --id "$@" </dev/null >"$out" 2>&1
	rc=$?
	[ $rc -eq "$status" ] || fail "$*: exit $rc, expected $status"
	[ "$(wc -l <"$out")" -eq 1 ] && grep -qE -- "$re" "$out" || fail "$*: wanted one line matching '$re'"
}
expect 71 "^hvabs-jailer: chroot dir \(left by an earlier run\? remove it\) $base/hvabs-vmm/boot/root: Directory not empty \(errno 39\)$" \
	boot -- "${vm[@]}"
expect 71 "^hvabs-jailer: stat $base/nope: No such file or directory \(errno 2\)$" \
	nokernel -- --hypervisor kvm --kernel "$base/nope"
echo "ok: a used jail directory and a missing kernel are refused"
# A controller: applied where the cgroup2 root offers it, else refused by name.
if [ -n "${cgroot:-}" ]; then
	if grep -qw memory $cgroot/cgroup.controllers; then
		"${jail[@]}" --id mem --parent-cgroup $cg --cgroup memory.max=268435456 -- "${vm[@]}" \
			--cmdline hang </dev/null >"$out" 2>&1 &
		jp=$!
		for _ in $(seq 1 300); do
			grep -q "HVABS-TINY: hanging" "$out" && break
			sleep 0.1
		done
		vp=$(pgrep -P $jp)
		[ "$(cat $cgroot/$cg/mem/memory.max 2>&1)" = 268435456 ] || fail "memory.max not applied"
		grep -qx "0::/$cg/mem" /proc/$vp/cgroup || fail "the VMM is not in its memory cgroup"
		kill -TERM $jp
		wait $jp
		vp=
		echo "ok: --cgroup memory.max is applied to the VMM's cgroup"
	else
		expect 71 "^hvabs-jailer: cgroup: --cgroup memory.max: controller 'memory' is not in $cgroot/cgroup.controllers on this host$" \
			mem --parent-cgroup $cg --cgroup memory.max=268435456 -- "${vm[@]}"
		echo "ok: --cgroup memory.max is refused by name where cgroup2 lacks the memory controller"
	fi
fi

# 4. --daemonize; the serial file's directory belongs to the VMM.
mkdir "$base/cons"
timeout 10 "${jail[@]}" --id daemon --daemonize -- "${vm[@]}" --serial "file=$base/cons/out" \
	</dev/null >"$out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ ! -s "$out" ] || fail "--daemonize: exit $rc, expected 0 and no output"
cons=$base/hvabs-vmm/daemon/root$base/cons
for _ in $(seq 1 300); do
	grep -q "HVABS-TINY: poweroff" "$cons/out" 2>/dev/null && break
	sleep 0.1
done
grep -q "HVABS-TINY: poweroff" "$cons/out" 2>/dev/null || fail "the daemonized guest did not power off"
[ "$(stat -c %U:%a "$cons")" = "$(id -nu $U):700" ] || fail "serial dir: $(stat -c %U:%a "$cons")"
echo "ok: --daemonize returns at once; the guest powers off, its serial file in a VMM-owned dir"

# --api-sock: the socket the VMM makes in its directory answers at <root>/<path>.
if command -v curl >/dev/null; then
	mkdir "$base/run"
	"${jail[@]}" --id api -- --hypervisor kvm --api-sock "$base/run/api.sock" </dev/null >"$out" 2>&1 &
	jp=$!
	sock=$base/hvabs-vmm/api/root$base/run/api.sock
	for _ in $(seq 1 200); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	vp=$(pgrep -P $jp)
	reply=$(curl -s --max-time 10 --unix-socket "$sock" http://localhost/)
	kill -TERM $jp
	wait $jp
	vp=
	grep -q '"state":"Not started"' <<<"$reply" || fail "the jailed API at $sock answered '$reply'"
	echo "ok: --api-sock answers at <jail root>$base/run/api.sock"
fi

# 5. --netns: a tap that exists only in a named network namespace, owned by
#    the VMM's user, is reached through the jail's /dev/net/tun.
if command -v ip >/dev/null && ip netns add "hvjt-$$" 2>/dev/null; then
	netns=hvjt-$$
	ip -n "hvjt-$$" tuntap add dev hvjt0 mode tap user $U group $G || fail "cannot make a tap"
	timeout --kill-after=5 60 "${jail[@]}" --id net --netns "/var/run/netns/hvjt-$$" -- "${vm[@]}" \
		--net tap=hvjt0 </dev/null >"$out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -q "HVABS-TINY: poweroff" "$out" || fail "--netns with a tap: exit $rc"
	[ "$(stat -c %F:%u "$base/hvabs-vmm/net/root/dev/net/tun")" = "character special file:$U" ] ||
		fail "no /dev/net/tun for a VM with a network"
	echo "ok: --netns: the VMM attaches to a tap of that namespace through the jail's /dev/net/tun"
else
	echo "(no ip netns here: --netns not checked)"
fi
echo PASS
