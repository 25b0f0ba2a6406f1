// PCA against a naive oracle: the covariance matrix summed term by term and
// diagonalised with cyclic Jacobi rotations (independent of Eigen and BLAS).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "segmenta/reduce.hpp"

using namespace segmenta;

namespace {

struct Eig {
  std::vector<double> values;  // descending
  MatrixD vectors;             // (p, p), column c belongs to values[c]
};

Eig jacobi_eigen(MatrixD a) {
  const std::size_t p = a.rows();
  MatrixD v(p, p, 0.0);
  for (std::size_t i = 0; i < p; ++i) v(i, i) = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (std::size_t i = 0; i < p; ++i)
      for (std::size_t j = i + 1; j < p; ++j) off += a(i, j) * a(i, j);
    if (off < 1e-30) break;
    for (std::size_t i = 0; i < p; ++i)
      for (std::size_t j = i + 1; j < p; ++j) {
        if (std::abs(a(i, j)) < 1e-300) continue;
        const double theta = (a(j, j) - a(i, i)) / (2.0 * a(i, j));
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (std::size_t k = 0; k < p; ++k) {
          const double aki = a(k, i), akj = a(k, j);
          a(k, i) = c * aki - s * akj;
          a(k, j) = s * aki + c * akj;
        }
        for (std::size_t k = 0; k < p; ++k) {
          const double aik = a(i, k), ajk = a(j, k);
          a(i, k) = c * aik - s * ajk;
          a(j, k) = s * aik + c * ajk;
        }
        for (std::size_t k = 0; k < p; ++k) {
          const double vki = v(k, i), vkj = v(k, j);
          v(k, i) = c * vki - s * vkj;
          v(k, j) = s * vki + c * vkj;
        }
      }
  }
  std::vector<std::size_t> idx(p);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) { return a(x, x) > a(y, y); });
  Eig e;
  e.vectors = MatrixD(p, p);
  for (std::size_t c = 0; c < p; ++c) {
    e.values.push_back(a(idx[c], idx[c]));
    for (std::size_t k = 0; k < p; ++k) e.vectors(k, c) = v(k, idx[c]);
  }
  return e;
}

// Naive standardisation (two-pass, ddof 0) and covariance Zᵀ Z.
struct Naive {
  MatrixD z;
  std::vector<double> mean, scale;
  MatrixD cov;
};

Naive naive(const MatrixD& x, bool standardize) {
  const std::size_t n = x.rows(), p = x.cols();
  Naive r;
  r.mean.assign(p, 0.0);
  r.scale.assign(p, 1.0);
  for (std::size_t j = 0; j < p; ++j) {
    for (std::size_t i = 0; i < n; ++i) r.mean[j] += x(i, j);
    r.mean[j] /= static_cast<double>(n);
    double v = 0.0;
    for (std::size_t i = 0; i < n; ++i) v += (x(i, j) - r.mean[j]) * (x(i, j) - r.mean[j]);
    v /= static_cast<double>(n);
    if (standardize && v > 1e-20) r.scale[j] = std::sqrt(v);
  }
  r.z = MatrixD(n, p);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < p; ++j) r.z(i, j) = (x(i, j) - r.mean[j]) / r.scale[j];
  r.cov = MatrixD(p, p, 0.0);
  for (std::size_t a = 0; a < p; ++a)
    for (std::size_t b = 0; b < p; ++b)
      for (std::size_t i = 0; i < n; ++i) r.cov(a, b) += r.z(i, a) * r.z(i, b);
  return r;
}

// Correlated Gaussian data with well separated eigenvalues.
MatrixD sample(std::size_t n, std::size_t p, std::uint64_t seed) {
  Rng rng(seed);
  MatrixD mix(p, p);
  for (std::size_t i = 0; i < p * p; ++i) mix.data()[i] = rng.normal();
  MatrixD x(n, p, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> g(p);
    for (std::size_t j = 0; j < p; ++j) g[j] = rng.normal() * (1.0 + 0.7 * static_cast<double>(p - j));
    for (std::size_t j = 0; j < p; ++j) {
      double s = 3.0 * static_cast<double>(j);  // non-zero means
      for (std::size_t k = 0; k < p; ++k) s += mix(j, k) * g[k];
      x(i, j) = s;
    }
  }
  return x;
}

