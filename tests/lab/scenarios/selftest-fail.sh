#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm xen
#
# Harness self-test (tests/lab/selftest.sh): one result passes, one fails on
# purpose, so lab.sh must exit 1 and name the failure.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh
lab_result selftest-good PASS "expected to pass"
lab_result selftest-bad FAIL "failing on purpose"
