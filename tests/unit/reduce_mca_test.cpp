// MCA and FAMD against dense oracles written in the test: the indicator matrix and
// the standardised residuals (or the FAMD matrix) are formed explicitly and
// decomposed by a plain one-sided Jacobi SVD.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "segmenta/reduce.hpp"

using namespace segmenta;

namespace {

// ---------------------------------------------------------------------------
// Oracle: one-sided Jacobi SVD of a dense (rows, cols) matrix
// ---------------------------------------------------------------------------

struct Svd {
  std::vector<double> s;  // descending
  MatrixD u;              // (rows, r)
  MatrixD v;              // (cols, r)
};

Svd jacobi_svd(MatrixD a) {
  const std::size_t m = a.rows(), n = a.cols();
  MatrixD v(n, n, 0.0);
  for (std::size_t i = 0; i < n; ++i) v(i, i) = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) {
        double alpha = 0, beta = 0, gamma = 0;
        for (std::size_t r = 0; r < m; ++r) {
          alpha += a(r, i) * a(r, i);
          beta += a(r, j) * a(r, j);
          gamma += a(r, i) * a(r, j);
        }
        if (gamma == 0.0 || std::abs(gamma) <= 1e-15 * std::sqrt(alpha * beta)) continue;
        off = std::max(off, std::abs(gamma) / std::sqrt(alpha * beta));
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::abs(zeta) + std::sqrt(1 + zeta * zeta));
        const double c = 1 / std::sqrt(1 + t * t), s = c * t;
        for (std::size_t r = 0; r < m; ++r) {
          const double x = a(r, i), y = a(r, j);
          a(r, i) = c * x - s * y;
          a(r, j) = s * x + c * y;
        }
        for (std::size_t r = 0; r < n; ++r) {
          const double x = v(r, i), y = v(r, j);
          v(r, i) = c * x - s * y;
          v(r, j) = s * x + c * y;
        }
      }
    if (off < 1e-15) break;
  }
  std::vector<double> norm(n);
  for (std::size_t j = 0; j < n; ++j) {
    double s = 0;
    for (std::size_t r = 0; r < m; ++r) s += a(r, j) * a(r, j);
    norm[j] = std::sqrt(s);
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return norm[x] > norm[y]; });
  Svd out;
  out.u = MatrixD(m, n);
  out.v = MatrixD(n, n);
  for (std::size_t t = 0; t < n; ++t) {
    const std::size_t j = order[t];
    out.s.push_back(norm[j]);
    for (std::size_t r = 0; r < m; ++r) out.u(r, t) = norm[j] > 0 ? a(r, j) / norm[j] : 0.0;
    for (std::size_t r = 0; r < n; ++r) out.v(r, t) = v(r, j);
  }
  return out;
}

Matrix<std::int32_t> random_codes(std::size_t n, const std::vector<std::int32_t>& levels, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<std::int32_t> c(n, levels.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t z = rng.below(3);  // a latent group ties the columns together
    for (std::size_t a = 0; a < levels.size(); ++a)
      c(i, a) = rng.uniform() < 0.5 ? static_cast<std::int32_t>((z + a) % static_cast<std::uint64_t>(levels[a]))
                                    : static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(levels[a])));
  }
  return c;
}

// Dense indicator matrix of the categories present, in (variable, code) order.
MatrixD indicators(const Matrix<std::int32_t>& codes) {
  std::vector<std::pair<std::size_t, std::int32_t>> cols;
  for (std::size_t a = 0; a < codes.cols(); ++a) {
    std::map<std::int32_t, int> present;
    for (std::size_t i = 0; i < codes.rows(); ++i) present[codes(i, a)] = 1;
    for (const auto& [v, one] : present) cols.emplace_back(a, v);
  }
  MatrixD z(codes.rows(), cols.size(), 0.0);
  for (std::size_t i = 0; i < codes.rows(); ++i)
    for (std::size_t j = 0; j < cols.size(); ++j) z(i, j) = codes(i, cols[j].first) == cols[j].second ? 1.0 : 0.0;
  return z;
}

struct Reference {
  std::vector<double> eig;
  MatrixD rows, cols;  // principal coordinates
};

