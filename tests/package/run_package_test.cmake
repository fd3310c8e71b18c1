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
# 3. The data in share/vaccel, used from the scratch prefix (nothing in it
# may point back at the build tree or at /usr).
foreach(f labels/imagenet.txt labels/fashion_mnist.txt images/example.jpg
          input/input_2048.csv models/cnn_trace.pt
          models/fashion_mnist/torch/model.cfg
          models/fashion_mnist/opencv/fashion_mnist.onnx)
  if(NOT EXISTS ${prefix}/share/vaccel/${f})
    message(FATAL_ERROR "install is missing share/vaccel/${f}")
  endif()
endforeach()
if(WITH_TORCH)
  set(data ${prefix}/share/vaccel)
  file(GLOB samples ${data}/images/fashion/*.png)
  run(${CMAKE_COMMAND} -E env VACCEL_PLUGINS=libvaccel-torch.so
      ${prefix}/bin/classify_batch ${data}/models/fashion_mnist/torch
      ${data}/images/fashion)
  # Each sample's name carries its true label (0002_trouser.png).
  string(REGEX MATCHALL "result [^\n]*" lines "${last_out}")
  list(LENGTH lines n)
  if(NOT n EQUAL 10)
    message(FATAL_ERROR "classify_batch from the install: ${last_out}")
  endif()
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "/[0-9]+_([a-z-]+)\\.png (.+) [0-9]+$")
      message(FATAL_ERROR "unexpected line: ${line}")
    endif()
    set(truth ${CMAKE_MATCH_1})
    string(TOLOWER "${CMAKE_MATCH_2}" label)
    string(REGEX REPLACE "[ /]" "-" label "${label}")
    if(NOT label STREQUAL truth)
      message(FATAL_ERROR "installed model: ${line} (expected ${truth})")
    endif()
  endforeach()
  # The default labels, found relative to the installed plugin: upstream's
  # 10-output model against them is refused with the path in the message.
  execute_process(COMMAND ${CMAKE_COMMAND} -E env VACCEL_PLUGINS=libvaccel-torch.so
                  ${prefix}/bin/classify ${data}/images/example.jpg 1
                  ${data}/models/cnn_trace.pt
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(FIND "${err}" "${data}/labels/imagenet.txt" at)
  if(rc EQUAL 0 OR at EQUAL -1)
    message(FATAL_ERROR "default labels not found in the prefix (rc ${rc}): ${err}")
  endif()
endif()
message(STATUS "package test passed")
