# Third-party dependencies: all come from Debian packages installed by scripts/setup.
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
# zlib (Debian's zlib1g-dev): .csv.gz inputs and outputs.
find_package(ZLIB REQUIRED)

# OpenBLAS (pthread flavour): GEMM for distances, k-means and the encoder.
# Its own threads are switched off at start-up: segmenta parallelises over fixed
# row blocks itself, so results never depend on the thread count.
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)

find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h)
find_library(XGBOOST_LIBRARY NAMES xgboost)
if(XGBOOST_INCLUDE_DIR AND XGBOOST_LIBRARY)
  add_library(segmenta_xgboost INTERFACE)
  target_include_directories(segmenta_xgboost SYSTEM INTERFACE ${XGBOOST_INCLUDE_DIR})
  target_link_libraries(segmenta_xgboost INTERFACE ${XGBOOST_LIBRARY})
  set(SEGMENTA_HAVE_XGBOOST ON)
else()
  message(FATAL_ERROR "XGBoost C API not found: install libxgboost-dev (scripts/setup)")
endif()

# libcurl (Debian's libcurl4-openssl-dev): downloads of models by Hugging Face id.
# Optional: without it segmenta still reads models from folders and the Hugging Face
# cache, and says that it was built without download support when one is missing.
option(SEGMENTA_WITH_CURL "Download models by Hugging Face id (needs libcurl)" ON)
if(SEGMENTA_WITH_CURL)
  pkg_check_modules(CURL IMPORTED_TARGET libcurl)
  if(CURL_FOUND)
    set(SEGMENTA_HAVE_CURL ON)
  else()
    message(WARNING "segmenta: libcurl not found (install libcurl4-openssl-dev, scripts/setup); models cannot be downloaded")
  endif()
endif()

# OpenMPI (Debian's libopenmpi-dev, openmpi-bin): `mpirun -np N segmenta run ...`
# splits the rows across ranks (docs/USAGE.md "Many machines"). On by default when
# CMake finds MPI; without it segmenta runs as one process and says so under mpirun.
# Only src/core/mpi/comm_mpi.cpp includes mpi.h.
find_package(MPI COMPONENTS CXX QUIET)
option(SEGMENTA_MPI "Run on several processes under mpirun (needs MPI)" ${MPI_CXX_FOUND})
if(SEGMENTA_MPI)
  if(MPI_CXX_FOUND)
    set(SEGMENTA_HAVE_MPI ON)
    find_program(SEGMENTA_MPIEXEC NAMES mpirun mpiexec HINTS ${MPIEXEC_EXECUTABLE})
  else()
    message(FATAL_ERROR "SEGMENTA_MPI is ON but MPI was not found: install libopenmpi-dev and openmpi-bin (scripts/setup) or pass -DSEGMENTA_MPI=OFF")
  endif()
endif()

# libpq (Debian's libpq-dev): PostgreSQL tables as a source (`run postgresql://...
# --table/--query`) and as a sink (`--to postgresql://... --to-table`). On by default
# when pkg-config finds libpq; without it those forms say that segmenta was built
# without PostgreSQL support.
pkg_check_modules(LIBPQ IMPORTED_TARGET libpq)
option(SEGMENTA_POSTGRES "PostgreSQL source and sink (needs libpq)" ${LIBPQ_FOUND})
if(SEGMENTA_POSTGRES)
  if(LIBPQ_FOUND)
    set(SEGMENTA_HAVE_LIBPQ ON)
  else()
    message(FATAL_ERROR "SEGMENTA_POSTGRES is ON but libpq was not found: install libpq-dev (scripts/setup) or pass -DSEGMENTA_POSTGRES=OFF")
  endif()
endif()
