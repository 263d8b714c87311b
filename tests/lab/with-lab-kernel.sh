#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# with-lab-kernel.sh bzimage|vmlinux COMMAND [ARGS...] — runs a host-side test
# on the lab's Debian kernel: fetches it into the lab cache if needed
# (lab.sh --artifacts; the cache is keyed by the kernel package and the
# recipe), sets HVABS_TEST_KERNEL to its bzImage or its uncompressed PVH
# vmlinux and HVABS_TEST_INITRD to the lab's L2 initramfs, and runs COMMAND.
# The test exists to run: a cmocka "[  SKIPPED ]" line in its output fails it.
set -euo pipefail
export LC_ALL=C
lab=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/lab.sh
kind=${1:-}
if [[ $kind != bzimage && $kind != vmlinux ]] || (($# < 2)); then
	echo "usage: with-lab-kernel.sh bzimage|vmlinux COMMAND [ARGS...]" >&2
	exit 2
fi
shift
vars=$("$lab" --artifacts) || { echo "with-lab-kernel: lab.sh --artifacts failed" >&2; exit 1; }
eval "$vars"
if [[ $kind == bzimage ]]; then
	export HVABS_TEST_KERNEL=$HVABS_LAB_BZIMAGE
else
	export HVABS_TEST_KERNEL=$HVABS_LAB_VMLINUX
fi
export HVABS_TEST_INITRD=$HVABS_LAB_L2_INITRD
echo "with-lab-kernel: HVABS_TEST_KERNEL=$HVABS_TEST_KERNEL (Linux $HVABS_LAB_KERNEL_RELEASE)"
echo "with-lab-kernel: HVABS_TEST_INITRD=$HVABS_TEST_INITRD"
out=$(mktemp)
trap 'rm -f -- "$out"' EXIT
set +e
"$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
if grep -q '\[  SKIPPED \]' "$out"; then
	echo "with-lab-kernel: FAIL: the test skipped although a kernel was given" >&2
	exit 1
fi
exit "$rc"
