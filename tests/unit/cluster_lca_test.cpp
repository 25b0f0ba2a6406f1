// The latent-class model's properties: posteriors are distributions, EM never
// lowers its objective, results do not depend on the thread count, missing cells
// are left out of the likelihood, and planted classes are found.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "cluster/lca_isa.hpp"
#include "segmenta/cluster.hpp"

using namespace segmenta;

namespace {

/// Three planted classes: two numeric columns (means -2, 0, 2 apart) and two
/// categorical columns whose favourite level depends on the class; a few cells missing.
struct Planted {
  MatrixD x;
  Matrix<std::int32_t> codes;
  std::vector<std::int32_t> levels{3, 4};
  std::vector<std::int32_t> truth;
};

Planted planted(std::size_t n, double missing_rate = 0.02) {
  Planted d;
  Rng rng(42);
  d.x.resize(n, 2);
  d.codes.resize(n, 2);
  for (std::size_t i = 0; i < n; ++i) {
    const auto cls = static_cast<std::int32_t>(rng.below(3));
    d.truth.push_back(cls);
    d.x(i, 0) = 2.0 * (cls - 1) + 0.6 * rng.normal();
    d.x(i, 1) = (cls == 2 ? 1.5 : -0.5) + 0.8 * rng.normal();
    d.codes(i, 0) = rng.uniform() < 0.7 ? cls : static_cast<std::int32_t>(rng.below(3));
    d.codes(i, 1) = rng.uniform() < 0.6 ? (cls + 1) % 4 : static_cast<std::int32_t>(rng.below(4));
    if (rng.uniform() < missing_rate) d.x(i, 0) = std::nan("");
    if (rng.uniform() < missing_rate) d.codes(i, 1) = -1;
  }
  return d;
}

LcaParams params(std::size_t k) {
  LcaParams p;
  p.n_components = k;
  p.n_init = 3;
  p.random_state = 5;
  return p;
}

}  // namespace

TEST(Lca, PosteriorsAreDistributionsAndLabelsTheirArgmax) {
  const Planted d = planted(3000);
  const LcaModel m = fit_lca(d.x.view(), d.codes.view(), d.levels, params(3));
  ASSERT_EQ(m.posterior.rows(), 3000u);
  for (std::size_t i = 0; i < m.posterior.rows(); ++i) {
    double s = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      EXPECT_GE(m.posterior(i, j), 0.0);
      s += m.posterior(i, j);
      EXPECT_LE(m.posterior(i, j), m.posterior(i, static_cast<std::size_t>(m.labels[i])));
    }
    EXPECT_NEAR(s, 1.0, 1e-12);
  }
  double w = 0;
  for (double v : m.weights) w += v;
  EXPECT_NEAR(w, 1.0, 1e-12);
  EXPECT_TRUE(m.converged);
  EXPECT_GT(m.entropy_r2, 0.5);
  EXPECT_LT(m.bic, m.icl + 1e-9);
  EXPECT_EQ(m.n_parameters, 2u + 3 * 4 + 3 * (2 + 3));
}

TEST(Lca, ObjectiveNeverDecreases) {
  const Planted d = planted(2000);
  LcaParams p = params(4);
  p.tol = 0;
  p.max_iter = 200;
  const MatrixD init = lca_initial_responsibilities(d.x.view(), d.codes.view(), d.levels, 4, 1, 0);
  const LcaModel m = fit_lca_from(d.x.view(), d.codes.view(), d.levels, init.view(), p);
  ASSERT_GT(m.objective_trace.size(), 5u);
  for (std::size_t t = 1; t < m.objective_trace.size(); ++t)
    EXPECT_GE(m.objective_trace[t], m.objective_trace[t - 1] - 1e-9 * std::abs(m.objective_trace[t]))
        << "iteration " << t;
}

TEST(Lca, SameResultForOneAndTwoThreads) {
  const Planted d = planted(9000);  // several row blocks
  set_num_threads(1);
  const LcaModel a = fit_lca(d.x.view(), d.codes.view(), d.levels, params(3));
  set_num_threads(2);
  const LcaModel b = fit_lca(d.x.view(), d.codes.view(), d.levels, params(3));
  set_num_threads(0);
  EXPECT_EQ(a.log_likelihood, b.log_likelihood);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.n_iter, b.n_iter);
  for (std::size_t i = 0; i < a.posterior.size(); ++i) ASSERT_EQ(a.posterior.data()[i], b.posterior.data()[i]);
}

