#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm xen
#
# Harness self-test: never finishes, so lab.sh's time limit must end the run
# and report the timeout.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh
lab_log "selftest-hang: sleeping forever"
while :; do
	sleep 3600
done
