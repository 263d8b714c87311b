# SPDX-License-Identifier: Apache-2.0
#
# hvabs_lab_test(): one CTest test that runs a scenario inside the QEMU-TCG lab
# (tests/lab/lab.sh). Any CMakeLists.txt can include this file:
#
#   include(${PROJECT_SOURCE_DIR}/tests/lab/hvabs_lab.cmake)
#   hvabs_lab_test(contract.kvm.lab MODE kvm SCENARIO run-cmd
#                  BINS contract CMD "contract kvm" LABELS contract)
#
# hvabs_lab_test(NAME [MODE kvm|xen] SCENARIO NAME [BINS target|file ...]
#                [PAYLOAD dir] [CMD "command line"] [PARAMS key=value ...]
#                [LABELS ...] [TIMEOUT seconds] [ARGS lab.sh options ...])
#
# BINS are target names or paths; with BINS the build's backend plugins go in
# too. The test is labelled "lab" (plus LABELS; Xen runs should add xen-real),
# writes its console log to <build>/<dir>/NAME.log and holds the CTest
# resource lock "hvabs-lab", so that CTest never boots two lab VMs at once.
# TIMEOUT (default 600) is the VM's own limit; CTest's limit adds the time
# lab.sh may spend outside the VM: the first run's package installs and
# kernel download, and waiting for another lab run (HVABS_LAB_LOCK_WAIT).

set(HVABS_LAB_LOCK_WAIT 900 CACHE STRING "Seconds a lab test waits for another lab run")
set(HVABS_LAB_SETUP_ALLOWANCE 1200 CACHE STRING "Seconds allowed for a lab test's first-run setup")

function(hvabs_lab_test name)
  cmake_parse_arguments(L "" "MODE;SCENARIO;PAYLOAD;CMD;TIMEOUT" "BINS;PARAMS;LABELS;ARGS" ${ARGN})
  if(NOT L_SCENARIO)
    message(FATAL_ERROR "hvabs_lab_test(${name}): SCENARIO is required")
  endif()
  if(NOT L_MODE)
    set(L_MODE kvm)
  endif()
  if(NOT L_TIMEOUT)
    set(L_TIMEOUT 600)
  endif()
  set(cmd ${PROJECT_SOURCE_DIR}/tests/lab/lab.sh --mode ${L_MODE} --scenario ${L_SCENARIO}
    --timeout ${L_TIMEOUT} --lock-wait ${HVABS_LAB_LOCK_WAIT}
    --log ${CMAKE_CURRENT_BINARY_DIR}/${name}.log)
  if(L_BINS)
    list(APPEND cmd --build ${CMAKE_BINARY_DIR})
    foreach(b IN LISTS L_BINS)
      if(b MATCHES "/")
        list(APPEND cmd --bin ${b})
      else()
        # Generator expression: the target may be defined after this call.
        list(APPEND cmd --bin $<TARGET_FILE:${b}>)
      endif()
    endforeach()
  endif()
  if(L_PAYLOAD)
    list(APPEND cmd --payload ${L_PAYLOAD})
  endif()
  if(DEFINED L_CMD)
    list(APPEND cmd --cmd ${L_CMD})
  endif()
  foreach(p IN LISTS L_PARAMS)
    list(APPEND cmd --param ${p})
  endforeach()
  list(APPEND cmd ${L_ARGS})
  add_test(NAME ${name} COMMAND ${cmd})
  math(EXPR limit "${L_TIMEOUT} + ${HVABS_LAB_LOCK_WAIT} + ${HVABS_LAB_SETUP_ALLOWANCE}")
  set_tests_properties(${name} PROPERTIES LABELS "lab;${L_LABELS}" TIMEOUT ${limit}
    RESOURCE_LOCK hvabs-lab)
endfunction()
