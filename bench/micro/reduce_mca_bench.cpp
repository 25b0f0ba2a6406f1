// MCA and FAMD micro benchmarks on the blog's k-prototypes input
// (../shared/golden/kprototypes/input.csv, 40,691 rows):
//   * Mca6: MCA 3D on the 6 categorical columns (J = 25; prince 0.12.1: 0.63 s);
//   * McaBlog: MCA 3D as the blog ran it, age and balance one-hot encoded per distinct
//     float too (J = 6,250; prince 0.12.1: 116.3 s and 8.3 GB, ../shared/BASELINES.md);
//   * Famd: FAMD 3D, 2 numeric + 6 categorical columns.
// Arg = number of threads. Counters: eigenvalues, cumulative %, J, operator products.
// Peak memory: run one benchmark alone under /usr/bin/time -v, e.g.
//   /usr/bin/time -v build/<dir>/bench/bench_reduce_mca --benchmark_filter='McaBlog/2'
// (the process also holds the parsed CSV).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <string>

#include "segmenta/io.hpp"
#include "segmenta/reduce.hpp"

using namespace segmenta;

namespace {

struct Input {
  MatrixD num;                     // age, balance
  Matrix<std::int32_t> cat6;       // the 6 categorical columns, sorted-value codes
  Matrix<std::int32_t> blog8;      // the 6 + age and balance coded per distinct value
};

std::vector<std::int32_t> sorted_codes(const std::vector<double>& v) {
  std::vector<double> u(v);
  std::sort(u.begin(), u.end());
  u.erase(std::unique(u.begin(), u.end()), u.end());
  std::vector<std::int32_t> c(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    c[i] = static_cast<std::int32_t>(std::lower_bound(u.begin(), u.end(), v[i]) - u.begin());
  return c;
}

const Input& blog_input() {
  static const Input in = [] {
    CsvOptions o;
    o.delimiter = ',';
    const Table t = read_csv(std::string(SEGMENTA_SHARED_DIR) + "/golden/kprototypes/input.csv", o);
    const std::vector<std::string> cats = {"job", "marital", "education", "default", "housing", "loan"};
    Input r;
    const std::size_t n = t.rows();
    r.num = t.numeric_matrix({t.index_of("age"), t.index_of("balance")});
    r.cat6 = Matrix<std::int32_t>(n, 6);
    r.blog8 = Matrix<std::int32_t>(n, 8);
    for (std::size_t j = 0; j < cats.size(); ++j) {
      const Column& c = t.column(t.index_of(cats[j]));
      const std::vector<std::string> sorted = c.sorted_levels();
      std::map<std::string, std::int32_t> code;
      for (std::size_t v = 0; v < sorted.size(); ++v) code[sorted[v]] = static_cast<std::int32_t>(v);
      for (std::size_t i = 0; i < n; ++i)
        r.cat6(i, j) = r.blog8(i, j) = code.at(c.levels[static_cast<std::size_t>(c.codes[i])]);
    }
    for (std::size_t j = 0; j < 2; ++j) {
      std::vector<double> v(n);
      for (std::size_t i = 0; i < n; ++i) v[i] = r.num(i, j);
      const auto c = sorted_codes(v);
      for (std::size_t i = 0; i < n; ++i) r.blog8(i, 6 + j) = c[i];
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

void report(benchmark::State& state, const std::vector<double>& eig, const std::vector<double>& cum, std::size_t J,
            std::size_t matvecs) {
  for (std::size_t t = 0; t < eig.size(); ++t) state.counters["eig" + std::to_string(t)] = eig[t];
  state.counters["cum_pct"] = cum.empty() ? 0.0 : cum.back();
  state.counters["J"] = static_cast<double>(J);
  state.counters["matvecs"] = static_cast<double>(matvecs);
}

void BM_Mca6(benchmark::State& state) {
  const Input& in = blog_input();
  const Threads threads(static_cast<int>(state.range(0)));
  McaParams p;
  p.n_components = 3;
  McaModel m;
  for (auto _ : state) m = fit_mca(in.cat6, p);
  report(state, m.eigenvalues, m.cumulative_percentage_of_variance, m.n_indicators(), m.solver_matvecs);
}
BENCHMARK(BM_Mca6)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_McaBlog(benchmark::State& state) {
  const Input& in = blog_input();
  const Threads threads(static_cast<int>(state.range(0)));
  McaParams p;
  p.n_components = 3;
  McaModel m;
  for (auto _ : state) m = fit_mca(in.blog8, p);
  report(state, m.eigenvalues, m.cumulative_percentage_of_variance, m.n_indicators(), m.solver_matvecs);
}
BENCHMARK(BM_McaBlog)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Famd(benchmark::State& state) {
  const Input& in = blog_input();
  const Threads threads(static_cast<int>(state.range(0)));
  FamdParams p;
  p.n_components = 3;
  FamdModel m;
  for (auto _ : state) m = fit_famd(in.num, in.cat6, p);
  report(state, m.eigenvalues, m.cumulative_percentage_of_variance, m.indicator_code.size(), m.solver_matvecs);
}
BENCHMARK(BM_Famd)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
