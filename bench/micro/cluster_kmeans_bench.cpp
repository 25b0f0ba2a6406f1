// k-means micro benchmarks on the two shapes the workflow meets:
//   * the blog's 40691 x 8 inlier matrix (double), k = 5, n_init = 10, max_iter = 100
//     (scikit-learn: KMeans(5, n_init=10, max_iter=100, random_state=42));
//   * 384-d float sentence-embedding-sized rows: random unit vectors, k = 5,
//     n_init = 1 on 45211 rows and n_init = 10 on 40690 rows (max_iter 300).
// bench/compare/kmeans_sklearn.py times scikit-learn on the same data and settings.
// The unit vectors are read from $SEGMENTA_BENCH_VECTORS (raw little-endian float32,
// 45211 x 384, as written by kmeans_sklearn.py --write-vectors) so that both sides
// cluster identical data; without it they are drawn here (same distribution, other
// numbers, so iteration counts differ from scikit-learn's).
//
// Run: build/<dir>/bench/bench_cluster_kmeans [--benchmark_filter=...]
// Counters: inertia, n_iter (winning restart), threads, and process_cpu_s: CPU
// seconds of all threads per fit (steadier than wall time on a shared machine).
#include <benchmark/benchmark.h>

#include <time.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "segmenta/cluster.hpp"
#include "bench_data.hpp"
#include "segmenta/io.hpp"

using namespace segmenta;

using namespace segmenta::bench;

namespace {

template <class T>
void report(benchmark::State& state, const KMeansModel<T>& m, double cpu0) {
  state.counters["inertia"] = m.inertia;
  state.counters["n_iter"] = static_cast<double>(m.n_iter);
  state.counters["threads"] = num_threads();
  state.counters["process_cpu_s"] =
      benchmark::Counter((process_cpu_seconds() - cpu0) / static_cast<double>(state.iterations()));
}

void BM_BlogKMeans(benchmark::State& state) {
  const MatrixD& x = blog_matrix();
  KMeansParams p;
  p.n_clusters = 5;
  p.n_init = 10;
  p.max_iter = 100;
  p.random_state = static_cast<std::uint64_t>(state.range(0));
  KMeansModel<double> m;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) m = fit_kmeans(x.view(), p);
  report(state, m, cpu0);
}

void BM_BlogFixedInit(benchmark::State& state) {
  const MatrixD& x = blog_matrix();
  const std::vector<std::size_t> rows{0, 1000, 2000, 3000, 4000};
  const MatrixD init = take_rows<double, std::size_t>(x.view(), rows);
  KMeansParams p;
  p.n_clusters = 5;
  KMeansModel<double> m;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) m = fit_kmeans_from(x.view(), init.view(), p);
  report(state, m, cpu0);
}

/// One fit from given centres on n x p rows (8 overlapping groups, unit noise: tens of iterations,
/// offset from the origin), k = 8: with the centred copy (copy = 1) or with each row
/// block centred in every pass (copy = 0; KMeansParams::copy_max_rows). Same results.
void BM_FromCentresCopyOrBlocks(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0)), p = static_cast<std::size_t>(state.range(1));
  const bool copy = state.range(2) != 0;
  Rng rng(5);
  MatrixD x(n, p);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t f = 0; f < p; ++f)
      x(i, f) = 3.0 + (f == (i % 8) % p ? 0.5 * static_cast<double>(i % 8) : 0.0) + rng.normal();
  std::vector<std::size_t> rows;
  for (std::size_t j = 0; j < 8; ++j) rows.push_back(j * 101 + 3);
  const MatrixD init = take_rows<double, std::size_t>(x.view(), rows);
  KMeansParams kp;
  kp.n_clusters = 8;
  kp.copy_max_rows = copy ? n : 0;
  KMeansModel<double> m;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) m = fit_kmeans_from(x.view(), init.view(), kp);
  report(state, m, cpu0);
}

void BM_VectorsKMeans(benchmark::State& state) {
  const MatrixF& all = unit_vectors();
  const std::size_t rows = static_cast<std::size_t>(state.range(0));
  const MatrixView<float> x = all.view().rows_view(0, rows);
  KMeansParams p;
  p.n_clusters = 5;
  p.n_init = static_cast<std::size_t>(state.range(1));
  p.max_iter = 300;
  p.random_state = 0;
  KMeansModel<float> m;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) m = fit_kmeans(x, p);
  report(state, m, cpu0);
}

void BM_VectorsPlusPlus(benchmark::State& state) {
  const MatrixF& x = unit_vectors();
  std::vector<std::size_t> idx;
  for (auto _ : state) {
    Rng rng(1);
    idx = kmeans_plus_plus(x.view(), 5, rng);
  }
  benchmark::DoNotOptimize(idx);
}

}  // namespace

BENCHMARK(BM_BlogKMeans)->Arg(42)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_BlogFixedInit)->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK(BM_FromCentresCopyOrBlocks)
    ->ArgsProduct({{45211, 400000}, {8, 49}, {1, 0}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_VectorsKMeans)->Args({45211, 1})->Args({40690, 10})->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_VectorsPlusPlus)->Unit(benchmark::kMillisecond)->Iterations(5);

BENCHMARK_MAIN();
