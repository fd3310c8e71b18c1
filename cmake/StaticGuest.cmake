# SPDX-License-Identifier: Apache-2.0
# Static guest build (VACCEL_STATIC_GUEST, docs/guests.md).
#
# What a VM or unikernel guest runs: libvaccel-guest.a, the runtime with the
# rpc transport plugin linked in (registered at bootstrap, no dlopen, no
# configuration file needed: VACCEL_RPC_ADDRESS or the plugin's default),
# without libcurl (URL resources fail with VACCEL_ENOTSUP, see
# guest/static/no_fetch.cpp), without OpenSSL (no TLS to the agent, see
# guest/static/no_tls.cpp), without dlopen (guest/static/no_dl.c) and with
# toml++ header-only; and the C examples
# linked into fully static binaries (glibc, libstdc++ and protobuf-lite from
# their .a files) in <build>/guest/bin. guest/build-initramfs.sh packs them.
#
# Targets: vaccel_guest (libvaccel-guest.a), guest-<example> for each
# example, the benchmark programs guest-vaccel-lat and guest-vport-ping (and
# their host counterparts guest-host-vaccel-lat, guest-host-vport-echo), and
# the umbrella target `guest-examples`.
#
# Included from the top-level CMakeLists.txt after src/, plugins/ and
# examples/: it compiles their sources a second time, non-PIC.

if(VACCEL_SANITIZE)
  message(STATUS "vaccel: static guest build skipped (sanitizers cannot be linked statically)")
  return()
endif()
if(NOT TARGET vaccel_transport OR NOT TARGET vaccel-rpc)
  message(STATUS "vaccel: static guest build skipped (no rpc transport: protobuf missing)")
  return()
endif()

# Every archive a static link needs; Debian ships them in libc6-dev,
# libstdc++-12-dev and libprotobuf-dev.
find_library(VACCEL_PROTOBUF_LITE_STATIC NAMES libprotobuf-lite.a)
find_file(VACCEL_LIBC_STATIC NAMES libc.a
          PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE} /usr/lib NO_DEFAULT_PATH)
execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libstdc++.a
                OUTPUT_VARIABLE VACCEL_LIBSTDCXX_STATIC OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT VACCEL_PROTOBUF_LITE_STATIC OR NOT VACCEL_LIBC_STATIC
   OR NOT IS_ABSOLUTE "${VACCEL_LIBSTDCXX_STATIC}")
  message(STATUS "vaccel: static guest build skipped (needs libprotobuf-lite.a, "
                 "libc.a and libstdc++.a: libprotobuf-dev, libc6-dev, g++)")
  return()
endif()

set(VACCEL_GUEST_BUILD_DIR ${CMAKE_BINARY_DIR}/guest)
set(VACCEL_GUEST_BIN_DIR ${VACCEL_GUEST_BUILD_DIR}/bin)

