# SPDX-License-Identifier: Apache-2.0
# One interface target carries the project's warning and sanitizer flags.
add_library(vaccel_build_flags INTERFACE)
target_compile_options(vaccel_build_flags INTERFACE
  -Wall -Wextra -Wshadow -Wformat=2 -Wundef -Wno-unused-parameter
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual>
  $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes -Wmissing-prototypes>)
if(VACCEL_WERROR)
  target_compile_options(vaccel_build_flags INTERFACE -Werror)
endif()
if(VACCEL_SANITIZE)
  add_compile_options(-fsanitize=${VACCEL_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${VACCEL_SANITIZE})
endif()