TEST(Lca, RowWithEveryCellMissingGetsTheClassWeights) {
  Planted d = planted(2000);
  d.x(7, 0) = d.x(7, 1) = std::nan("");
  d.codes(7, 0) = -1;
  d.codes(7, 1) = 99;  // out of range: missing too
  const LcaModel m = fit_lca(d.x.view(), d.codes.view(), d.levels, params(3));
  for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(m.posterior(7, j), m.weights[j], 1e-12);
  const MatrixD pr = m.predict_proba(ViewD(d.x.row(7), 1, 2), MatrixView<std::int32_t>(d.codes.row(7), 1, 2));
  for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(pr(0, j), m.weights[j], 1e-12);
}

TEST(Lca, MissingCellsAreLeftOutNotImputed) {
  // A row's posterior with a missing number equals the posterior computed from its
  // other cells alone: changing the value behind a NaN cannot matter, and the
  // posterior differs from the one with the cell at the column mean.
  const Planted d = planted(2000);
  const LcaModel m = fit_lca(d.x.view(), d.codes.view(), d.levels, params(3));
  MatrixD one(1, 2);
  Matrix<std::int32_t> c(1, 2);
  one(0, 0) = std::nan("");
  one(0, 1) = 1.2;
  c(0, 0) = 2;
  c(0, 1) = 3;
  const MatrixD a = m.predict_proba(one.view(), c.view());
  // by hand: weights x Gaussian of column 1 x category probabilities
  std::vector<double> manual(3);
  double s = 0;
  for (std::size_t j = 0; j < 3; ++j) {
    const double z = 1.2 - m.means(j, 1), v = m.variances(j, 1);
    manual[j] = m.weights[j] * std::exp(-0.5 * z * z / v) / std::sqrt(2 * M_PI * v) * m.probabilities[0](j, 2) *
                m.probabilities[1](j, 3);
    s += manual[j];
  }
  for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(a(0, j), manual[j] / s, 1e-12);
}

TEST(Lca, FindsPlantedClassesAndPredictsItsTrainingRows) {
  const Planted d = planted(3000, 0.0);
  const LcaModel m = fit_lca(d.x.view(), d.codes.view(), d.levels, params(3));
  // agreement up to a relabelling: each class maps to one truth class for >= 85% of rows
  std::size_t agree = 0;
  for (std::size_t j = 0; j < 3; ++j) {
    std::size_t counts[3] = {0, 0, 0};
    for (std::size_t i = 0; i < d.truth.size(); ++i)
      if (m.labels[i] == static_cast<std::int32_t>(j)) ++counts[d.truth[i]];
    agree += std::max({counts[0], counts[1], counts[2]});
  }
  EXPECT_GT(static_cast<double>(agree) / 3000.0, 0.85);
  EXPECT_EQ(m.predict(d.x.view(), d.codes.view()), m.labels);
  const MatrixD pr = m.predict_proba(d.x.view(), d.codes.view());
  for (std::size_t i = 0; i < pr.size(); ++i) EXPECT_NEAR(pr.data()[i], m.posterior.data()[i], 1e-12);
}

TEST(Lca, VarianceFloorHoldsOnAConstantClass) {
  // 40 identical rows form a class of their own: its variance stops at the floor.
  Planted d = planted(1000, 0.0);
  for (std::size_t i = 0; i < 40; ++i) {
    d.x(i, 0) = 10.0;
    d.x(i, 1) = -10.0;
  }
  LcaParams p = params(4);
  const LcaModel m = fit_lca(d.x.view(), d.codes.view(), d.levels, p);
  double lowest = INFINITY;
  for (std::size_t i = 0; i < m.variances.size(); ++i) lowest = std::min(lowest, m.variances.data()[i]);
  EXPECT_GE(lowest, std::min(m.variance_floors[0], m.variance_floors[1]));
  EXPECT_TRUE(std::isfinite(m.log_likelihood));
}