Reference mca_oracle(const Matrix<std::int32_t>& codes, std::size_t k) {
  const MatrixD z = indicators(codes);
  const std::size_t n = z.rows(), J = z.cols();
  double total = 0;
  for (std::size_t t = 0; t < z.size(); ++t) total += z.data()[t];
  std::vector<double> r(n, 0.0), c(J, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < J; ++j) {
      r[i] += z(i, j) / total;
      c[j] += z(i, j) / total;
    }
  MatrixD s(n, J);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < J; ++j) s(i, j) = (z(i, j) / total - r[i] * c[j]) / std::sqrt(r[i] * c[j]);
  const Svd svd = jacobi_svd(s);
  Reference ref;
  ref.rows = MatrixD(n, k);
  ref.cols = MatrixD(J, k);
  for (std::size_t t = 0; t < k; ++t) {
    ref.eig.push_back(svd.s[t] * svd.s[t]);
    for (std::size_t i = 0; i < n; ++i) ref.rows(i, t) = svd.u(i, t) * svd.s[t] / std::sqrt(r[i]);
    for (std::size_t j = 0; j < J; ++j) ref.cols(j, t) = svd.v(j, t) * svd.s[t] / std::sqrt(c[j]);
  }
  return ref;
}

Reference famd_oracle(const MatrixD& num, const Matrix<std::int32_t>& codes, std::size_t k, bool prince) {
  const MatrixD z = indicators(codes);
  const std::size_t n = num.rows(), p = num.cols(), J = z.cols();
  MatrixD x(n, p + J);
  for (std::size_t c = 0; c < p; ++c) {
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < n; ++i) mean += num(i, c) / n;
    for (std::size_t i = 0; i < n; ++i) var += (num(i, c) - mean) * (num(i, c) - mean) / n;
    const double sd = var > 0 ? std::sqrt(var) : 1.0;
    for (std::size_t i = 0; i < n; ++i) x(i, c) = (num(i, c) - mean) / sd;
  }
  for (std::size_t j = 0; j < J; ++j) {
    double pj = 0;
    for (std::size_t i = 0; i < n; ++i) pj += z(i, j) / n;
    const double w = prince ? 2 * pj / static_cast<double>(codes.cols()) : pj;
    for (std::size_t i = 0; i < n; ++i) x(i, p + j) = (z(i, j) - pj) / std::sqrt(w);
  }
  const Svd svd = jacobi_svd(x);
  Reference ref;
  ref.rows = MatrixD(n, k);
  for (std::size_t t = 0; t < k; ++t) {
    ref.eig.push_back(svd.s[t] * svd.s[t] / n);
    for (std::size_t i = 0; i < n; ++i) ref.rows(i, t) = svd.u(i, t) * svd.s[t];
  }
  return ref;
}

// Compares coordinates up to one sign per component (the sign of their inner product).
void expect_near_up_to_sign(const MatrixD& got, const MatrixD& want, double tol, const char* what) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  for (std::size_t t = 0; t < got.cols(); ++t) {
    double dot = 0;
    for (std::size_t i = 0; i < got.rows(); ++i) dot += got(i, t) * want(i, t);
    const double sign = dot < 0 ? -1.0 : 1.0;
    for (std::size_t i = 0; i < got.rows(); ++i)
      ASSERT_NEAR(got(i, t), sign * want(i, t), tol) << what << " row " << i << " component " << t;
  }
}

void expect_largest_positive(const MatrixD& rows) {
  for (std::size_t t = 0; t < rows.cols(); ++t) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < rows.rows(); ++i)
      if (std::abs(rows(i, t)) > std::abs(rows(best, t))) best = i;
    EXPECT_GT(rows(best, t), 0.0) << "component " << t;
  }
}

bool has(const Diagnostics& d, const std::string& code) {
  for (const auto& it : d.items())
    if (it.code == code) return true;
  return false;
}

}  // namespace

