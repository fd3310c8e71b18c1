# SPDX-License-Identifier: Apache-2.0
# Runs one example program and checks it like a user would read it:
#   cmake -DSPEC=<file> -P run_example.cmake
# SPEC (written by tests/examples/CMakeLists.txt) sets:
#   PROGRAM      the program
#   ARGS         its arguments
#   EXPECT       lines its stdout must contain, whole and in this order
#                (other lines may come between them)
#   EXPECT_RC    its exit status (default 0)
#   EXPECT_ERR   regex its stderr must match (optional)
#   FORBID_ERR   regex its stderr must not match (default: the examples'
#                own failure messages; NONE: no check)
# The program's environment is the test's (ENVIRONMENT property).
cmake_policy(VERSION 3.25)
if(NOT DEFINED SPEC OR NOT EXISTS "${SPEC}")
  message(FATAL_ERROR "run_example: SPEC file '${SPEC}' not found")
endif()
set(EXPECT_RC 0)
set(FORBID_ERR "Could not|Usage:")
include("${SPEC}")

execute_process(COMMAND "${PROGRAM}" ${ARGS}
                RESULT_VARIABLE rc
                OUTPUT_VARIABLE out
                ERROR_VARIABLE err
                TIMEOUT 120)
# Shown by ctest --output-on-failure / -V.
message("---- stdout\n${out}---- stderr\n${err}---- exit status: ${rc}")

set(failures "")
if(NOT "${rc}" STREQUAL "${EXPECT_RC}")
  string(APPEND failures "\n  exit status ${rc}, expected ${EXPECT_RC}")
endif()

# Match expected lines, in order, against whole stdout lines.
string(REPLACE "\r" "" out "${out}")
string(REPLACE ";" "\\;" out_escaped "${out}")
string(REPLACE "\n" ";" out_lines "${out_escaped}")
list(LENGTH out_lines nr_lines)
set(pos 0)
foreach(want IN LISTS EXPECT)
  set(found -1)
  while(pos LESS nr_lines)
    list(GET out_lines ${pos} line)
    math(EXPR pos "${pos} + 1")
    if("${line}" STREQUAL "${want}")
      set(found ${pos})
      break()
    endif()
  endwhile()
  if(found EQUAL -1)
    string(APPEND failures "\n  missing stdout line (in order): '${want}'")
    break()
  endif()
endforeach()

if(DEFINED EXPECT_ERR AND NOT err MATCHES "${EXPECT_ERR}")
  string(APPEND failures "\n  stderr does not match '${EXPECT_ERR}'")
endif()
if(NOT FORBID_ERR STREQUAL "NONE" AND err MATCHES "${FORBID_ERR}")
  string(APPEND failures "\n  stderr matches '${FORBID_ERR}'")
endif()

if(NOT failures STREQUAL "")
  message(FATAL_ERROR "${PROGRAM}:${failures}")
endif()
