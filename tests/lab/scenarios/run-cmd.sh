#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# lab-modes: kvm xen
#
# Runs the command line in /payload/cmd (lab.sh --cmd '...') with sh -e, in
# /payload, with /hvabs/bin on PATH and HVABS_BACKEND_PATH=/hvabs/backends.
# One result: run-cmd PASS if it exits 0. hvabs.cmd_name=NAME renames it.
# shellcheck source=../lab-lib.sh
. /lab/lib.sh

name=$(lab_param cmd_name run-cmd)
if [ ! -f /payload/cmd ]; then
	lab_result "$name" FAIL "no /payload/cmd (lab.sh --cmd '...')"
	exit 1
fi
cd /payload || exit 1
lab_log "run-cmd: $(cat /payload/cmd)"
t0=$(lab_uptime)
sh -e /payload/cmd
rc=$?
if [ $rc = 0 ]; then
	lab_result "$name" PASS "rc=0 in $(lab_elapsed "$t0")s"
else
	lab_result "$name" FAIL "rc=$rc in $(lab_elapsed "$t0")s"
fi
