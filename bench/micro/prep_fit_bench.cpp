// Column plan fits on the first 8 columns of bank-full.csv (45211 rows).
//   build/<dir>/bench/bench_prep_fit --benchmark_out=prep.json
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>

#include "segmenta/io.hpp"
#include "segmenta/prep.hpp"

using namespace segmenta;

namespace {

const Table& bank8() {
  static const Table t = [] {
    CsvOptions o;
    o.columns = "0:8";
    return read_csv(std::string(SEGMENTA_SHARED_DIR) + "/data/bank-full.csv", o);
  }();
  return t;
}

void BM_FitPrep(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(1)));
  PrepParams p;
  p.preset = state.range(0) ? PrepPreset::blog : PrepPreset::standard;
  for (auto _ : state) benchmark::DoNotOptimize(fit_prep(bank8(), p));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(bank8().rows()));
  set_num_threads(0);
}
// range(0): 1 = blog preset, 0 = standard preset; range(1): threads.
BENCHMARK(BM_FitPrep)->Args({1, 1})->Args({1, 2})->Args({0, 1})->Args({0, 2})->Unit(benchmark::kMillisecond);

void BM_TransformPrep(benchmark::State& state) {
  set_num_threads(1);
  PrepParams p;
  p.preset = PrepPreset::blog;
  const PrepResult r = fit_prep(bank8(), p);
  for (auto _ : state) benchmark::DoNotOptimize(r.model.transform(bank8()));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(bank8().rows()));
  set_num_threads(0);
}
BENCHMARK(BM_TransformPrep)->Unit(benchmark::kMillisecond);

// One lambda fit on a column of distinct values (the worst case for the
// distinct-value compression).
void BM_FitLambdaDistinct(benchmark::State& state) {
  Rng r(4);
  std::vector<double> x(static_cast<std::size_t>(state.range(0)));
  for (auto& v : x) v = std::exp(r.normal());
  for (auto _ : state) benchmark::DoNotOptimize(fit_yeo_johnson_lambda(x.data(), x.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_FitLambdaDistinct)->Arg(45211)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
