# Common compile options for every segmenta target.
add_library(segmenta_options INTERFACE)
target_compile_options(segmenta_options INTERFACE
  -Wall -Wextra -Wpedantic -Wno-unused-parameter
  $<$<CONFIG:Release,RelWithDebInfo>:-O3>)
if(SEGMENTA_NATIVE)
  target_compile_options(segmenta_options INTERFACE -march=native)
endif()
if(SEGMENTA_SANITIZE)
  target_compile_options(segmenta_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(segmenta_options INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(segmenta_options INTERFACE
  "${PROJECT_SOURCE_DIR}/include" "${PROJECT_SOURCE_DIR}/src")

# segmenta_module(<name> DEPS <targets...>)
# Declares the library segmenta_<name> from every .cpp in the calling directory.
# Public dependencies are other modules (segmenta_<x>) or imported targets.
function(segmenta_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp")
  if(NOT sources)
    message(STATUS "segmenta: module ${name} has no sources yet")
    return()
  endif()
  add_library(segmenta_${name} STATIC ${sources})
  target_link_libraries(segmenta_${name} PUBLIC segmenta_options ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  set_property(GLOBAL APPEND PROPERTY SEGMENTA_MODULES segmenta_${name})
endfunction()
