# SPDX-License-Identifier: Apache-2.0
# One interface target carries the project's warning and sanitizer flags.
add_library(vaccel_build_flags INTERFACE)
target_compile_options(vaccel_build_flags INTERFACE
  -Wall -Wextra -Wshadow -Wformat=2 -Wundef -Wno-unused-parameter
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual>
  $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes -Wmissing-prototypes>)
if(VACCEL_WERROR)
  target_compile_options(vaccel_build_flags INTERFACE -Werror)
  # GCC 12 at -O3 reports std::string concatenations as overlapping
  # memcpy calls (GCC bug 105651, a false positive fixed in GCC 13): keep
  # it a warning there, or the release preset cannot build.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND
     CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(vaccel_build_flags INTERFACE
      $<$<COMPILE_LANGUAGE:CXX>:-Wno-error=restrict>)
  endif()
endif()
if(VACCEL_SANITIZE)
  add_compile_options(-fsanitize=${VACCEL_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${VACCEL_SANITIZE})
endif()
