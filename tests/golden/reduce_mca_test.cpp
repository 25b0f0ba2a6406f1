// MCA against prince 0.12.1 with an exact SVD (../shared/golden/mca, see its README):
// the 6 categorical columns of the 40,691 inliers, J = 25 indicator columns.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "segmenta/reduce.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

const std::vector<std::string> kColumns = {"job", "marital", "education", "default", "housing", "loan"};

struct Input {
  Matrix<std::int32_t> codes;
  std::vector<std::string> indicator_names;  // pandas.get_dummies' "<column>_<value>"
  std::vector<double> rows;                  // the "row" column
};

const Input& golden_input() {
  static const Input in = [] {
    const Table t = test::golden_table("kprototypes/input.csv");
    Input r;
    r.codes = Matrix<std::int32_t>(t.rows(), kColumns.size());
    for (std::size_t j = 0; j < kColumns.size(); ++j) {
      const Column& c = t.column(t.index_of(kColumns[j]));
      const std::vector<std::string> sorted = c.sorted_levels();
      std::map<std::string, std::int32_t> code;
      for (std::size_t v = 0; v < sorted.size(); ++v) {
        code[sorted[v]] = static_cast<std::int32_t>(v);
        r.indicator_names.push_back(kColumns[j] + "_" + sorted[v]);
      }
      for (std::size_t i = 0; i < t.rows(); ++i) r.codes(i, j) = code.at(c.levels.at(static_cast<std::size_t>(c.codes[i])));
    }
    r.rows = t.column(t.index_of("row")).numbers;
    return r;
  }();
  return in;
}

void expect_matches_exact_svd(const McaModel& m) {
  const auto ref = test::golden_json("mca/exact_svd_mca.json");
  const auto eig = ref["eigenvalues"].get<std::vector<double>>();
  const auto pct = ref["percentage_of_variance"].get<std::vector<double>>();
  const auto cum = ref["cumulative_percentage_of_variance"].get<std::vector<double>>();
  ASSERT_EQ(m.n_components(), 3u);
  for (std::size_t t = 0; t < 3; ++t) {
    EXPECT_NEAR(m.eigenvalues[t], eig[t], 1e-9 * eig[t]) << t;
    EXPECT_NEAR(m.percentage_of_variance[t], pct[t], 1e-9 * pct[t]) << t;
    EXPECT_NEAR(m.cumulative_percentage_of_variance[t], cum[t], 1e-9 * cum[t]) << t;
  }
  EXPECT_NEAR(m.total_inertia, ref["total_inertia"].get<double>(), 1e-12);

  const Input& in = golden_input();
  const auto& cc = ref["column_coordinates"];
  ASSERT_EQ(cc["index"].get<std::vector<std::string>>(), in.indicator_names);
  ASSERT_EQ(m.n_indicators(), in.indicator_names.size());
  const MatrixD g = test::json_matrix(cc["values"]);
  // Same sign rule as prince (largest |row coordinate| positive): no flips allowed.
  for (std::size_t j = 0; j < g.rows(); ++j)
    for (std::size_t t = 0; t < 3; ++t) EXPECT_NEAR(m.column_coordinates(j, t), g(j, t), 1e-8) << j << "," << t;

  const MatrixD f = test::golden_matrix("mca/exact_svd_row_coordinates.csv", {"row", "c0", "c1", "c2"});
  ASSERT_EQ(f.rows(), m.row_coordinates.rows());
  double worst = 0.0;
  for (std::size_t i = 0; i < f.rows(); ++i) {
    ASSERT_EQ(f(i, 0), in.rows[i]);
    for (std::size_t t = 0; t < 3; ++t) worst = std::max(worst, std::abs(m.row_coordinates(i, t) - f(i, t + 1)));
  }
  EXPECT_LE(worst, 1e-8);
}

}  // namespace

TEST(McaGolden, ExactSvdDense) {
  McaParams p;
  p.n_components = 3;
  const McaModel m = fit_mca(golden_input().codes, p);
  EXPECT_EQ(m.solver_matvecs, 0u);  // J = 25: the Burt-matrix path
  expect_matches_exact_svd(m);
}

TEST(McaGolden, ExactSvdLanczos) {
  McaParams p;
  p.n_components = 3;
  p.solver = EigenSolver::lanczos;
  const McaModel m = fit_mca(golden_input().codes, p);
  EXPECT_GT(m.solver_matvecs, 0u);
  expect_matches_exact_svd(m);
}

TEST(McaGolden, SixEigenvaluesAndPrinceRandomized) {
  McaParams p;
  p.n_components = 6;
  const McaModel m = fit_mca(golden_input().codes, p);
  const auto ref = test::golden_json("mca/prince_mca.json");
  const auto exact = ref["exact_eigenvalues_top6"].get<std::vector<double>>();
  for (std::size_t t = 0; t < 6; ++t) EXPECT_NEAR(m.eigenvalues[t], exact[t], 1e-9 * exact[t]) << t;
  // prince's randomized SVD (n_iter = 10) has not converged for components 2 and 3:
  // the README bounds its eigenvalues' distance to the exact ones by 1e-4.
  const auto randomized = ref["eigenvalues"].get<std::vector<double>>();
  EXPECT_NEAR(m.eigenvalues[0], randomized[0], 1e-8);
  for (std::size_t t = 1; t < 3; ++t) EXPECT_NEAR(m.eigenvalues[t], randomized[t], 1e-4);
  EXPECT_EQ(ref["J_indicator_columns"].get<std::size_t>(), m.n_indicators());
  // The total inertia J / K - 1.
  EXPECT_NEAR(m.total_inertia, 25.0 / 6.0 - 1.0, 1e-13);
}

TEST(McaGolden, TransformOfTrainingRowsGivesTheirCoordinates) {
  McaParams p;
  p.n_components = 3;
  const Input& in = golden_input();
  const McaModel m = fit_mca(in.codes, p);
  const MatrixD f = m.transform(in.codes.view().rows_view(0, 500));
  for (std::size_t i = 0; i < 500; ++i)
    for (std::size_t t = 0; t < 3; ++t) EXPECT_EQ(f(i, t), m.row_coordinates(i, t));
}