# ---- libvaccel-guest.a ------------------------------------------------------
file(GLOB guest_core_sources CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/src/base/*.cpp
     ${PROJECT_SOURCE_DIR}/src/core/*.cpp
     ${PROJECT_SOURCE_DIR}/src/capi/*.cpp)
list(FILTER guest_core_sources EXCLUDE REGEX "/core/fetch\\.cpp$")
# The transport's generated protobuf messages (made by vaccel_transport's
# protoc command; the dependency below orders the two).
get_target_property(transport_sources vaccel_transport SOURCES)
set(guest_transport_sources)
foreach(s ${transport_sources})
  if(s MATCHES "\\.pb\\.cc$")
    list(APPEND guest_transport_sources ${s})
  endif()
endforeach()
list(TRANSFORM guest_transport_sources PREPEND ${PROJECT_SOURCE_DIR}/src/transport/
     REGEX "^[^/]")
set_source_files_properties(${guest_transport_sources} PROPERTIES
  GENERATED ON COMPILE_OPTIONS "-w;-Wno-error")

# The rpc plugin's sources, as its target lists them.
get_target_property(guest_rpc_sources vaccel-rpc SOURCES)
list(TRANSFORM guest_rpc_sources PREPEND ${PROJECT_SOURCE_DIR}/plugins/rpc/)

add_library(vaccel_guest STATIC
  ${guest_core_sources}
  ${PROJECT_SOURCE_DIR}/guest/static/no_fetch.cpp
  ${PROJECT_SOURCE_DIR}/guest/static/no_dl.c
  ${PROJECT_SOURCE_DIR}/guest/static/no_tls.cpp
  ${PROJECT_SOURCE_DIR}/guest/static/sha256.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/address.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/stream.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/read_ahead.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/listener.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/framing.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/codec.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/sandbox_memory.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/spin.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/spare_cores.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/copy_crew.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/trace_file.cpp
  ${PROJECT_SOURCE_DIR}/src/transport/digest_index.cpp
  ${guest_rpc_sources}
  ${guest_transport_sources})
add_dependencies(vaccel_guest vaccel_transport)
set_target_properties(vaccel_guest PROPERTIES
  OUTPUT_NAME vaccel-guest
  ARCHIVE_OUTPUT_DIRECTORY ${VACCEL_GUEST_BUILD_DIR}/lib
  POSITION_INDEPENDENT_CODE OFF)
target_include_directories(vaccel_guest
  PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include
  PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_include_directories(vaccel_guest SYSTEM PRIVATE
  ${PROJECT_BINARY_DIR}/src/transport/gen)
# VACCEL_BUILTIN_PLUGIN: src/core/runtime.cpp registers the linked-in rpc
# plugin at bootstrap. TOML_HEADER_ONLY: no libtomlplusplus.so to link.
target_compile_definitions(vaccel_guest PRIVATE
  VACCEL_BUILTIN_PLUGIN TOML_HEADER_ONLY=1)
target_compile_features(vaccel_guest PUBLIC cxx_std_20)
target_link_libraries(vaccel_guest
  PUBLIC ${VACCEL_PROTOBUF_LITE_STATIC}
  PRIVATE vaccel_build_flags)
target_link_options(vaccel_guest INTERFACE -static -pthread)

# ---- static example binaries ------------------------------------------------
add_library(vaccel_guest_examples_common STATIC
  ${PROJECT_SOURCE_DIR}/examples/common/example.c
  ${PROJECT_SOURCE_DIR}/examples/common/input.c
  ${PROJECT_SOURCE_DIR}/examples/common/results.c)
set_target_properties(vaccel_guest_examples_common PROPERTIES
  ARCHIVE_OUTPUT_DIRECTORY ${VACCEL_GUEST_BUILD_DIR}/lib
  POSITION_INDEPENDENT_CODE OFF)
target_include_directories(vaccel_guest_examples_common PUBLIC ${PROJECT_SOURCE_DIR}/examples)
target_link_libraries(vaccel_guest_examples_common PUBLIC vaccel_guest PRIVATE vaccel_build_flags)

add_custom_target(guest-examples)

# vaccel_guest_program(<name> SOURCES <src>... [DEFINITIONS <def>...])
# Static binary <build>/guest/bin/<name>, target guest-<name>.
function(vaccel_guest_program name)
  cmake_parse_arguments(G "" "" "SOURCES;DEFINITIONS" ${ARGN})
  set(target guest-${name})
  add_executable(${target} ${G_SOURCES})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${VACCEL_GUEST_BIN_DIR}
    POSITION_INDEPENDENT_CODE OFF
    # C programs over a C++ library: the C++ driver links libstdc++.
    LINKER_LANGUAGE CXX)
  target_compile_definitions(${target} PRIVATE ${G_DEFINITIONS})
  target_link_libraries(${target} PRIVATE vaccel_guest_examples_common vaccel_build_flags)
  # glibc warns that getaddrinfo needs its shared libraries (NSS) at run
  # time: only for tcp:// addresses that name a host; numeric addresses,
  # which guests use, are parsed without them.
  target_link_options(${target} PRIVATE -static -no-pie)
  add_dependencies(guest-examples ${target})
endfunction()

set(ex ${PROJECT_SOURCE_DIR}/examples)
vaccel_guest_program(noop SOURCES ${ex}/noop.c)
foreach(op classify detect segment pose depth)
  string(TOUPPER ${op} op_upper)
  vaccel_guest_program(${op} SOURCES ${ex}/image.c
                       DEFINITIONS EXAMPLE_IMAGE_OP=VACCEL_OP_IMAGE_${op_upper})
  vaccel_guest_program(${op}_generic SOURCES ${ex}/image.c
                       DEFINITIONS EXAMPLE_IMAGE_OP=VACCEL_OP_IMAGE_${op_upper}
                                   EXAMPLE_USE_GENOP)
endforeach()
vaccel_guest_program(exec SOURCES ${ex}/exec.c)
vaccel_guest_program(exec_generic SOURCES ${ex}/exec.c DEFINITIONS EXAMPLE_USE_GENOP)
vaccel_guest_program(exec_with_resource SOURCES ${ex}/exec_with_resource.c)
vaccel_guest_program(sgemm SOURCES ${ex}/sgemm.c)
vaccel_guest_program(sgemm_generic SOURCES ${ex}/sgemm.c DEFINITIONS EXAMPLE_USE_GENOP)
vaccel_guest_program(minmax SOURCES ${ex}/minmax.c)
vaccel_guest_program(torch_inference SOURCES ${ex}/torch_inference.c)
vaccel_guest_program(tflite_inference SOURCES ${ex}/tflite_inference.c)
vaccel_guest_program(mbench SOURCES ${ex}/mbench.c)
vaccel_guest_program(classify_batch SOURCES ${ex}/classify_batch.c)
vaccel_guest_program(noop_cxx SOURCES ${ex}/cxx/noop.cpp)
vaccel_guest_program(classify_cxx SOURCES ${ex}/cxx/classify.cpp)

message(STATUS "vaccel: static guest build enabled (${VACCEL_GUEST_BIN_DIR})")

# ---- benchmarks (guest/bench/run-bench.sh, docs/guests.md) ------------------
# vaccel-lat and vport-ping go into the guest image with the examples; the
# host gets vaccel-lat linked against libvaccel.so and the echo for the
# ping port.
vaccel_guest_program(vaccel-lat SOURCES ${PROJECT_SOURCE_DIR}/guest/bench/vaccel_lat.c)
# Data through the sandbox memory or the transport: the VM tests' byte-exact
# checks and the guest benchmark's sizes (docs/guests.md).
vaccel_guest_program(vaccel-shm SOURCES ${PROJECT_SOURCE_DIR}/guest/bench/vaccel_shm.c)
# The cold-start benchmark's function (scripts/bench_coldstart.py).
vaccel_guest_program(coldstart-client SOURCES ${PROJECT_SOURCE_DIR}/bench/coldstart/coldstart_client.c)
add_executable(guest-vport-ping ${PROJECT_SOURCE_DIR}/guest/bench/vport_ping.c)
set_target_properties(guest-vport-ping PROPERTIES
  OUTPUT_NAME vport-ping RUNTIME_OUTPUT_DIRECTORY ${VACCEL_GUEST_BIN_DIR})
target_link_libraries(guest-vport-ping PRIVATE vaccel_build_flags)
target_link_options(guest-vport-ping PRIVATE -static)
add_dependencies(guest-examples guest-vport-ping)

set(VACCEL_GUEST_HOST_BIN_DIR ${VACCEL_GUEST_BUILD_DIR}/host-bin)
add_executable(guest-host-vaccel-lat ${PROJECT_SOURCE_DIR}/guest/bench/vaccel_lat.c)
set_target_properties(guest-host-vaccel-lat PROPERTIES
  OUTPUT_NAME vaccel-lat RUNTIME_OUTPUT_DIRECTORY ${VACCEL_GUEST_HOST_BIN_DIR})
target_link_libraries(guest-host-vaccel-lat PRIVATE vaccel::vaccel vaccel_build_flags)
add_executable(guest-host-vport-echo ${PROJECT_SOURCE_DIR}/guest/bench/vport_echo.c)
set_target_properties(guest-host-vport-echo PROPERTIES
  OUTPUT_NAME vport-echo RUNTIME_OUTPUT_DIRECTORY ${VACCEL_GUEST_HOST_BIN_DIR})
target_link_libraries(guest-host-vport-echo PRIVATE vaccel_build_flags)