TEST(Lca, RejectsBadInput) {
  const Planted d = planted(100);
  LcaParams p = params(3);
  p.n_init = 0;
  EXPECT_THROW(fit_lca(d.x.view(), d.codes.view(), d.levels, p), InvalidArgument);
  p = params(101);
  EXPECT_THROW(fit_lca(d.x.view(), d.codes.view(), d.levels, p), InvalidArgument);
  p = params(2);
  std::vector<std::int32_t> short_levels{3};
  EXPECT_THROW(fit_lca(d.x.view(), d.codes.view(), short_levels, p), InvalidArgument);
  // A starting model of other columns or other category counts.
  const LcaModel start = fit_lca(d.x.view(), d.codes.view(), d.levels, p);
  std::vector<std::int32_t> more_levels = d.levels;
  ++more_levels[0];
  EXPECT_THROW(fit_lca_from_model(d.x.view(), d.codes.view(), more_levels, start, p), InvalidArgument);
  const MatrixD fewer = MatrixD(d.x.rows(), d.x.cols() - 1, 0.0);
  EXPECT_THROW(fit_lca_from_model(fewer.view(), d.codes.view(), d.levels, start, p), InvalidArgument);
}

// EM from a model's class parameters is EM from that model's posterior of the rows.
TEST(Lca, FromAModelIsFromItsPosterior) {
  const Planted d = planted(3000);
  LcaParams p = params(3);
  p.n_init = 1;
  const std::size_t half = 1500;
  const LcaModel start = fit_lca(MatrixView<double>(d.x.data(), half, d.x.cols()),
                                 MatrixView<std::int32_t>(d.codes.data(), half, d.codes.cols()), d.levels, p);
  const MatrixD post = start.predict_proba(d.x.view(), d.codes.view());
  const LcaModel a = fit_lca_from(d.x.view(), d.codes.view(), d.levels, post.view(), p);
  const LcaModel b = fit_lca_from_model(d.x.view(), d.codes.view(), d.levels, start, p);
  EXPECT_EQ(a.labels, b.labels);
  ASSERT_EQ(a.posterior.rows(), b.posterior.rows());
  EXPECT_EQ(0, std::memcmp(a.posterior.data(), b.posterior.data(), a.posterior.rows() * 3 * sizeof(double)));
  EXPECT_EQ(a.objective_trace, b.objective_trace);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.n_iter, b.n_iter);
}

// The E-step's exponential: every variant the CPU runs gives the same bits, within
// 1e-15 relative of std::exp on [-708, 0], 0 below (including -inf).
TEST(Lca, ExponentialVariantsAgreeWithStdExp) {
  std::vector<double> x;
  Rng rng(3);
  for (int i = 0; i < 20000; ++i) x.push_back(-745.0 * rng.uniform() * rng.uniform());
  for (double v : {0.0, -0.0, -1e-300, -0.34657359027997264, -0.34657359027997270, -1.0, -700.0, -708.0})
    x.push_back(v);
  const std::vector<double> below{-708.0000001, -745.2, -1e308, -std::numeric_limits<double>::infinity()};
  using cluster_detail::lca_functions;
  const auto* portable = lca_functions(kernels::Isa::portable);
  ASSERT_NE(portable, nullptr);
  std::vector<double> ref = x;
  portable->exp_nonpositive(ref.data(), ref.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] < -708.0) {
      EXPECT_EQ(ref[i], 0.0);
      continue;
    }
    const double e = std::exp(x[i]);
    EXPECT_LE(std::abs(ref[i] - e), 1e-15 * e) << "x = " << x[i];
  }
  std::vector<double> b = below;
  portable->exp_nonpositive(b.data(), b.size());
  for (double v : b) EXPECT_EQ(v, 0.0);
  for (auto isa : {kernels::Isa::avx2, kernels::Isa::avx512}) {
    const auto* f = lca_functions(isa);
    if (!f) continue;
    std::vector<double> y = x;
    f->exp_nonpositive(y.data(), y.size());
    for (std::size_t i = 0; i < x.size(); ++i)
      EXPECT_EQ(std::bit_cast<std::uint64_t>(y[i]), std::bit_cast<std::uint64_t>(ref[i])) << "x = " << x[i];
  }
}
