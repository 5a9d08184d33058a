# Runs before project(): when the nvcc on PATH is CUDA 11.x and no host compiler was given, use
# g++-11 (the newest GCC CUDA 11.8 accepts). CUDA 12/13 work with the default compiler.
if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER AND NOT DEFINED ENV{CUDAHOSTCXX} AND NOT MOR_CUDA STREQUAL "OFF")
  find_program(_mor_nvcc nvcc)
  if(_mor_nvcc)
    execute_process(COMMAND ${_mor_nvcc} --version OUTPUT_VARIABLE _mor_nvcc_version ERROR_QUIET)
    if(_mor_nvcc_version MATCHES "release 11\\.")
      find_program(_mor_gxx11 g++-11)
      if(_mor_gxx11)
        set(CMAKE_CUDA_HOST_COMPILER ${_mor_gxx11} CACHE FILEPATH "CUDA host compiler")
      endif()
    endif()
  endif()
endif()
