#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench-boot.sh — time-to-marker, time-to-exit, peak RSS and RSS outside guest
# RAM of an L2 Linux boot with QEMU microvm and with hvabs-vmm, inside the
# lab's nested KVM.
#
#   bench-boot.sh [--build DIR] [--vmm FILE] [--iters N] [--cpus N]
#                 [--kernel vmlinux|bzimage] [--hold SECS] [--log FILE]
#                 [-- more lab.sh options]
#
# With --build, DIR/backends and DIR's hvabs-vmm (examples/hvabs-vmm, or the
# file --vmm names) are put into the lab and hvabs-vmm is measured next to
# QEMU; before hvabs-vmm exists only QEMU is measured. Each guest holds SECS
# (default 2) after loading its modules while L1 reads the VMM's smaps.
# Prints the median of each figure per VMM and the hvabs/QEMU ratios. Exits
# with lab.sh's status.
set -euo pipefail
export LC_ALL=C

LAB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
build=
vmm=
iters=3
cpus=1
kernel=vmlinux
hold=2
log_file=
extra=()

die() {
	printf 'bench-boot: error: %s\n' "$*" >&2
	exit 2
}
need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while (($#)); do
	case $1 in
	--build) need_arg "$@"; build=$2; shift 2 ;;
	--vmm) need_arg "$@"; vmm=$2; shift 2 ;;
	--iters) need_arg "$@"; iters=$2; shift 2 ;;
	--cpus) need_arg "$@"; cpus=$2; shift 2 ;;
	--kernel) need_arg "$@"; kernel=$2; shift 2 ;;
	--hold) need_arg "$@"; hold=$2; shift 2 ;;
	--log) need_arg "$@"; log_file=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '3,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[[ $iters =~ ^[1-9][0-9]?$ ]] || die "--iters wants 1..99"
[[ $cpus =~ ^[1-9]$ ]] || die "--cpus wants 1..9"
if ! [[ $hold =~ ^[1-9][0-9]?$ ]] || ((hold > 30)); then
	die "--hold wants 1..30 seconds (an L2 check may take 60)"
fi

args=(--mode kvm --scenario bench-boot --param "bench_iters=$iters"
	--param "l2cpus=$cpus" --param "l2kernel=$kernel" --param "l2hold=$hold")
# Each boot may take a few minutes on a loaded host; two VMMs, N boots each.
args+=(--timeout $((120 + iters * 2 * (300 + hold))))
if [[ -n $build ]]; then
	[[ -d $build ]] || die "--build $build is not a directory"
	if [[ -z $vmm ]]; then
		for f in "$build/examples/hvabs-vmm" "$build/examples/hvabs-vmm/hvabs-vmm"; do
			if [[ -f $f && -x $f ]]; then
				vmm=$f
				break
			fi
		done
	fi
	args+=(--build "$build")
fi
if [[ -n $vmm ]]; then
	[[ -f $vmm && -x $vmm ]] || die "--vmm $vmm is not an executable file"
	args+=(--bin "$vmm")
else
	printf 'bench-boot: no hvabs-vmm built (--build/--vmm): measuring QEMU only\n' >&2
fi
if [[ -z $log_file ]]; then
	log_file=$(mktemp "${TMPDIR:-/tmp}/hvabs-bench-boot.XXXXXX.log")
fi
args+=(--log "$log_file")

set +e
"$LAB_DIR/lab.sh" "${args[@]}" "${extra[@]}"
rc=$?
set -e

# Medians per VMM from the HVABS-BENCH lines, then hvabs/QEMU ratios. Memory:
# peak is GNU time's over the VMM's whole life; the others are from its
# smaps while the guest was held: rss = guest + outside, where outside is
# everything but the guest RAM mapping (mapped files included: both VMMs keep
# the L2 kernel's file mapped), and out_anon the anonymous part of outside
# (heap, stacks).
grep -a -o 'HVABS-BENCH .*' "$log_file" | awk -f "$LAB_DIR/bench-table.awk" -f <(cat <<'EOF'
BEGIN {
	nk = split("marker_s exit_s peak_mib rss_mib guest_mib outside_mib out_anon_mib", head, " ")
}
{
	v = bench_fields()
	if (f["marker"] == "none" || f["rc"] != 0 || f["up_rss_kb"] !~ /^[0-9]+$/ ||
	    f["guest_kb"] !~ /^[0-9]+$/ || f["out_anon_kb"] !~ /^[0-9]+$/) {
		bad[v]++
		next
	}
	good[v]++
	x[v, 1] = x[v, 1] " " f["marker"]
	x[v, 2] = x[v, 2] " " f["exit"]
	x[v, 3] = x[v, 3] " " f["rss_kb"] / 1024
	x[v, 4] = x[v, 4] " " f["up_rss_kb"] / 1024
	x[v, 5] = x[v, 5] " " f["guest_kb"] / 1024
	x[v, 6] = x[v, 6] " " (f["up_rss_kb"] - f["guest_kb"]) / 1024
	x[v, 7] = x[v, 7] " " f["out_anon_kb"] / 1024
}
END {
	bench_table("bench-boot", 12, " %12.2f", " %12.1f")
}
EOF
)
printf 'bench-boot: log %s\n' "$log_file"
exit "$rc"
