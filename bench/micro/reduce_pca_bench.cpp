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

#include "bench_data.hpp"
#include "segmenta/io.hpp"
#include "segmenta/reduce.hpp"

using namespace segmenta;

using namespace segmenta::bench;

namespace {

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
void BM_PcaVectors(benchmark::State& state) { run(state, unit_vectors().view(), false); }

}  // namespace

BENCHMARK(BM_PcaBlogStandardised)->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK(BM_PcaBlogCentred)->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK(BM_PcaVectors)->Unit(benchmark::kMillisecond)->MinTime(2.0);

BENCHMARK_MAIN();
