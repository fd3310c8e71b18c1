# SPDX-License-Identifier: Apache-2.0
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_out "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/vaccel.h include/vaccel.hpp include/vaccel/version.h
          lib/libvaccel.so lib/libvaccel-noop.so lib/libvaccel-exec.so
          lib/pkgconfig/vaccel.pc lib/cmake/vaccel/vaccelConfig.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install is missing ${f}")
  endif()
endforeach()

# 1. find_package(vaccel)
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/cmake-build -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build)
run(${CMAKE_COMMAND} -E env VACCEL_PLUGINS=libvaccel-noop.so
    ${WORK_DIR}/cmake-build/consumer_c)
if(NOT last_out MATCHES "noop: ok")
  message(FATAL_ERROR "find_package consumer printed: ${last_out}")
endif()
run(${CMAKE_COMMAND} -E env VACCEL_PLUGINS=libvaccel-noop.so
    ${WORK_DIR}/cmake-build/consumer_cxx)
if(NOT last_out MATCHES "noop: ok")
  message(FATAL_ERROR "C++ consumer printed: ${last_out}")
endif()

# 2. pkg-config (the .pc file is relocatable: no PREFIX override needed)
execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${prefix}/lib/pkgconfig
                pkg-config --cflags --libs vaccel
                RESULT_VARIABLE rc OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config vaccel failed")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run(cc -std=c11 -Wall -Werror ${CONSUMER_DIR}/consumer.c ${flags}
    -Wl,-rpath,${prefix}/lib -o ${WORK_DIR}/consumer_pc)
run(${CMAKE_COMMAND} -E env VACCEL_PLUGINS=libvaccel-noop.so ${WORK_DIR}/consumer_pc)
if(NOT last_out MATCHES "noop: ok")
  message(FATAL_ERROR "pkg-config consumer printed: ${last_out}")
endif()
message(STATUS "package test passed")
