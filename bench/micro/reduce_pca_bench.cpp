// PCA micro benchmarks on the two shapes the workflow meets:
//   * the blog's 40691 x 8 inlier matrix (double), 3 components, standardised
//     (prince.PCA(n_components=3) as the blog ran it) and centred only (scikit-learn);
//   * 45211 x 384 float rows the size of the sentence embeddings, 3 components.
// bench/compare/pca_sklearn.py times scikit-learn on the same data and settings.
// The vectors are read from $SEGMENTA_BENCH_VECTORS (raw little-endian float32,
// 45211 x 384, as written by bench/compare/kmeans_sklearn.py --write-vectors) so that
// both sides decompose identical data; without it random unit vectors are drawn here.
//
// Run: build/<dir>/bench/bench_reduce_pca [--benchmark_filter=...]
// Counters: cum_pct (cumulative % of variance of the 3 components), threads, and
// process_cpu_s (CPU seconds of all threads per fit, steadier on a shared machine).
#include <benchmark/benchmark.h>

#include <time.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "segmenta/io.hpp"
#include "segmenta/reduce.hpp"

using namespace segmenta;

namespace {

const MatrixD& blog_matrix() {
  static const MatrixD m = [] {
    CsvOptions o;
    o.delimiter = ',';
    const Table t = read_csv(std::string(SEGMENTA_SHARED_DIR) + "/golden/kmeans/inlier_matrix.csv", o);
    std::vector<std::size_t> cols;
    for (std::size_t j = 1; j < t.cols(); ++j) cols.push_back(j);
    return t.numeric_matrix(cols);
  }();
  return m;
}

constexpr std::size_t kVecRows = 45211, kVecDim = 384;

const MatrixF& vectors() {
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

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

template <class T>
void run(benchmark::State& state, MatrixView<T> x, bool standardize) {
  PcaParams p;
  p.n_components = 3;
  p.standardize = standardize;
  PcaModel m;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) m = fit_pca(x, p);
  state.counters["cum_pct"] = m.cumulative_percentage_of_variance.back();
  state.counters["threads"] = num_threads();
  state.counters["process_cpu_s"] =
      benchmark::Counter((process_cpu_seconds() - cpu0) / static_cast<double>(state.iterations()));
}

void BM_PcaBlogStandardised(benchmark::State& state) { run(state, blog_matrix().view(), true); }
void BM_PcaBlogCentred(benchmark::State& state) { run(state, blog_matrix().view(), false); }
void BM_PcaVectors(benchmark::State& state) { run(state, vectors().view(), false); }

}  // namespace

BENCHMARK(BM_PcaBlogStandardised)->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK(BM_PcaBlogCentred)->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK(BM_PcaVectors)->Unit(benchmark::kMillisecond)->MinTime(2.0);

BENCHMARK_MAIN();
