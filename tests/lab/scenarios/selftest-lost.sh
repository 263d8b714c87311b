#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm xen
#
# Harness self-test: a result is counted by the guest but its marker line is
# mangled on the console (as a kernel message written into its middle would),
# so lab.sh must notice that the counts differ.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh
lab_result selftest-good PASS "expected to pass"
echo "PASS selftest-mangled" >>"$LAB_RESULTS"
echo "HVABS-RES[ 1.234] kernel noise ULT selftest-mangled PASS"
