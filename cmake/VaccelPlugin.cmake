# SPDX-License-Identifier: Apache-2.0
# vaccel_add_plugin(<name> SOURCES <src>... [LIBRARIES <lib>...])
# Builds libvaccel-<name>.so with the project's flags and hidden visibility,
# links it with vaccel-plugin.map so that it exports only what the loader
# looks up (`vaccel_plugin`), and installs it next to libvaccel. The global
# property VACCEL_PLUGIN_TARGETS lists the plugins, for the export test.
set(VACCEL_PLUGIN_MAP ${CMAKE_CURRENT_LIST_DIR}/vaccel-plugin.map)
function(vaccel_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target vaccel-${name})
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES PREFIX "lib" OUTPUT_NAME vaccel-${name})
  target_link_libraries(${target} PRIVATE vaccel::vaccel vaccel_build_flags ${P_LIBRARIES})
  target_link_options(${target} PRIVATE -Wl,--no-undefined
                      -Wl,--version-script=${VACCEL_PLUGIN_MAP})
  # A C++ plugin stays loaded once loaded (dlclose() leaves it mapped), as
  # C++ plugins were before the version script hid their symbols (their
  # STB_GNU_UNIQUE inline statics made glibc keep them): the libraries they
  # bring in (OpenCL ICDs and their LLVM, OpenSSL, libtorch) keep
  # process-wide state and exit handlers that must not outlive their code.
  list(FILTER P_SOURCES INCLUDE REGEX "\\.(cpp|cc|cxx)$")
  if(P_SOURCES)
    target_link_options(${target} PRIVATE -Wl,-z,nodelete)
  endif()
  # Relink when the list of exported symbols changes.
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${VACCEL_PLUGIN_MAP})
  set_property(GLOBAL APPEND PROPERTY VACCEL_PLUGIN_TARGETS ${target})
  install(TARGETS ${target} LIBRARY DESTINATION ${VACCEL_PLUGIN_INSTALL_DIR} COMPONENT plugins)
endfunction()
