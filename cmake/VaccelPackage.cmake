# SPDX-License-Identifier: Apache-2.0
# find_package(vaccel) and pkg-config support for installed trees.
include(CMakePackageConfigHelpers)
set(VACCEL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/vaccel)
install(EXPORT vaccelTargets NAMESPACE vaccel:: DESTINATION ${VACCEL_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/vaccelConfig.cmake.in
  ${PROJECT_BINARY_DIR}/vaccelConfig.cmake INSTALL_DESTINATION ${VACCEL_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vaccelConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vaccelConfig.cmake ${PROJECT_BINARY_DIR}/vaccelConfigVersion.cmake
  DESTINATION ${VACCEL_CMAKE_DIR} COMPONENT dev)
configure_file(${PROJECT_SOURCE_DIR}/cmake/vaccel.pc.in ${PROJECT_BINARY_DIR}/vaccel.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vaccel.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
