// Surrogate explanation on the bank data: the blog's 40,691 inliers x 8 encoded
// features (../shared/golden/kmeans/inlier_matrix.csv) with its k = 5 segments
// (labels.csv, column blog_run_label). Reference (BASELINES.md): xgboost 1.7.4 fit
// 0.61 s, TreeSHAP on every row 35.8 s, 2 cores.
//
//   build/<dir>/bench/bench_explain --benchmark_out=explain.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "segmenta/explain.hpp"
#include "segmenta/io.hpp"

using namespace segmenta;

namespace {

struct BankData {
  MatrixD x;
  std::vector<std::int32_t> labels;
};

const BankData& bank() {
  static const BankData data = [] {
    const std::string dir = std::getenv("SEGMENTA_SHARED") ? std::getenv("SEGMENTA_SHARED") : SEGMENTA_SHARED_DIR;
    const std::string matrix = dir + "/golden/kmeans/inlier_matrix.csv", labels = dir + "/golden/kmeans/labels.csv";
    if (!std::filesystem::exists(matrix) || !std::filesystem::exists(labels)) {
      std::fprintf(stderr, "bench_explain: %s or %s is missing\n", matrix.c_str(), labels.c_str());
      std::exit(2);
    }
    CsvOptions o;
    o.delimiter = ',';
    const Table t = read_csv(matrix, o);
    std::vector<std::size_t> cols;
    for (std::size_t j = 1; j < t.cols(); ++j) cols.push_back(j);
    BankData d{t.numeric_matrix(cols), {}};
    const Table l = read_csv(labels, o);
    for (const double v : l.column(l.index_of("blog_run_label")).numbers) d.labels.push_back(static_cast<std::int32_t>(v));
    return d;
  }();
  return data;
}

const SurrogateModel& model() {
  static const SurrogateModel m = fit_surrogate(bank().x, bank().labels);
  return m;
}

void BM_FitSurrogate(benchmark::State& state) {
  SurrogateParams p;
  p.fit_threads = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(fit_surrogate(bank().x, bank().labels, p));
  state.counters["rows"] = static_cast<double>(bank().x.rows());
}
// 1 = the default (reproducible) single-threaded fit; 0 = XGBoost on num_threads().
BENCHMARK(BM_FitSurrogate)->Arg(1)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->Iterations(3);
BENCHMARK(BM_FitSurrogate)->Arg(0)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->Iterations(1);

void shap_rows(benchmark::State& state, ShapEngine engine) {
  const auto rows = stratified_training_sample(bank().labels, static_cast<std::size_t>(state.range(0)), 0);
  const MatrixD x = take_rows(ViewD(bank().x), std::span<const std::size_t>(rows));
  const SurrogateModel& m = model();
  for (auto _ : state) benchmark::DoNotOptimize(m.contributions(x, engine));
  state.counters["rows"] = static_cast<double>(rows.size());
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows.size()), benchmark::Counter::kIsRate);
}

void BM_ShapNative(benchmark::State& state) { shap_rows(state, ShapEngine::native); }
BENCHMARK(BM_ShapNative)
    ->Arg(2000)
    ->Arg(5000)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Iterations(3);

void BM_ShapXgboost(benchmark::State& state) { shap_rows(state, ShapEngine::xgboost); }
BENCHMARK(BM_ShapXgboost)->Arg(1000)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->Iterations(1);

// The whole stage as a run uses it: fit, accuracy, TreeSHAP and the summary.
void BM_ExplainSegments(benchmark::State& state) {
  ExplainParams p;
  p.shap_max_rows = static_cast<std::size_t>(state.range(0));
  double fit = 0, shap = 0;
  for (auto _ : state) {
    const auto ex = explain_segments(bank().x, bank().labels, p);
    fit += ex.fit_seconds;
    shap += ex.shap_seconds;
  }
  state.counters["fit_s"] = fit / static_cast<double>(state.iterations());
  state.counters["shap_s"] = shap / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ExplainSegments)
    ->Arg(5000)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
