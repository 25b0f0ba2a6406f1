// k-prototypes micro benchmarks on the blog's k-prototypes input
// (../shared/golden/kprototypes/input.csv: the 40,691 ECOD inliers, 6 categorical
// columns + power-transformed age and balance):
//   * Elbow: the blog's sweep, k = 2..14, n_init = 10, init Huang (kmodes:
//     KPrototypes(n_jobs=-1, n_clusters=k, init='Huang', random_state=0) per k; the
//     blog reports 86 minutes, ../shared/BASELINES.md ~6232 s extrapolated here);
//   * Fit k=5: one fit, n_init = 10, Huang (kmodes 0.12.2: 293.8 s with 2 workers);
//   * FixedInit: the golden run from the README's fixed init (34 passes);
//   * Batch: the Lloyd-style variant, k = 5, n_init = 10.
// Arg = number of threads.
//
// Run: build/<dir>/bench/bench_cluster_kprototypes [--benchmark_filter=...]
// Counters: cost, n_iter (winning restart), passes (every restart summed for Elbow).
#include <benchmark/benchmark.h>

#include <map>
#include <string>

#include "segmenta/cluster.hpp"
#include "segmenta/io.hpp"

using namespace segmenta;

namespace {

struct Input {
  MatrixD num;
  Matrix<std::int32_t> cat;
};

const Input& blog_input() {
  static const Input in = [] {
    CsvOptions o;
    o.delimiter = ',';
    const Table t = read_csv(std::string(SEGMENTA_SHARED_DIR) + "/golden/kprototypes/input.csv", o);
    const std::vector<std::string> cats = {"job", "marital", "education", "default", "housing", "loan"};
    Input r;
    r.num = t.numeric_matrix({t.index_of("age"), t.index_of("balance")});
    r.cat = Matrix<std::int32_t>(t.rows(), cats.size());
    for (std::size_t j = 0; j < cats.size(); ++j) {
      const Column& c = t.column(t.index_of(cats[j]));
      const std::vector<std::string> sorted = c.sorted_levels();
      std::map<std::string, std::int32_t> code;
      for (std::size_t v = 0; v < sorted.size(); ++v) code[sorted[v]] = static_cast<std::int32_t>(v);
      for (std::size_t i = 0; i < t.rows(); ++i) r.cat(i, j) = code.at(c.levels[static_cast<std::size_t>(c.codes[i])]);
    }
    return r;
  }();
  return in;
}

class Threads {
 public:
  explicit Threads(int n) { set_num_threads(n); }
  ~Threads() { set_num_threads(0); }
};

void BM_Elbow(benchmark::State& state) {
  const Input& in = blog_input();
  const Threads threads(static_cast<int>(state.range(0)));
  KPrototypesParams p;
  p.n_init = 10;
  p.init = KPrototypesInit::huang;
  std::vector<std::size_t> ks;
  for (std::size_t k = 2; k <= 14; ++k) ks.push_back(k);
  KPrototypesSweep s;
  for (auto _ : state) {
    s = sweep_kprototypes(in.num, in.cat, ks, p);
    benchmark::DoNotOptimize(s.cost.data());
  }
  for (std::size_t i = 0; i < ks.size(); ++i) state.counters["cost_k" + std::to_string(ks[i])] = s.cost[i];
  state.counters["elbow_k"] = s.elbow_k ? static_cast<double>(*s.elbow_k) : 0.0;
}
BENCHMARK(BM_Elbow)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

void BM_FitK5(benchmark::State& state) {
  const Input& in = blog_input();
  const Threads threads(static_cast<int>(state.range(0)));
  KPrototypesParams p;
  p.n_clusters = 5;
  p.n_init = 10;
  p.init = KPrototypesInit::huang;
  KPrototypesModel m;
  for (auto _ : state) m = fit_kprototypes(in.num, in.cat, p);
  state.counters["cost"] = m.cost;
  state.counters["n_iter"] = static_cast<double>(m.n_iter);
}
BENCHMARK(BM_FitK5)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FixedInit(benchmark::State& state) {
  const Input& in = blog_input();
  // Rows 0, 1000, 2000, 3000, 4000 of the input, as in the golden run.
  MatrixD cen(5, 2);
  Matrix<std::int32_t> modes(5, 6);
  for (std::size_t l = 0; l < 5; ++l) {
    for (std::size_t j = 0; j < 2; ++j) cen(l, j) = in.num(1000 * l, j);
    for (std::size_t j = 0; j < 6; ++j) modes(l, j) = in.cat(1000 * l, j);
  }
  KPrototypesParams p;
  KPrototypesModel m;
  for (auto _ : state) m = fit_kprototypes_from(in.num, in.cat, cen, modes, p);
  state.counters["cost"] = m.cost;
  state.counters["n_iter"] = static_cast<double>(m.n_iter);
}
BENCHMARK(BM_FixedInit)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_BatchK5(benchmark::State& state) {
  const Input& in = blog_input();
  const Threads threads(static_cast<int>(state.range(0)));
  KPrototypesParams p;
  p.n_clusters = 5;
  p.n_init = 10;
  p.init = KPrototypesInit::huang;
  p.algorithm = KPrototypesAlgorithm::batch;
  KPrototypesModel m;
  for (auto _ : state) m = fit_kprototypes(in.num, in.cat, p);
  state.counters["cost"] = m.cost;
  state.counters["n_iter"] = static_cast<double>(m.n_iter);
}
BENCHMARK(BM_BatchK5)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Silhouette(benchmark::State& state) {
  const Input& in = blog_input();
  const Threads threads(static_cast<int>(state.range(0)));
  KPrototypesParams p;
  p.n_clusters = 5;
  p.n_init = 2;
  p.init = KPrototypesInit::huang;
  const KPrototypesModel m = fit_kprototypes(in.num, in.cat, p);
  MixedSilhouette s;
  for (auto _ : state) s = kprototypes_silhouette(in.num, in.cat, m.labels, m.gamma);
  state.counters["score"] = s.score;
}
BENCHMARK(BM_Silhouette)->Arg(2)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
