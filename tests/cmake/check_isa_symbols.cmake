# Fails when an object file compiled with instruction-set flags (src/kernels/isa_*.cpp,
# and the <stem>_isa_<set>.cpp variants of segmenta_isa_variants) defines a weak symbol that another translation unit could define too: the linker
# keeps one copy of such a symbol (an inline function, a template instantiation), and
# if it kept the AVX-512 one, code meant for any CPU would run AVX-512 instructions.
# Weak symbols must therefore carry the file's instruction-set tag (simd::Avx2, ...)
# or namespace (isa_avx2, ...).
#
#   cmake -DNM=<nm> -DOBJECTS="<obj>;<obj>..." -P check_isa_symbols.cmake
cmake_minimum_required(VERSION 3.25)

set(failures "")
set(checked 0)
foreach(obj ${OBJECTS})
  get_filename_component(name "${obj}" NAME)
  if(NOT name MATCHES "(^|_)isa_([a-z0-9]+)\\.cpp\\.o$")
    continue()
  endif()
  execute_process(COMMAND "${NM}" -C --defined-only "${obj}" OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${obj}")
  endif()
  math(EXPR checked "${checked} + 1")
  string(REPLACE "\n" ";" lines "${out}")
  foreach(line ${lines})
    # Weak symbols: W, V (weak object), u (unique global).
    if(NOT line MATCHES "^[0-9a-fA-F]* [WVu] (.*)$")
      continue()
    endif()
    set(sym "${CMAKE_MATCH_1}")
    if(sym MATCHES "simd::(Portable|Avx2|Avx512)" OR sym MATCHES "::isa_(portable|avx2|avx512)::" OR sym MATCHES "^DW\\.ref\\.__gxx_personality_v0$")
      continue()
    endif()
    list(APPEND failures "${name}: ${sym}")
  endforeach()
endforeach()

if(checked EQUAL 0)
  message(FATAL_ERROR "no isa_*.cpp.o among the objects given")
endif()
if(failures)
  list(JOIN failures "\n  " text)
  message(FATAL_ERROR "weak symbols shared across instruction sets:\n  ${text}")
endif()
message(STATUS "${checked} instruction-set objects define no shared weak symbol")
