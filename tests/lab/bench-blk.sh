#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench-blk.sh — virtio-blk throughput measured inside an L2 Linux guest, QEMU
# microvm against hvabs-vmm, in the lab's nested KVM (scenario bench-blk).
#
#   bench-blk.sh [--build DIR] [--vmm FILE] [--iters N] [--mib N] [--seq-mib N]
#                [--rand-ops N] [--cache writeback|none] [--log FILE]
#                [-- more lab.sh options]
#
# Builds the guest program (l2-bench/blkio.c, static, with $CC or cc) and
# sends it with l2-bench/blkbench.sh into the lab, which appends both to the
# L2 initramfs. With --build, DIR/backends and DIR's hvabs-vmm (or --vmm FILE)
# go in too and hvabs-vmm is measured next to QEMU. N boots per VMM (default
# 3), alternating; each runs sequential write and read of --seq-mib MiB
# (default: all of the --mib disk, 256) and --rand-ops random 4 KiB reads and
# writes (4096), O_DIRECT at queue depth 1. Prints the median of each figure
# per VMM and the hvabs/QEMU ratios. Exits with lab.sh's status.
set -euo pipefail
export LC_ALL=C

LAB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
build=
vmm=
iters=3
mib=256
seq_mib=
rand_ops=4096
cache=writeback
log_file=
extra=()

die() {
	printf 'bench-blk: error: %s\n' "$*" >&2
	exit 2
}
need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while (($#)); do
	case $1 in
	--build) need_arg "$@"; build=$2; shift 2 ;;
	--vmm) need_arg "$@"; vmm=$2; shift 2 ;;
	--iters) need_arg "$@"; iters=$2; shift 2 ;;
	--mib) need_arg "$@"; mib=$2; shift 2 ;;
	--seq-mib) need_arg "$@"; seq_mib=$2; shift 2 ;;
	--rand-ops) need_arg "$@"; rand_ops=$2; shift 2 ;;
	--cache) need_arg "$@"; cache=$2; shift 2 ;;
	--log) need_arg "$@"; log_file=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '3,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
seq_mib=${seq_mib:-$mib}
[[ $iters =~ ^[1-9][0-9]?$ ]] || die "--iters wants 1..99"
# L1 has 2 GiB: the disk lives in its RAM next to a 256 MiB guest.
# in_range VALUE MAX: VALUE is an integer in 1..MAX.
in_range() { [[ $1 =~ ^[1-9][0-9]{0,6}$ ]] && (($1 <= $2)); }
in_range "$mib" 768 || die "--mib wants 1..768"
in_range "$seq_mib" "$mib" || die "--seq-mib wants 1..$mib (the disk)"
in_range "$rand_ops" 1000000 || die "--rand-ops wants 1..1000000"
[[ $cache == writeback || $cache == none ]] || die "--cache wants writeback or none"

work=$(mktemp -d "${TMPDIR:-/tmp}/hvabs-bench-blk.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
payload=$work/payload
mkdir -p "$payload/l2/usr/bin" "$payload/l2/checks"
# -static: the L2 initramfs has busybox and no C library.
if ! "${CC:-cc}" -std=gnu11 -O2 -Wall -Wextra -Werror -static \
	-o "$payload/l2/usr/bin/hvabs-blkio" "$LAB_DIR/l2-bench/blkio.c" 2>"$work/cc.log"; then
	cat "$work/cc.log" >&2
	die "cannot build l2-bench/blkio.c statically (needs gcc and libc6-dev)"
fi
install -m 0644 "$LAB_DIR/l2-bench/blkbench.sh" "$payload/l2/checks/blkbench.sh"

args=(--mode kvm --scenario bench-blk --payload "$payload"
	--param "bench_iters=$iters" --param "blk_mib=$mib" --param "blk_seq_mib=$seq_mib"
	--param "blk_rand_ops=$rand_ops" --param "blk_cache=$cache")
[[ $cache == none ]] && args+=(--module brd)
# A boot may take a few minutes on a loaded host; two VMMs, N boots each.
args+=(--timeout $((120 + iters * 2 * 300)))
if [[ -n $build ]]; then
	[[ -d $build ]] || die "--build $build is not a directory"
	if [[ -z $vmm && -f $build/examples/hvabs-vmm && -x $build/examples/hvabs-vmm ]]; then
		vmm=$build/examples/hvabs-vmm
	fi
	args+=(--build "$build")
fi
if [[ -n $vmm ]]; then
	[[ -f $vmm && -x $vmm ]] || die "--vmm $vmm is not an executable file"
	args+=(--bin "$vmm")
else
	printf 'bench-blk: no hvabs-vmm built (--build/--vmm): measuring QEMU only\n' >&2
fi
if [[ -z $log_file ]]; then
	log_file=$(mktemp "${TMPDIR:-/tmp}/hvabs-bench-blk.XXXXXX.log")
fi
args+=(--log "$log_file")

set +e
"$LAB_DIR/lab.sh" "${args[@]}" "${extra[@]}"
rc=$?
set -e

printf 'bench-blk: %s MiB disk, cache=%s, %s MiB sequential in 1 MiB requests, %s random 4 KiB ops, O_DIRECT, queue depth 1\n' \
	"$mib" "$cache" "$seq_mib" "$rand_ops"
# What each guest saw of its disk (queue limits, clock source), once per VMM.
grep -a -o '[a-z]*\.1| vda: .*' "$log_file" | sed 's/\.1|/:/' || true
# Medians per VMM from the HVABS-BENCH lines, then hvabs/QEMU ratios (all four
# figures are higher-is-better: a ratio above 1 means hvabs-vmm is faster).
grep -a -o 'HVABS-BENCH .*' "$log_file" | awk -f "$LAB_DIR/bench-table.awk" -f <(cat <<'EOF'
BEGIN {
	nk = split("seqwrite_mbps seqread_mbps randread_iops randwrite_iops", key, " ")
	split("seq_write_MB/s seq_read_MB/s rand_read_IOPS rand_write_IOPS", head, " ")
}
{
	v = bench_fields()
	ok = f["rc"] == "0"
	for (k = 1; k <= nk; k++)
		if (f[key[k]] == "" || f[key[k]] == "none") ok = 0
	if (!ok) { bad[v]++; next }
	good[v]++
	for (k = 1; k <= nk; k++) x[v, k] = x[v, k] " " f[key[k]]
}
END {
	bench_table("bench-blk", 15, " %15.1f", " %15.0f")
}
EOF
)
printf 'bench-blk: log %s\n' "$log_file"
exit "$rc"