TEST(Mca, MatchesDenseOracleWithBothSolvers) {
  for (const auto& levels : {std::vector<std::int32_t>{3, 4, 2, 5}, std::vector<std::int32_t>{6, 2, 7}}) {
    const Matrix<std::int32_t> codes = random_codes(80, levels, 3 + levels.size());
    const Reference ref = mca_oracle(codes, 3);
    for (const auto solver : {EigenSolver::dense, EigenSolver::lanczos}) {
      McaParams p;
      p.n_components = 3;
      p.solver = solver;
      const McaModel m = fit_mca(codes, p);
      ASSERT_EQ(m.n_components(), 3u);
      for (std::size_t t = 0; t < 3; ++t) EXPECT_NEAR(m.eigenvalues[t], ref.eig[t], 1e-12) << t;
      expect_near_up_to_sign(m.row_coordinates, ref.rows, 1e-9, "rows");
      expect_near_up_to_sign(m.column_coordinates, ref.cols, 1e-9, "columns");
      expect_largest_positive(m.row_coordinates);
      std::int32_t J = 0;
      for (auto l : levels) J += l;
      const double total =
          (static_cast<double>(m.n_indicators()) - static_cast<double>(levels.size())) / static_cast<double>(levels.size());
      EXPECT_NEAR(m.total_inertia, total, 1e-13);
      EXPECT_NEAR(m.percentage_of_variance[0], 100 * m.eigenvalues[0] / total, 1e-10);
      EXPECT_NEAR(m.cumulative_percentage_of_variance[2],
                  m.percentage_of_variance[0] + m.percentage_of_variance[1] + m.percentage_of_variance[2], 1e-10);
      EXPECT_LE(m.n_indicators(), static_cast<std::size_t>(J));
    }
  }
}

TEST(Mca, LanczosAgreesWithDenseOnManyIndicators) {
  const Matrix<std::int32_t> codes = random_codes(3000, {12, 40, 7, 25, 3}, 17);
  McaParams p;
  p.n_components = 4;
  p.solver = EigenSolver::dense;
  const McaModel d = fit_mca(codes, p);
  p.solver = EigenSolver::lanczos;
  const McaModel l = fit_mca(codes, p);
  EXPECT_GT(l.solver_matvecs, 0u);
  for (std::size_t t = 0; t < 4; ++t) EXPECT_NEAR(l.eigenvalues[t], d.eigenvalues[t], 1e-12 * d.eigenvalues[0]);
  for (std::size_t i = 0; i < codes.rows(); ++i)
    for (std::size_t t = 0; t < 4; ++t) ASSERT_NEAR(l.row_coordinates(i, t), d.row_coordinates(i, t), 1e-8);
  // Same solver, 1 or 2 threads: identical.
  set_num_threads(1);
  const McaModel a = fit_mca(codes, p);
  set_num_threads(2);
  const McaModel b = fit_mca(codes, p);
  set_num_threads(0);
  EXPECT_EQ(a.eigenvalues, b.eigenvalues);
  for (std::size_t t = 0; t < a.row_coordinates.size(); ++t)
    ASSERT_EQ(a.row_coordinates.data()[t], b.row_coordinates.data()[t]);
}

TEST(Mca, GapsInCodesConstantVariableAndTransform) {
  Matrix<std::int32_t> codes = random_codes(60, {3, 4, 3}, 5);
  Matrix<std::int32_t> gapped(60, 4);
  for (std::size_t i = 0; i < 60; ++i) {
    gapped(i, 0) = 2 * codes(i, 0);  // codes 0, 2, 4
    gapped(i, 1) = codes(i, 1) + 10;
    gapped(i, 2) = 7;                // a single category
    gapped(i, 3) = codes(i, 2);
  }
  McaParams p;
  p.n_components = 2;
  Diagnostics diag;
  const McaModel m = fit_mca(gapped, p, &diag);
  EXPECT_TRUE(has(diag, "constant_variable"));
  EXPECT_EQ(m.n_indicators(), 3u + 4u + 1u + 3u);
  EXPECT_EQ(m.indicator_code[1], 2);
  EXPECT_EQ(m.indicator_variable[7], 2);
  const Reference ref = mca_oracle(gapped, 2);
  for (std::size_t t = 0; t < 2; ++t) EXPECT_NEAR(m.eigenvalues[t], ref.eig[t], 1e-12);
  expect_near_up_to_sign(m.row_coordinates, ref.rows, 1e-9, "rows");

  const MatrixD f = m.transform(gapped);
  for (std::size_t t = 0; t < f.size(); ++t) EXPECT_EQ(f.data()[t], m.row_coordinates.data()[t]);
  // An unseen category contributes nothing: (sum of the others' standard coordinates)
  // / K minus the centring term.
  Matrix<std::int32_t> row(1, 4);
  for (std::size_t a = 0; a < 4; ++a) row(0, a) = gapped(0, a);
  row(0, 1) = -1;
  const MatrixD g = m.transform(row);
  for (std::size_t t = 0; t < 2; ++t) {
    double off = 0, s = 0;
    for (std::size_t j = 0; j < m.n_indicators(); ++j) {
      off += m.column_masses[j] * m.column_standard_coordinates(j, t);
      const std::size_t a = static_cast<std::size_t>(m.indicator_variable[j]);
      if (a != 1 && m.indicator_code[j] == gapped(0, a)) s += m.column_standard_coordinates(j, t);
    }
    EXPECT_NEAR(g(0, t), s / 4 - off, 1e-12);
  }
  EXPECT_THROW(m.transform(Matrix<std::int32_t>(2, 3)), InvalidArgument);
  EXPECT_THROW(McaModel().transform(row), NotFitted);
}

