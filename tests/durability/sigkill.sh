#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Durability across a VMM crash: once the guest's flush of a write has
# completed, the data must be in the image file even if hvabs-vmm dies the
# next instant without any chance to clean up.
#
#   sigkill.sh [--direct] [--engine sync|io_uring] [--workdir DIR] VMM TINY_GUEST
#
# The tiny test guest's "virtio" word writes a known pattern (byte i of the
# sector is i*7+1) to sector 1 of each virtio-blk disk, sends a FLUSH and
# prints "HVABS-TINY: virtio-blk wrote sector1 ok, flush ok"; "hang" then
# keeps it running. This script boots it on /dev/kvm with one disk whose every
# byte is 0xa5, sends SIGKILL the moment that line arrives, and compares the
# image with what it must now hold: sector 1 the pattern, everything else
# untouched. It also checks that hvabs-vmm really died of the SIGKILL (a VMM
# that had already exited would prove nothing) and that the guest read
# sector 0 back as 0xa5.
#
# SIGKILL loses what the process still held in its own memory, never the
# kernel's page cache, so this proves the device wrote the data to the file
# before it completed the guest's requests; it does not prove that
# fdatasync reached stable storage (that needs a power cut).
#
# --engine picks virtio-blk's I/O engine (--disk engine=...).
# --direct opens the image with O_DIRECT (--disk direct=on); the work
# directory must then be on a filesystem that allows it (not tmpfs before
# Linux 6.6). Exit status: 0 pass, 1 fail, 2 usage, 77 skipped because
# /dev/kvm is not usable (a failure with HVABS_REQUIRE_KVM=1).
set -uo pipefail

MARKER='HVABS-TINY: virtio-blk wrote sector1 ok, flush ok'
SECTORS=64
LIMIT=60 # seconds; hvabs-vmm gets --timeout, this script a backstop

direct=off engine=sync workdir=
while (($#)); do
	case $1 in
	--direct) direct=on ;;
	--engine) engine=$2; shift ;;
	--workdir) workdir=$2; shift ;;
	--) shift; break ;;
	-*) echo "sigkill.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
if (($# != 2)); then
	echo "usage: sigkill.sh [--direct] [--engine sync|io_uring] [--workdir DIR] VMM TINY_GUEST" >&2
	exit 2
fi
vmm=$1 guest=$2
for f in "$vmm" "$guest"; do
	[[ -f $f ]] || { echo "sigkill.sh: no such file: $f" >&2; exit 2; }
done

# -c first: bash's <> would create a missing /dev/kvm as a plain file.
if [[ ! -c /dev/kvm ]] || ! { exec 3<>/dev/kvm; } 2>/dev/null; then
	if [[ ${HVABS_REQUIRE_KVM:-0} == 1 ]]; then
		echo "FAIL: /dev/kvm is not usable here but HVABS_REQUIRE_KVM=1" >&2
		exit 1
	fi
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
exec 3>&-

tmp=$(mktemp -d "${workdir:-${TMPDIR:-/tmp}}/durability.XXXXXX") || exit 2
pid=
cleanup() {
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	rm -rf -- "$tmp"
}
trap cleanup EXIT
img=$tmp/disk.img
out=$tmp/console.log

fail() {
	echo "FAIL: $*"
	if [[ -s $out ]]; then
		echo "---- hvabs-vmm output ----"
		tail -n 40 -- "$out"
	fi
	exit 1
}

# The image: every byte 0xa5. The expected result: the same with sector 1
# replaced by the guest's pattern.
head -c $((SECTORS * 512)) /dev/zero | tr '\0' '\245' >"$img"
cp -- "$img" "$tmp/expected.img"
esc=
for ((i = 0; i < 512; i++)); do
	printf -v o '\\%03o' $(((i * 7 + 1) % 256))
	esc+=$o
done
# shellcheck disable=SC2059 # the escapes are the point
printf "$esc" >"$tmp/sector1"
[[ $(stat -c %s -- "$tmp/sector1") == 512 ]] || fail "could not build the expected sector"
dd if="$tmp/sector1" of="$tmp/expected.img" bs=512 seek=1 conv=notrunc status=none

mkfifo "$tmp/console"
"$vmm" --hypervisor kvm --kernel "$guest" --memory 64M --cmdline "virtio hang" \
	--disk "path=$img,serial=durability,direct=$direct,engine=$engine" --timeout "$LIMIT" \
	</dev/null >"$tmp/console" 2>&1 &
pid=$!

# Read the console line by line and kill on the marker: no polling delay
# between the guest's flush completing and the SIGKILL.
killed=0 partial=
deadline=$((SECONDS + LIMIT + 10))
exec 4<"$tmp/console"
while ((SECONDS < deadline)); do
	IFS= read -r -t 5 line <&4
	st=$?
	if ((st > 128)); then
		# Timed out: keep what part of a line came and look at the deadline.
		partial+=$line
		continue
	fi
	line=$partial$line
	partial=
	line=${line%$'\r'}
	[[ -n $line ]] && printf '%s\n' "$line" >>"$out"
	if [[ $line == *"$MARKER"* ]]; then
		kill -KILL "$pid"
		killed=1
		break
	fi
	# End of file: every writer, that is the VMM, is gone.
	((st == 0)) || break
done
exec 4<&-
if ((!killed)); then
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	fail "no '$MARKER' line from the guest"
fi
wait "$pid" 2>/dev/null
rc=$?
pid=
((rc == 128 + 9)) || fail "hvabs-vmm ended with status $rc, not by the SIGKILL (128+9): the kill came too late to test anything"

grep -q 'HVABS-TINY: virtio-blk sector0 a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5 ok' "$out" ||
	fail "the guest did not read sector 0 back as 0xa5"
[[ $(stat -c %s -- "$img") == $((SECTORS * 512)) ]] ||
	fail "the image is $(stat -c %s -- "$img") bytes, was $((SECTORS * 512))"
if ! diff=$(cmp -- "$tmp/expected.img" "$img" 2>&1); then
	# "differ: byte N, line M": name the sector.
	byte=$(sed -n 's/.*byte \([0-9]*\).*/\1/p' <<<"$diff")
	[[ -n $byte ]] && diff+=" (sector $(((byte - 1) / 512)))"
	fail "after the SIGKILL the image is not what the guest flushed: $diff"
fi
echo "PASS: direct=$direct engine=$engine, sector 1 holds the guest's pattern after SIGKILL right after its flush; the other $((SECTORS - 1)) sectors are untouched"
