// t-SNE benchmarks (whole fits, one iteration each: they take seconds to minutes):
//   * Golden2D     the 5,000-row sample of ../shared/golden/tsne, scikit-learn's defaults
//                  (2-D, perplexity 30, 1000 iterations, init pca);
//   * Inliers2D    all 40,691 ECOD inliers, the same defaults;
//   * Blog3D/n     the blog's call TSNE(n_components=3, perplexity=200, learning_rate=500,
//                  n_iter=5000, init='random') on the first n rows of its 50 % sample with
//                  replacement of the inliers (n = 20346 is the whole sample).
// bench/compare/tsne_sklearn.py times scikit-learn on the same cases. The blog sample
// is read from $SEGMENTA_BENCH_TSNE_SAMPLE (inlier indices, one per line, as written by
// tsne_sklearn.py --write-sample: numpy RandomState(1).choice(40691, 20346), what
// pandas' sample(frac=0.5, replace=True, random_state=1) draws); without it the rows are
// drawn here with Rng(1) (same distribution, other rows).
//
// Run: build/<dir>/bench/bench_reduce_tsne [--benchmark_filter=Golden2D]
// Counters: kl, n_iter, trust10 (trustworthiness with 10 neighbours; Golden2D only),
// knn_s / affinity_s / optimize_s (wall seconds of the stages), process_cpu_s.
#include <benchmark/benchmark.h>

#include <time.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "bench_data.hpp"
#include "segmenta/io.hpp"
#include "segmenta/reduce.hpp"

using namespace segmenta;

using namespace segmenta::bench;

namespace {

const MatrixD& golden_sample() {
  static const MatrixD m = [] {
    std::vector<std::size_t> ids;
    golden_matrix("tsne/subsample_embedding.csv", &ids);
    return take_rows(blog_matrix().view(), std::span<const std::size_t>(ids));
  }();
  return m;
}

const std::vector<std::size_t>& blog_sample() {
  static const std::vector<std::size_t> rows = [] {
    std::vector<std::size_t> r;
    if (const char* path = std::getenv("SEGMENTA_BENCH_TSNE_SAMPLE")) {
      std::ifstream in(path);
      for (std::size_t v; in >> v;) r.push_back(v);
      if (r.size() != 20346) {
        std::fprintf(stderr, "expected 20346 indices in %s, got %zu\n", path, r.size());
        std::exit(2);
      }
      return r;
    }
    Rng rng(1);
    for (std::size_t i = 0; i < 20346; ++i) r.push_back(rng.below(blog_matrix().rows()));
    return r;
  }();
  return rows;
}

void run(benchmark::State& state, const MatrixD& x, const TsneParams& p, bool trust) {
  TsneResult r;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) r = fit_tsne(x.view(), p);
  state.counters["process_cpu_s"] =
      benchmark::Counter((process_cpu_seconds() - cpu0) / static_cast<double>(state.iterations()));
  state.counters["kl"] = r.kl_divergence;
  state.counters["n_iter"] = static_cast<double>(r.n_iter);
  state.counters["knn_s"] = r.seconds_neighbors;
  state.counters["affinity_s"] = r.seconds_affinities;
  state.counters["optimize_s"] = r.seconds_optimize;
  state.counters["threads"] = num_threads();
  if (trust) state.counters["trust10"] = trustworthiness(x.view(), r.embedding.view(), 10);
}

void BM_Golden2D(benchmark::State& state) { run(state, golden_sample(), TsneParams{}, true); }

void BM_Inliers2D(benchmark::State& state) { run(state, blog_matrix(), TsneParams{}, false); }

void BM_Blog3D(benchmark::State& state) {
  const auto& rows = blog_sample();
  const std::span<const std::size_t> first(rows.data(), static_cast<std::size_t>(state.range(0)));
  const MatrixD x = take_rows(blog_matrix().view(), first);
  TsneParams p;
  p.n_components = 3;
  p.perplexity = 200;
  p.learning_rate = 500.0;
  p.n_iter = 5000;
  p.init = TsneInit::random;
  run(state, x, p, false);
}

}  // namespace

BENCHMARK(BM_Golden2D)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_Inliers2D)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_Blog3D)->Arg(4000)->Arg(10173)->Arg(20346)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

BENCHMARK_MAIN();
