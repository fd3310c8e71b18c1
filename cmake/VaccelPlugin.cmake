# SPDX-License-Identifier: Apache-2.0
# vaccel_add_plugin(<name> SOURCES <src>... [LIBRARIES <lib>...])
# Builds libvaccel-<name>.so with the project's flags, hidden visibility (only
# the `vaccel_plugin` symbol is exported) and installs it next to libvaccel.
function(vaccel_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target vaccel-${name})
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES PREFIX "lib" OUTPUT_NAME vaccel-${name})
  target_link_libraries(${target} PRIVATE vaccel::vaccel vaccel_build_flags ${P_LIBRARIES})
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  install(TARGETS ${target} LIBRARY DESTINATION ${VACCEL_PLUGIN_INSTALL_DIR} COMPONENT plugins)
endfunction()
