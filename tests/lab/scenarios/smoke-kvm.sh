#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm
#
# The nested KVM is usable: kvm_amd is loaded with nested virtualization and
# nested paging, the CPU shows SVM, and /dev/kvm is the misc device 10:232.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

if grep -qw svm /proc/cpuinfo && grep -qw npt /proc/cpuinfo; then
	lab_result l1-cpu PASS "svm npt in /proc/cpuinfo"
else
	lab_result l1-cpu FAIL "/proc/cpuinfo lacks svm or npt (QEMU needs -cpu qemu64,+svm,+npt)"
fi

p=/sys/module/kvm_amd/parameters
if [ -d $p ]; then
	nested=$(cat $p/nested)
	npt=$(cat $p/npt)
	if [ "$nested" = 1 ] && [ "$npt" = Y ]; then
		lab_result kvm-amd PASS "kvm_amd nested=$nested npt=$npt"
	else
		lab_result kvm-amd FAIL "kvm_amd nested=$nested npt=$npt (want nested=1 npt=Y)"
	fi
else
	lab_result kvm-amd FAIL "kvm_amd is not loaded"
	dmesg | grep -i -E 'kvm|svm'
fi

if [ -c /dev/kvm ]; then
	# stat prints the device numbers in hex: 10:232 is a:e8.
	dev=$(stat -c '%t:%T' /dev/kvm)
	if [ "$dev" = a:e8 ]; then
		lab_result dev-kvm PASS "/dev/kvm is char 10:232"
	else
		lab_result dev-kvm FAIL "/dev/kvm is char 0x$dev, not 10:232"
	fi
else
	lab_result dev-kvm FAIL "/dev/kvm does not exist"
fi
