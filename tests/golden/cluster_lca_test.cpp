// The latent-class EM against its numpy reference (tools/lca_reference.py), run at
// test time: bank.csv's blog columns (age and balance signed-log + standardised,
// job .. loan as codes, a few cells made missing), both sides from the same initial
// responsibilities (segmenta's first k-means++ start, written to a file). The
// log-likelihood must agree to 1e-9 relative and the labels exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "segmenta/cluster.hpp"
#include "segmenta/io.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

struct Input {
  MatrixD x;
  Matrix<std::int32_t> codes;
  std::vector<std::int32_t> levels;
};

Input bank_input() {
  CsvOptions o;
  const Table t = read_csv(test::bank_small(), o);
  const std::vector<std::string> nums = {"age", "balance"};
  const std::vector<std::string> cats = {"job", "marital", "education", "default", "housing", "loan"};
  Input in;
  const std::size_t n = t.rows();
  in.x.resize(n, nums.size());
  for (std::size_t d = 0; d < nums.size(); ++d) {
    const Column& c = t.column(t.index_of(nums[d]));
    double s = 0, ss = 0;
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) {
      v[i] = std::copysign(std::log1p(std::abs(c.numbers[i])), c.numbers[i]);
      s += v[i];
    }
    const double mean = s / static_cast<double>(n);
    for (double e : v) ss += (e - mean) * (e - mean);
    const double sd = std::sqrt(ss / static_cast<double>(n));
    for (std::size_t i = 0; i < n; ++i) in.x(i, d) = (i % 37 == d) ? std::nan("") : (v[i] - mean) / sd;
  }
  in.codes.resize(n, cats.size());
  for (std::size_t j = 0; j < cats.size(); ++j) {
    const Column& c = t.column(t.index_of(cats[j]));
    const std::vector<std::string> sorted = c.sorted_levels();
    std::map<std::string, std::int32_t> code;
    for (std::size_t v = 0; v < sorted.size(); ++v) code[sorted[v]] = static_cast<std::int32_t>(v);
    for (std::size_t i = 0; i < n; ++i)
      in.codes(i, j) = (i % 53 == j) ? -1 : code.at(c.levels.at(static_cast<std::size_t>(c.codes[i])));
    in.levels.push_back(static_cast<std::int32_t>(sorted.size()));
  }
  return in;
}

template <class T>
void write_matrix(const std::string& path, MatrixView<T> m) {
  std::ofstream f(path);
  for (std::size_t i = 0; i < m.rows(); ++i) {
    for (std::size_t j = 0; j < m.cols(); ++j) {
      if (j) f << ',';
      if constexpr (std::is_floating_point_v<T>)
        f << (std::isnan(m(i, j)) ? std::string("nan") : fmt::format("{:.17g}", m(i, j)));
      else
        f << m(i, j);
    }
    f << '\n';
  }
}

void compare_with_reference(std::size_t k, double tol, std::size_t max_iter) {
  const Input in = bank_input();
  const MatrixD init = lca_initial_responsibilities(in.x.view(), in.codes.view(), in.levels, k, 0, 0);
  LcaParams p;
  p.tol = tol;
  p.max_iter = max_iter;
  const LcaModel m = fit_lca_from(in.x.view(), in.codes.view(), in.levels, init.view(), p);

  const std::string dir = test::temp_dir(fmt::format("lca_golden_k{}", k));
  write_matrix(dir + "/x.csv", in.x.view());
  write_matrix(dir + "/codes.csv", in.codes.view());
  write_matrix(dir + "/init.csv", init.view());
  std::string levels;
  for (auto l : in.levels) levels += (levels.empty() ? "" : ",") + std::to_string(l);
  // The interpreter with numpy: $SEGMENTA_PYTHON, else Debian's python3 (scripts/setup installs python3-numpy).
  const char* python = std::getenv("SEGMENTA_PYTHON");
  const auto res = test::run_command(fmt::format(
      "{} {}/tools/lca_reference.py fit --numeric {d}/x.csv --codes {d}/codes.csv --levels {} "
      "--init {d}/init.csv --tol {} --max-iter {} --out {d}/fit.json",
      python ? python : "/usr/bin/python3", SEGMENTA_SOURCE_DIR, levels, tol, max_iter, fmt::arg("d", dir)));
  ASSERT_EQ(res.exit_code, 0) << res.err;
  const nlohmann::json ref = test::read_json(dir + "/fit.json");

  const double ll = ref["log_likelihood"].get<double>();
  EXPECT_NEAR(m.log_likelihood, ll, 1e-9 * std::abs(ll));
  EXPECT_NEAR(m.bic, ref["bic"].get<double>(), 1e-9 * std::abs(ll));
  EXPECT_NEAR(m.icl, ref["icl"].get<double>(), 1e-8 * std::abs(ll));
  EXPECT_EQ(m.n_parameters, ref["n_parameters"].get<std::size_t>());
  const auto labels = ref["labels"].get<std::vector<std::int32_t>>();
  ASSERT_EQ(labels.size(), m.labels.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) differ += labels[i] != m.labels[i];
  EXPECT_EQ(differ, 0u);
  const auto weights = ref["weights"].get<std::vector<double>>();
  for (std::size_t j = 0; j < k; ++j) EXPECT_NEAR(m.weights[j], weights[j], 1e-9);
}

}  // namespace

TEST(LcaGolden, FixedIterationsMatchNumpy) { compare_with_reference(4, 0.0, 150); }

TEST(LcaGolden, ConvergedFitMatchesNumpy) { compare_with_reference(3, 1e-6, 1000); }
