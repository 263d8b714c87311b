#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench-boot.sh — time-to-marker, time-to-exit and peak RSS of an L2 Linux boot
# with QEMU microvm and with hvabs-vmm, inside the lab's nested KVM.
#
#   bench-boot.sh [--build DIR] [--vmm FILE] [--iters N] [--cpus N]
#                 [--kernel vmlinux|bzimage] [--log FILE] [-- more lab.sh options]
#
# With --build, DIR/backends and DIR's hvabs-vmm (examples/hvabs-vmm, or the
# file --vmm names) are put into the lab and hvabs-vmm is measured next to
# QEMU; before hvabs-vmm exists only QEMU is measured. Prints the median of
# each figure per VMM and the hvabs/QEMU ratios. Exits with lab.sh's status.
set -euo pipefail
export LC_ALL=C

LAB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
build=
vmm=
iters=3
cpus=1
kernel=vmlinux
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
	--log) need_arg "$@"; log_file=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '3,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[[ $iters =~ ^[1-9][0-9]?$ ]] || die "--iters wants 1..99"
[[ $cpus =~ ^[1-9]$ ]] || die "--cpus wants 1..9"

args=(--mode kvm --scenario bench-boot --param "bench_iters=$iters"
	--param "l2cpus=$cpus" --param "l2kernel=$kernel")
# Each boot may take a few minutes on a loaded host; two VMMs, N boots each.
args+=(--timeout $((120 + iters * 2 * 300)))
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

# Medians per VMM from the HVABS-BENCH lines, then hvabs/QEMU ratios.
grep -a -o 'HVABS-BENCH .*' "$log_file" | awk '
function median(list, n,   a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	delete f
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		f[kv[1]] = kv[2]
	}
	v = f["vmm"]
	if (!(v in runs)) order[++nv] = v
	runs[v]++
	if (f["marker"] == "none" || f["rc"] != 0) { bad[v]++; next }
	mk[v] = mk[v] " " f["marker"]; ex[v] = ex[v] " " f["exit"]; rs[v] = rs[v] " " f["rss_kb"]
}
END {
	if (nv == 0) { print "bench-boot: no HVABS-BENCH lines in the log"; exit }
	printf "%-8s %5s %5s %12s %12s %12s\n", "vmm", "boots", "bad", "marker_s", "exit_s", "rss_mib"
	for (k = 1; k <= nv; k++) {
		v = order[k]
		if (mk[v] == "") { printf "%-8s %5d %5d %12s %12s %12s\n", v, runs[v], bad[v], "-", "-", "-"; continue }
		M[v] = median(mk[v]); E[v] = median(ex[v]); R[v] = median(rs[v]) / 1024
		printf "%-8s %5d %5d %12.2f %12.2f %12.1f\n", v, runs[v], bad[v] + 0, M[v], E[v], R[v]
	}
	if (("hvabs" in M) && ("qemu" in M) && M["qemu"] > 0 && E["qemu"] > 0 && R["qemu"] > 0)
		printf "%-8s %5s %5s %12.2f %12.2f %12.2f\n", "hvabs/qemu", "", "", M["hvabs"] / M["qemu"], E["hvabs"] / E["qemu"], R["hvabs"] / R["qemu"]
	else
		print "(no hvabs/qemu ratio: hvabs-vmm was not measured or had no successful boot)"
}'
printf 'bench-boot: log %s\n' "$log_file"
exit "$rc"
