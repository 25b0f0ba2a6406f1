// Inputs shared by the micro benchmarks: golden matrices of the blog data, the
// 45211 x 384 unit vectors standing in for sentence embeddings, and process CPU time.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/io.hpp"

namespace segmenta::bench {

/// Every column but the first (the row index) of a golden CSV, relative to
/// ../shared/golden; `first_column` receives the first column when given.
inline MatrixD golden_matrix(const std::string& relative, std::vector<std::size_t>* first_column = nullptr) {
  CsvOptions o;
  o.delimiter = ',';
  const Table t = read_csv(std::string(SEGMENTA_SHARED_DIR) + "/golden/" + relative, o);
  if (first_column)
    for (double v : t.column(0).numbers) first_column->push_back(static_cast<std::size_t>(v));
  std::vector<std::size_t> cols;
  for (std::size_t j = 1; j < t.cols(); ++j) cols.push_back(j);
  return t.numeric_matrix(cols);
}

/// The blog's 40691 ECOD inliers after its preparation (40691 x 8).
inline const MatrixD& blog_matrix() {
  static const MatrixD m = golden_matrix("kmeans/inlier_matrix.csv");
  return m;
}

inline constexpr std::size_t kVecRows = 45211, kVecDim = 384;

/// kVecRows x kVecDim unit vectors: read from $SEGMENTA_BENCH_VECTORS (raw
/// little-endian float32, as the comparison scripts write them) so that both sides
/// see the same data, otherwise normal draws from Rng(12345) scaled to norm 1.
inline const MatrixF& unit_vectors() {
  static const MatrixF m = [] {
    MatrixF v(kVecRows, kVecDim);
    if (const char* path = std::getenv("SEGMENTA_BENCH_VECTORS")) {
      std::ifstream in(path, std::ios::binary);
      in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
      if (!in) {
        std::fprintf(stderr, "cannot read %zu x %zu float32 from %s\n", kVecRows, kVecDim, path);
        std::exit(2);
      }
      return v;
    }
    Rng rng(12345);
    for (std::size_t i = 0; i < kVecRows; ++i) {
      double s = 0;
      for (std::size_t j = 0; j < kVecDim; ++j) {
        const double z = rng.normal();
        v(i, j) = static_cast<float>(z);
        s += z * z;
      }
      const float inv = static_cast<float>(1.0 / std::sqrt(s));
      for (std::size_t j = 0; j < kVecDim; ++j) v(i, j) *= inv;
    }
    return v;
  }();
  return m;
}

/// CPU time of the process (all threads), for the process_cpu_s counters.
inline double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace segmenta::bench