void check_against_oracle(const MatrixD& x, bool standardize, std::size_t k) {
  PcaParams params;
  params.n_components = k;
  params.standardize = standardize;
  const PcaModel m = fit_pca(x.view(), params);
  const Naive nv = naive(x, standardize);
  const Eig e = jacobi_eigen(nv.cov);
  const double n = static_cast<double>(x.rows());
  double trace = 0.0;
  for (std::size_t j = 0; j < x.cols(); ++j) trace += nv.cov(j, j);
  EXPECT_NEAR(m.total_inertia, trace / n, 1e-12 * trace / n);
  for (std::size_t c = 0; c < k; ++c) {
    EXPECT_NEAR(m.eigenvalues[c], e.values[c] / n, 1e-10 * e.values[0] / n) << c;
    EXPECT_NEAR(m.explained_variance[c], e.values[c] / (n - 1), 1e-10 * e.values[0] / n) << c;
    EXPECT_NEAR(m.explained_variance_ratio[c], e.values[c] / trace, 1e-10) << c;
    EXPECT_NEAR(m.singular_values[c], std::sqrt(e.values[c]), 1e-9 * std::sqrt(e.values[0])) << c;
    // Components equal up to sign; then the sign rule on the scores.
    const double sgn = m.components(c, 0) * e.vectors(0, c) >= 0 ? 1.0 : -1.0;
    for (std::size_t j = 0; j < x.cols(); ++j) EXPECT_NEAR(m.components(c, j), sgn * e.vectors(j, c), 1e-8) << c;
    std::size_t arg = 0;
    for (std::size_t i = 0; i < x.rows(); ++i) {
      double s = 0.0;
      for (std::size_t j = 0; j < x.cols(); ++j) s += nv.z(i, j) * m.components(c, j);
      EXPECT_NEAR(m.row_coordinates(i, c), s, 1e-9 * std::sqrt(e.values[0]));
      if (std::abs(m.row_coordinates(i, c)) > std::abs(m.row_coordinates(arg, c))) arg = i;
    }
    EXPECT_GT(m.row_coordinates(arg, c), 0.0) << "largest |score| of component " << c << " must be positive";
  }
  for (std::size_t j = 0; j < x.cols(); ++j) {
    EXPECT_NEAR(m.mean[j], nv.mean[j], 1e-12 * (1 + std::abs(nv.mean[j])));
    EXPECT_NEAR(m.scale[j], nv.scale[j], 1e-12 * nv.scale[j]);
  }
}

}  // namespace

TEST(PcaUnit, CovariancePathMatchesJacobiOracle) {
  const MatrixD x = sample(300, 7, 11);
  check_against_oracle(x, false, 3);
  check_against_oracle(x, true, 3);
  check_against_oracle(x, true, 7);
}

TEST(PcaUnit, ManyColumnsUseSeveralTilesOfTheCovariance) {
  const MatrixD x = sample(400, 150, 5);  // 150 > the 128-column tile
  check_against_oracle(x, false, 4);
}

TEST(PcaUnit, VeryWideDataUsesColumnTiles) {
  // 1100 columns (> 1024: covariance by column-tile pairs). Only columns 5, 600 and
  // 1090 (three different tiles) vary, so the eigenvalues are those of their 3 x 3
  // covariance matrix.
  const std::size_t n = 1200, p = 1100;
  Rng rng(31);
  MatrixD x(n, p, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double a = rng.normal(), b = rng.normal(), c = rng.normal();
    x(i, 5) = 2.0 * a + 1.0;
    x(i, 1090) = a + 0.5 * b;
    x(i, 600) = 1.3 * c;
  }
  auto cov = [&](std::size_t u, std::size_t v) {
    double mu = 0, mv = 0, s = 0;
    for (std::size_t i = 0; i < n; ++i) {
      mu += x(i, u);
      mv += x(i, v);
    }
    mu /= n;
    mv /= n;
    for (std::size_t i = 0; i < n; ++i) s += (x(i, u) - mu) * (x(i, v) - mv);
    return s / n;
  };
  const std::size_t cols[3] = {5, 600, 1090};
  MatrixD small(3, 3);
  for (std::size_t u = 0; u < 3; ++u)
    for (std::size_t v = 0; v < 3; ++v) small(u, v) = cov(cols[u], cols[v]);
  const Eig want = jacobi_eigen(small);
  PcaParams params;
  params.n_components = 3;
  const PcaModel m = fit_pca(x.view(), params);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(m.eigenvalues[k], want.values[k], 1e-10 * want.values[0]) << k;
    for (std::size_t u = 0; u < 3; ++u)
      EXPECT_NEAR(std::abs(m.components(k, cols[u])), std::abs(want.vectors(u, k)), 1e-8) << k;
  }
  EXPECT_NEAR(m.total_inertia, small(0, 0) + small(1, 1) + small(2, 2), 1e-10 * m.total_inertia);
}

