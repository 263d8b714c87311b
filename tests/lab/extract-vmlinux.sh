#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# extract-vmlinux.sh BZIMAGE OUT
#
# Writes the uncompressed ELF vmlinux that is packed inside an x86 bzImage, so
# that QEMU (and hvabs) can boot it through its PVH entry point and skip the
# in-guest decompression, which costs several seconds under nested TCG.
#
# The compressed payload is located with the boot protocol header rather than by
# scanning for magic bytes: setup_sects (0x1f1) says where the protected-mode
# part starts, payload_offset (0x248) and payload_length (0x24c, protocol 2.08+)
# delimit the blob inside it (Documentation/arch/x86/boot.rst). The payload's
# own magic then chooses the decompressor. Its last four bytes are the
# little-endian uncompressed size (gzip's ISIZE, or the size the kernel build
# appends for xz/zstd/lzma), which is checked against the output.
set -euo pipefail

die() {
	printf 'extract-vmlinux: %s\n' "$*" >&2
	exit 1
}

[[ $# -eq 2 ]] || die "usage: extract-vmlinux.sh BZIMAGE OUT"
in=$1
out=$2
[[ -r $in ]] || die "cannot read $in"

# u8/u16/u32 little-endian field of a file at a byte offset.
field() {
	local v
	v=$(od -An -tu"$3" -j "$2" -N "$3" -- "$1" | tr -d ' \n')
	[[ -n $v ]] || die "$1: truncated at offset $2"
	printf '%s' "$v"
}

size=$(stat -c %s -- "$in")
((size > 0x260)) || die "$in: too small to be a bzImage"
magic=$(od -An -c -j $((0x202)) -N 4 -- "$in" | tr -d ' \n')
[[ $magic == HdrS ]] || die "$in: no 'HdrS' boot header, not a bzImage"
proto=$(field "$in" $((0x206)) 2)
((proto >= 0x208)) || die "$in: boot protocol $((proto >> 8)).$((proto & 255)) has no payload fields (need 2.08+)"

setup_sects=$(field "$in" $((0x1f1)) 1)
if ((setup_sects == 0)); then
	setup_sects=4
fi
pm_start=$(((setup_sects + 1) * 512))
poff=$(field "$in" $((0x248)) 4)
plen=$(field "$in" $((0x24c)) 4)
start=$((pm_start + poff))
((plen > 4 && start + plen <= size)) || die "$in: payload [$start, +$plen) lies outside the file ($size bytes)"

tmp=$(mktemp "${out}.XXXXXX")
trap 'rm -f "$tmp" "$tmp.z"' EXIT
dd if="$in" of="$tmp.z" bs=64K skip="$start" count="$plen" \
	iflag=skip_bytes,count_bytes status=none
want=$(field "$tmp.z" $((plen - 4)) 4)

pmagic=$(od -An -tx1 -N 6 -- "$tmp.z" | tr -d ' \n')
case $pmagic in
fd377a585a00) kind=xz ;;
1f8b*) kind=gzip ;;
28b52ffd*) kind=zstd ;;
425a68*) kind=bzip2 ;;
5d0000*) kind=lzma ;;
*) die "$in: unknown payload compression (magic $pmagic)" ;;
esac

# The decompressors may complain about the four appended size bytes after the
# stream; their exit status is not trusted, the ELF magic and the size are.
case $kind in
xz) xz -dc --single-stream -- "$tmp.z" >"$tmp" 2>/dev/null || true ;;
gzip) gzip -dc -- "$tmp.z" >"$tmp" 2>/dev/null || true ;;
zstd) zstd -dcq -- "$tmp.z" >"$tmp" 2>/dev/null || true ;;
bzip2) bzip2 -dc -- "$tmp.z" >"$tmp" 2>/dev/null || true ;;
lzma) xz -dc --format=lzma -- "$tmp.z" >"$tmp" 2>/dev/null || true ;;
esac

got=$(stat -c %s -- "$tmp")
elf=$(od -An -tx1 -N 4 -- "$tmp" | tr -d ' \n')
[[ $elf == 7f454c46 ]] || die "$in: $kind payload did not decompress to an ELF image"
((got % 4294967296 == want)) || die "$in: $kind payload gave $got bytes, the image says $want"
chmod 0644 "$tmp"
mv -f -- "$tmp" "$out"
printf 'extract-vmlinux: %s: %s payload, %d bytes of ELF\n' "$in" "$kind" "$got" >&2
