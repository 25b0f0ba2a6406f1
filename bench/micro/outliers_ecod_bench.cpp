// ECOD fit and frozen scoring. pyod 1.1.0 takes about 6.5 s to fit 45211 x 384.
//   build/<dir>/bench/bench_outliers_ecod --benchmark_out=ecod.json
#include <benchmark/benchmark.h>

#include <string>

#include "segmenta/io.hpp"
#include "segmenta/outliers.hpp"

using namespace segmenta;

namespace {

MatrixD random_matrix(std::size_t n, std::size_t p, std::uint64_t seed) {
  Rng r(seed);
  MatrixD x(n, p);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = r.normal();
  return x;
}

const MatrixD& blog_matrix() {
  static const MatrixD x = [] {
    CsvOptions o;
    o.delimiter = ',';
    o.columns = "1:9";
    const Table t = read_csv(std::string(SEGMENTA_SHARED_DIR) + "/golden/prep/blog_transformed.csv", o);
    std::vector<std::size_t> cols(t.cols());
    for (std::size_t j = 0; j < cols.size(); ++j) cols[j] = j;
    return t.numeric_matrix(cols);
  }();
  return x;
}

void BM_FitEcodBlog(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  const MatrixD& x = blog_matrix();
  for (auto _ : state) benchmark::DoNotOptimize(fit_ecod(x));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(x.size()));
  set_num_threads(0);
}
BENCHMARK(BM_FitEcodBlog)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_FitEcodRandom(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(2)));
  const MatrixD x = random_matrix(static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)), 1);
  for (auto _ : state) benchmark::DoNotOptimize(fit_ecod(x));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(x.size()));
  set_num_threads(0);
}
BENCHMARK(BM_FitEcodRandom)->Args({45211, 8, 1})->Args({45211, 384, 1})->Args({45211, 384, 2})->Unit(benchmark::kMillisecond);

void BM_ScoreEcod(benchmark::State& state) {
  set_num_threads(1);
  const EcodModel m = fit_ecod(blog_matrix());
  const MatrixD fresh = random_matrix(static_cast<std::size_t>(state.range(0)), 8, 2);
  for (auto _ : state) benchmark::DoNotOptimize(m.score(fresh));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  set_num_threads(0);
}
BENCHMARK(BM_ScoreEcod)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