TEST(PcaUnit, WideDataUsesTheSvdPath) {
  const MatrixD x = sample(9, 14, 3);  // p > n
  check_against_oracle(x, false, 3);
  check_against_oracle(x, true, 5);
}

TEST(PcaUnit, PercentagesAndCorrelations) {
  const MatrixD x = sample(250, 5, 8);
  PcaParams params;
  params.n_components = 5;
  params.standardize = true;
  const PcaModel m = fit_pca(x.view(), params);
  EXPECT_NEAR(m.total_inertia, 5.0, 1e-12);
  EXPECT_NEAR(m.cumulative_percentage_of_variance.back(), 100.0, 1e-10);
  double ratio_sum = 0.0;
  for (std::size_t c = 0; c < 5; ++c) {
    ratio_sum += m.explained_variance_ratio[c];
    EXPECT_DOUBLE_EQ(m.percentage_of_variance[c], 100.0 * m.explained_variance_ratio[c]);
    if (c) {
      EXPECT_GE(m.eigenvalues[c - 1], m.eigenvalues[c]);
    }
  }
  EXPECT_NEAR(ratio_sum, 1.0, 1e-12);
  // Correlations are the Pearson correlations of the columns with the scores, and
  // with all components the squared correlations of a column sum to 1.
  const std::size_t n = x.rows();
  for (std::size_t j = 0; j < 5; ++j) {
    double sq = 0.0;
    for (std::size_t c = 0; c < 5; ++c) {
      double mx = 0, my = 0;
      for (std::size_t i = 0; i < n; ++i) {
        mx += x(i, j);
        my += m.row_coordinates(i, c);
      }
      mx /= static_cast<double>(n);
      my /= static_cast<double>(n);
      double sxy = 0, sxx = 0, syy = 0;
      for (std::size_t i = 0; i < n; ++i) {
        sxy += (x(i, j) - mx) * (m.row_coordinates(i, c) - my);
        sxx += (x(i, j) - mx) * (x(i, j) - mx);
        syy += (m.row_coordinates(i, c) - my) * (m.row_coordinates(i, c) - my);
      }
      EXPECT_NEAR(m.column_correlations(j, c), sxy / std::sqrt(sxx * syy), 1e-10);
      sq += m.column_correlations(j, c) * m.column_correlations(j, c);
    }
    EXPECT_NEAR(sq, 1.0, 1e-10);
  }
}

TEST(PcaUnit, TransformOfNewRows) {
  const MatrixD x = sample(200, 6, 21);
  const MatrixD fresh = sample(17, 6, 99);
  for (bool standardize : {false, true}) {
    PcaParams params;
    params.n_components = 3;
    params.standardize = standardize;
    const PcaModel m = fit_pca(x.view(), params);
    const MatrixD t = m.transform(fresh.view());
    ASSERT_EQ(t.rows(), 17u);
    ASSERT_EQ(t.cols(), 3u);
    for (std::size_t i = 0; i < fresh.rows(); ++i)
      for (std::size_t c = 0; c < 3; ++c) {
        double s = 0.0;
        for (std::size_t j = 0; j < 6; ++j) s += (fresh(i, j) - m.mean[j]) / m.scale[j] * m.components(c, j);
        EXPECT_NEAR(t(i, c), s, 1e-12 * (1 + std::abs(s)));
      }
    const MatrixD self = m.transform(x.view());
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(self(i, c), m.row_coordinates(i, c));
    MatrixD bad(3, 5, 0.0);
    EXPECT_THROW(m.transform(bad.view()), InvalidArgument);
  }
}