TEST(Mca, ComponentsAreCappedAtTheRankAndBadInputsRejected) {
  const Matrix<std::int32_t> codes = random_codes(40, {2, 3}, 9);  // J - K = 3
  McaParams p;
  p.n_components = 5;
  Diagnostics diag;
  const McaModel m = fit_mca(codes, p, &diag);
  EXPECT_EQ(m.n_components(), 3u);
  EXPECT_TRUE(has(diag, "n_components_reduced"));

  EXPECT_THROW(fit_mca(Matrix<std::int32_t>(10, 0)), InvalidArgument);
  EXPECT_THROW(fit_mca(Matrix<std::int32_t>(1, 2)), InvalidArgument);
  Matrix<std::int32_t> bad = codes;
  bad(3, 1) = -1;
  EXPECT_THROW(fit_mca(bad), InvalidArgument);
  bad(3, 1) = 1 << 25;
  EXPECT_THROW(fit_mca(bad), InvalidArgument);
  EXPECT_THROW(fit_mca(Matrix<std::int32_t>(10, 3, 4)), InvalidArgument);  // one distinct row
  McaParams q;
  q.n_components = 0;
  EXPECT_THROW(fit_mca(codes, q), InvalidArgument);
  q.n_components = 2;
  q.tol = 0.0;
  EXPECT_THROW(fit_mca(codes, q), InvalidArgument);
}

TEST(Famd, MatchesDenseOracleForBothScalings) {
  Rng rng(4);
  const Matrix<std::int32_t> codes = random_codes(70, {3, 4, 2}, 21);
  MatrixD num(70, 2);
  for (std::size_t i = 0; i < 70; ++i) {
    num(i, 0) = 3.0 * codes(i, 0) + rng.normal();
    num(i, 1) = 100.0 + 20.0 * rng.normal();
  }
  for (const auto scaling : {FamdScaling::factominer, FamdScaling::prince_0_12_1}) {
    const Reference ref = famd_oracle(num, codes, 3, scaling == FamdScaling::prince_0_12_1);
    for (const auto solver : {EigenSolver::dense, EigenSolver::lanczos}) {
      FamdParams p;
      p.n_components = 3;
      p.scaling = scaling;
      p.solver = solver;
      const FamdModel m = fit_famd(num, codes, p);
      for (std::size_t t = 0; t < 3; ++t) EXPECT_NEAR(m.eigenvalues[t], ref.eig[t], 1e-11 * ref.eig[0]) << t;
      expect_near_up_to_sign(m.row_coordinates, ref.rows, 1e-9, "rows");
      expect_largest_positive(m.row_coordinates);
      const MatrixD f = m.transform(num, codes);
      for (std::size_t t = 0; t < f.size(); ++t) ASSERT_EQ(f.data()[t], m.row_coordinates.data()[t]);
      // Total inertia: 2 numeric columns + sum_j p_j (1 - p_j) / w_j.
      double total = 2.0;
      for (std::size_t j = 0; j < m.indicator_proportions.size(); ++j)
        total += m.indicator_proportions[j] * (1 - m.indicator_proportions[j]) / m.indicator_weights[j];
      EXPECT_NEAR(m.total_inertia, total, 1e-12);
      if (scaling == FamdScaling::factominer) {
        EXPECT_NEAR(m.total_inertia, 2.0 + (9 - 3), 1e-12);
      }
      // Correlations and η² straight from the coordinates.
      for (std::size_t t = 0; t < 3; ++t) {
        const auto corr = [&](auto get_x) {
          double mx = 0, mf = 0, sxy = 0, sxx = 0, sff = 0;
          for (std::size_t i = 0; i < 70; ++i) {
            mx += get_x(i) / 70;
            mf += m.row_coordinates(i, t) / 70;
          }
          for (std::size_t i = 0; i < 70; ++i) {
            const double dx = get_x(i) - mx, df = m.row_coordinates(i, t) - mf;
            sxy += dx * df;
            sxx += dx * dx;
            sff += df * df;
          }
          return sxy / std::sqrt(sxx * sff);
        };
        for (std::size_t c = 0; c < 2; ++c) {
          const double r = corr([&](std::size_t i) { return num(i, c); });
          EXPECT_NEAR(m.numeric_correlations(c, t), r, 1e-9);
          EXPECT_NEAR(m.variable_coordinates(c, t), r * r, 1e-9);
        }
        for (std::size_t a = 0; a < 3; ++a) {
          std::map<std::int32_t, std::pair<double, int>> g;
          double mean = 0, tot = 0, between = 0;
          for (std::size_t i = 0; i < 70; ++i) mean += m.row_coordinates(i, t) / 70;
          for (std::size_t i = 0; i < 70; ++i) {
            g[codes(i, a)].first += m.row_coordinates(i, t);
            g[codes(i, a)].second += 1;
            tot += (m.row_coordinates(i, t) - mean) * (m.row_coordinates(i, t) - mean);
          }
          for (const auto& [v, e] : g) between += e.second * (e.first / e.second - mean) * (e.first / e.second - mean);
          EXPECT_NEAR(m.variable_coordinates(2 + a, t), between / tot, 1e-9);
        }
      }
    }
  }
}

