# SPDX-License-Identifier: Apache-2.0
# Finds nvcc and enables the CUDA language for the whole project, or sets
# VACCEL_HAVE_CUDA OFF. Included from the top-level CMakeLists.txt because
# enable_language() must run in the highest directory common to every
# target that compiles or links CUDA code: the cuda plugin (plugins/cuda)
# and bench_cuda (bench/), which links the plugin's kernel objects.
# Enabled only in plugins/cuda, the language and CMAKE_CUDA_ARCHITECTURES
# were unknown in bench/; the Ninja generator tolerated that, Unix
# Makefiles did not ("CUDA_ARCHITECTURES is empty for target bench_cuda").
#
# Hide nvcc with -DCMAKE_CUDA_COMPILER=NOTFOUND.
set(VACCEL_HAVE_CUDA OFF)

# nvcc is often installed in /usr/local/cuda/bin without being on PATH: point
# the language check at it there.
if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
  find_program(VACCEL_NVCC nvcc HINTS /usr/local/cuda/bin)
  if(VACCEL_NVCC)
    set(ENV{CUDACXX} ${VACCEL_NVCC})
  endif()
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "vaccel: CUDA compiler (nvcc) not found, skipping the cuda plugin")
  return()
endif()

# Turing, Ampere and Hopper machine code, plus compute_90 PTX that the driver
# JIT-compiles for newer GPUs. Override with -DCMAKE_CUDA_ARCHITECTURES=...
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "75-real;80-real;90")
endif()
enable_language(CUDA)
find_package(CUDAToolkit)
if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cublas OR NOT TARGET CUDA::cudart_static)
  message(STATUS "vaccel: CUDA toolkit (cudart, cuBLAS) not found, skipping the cuda plugin")
  return()
endif()
set(VACCEL_HAVE_CUDA ON)

# vaccel_cuda_standard(<target>...): targets that link CUDA objects but
# compile C++20. Unless CUDA_STANDARD is set, CMake gives a target's CUDA
# the standard of its C++ (20 here, from cxx_std_20), which the CMake
# versions we support cannot ask of nvcc; the Makefile generator computes
# CUDA flags for every language a target links (Ninja only for those it
# compiles) and failed on that: "requires the language dialect CUDA20".
# The kernels themselves are C++17 (plugins/cuda).
function(vaccel_cuda_standard)
  set_target_properties(${ARGN} PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
endfunction()
