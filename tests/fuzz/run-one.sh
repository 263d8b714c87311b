#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one libFuzzer target over its seed corpus without touching the repo:
# what the fuzzer finds goes to a temporary directory removed afterwards, and
# a crashing input is kept as ARTIFACT_DIR/crash-* (default: the current
# directory) for the report.
#   run-one.sh FUZZER SEED_DIR|- [libFuzzer options...]
set -eu
fuzzer=$1
seeds=$2
shift 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hvabs-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
art=${ARTIFACT_DIR:-.}
mkdir -p "$art"
if [ "$seeds" = - ] || [ ! -d "$seeds" ]; then
	set -- "$@" "$tmp"
else
	set -- "$@" "$tmp" "$seeds"
fi
# Targets create their scratch files under TMPDIR too.
TMPDIR=$tmp "$fuzzer" -artifact_prefix="$art/" "$@"
