#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm
#
# Harness self-test: the L1 kernel crashes in the middle of the scenario, so
# there is no HVABS-LAB-DONE; QEMU must exit at once (panic=-1, -no-reboot) and
# lab.sh must fail the run without waiting for its time limit.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh
lab_result selftest-good PASS "before the crash"
echo 1 >/proc/sys/kernel/sysrq
echo c >/proc/sysrq-trigger
sleep 3600
