#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: xen
#
# Xen runs with hardware-assisted paging and the dom0 toolstack works:
# `xl info` lists hap in virt_caps, `xl list` shows Domain-0.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

if info=$(xl info 2>&1); then
	caps=$(echo "$info" | sed -n 's/^virt_caps[[:space:]]*:[[:space:]]*//p')
	ver=$(echo "$info" | sed -n 's/^xen_version[[:space:]]*:[[:space:]]*//p')
	case " $caps " in
	*" hap "*) lab_result xen-hap PASS "xen $ver virt_caps: $caps" ;;
	*) lab_result xen-hap FAIL "xen $ver virt_caps: $caps (no hap: QEMU needs -cpu qemu64,+svm,+npt)" ;;
	esac
else
	echo "$info"
	lab_result xen-hap FAIL "xl info failed"
fi

if xl list 2>&1 | grep -q '^Domain-0 '; then
	lab_result xen-dom0 PASS "xl list shows Domain-0"
else
	xl list
	lab_result xen-dom0 FAIL "xl list does not show Domain-0"
fi
