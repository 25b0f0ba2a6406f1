# Fails when a source file that must be compiled without floating-point contraction
# lost -ffp-contract=off (a renamed or split file, a COMPILE_OPTIONS overwritten).
#
#   cmake -DCOMPILE_COMMANDS=<build>/compile_commands.json -DSOURCE_DIR=<repo> -P check_fp_contract.cmake
#
# Which files must have it:
#  * the files matching the patterns below (relative to SOURCE_DIR), each pattern
#    matching at least one file: k-means and the knee locator reproduce numpy's
#    roundings, k-prototypes reproduces kmodes bit for bit, and the per-instruction-set
#    kernel files promise results identical across instruction sets; prep and
#    outliers (flag set for the whole module) reproduce scikit-learn's and pyod's
#    roundings; the dispersion indices and the t-SNE map are the same on every build target;
#  * every file that includes a kernel implementation header (kernels/simd.hpp or
#    kernels/distance_kernels.hpp), wherever it lives.
cmake_minimum_required(VERSION 3.25)

set(patterns
  "src/cluster/kmeans*.cpp"
  "src/cluster/knee*.cpp"
  "src/cluster/kprototypes*.cpp"
  "src/kernels/isa_*.cpp"
  "src/metrics/dispersion*.cpp"
  "src/outliers/*.cpp"
  "src/prep/*.cpp"
  "src/reduce/tsne*.cpp"
  "src/explain/profiles.cpp"
  "src/reduce/fft.cpp")

if(NOT EXISTS "${COMPILE_COMMANDS}")
  message(FATAL_ERROR "no compile database at ${COMPILE_COMMANDS} (configure with CMAKE_EXPORT_COMPILE_COMMANDS=ON)")
endif()
file(READ "${COMPILE_COMMANDS}" db)
string(JSON count LENGTH "${db}")

# file -> command
set(compiled_files "")
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON f GET "${db}" ${i} file)
  string(JSON cmd ERROR_VARIABLE no_command GET "${db}" ${i} command)
  if(no_command)
    string(JSON cmd GET "${db}" ${i} arguments)
  endif()
  file(REAL_PATH "${f}" f)
  list(APPEND compiled_files "${f}")
  string(MD5 key "${f}")
  set(cmd_${key} "${cmd}")
endforeach()

set(required "")
foreach(pattern ${patterns})
  file(GLOB matched "${SOURCE_DIR}/${pattern}")
  if(NOT matched)
    message(FATAL_ERROR "no file matches ${pattern}: update tests/cmake/check_fp_contract.cmake")
  endif()
  list(APPEND required ${matched})
endforeach()
file(GLOB_RECURSE all_sources "${SOURCE_DIR}/src/*.cpp" "${SOURCE_DIR}/apps/*.cpp" "${SOURCE_DIR}/bench/*.cpp"
     "${SOURCE_DIR}/tests/*.cpp")
foreach(src ${all_sources})
  file(STRINGS "${src}" hits REGEX "#include \"kernels/(simd|distance_kernels)\\.hpp\"")
  if(hits)
    list(APPEND required "${src}")
  endif()
endforeach()
list(REMOVE_DUPLICATES required)

set(failures "")
set(checked 0)
foreach(src ${required})
  file(REAL_PATH "${src}" src)
  list(FIND compiled_files "${src}" at)
  if(at EQUAL -1)
    continue()  # not part of this build (e.g. tests or benchmarks switched off)
  endif()
  string(MD5 key "${src}")
  set(cmd "${cmd_${key}}")
  if(NOT cmd MATCHES "-ffp-contract=off")
    list(APPEND failures "${src}")
  elseif(cmd MATCHES "-ffp-contract=(fast|on)")
    list(APPEND failures "${src} (also has another -ffp-contract)")
  endif()
  math(EXPR checked "${checked} + 1")
endforeach()

if(failures)
  list(JOIN failures "\n  " text)
  message(FATAL_ERROR "compiled without -ffp-contract=off:\n  ${text}")
endif()
if(checked EQUAL 0)
  message(FATAL_ERROR "none of the files that need -ffp-contract=off is in ${COMPILE_COMMANDS}")
endif()
message(STATUS "-ffp-contract=off present in all ${checked} files that need it")