TEST(PcaUnit, SignConventionIsInvariantToNegatingTheData) {
  const MatrixD x = sample(150, 4, 2);
  MatrixD neg(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.size(); ++i) neg.data()[i] = -x.data()[i];
  PcaParams params;
  params.n_components = 3;
  const PcaModel a = fit_pca(x.view(), params);
  const PcaModel b = fit_pca(neg.view(), params);
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t c = 0; c < 3; ++c) EXPECT_NEAR(a.row_coordinates(i, c), b.row_coordinates(i, c), 1e-10);
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t j = 0; j < 4; ++j) EXPECT_NEAR(a.components(c, j), -b.components(c, j), 1e-10);
}

TEST(PcaUnit, ConstantColumnIsReportedAndCarriesNoWeight) {
  const MatrixD base = sample(120, 4, 4);
  MatrixD x(base.rows(), 5);
  for (std::size_t i = 0; i < x.rows(); ++i) {
    for (std::size_t j = 0; j < 4; ++j) x(i, j < 2 ? j : j + 1) = base(i, j);
    x(i, 2) = 3.25;
  }
  PcaParams params;
  params.n_components = 3;
  params.standardize = true;
  Diagnostics diag;
  const PcaModel m = fit_pca(x.view(), params, &diag);
  const PcaModel ref = fit_pca(base.view(), params);
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.items()[0].code, "constant_column");
  EXPECT_EQ(m.scale[2], 1.0);
  EXPECT_NEAR(m.total_inertia, 4.0, 1e-12);
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(m.eigenvalues[c], ref.eigenvalues[c], 1e-12);
    EXPECT_NEAR(m.components(c, 2), 0.0, 1e-12);
    EXPECT_EQ(m.column_correlations(2, c), 0.0);
    EXPECT_NEAR(m.percentage_of_variance[c], ref.percentage_of_variance[c], 1e-10);
  }
}

TEST(PcaUnit, FloatInputOfRepresentableValuesEqualsDouble) {
  const MatrixD x = sample(100, 5, 6);
  MatrixF xf(x.rows(), x.cols());
  MatrixD xd(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.size(); ++i) {
    xf.data()[i] = static_cast<float>(x.data()[i]);
    xd.data()[i] = static_cast<double>(xf.data()[i]);
  }
  PcaParams params;
  params.n_components = 2;
  const PcaModel a = fit_pca(xd.view(), params);
  const PcaModel b = fit_pca(xf.view(), params);
  for (std::size_t c = 0; c < 2; ++c) EXPECT_EQ(a.eigenvalues[c], b.eigenvalues[c]);
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t c = 0; c < 2; ++c) EXPECT_EQ(a.row_coordinates(i, c), b.row_coordinates(i, c));
  const MatrixD tf = a.transform(xf.view());
  for (std::size_t i = 0; i < x.rows(); ++i) EXPECT_EQ(tf(i, 1), a.row_coordinates(i, 1));
}

TEST(PcaUnit, SameResultForOneAndTwoThreads) {
  const MatrixD x = sample(9000, 140, 13);  // several row blocks and column tiles
  PcaParams params;
  params.n_components = 3;
  params.standardize = true;
  set_num_threads(1);
  const PcaModel a = fit_pca(x.view(), params);
  set_num_threads(2);
  const PcaModel b = fit_pca(x.view(), params);
  set_num_threads(0);
  for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(a.eigenvalues[c], b.eigenvalues[c]);
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t c = 0; c < 3; ++c) ASSERT_EQ(a.row_coordinates(i, c), b.row_coordinates(i, c));
}

TEST(PcaUnit, InvalidInputsThrow) {
  const MatrixD x = sample(10, 3, 1);
  PcaParams params;
  params.n_components = 0;
  EXPECT_THROW(fit_pca(x.view(), params), InvalidArgument);
  params.n_components = 4;
  EXPECT_THROW(fit_pca(x.view(), params), InvalidArgument);
  params.n_components = 2;
  MatrixD one(1, 3, 1.0);
  EXPECT_THROW(fit_pca(one.view(), params), InvalidArgument);
  MatrixD nan = x;
  nan(4, 1) = std::nan("");
  EXPECT_THROW(fit_pca(nan.view(), params), InvalidArgument);
}