// prince 0.12.1's divisor sqrt(2 p_j / K) is FactoMineR's sqrt(p_j) when K = 2.
TEST(Famd, PrinceScalingEqualsFactoMineRWithTwoCategoricalVariables) {
  const Matrix<std::int32_t> codes = random_codes(200, {4, 3}, 8);
  MatrixD num(200, 1);
  Rng rng(2);
  for (std::size_t i = 0; i < 200; ++i) num(i, 0) = codes(i, 1) + rng.normal();
  FamdParams p;
  p.n_components = 3;
  const FamdModel a = fit_famd(num, codes, p);
  p.scaling = FamdScaling::prince_0_12_1;
  const FamdModel b = fit_famd(num, codes, p);
  for (std::size_t t = 0; t < 3; ++t) EXPECT_NEAR(a.eigenvalues[t], b.eigenvalues[t], 1e-13);
  for (std::size_t t = 0; t < a.row_coordinates.size(); ++t)
    EXPECT_NEAR(a.row_coordinates.data()[t], b.row_coordinates.data()[t], 1e-11);
}

TEST(Famd, ConstantNumericColumnAndBadInputs) {
  const Matrix<std::int32_t> codes = random_codes(50, {3, 3}, 1);
  MatrixD num(50, 2);
  Rng rng(3);
  for (std::size_t i = 0; i < 50; ++i) {
    num(i, 0) = rng.normal();
    num(i, 1) = 4.0;
  }
  Diagnostics diag;
  FamdParams p;
  p.n_components = 2;
  const FamdModel m = fit_famd(num, codes, p, &diag);
  EXPECT_TRUE(has(diag, "constant_numeric"));
  EXPECT_EQ(m.numeric_scale[1], 1.0);
  for (std::size_t t = 0; t < 2; ++t) EXPECT_EQ(m.numeric_correlations(1, t), 0.0);
  EXPECT_NEAR(m.total_inertia, 1.0 + 4.0, 1e-12);
  const Reference ref = famd_oracle(num, codes, 2, false);
  expect_near_up_to_sign(m.row_coordinates, ref.rows, 1e-9, "rows");

  EXPECT_THROW(fit_famd(MatrixD(50, 0), codes), InvalidArgument);
  EXPECT_THROW(fit_famd(num, Matrix<std::int32_t>(50, 0)), InvalidArgument);
  EXPECT_THROW(fit_famd(MatrixD(49, 2), codes), InvalidArgument);
  MatrixD nan = num;
  nan(5, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(fit_famd(nan, codes), InvalidArgument);
  Matrix<std::int32_t> neg = codes;
  neg(0, 0) = -2;
  EXPECT_THROW(fit_famd(num, neg), InvalidArgument);
  EXPECT_THROW(m.transform(MatrixD(3, 1), Matrix<std::int32_t>(3, 2)), InvalidArgument);
  EXPECT_THROW(FamdModel().transform(num, codes), NotFitted);
}
