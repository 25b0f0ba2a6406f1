// t-SNE building blocks against naive implementations kept here as oracles, and
// properties of the full run (determinism across thread counts, cluster recovery).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <map>
#include <numeric>

#include "reduce/tsne_internal.hpp"
#include "segmenta/reduce.hpp"

using namespace segmenta;
using namespace segmenta::tsne_detail;

namespace {

MatrixD gaussian(std::size_t n, std::size_t p, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  MatrixD x(n, p);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = scale * rng.normal();
  return x;
}

// Three well separated clusters in p dimensions; labels in `labels`.
MatrixD clusters(std::size_t n, std::size_t p, std::uint64_t seed, std::vector<int>& labels) {
  Rng rng(seed);
  MatrixD x(n, p);
  labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    labels[i] = static_cast<int>(i % 3);
    for (std::size_t j = 0; j < p; ++j) x(i, j) = rng.normal() + (j == static_cast<std::size_t>(labels[i]) ? 12.0 : 0.0);
  }
  return x;
}

double sqd(const MatrixD& x, std::size_t i, std::size_t j) {
  double s = 0.0;
  for (std::size_t a = 0; a < x.cols(); ++a) s += (x(i, a) - x(j, a)) * (x(i, a) - x(j, a));
  return s;
}

// Naive neighbours: full sort of (distance, index).
std::vector<std::vector<std::pair<double, std::uint32_t>>> naive_knn(const MatrixD& x, std::size_t k) {
  std::vector<std::vector<std::pair<double, std::uint32_t>>> out(x.rows());
  for (std::size_t i = 0; i < x.rows(); ++i) {
    std::vector<std::pair<double, std::uint32_t>> all;
    for (std::size_t j = 0; j < x.rows(); ++j)
      if (j != i) all.emplace_back(sqd(x, i, j), static_cast<std::uint32_t>(j));
    std::sort(all.begin(), all.end());
    all.resize(k);
    out[i] = all;
  }
  return out;
}

void expect_knn_equal(const Neighbors& nn, const MatrixD& x, std::size_t k) {
  const auto ref = naive_knn(x, k);
  ASSERT_EQ(nn.k, k);
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t t = 0; t < k; ++t) {
      ASSERT_EQ(nn.index[i * k + t], ref[i][t].second) << "row " << i << " rank " << t;
      // Same differences, summed with or without fused multiply-adds.
      ASSERT_NEAR(nn.sqdist[i * k + t], ref[i][t].first, 1e-14 * ref[i][t].first);
    }
}

// Perplexity 2^H of a probability row (natural log entropy -> e^H).
double perplexity_of(const std::vector<double>& p) {
  double h = 0.0;
  for (double v : p)
    if (v > 0) h -= v * std::log(v);
  return std::exp(h);
}

// Independent precision search: bisection on log(beta) to machine precision.
std::vector<double> naive_conditional(const std::vector<double>& d, double perplexity) {
  auto row = [&](double beta) {
    std::vector<double> p(d.size());
    double s = 0.0;
    for (std::size_t j = 0; j < d.size(); ++j) s += p[j] = std::exp(-beta * (d[j] - d[0]));
    for (double& v : p) v /= s;
    return p;
  };
  double lo = -50.0, hi = 50.0;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (perplexity_of(row(std::exp(mid))) > perplexity ? lo : hi) = mid;
  }
  return row(std::exp(0.5 * (lo + hi)));
}

double kl_exact_2d(const MatrixD& p, const std::vector<double>& y) {
  const std::size_t n = p.rows();
  double z = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (i != j) {
        const double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
        z += 1.0 / (1.0 + dx * dx + dy * dy);
      }
  double kl = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (i != j) {
        const double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
        kl += p(i, j) * std::log(p(i, j) / (1.0 / (1.0 + dx * dx + dy * dy) / z));
      }
  return kl;
}

std::vector<double> spread_points(std::size_t n, std::size_t d, double extent, std::uint64_t seed) {
  // A few blobs of different sizes inside [-extent/2, extent/2]^d.
  Rng rng(seed);
  std::vector<double> y(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t blob = i % 5;
    for (std::size_t a = 0; a < d; ++a) {
      const double centre = extent * (0.4 * std::sin(1.7 * static_cast<double>(blob + a)));
      y[i * d + a] = centre + extent * 0.04 * static_cast<double>(blob + 1) * rng.normal();
    }
  }
  return y;
}

double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}

}  // namespace

// ---------------------------------------------------------------------------
// Neighbours
// ---------------------------------------------------------------------------

TEST(TsneKnn, AllAlgorithmsMatchTheNaiveSort) {
  const MatrixD x = gaussian(700, 5, 1);
  for (auto algo : {KnnAlgorithm::vp_tree, KnnAlgorithm::blocked_gemm, KnnAlgorithm::brute})
    expect_knn_equal(exact_knn(x.view(), 20, algo), x, 20);
  const MatrixD wide = gaussian(300, 40, 2);
  expect_knn_equal(exact_knn(wide.view(), 31, KnnAlgorithm::blocked_gemm), wide, 31);
  expect_knn_equal(exact_knn(wide.view(), 31, KnnAlgorithm::vp_tree), wide, 31);
}

TEST(TsneKnn, DuplicateRowsAreOrderedByIndex) {
  // Integer grid points with many exact duplicates: ties everywhere.
  Rng rng(3);
  MatrixD x(400, 3);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<double>(rng.below(4));
  expect_knn_equal(exact_knn(x.view(), 15, KnnAlgorithm::vp_tree), x, 15);
  expect_knn_equal(exact_knn(x.view(), 15, KnnAlgorithm::brute), x, 15);
  // The GEMM identity is exact on small integers too.
  expect_knn_equal(exact_knn(x.view(), 15, KnnAlgorithm::blocked_gemm), x, 15);
}

TEST(TsneKnn, FloatInputAndLargeK) {
  const MatrixD x = gaussian(300, 6, 4);
  MatrixF xf(x.rows(), x.cols());
  MatrixD xd(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.size(); ++i) xd.data()[i] = xf.data()[i] = static_cast<float>(x.data()[i]);
  const Neighbors a = exact_knn(xf.view(), 299, KnnAlgorithm::vp_tree);
  expect_knn_equal(a, xd, 299);
}

// ---------------------------------------------------------------------------
// Affinities
// ---------------------------------------------------------------------------

TEST(TsneAffinity, BinarySearchReachesThePerplexity) {
  Rng rng(5);
  for (double perplexity : {2.0, 5.0, 30.0}) {
    std::vector<double> d(91);
    for (double& v : d) v = 0.5 + 10.0 * rng.uniform();
    std::sort(d.begin(), d.end());
    std::vector<double> p(d.size());
    ASSERT_TRUE(conditional_row(d.data(), d.size(), d.size(), perplexity, p.data()));
    EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12);
    // Tolerance 1e-5 on the entropy: the perplexity within 1e-5 relative.
    EXPECT_NEAR(perplexity_of(p), perplexity, 1.1e-5 * perplexity);
    const auto ref = naive_conditional(d, perplexity);
    for (std::size_t j = 0; j < d.size(); ++j) EXPECT_NEAR(p[j], ref[j], 1e-4 * ref[0]) << j;
  }
}

TEST(TsneAffinity, SkippedEntryGetsZero) {
  std::vector<double> d = {0.0, 1.0, 2.0, 0.5, 3.0};
  std::vector<double> p(5);
  conditional_row(d.data(), 5, 0, 2.0, p.data());
  EXPECT_EQ(p[0], 0.0);
  std::vector<double> rest(d.begin() + 1, d.end()), q(4);
  conditional_row(rest.data(), 4, 4, 2.0, q.data());
  for (std::size_t j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(p[j + 1], q[j]);
}

TEST(TsneAffinity, JointProbabilitiesAreSymmetricAndSumToOne) {
  const MatrixD x = gaussian(400, 4, 6);
  const std::size_t k = 31;
  const Neighbors nn = exact_knn(x.view(), k);
  const SparseP p = joint_probabilities_nn(nn, 10.0);
  // Oracle: dense conditional matrix C, P = (C + Cᵀ) / sum.
  MatrixD c(400, 400, 0.0);
  for (std::size_t i = 0; i < 400; ++i) {
    std::vector<double> row(k);
    conditional_row(nn.sqdist.data() + i * k, k, k, 10.0, row.data());
    for (std::size_t t = 0; t < k; ++t) c(i, nn.index[i * k + t]) = row[t];
  }
  double total = 0.0;
  for (std::size_t i = 0; i < 400; ++i)
    for (std::size_t j = 0; j < 400; ++j) total += c(i, j) + c(j, i);
  std::map<std::pair<std::size_t, std::size_t>, double> entries;
  double sum = 0.0;
  for (std::size_t i = 0; i < p.n; ++i) {
    for (std::size_t t = p.indptr[i]; t < p.indptr[i + 1]; ++t) {
      if (t > p.indptr[i]) EXPECT_LT(p.indices[t - 1], p.indices[t]);
      EXPECT_NE(p.indices[t], i);
      entries[{i, p.indices[t]}] = p.values[t];
      sum += p.values[t];
      EXPECT_NEAR(p.values[t], (c(i, p.indices[t]) + c(p.indices[t], i)) / total, 1e-15);
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < 400; ++i)
    for (std::size_t j = 0; j < 400; ++j) nonzero += c(i, j) + c(j, i) > 0;
  EXPECT_EQ(entries.size(), nonzero);
  for (const auto& [ij, v] : entries) EXPECT_EQ(v, entries.at({ij.second, ij.first}));  // bitwise symmetric
}

TEST(TsneAffinity, DenseJointProbabilities) {
  const MatrixD x = gaussian(60, 3, 7);
  const MatrixD p = joint_probabilities_dense(x.view(), 8.0);
  double sum = 0.0;
  for (std::size_t i = 0; i < 60; ++i) {
    EXPECT_EQ(p(i, i), 0.0);
    std::vector<double> d(60), row(60);
    for (std::size_t j = 0; j < 60; ++j) d[j] = sqd(x, i, j);
    conditional_row(d.data(), 60, i, 8.0, row.data());
    for (std::size_t j = 0; j < 60; ++j) {
      EXPECT_EQ(p(i, j), p(j, i));
      if (i != j) EXPECT_GE(p(i, j), std::numeric_limits<double>::epsilon());
      sum += p(i, j);
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
}

// ---------------------------------------------------------------------------
// Gradients
// ---------------------------------------------------------------------------

TEST(TsneGradient, ExactGradientIsTheDerivativeOfKl2d) {
  const MatrixD x = gaussian(25, 3, 8);
  const MatrixD p = joint_probabilities_dense(x.view(), 5.0);
  std::vector<double> y = spread_points(25, 2, 4.0, 9);
  std::vector<double> g(y.size());
  const double kl = gradient_exact_dense(p, y.data(), 2, 1.0, true, g.data());
  EXPECT_NEAR(kl, kl_exact_2d(p, y), 1e-10);
  for (std::size_t t = 0; t < y.size(); ++t) {
    const double h = 1e-6;
    std::vector<double> a = y, b = y;
    a[t] += h;
    b[t] -= h;
    const double fd = (kl_exact_2d(p, a) - kl_exact_2d(p, b)) / (2 * h);
    EXPECT_NEAR(g[t], fd, 1e-6 * (1 + std::abs(fd))) << t;
  }
}

TEST(TsneGradient, BarnesHutAtAngleZeroIsExact) {
  // Angle 0 opens every cell: the direct sum, evaluated in float (as scikit-learn's
  // float32 code) relative to each leaf's centre.
  for (std::size_t d : {2u, 3u}) {
    for (std::size_t leaf : {1u, 16u}) {
      const std::vector<double> y = spread_points(500, d, 20.0, 10 + d);
      std::vector<double> re(y.size()), rb(y.size());
      const double ze = repulsion_exact(y.data(), 500, d, re.data());
      BarnesHut bh(d, 0.0, leaf);
      const double zb = bh.repulsion(y.data(), 500, rb.data());
      EXPECT_NEAR(zb, ze, 1e-6 * ze) << d;
      double scale = 0.0;
      for (double v : re) scale = std::max(scale, std::abs(v));
      for (std::size_t t = 0; t < y.size(); ++t) EXPECT_NEAR(rb[t], re[t], 1e-6 * scale) << d;
    }
  }
}

TEST(TsneGradient, BarnesHutApproximationIsClose) {
  for (std::size_t d : {2u, 3u}) {
    const std::vector<double> y = spread_points(3000, d, 40.0, 20 + d);
    std::vector<double> re(y.size()), rb(y.size());
    const double ze = repulsion_exact(y.data(), 3000, d, re.data());
    BarnesHut bh(d, 0.5);
    const double zb = bh.repulsion(y.data(), 3000, rb.data());
    // Monopole summaries are biased low for this convex kernel: Z within 1 %.
    EXPECT_NEAR(zb, ze, 1e-2 * ze) << d;
    EXPECT_LT(rel_err(rb, re), 1e-2) << d;
  }
}

TEST(TsneGradient, ExactDenseMatchesSparseBuildingBlocks) {
  // With the dense P stored as a full sparse matrix, attraction + exact repulsion
  // give scikit-learn's exact gradient (the Q floor at DBL_EPSILON never binds here).
  const MatrixD x = gaussian(80, 3, 11);
  const MatrixD pd = joint_probabilities_dense(x.view(), 10.0);
  SparseP ps;
  ps.n = 80;
  ps.indptr.push_back(0);
  for (std::size_t i = 0; i < 80; ++i) {
    for (std::size_t j = 0; j < 80; ++j)
      if (j != i) {
        ps.indices.push_back(static_cast<std::uint32_t>(j));
        ps.values.push_back(pd(i, j));
      }
    ps.indptr.push_back(ps.values.size());
  }
  for (std::size_t d : {2u, 3u}) {
    const std::vector<double> y = spread_points(80, d, 6.0, 30 + d);
    std::vector<double> ge(y.size()), attr(y.size()), rep(y.size());
    const double kle = gradient_exact_dense(pd, y.data(), d, 4.0, true, ge.data());
    const double z = repulsion_exact(y.data(), 80, d, rep.data());
    const double kls = attractive_forces(ps, y.data(), d, 4.0, true, z, attr.data());
    const double c = d == 2 ? 4.0 : 3.0;
    for (std::size_t t = 0; t < y.size(); ++t) EXPECT_NEAR(ge[t], c * (attr[t] - rep[t] / z), 1e-12);
    EXPECT_NEAR(kle, kls, 1e-12);
  }
}

TEST(TsneGradient, AttractionPlanMatchesTheReference) {
  // The attraction plan (p in float; 2-D: once per pair with block buffers, or
  // both triangles when the labelling has no locality; 3-D: float rows) against the
  // double reference, for a locality-ordered and a scrambled labelling.
  const std::size_t n = 3000;
  const MatrixD x = gaussian(n, 4, 41);
  const SparseP p0 = joint_probabilities_nn(exact_knn(x.view(), 30), 10.0);
  Rng rng(42);
  const auto scramble = rng.permutation(n);
  std::vector<std::uint32_t> scrambled(scramble.begin(), scramble.end());
  for (const SparseP& p : {permute(p0, locality_order(p0)), permute(p0, scrambled)}) {
    for (std::size_t d : {2u, 3u}) {
      const std::vector<double> y = spread_points(n, d, 25.0, 43);
      std::vector<double> ref(y.size()), got(y.size());
      const double klr = attractive_forces(p, y.data(), d, 12.0, true, 3e5, ref.data());
      Attraction plan(p, d);
      const double klg = plan.compute(y.data(), 12.0, true, 3e5, got.data());
      EXPECT_LT(rel_err(got, ref), 1e-6) << d;
      EXPECT_NEAR(klg, klr, 1e-6 * std::abs(klr)) << d;
      // Called again: buffers are reset.
      plan.compute(y.data(), 12.0, false, 3e5, got.data());
      EXPECT_LT(rel_err(got, ref), 1e-6) << d;
    }
  }
}

TEST(TsneAffinity, LocalityOrderIsAPermutationAndPermuteRelabels) {
  const MatrixD x = gaussian(300, 3, 44);
  const SparseP p = joint_probabilities_nn(exact_knn(x.view(), 12), 4.0);
  const auto order = locality_order(p);
  std::vector<std::uint32_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t k = 0; k < 300; ++k) ASSERT_EQ(sorted[k], k);
  const SparseP q = permute(p, order);
  ASSERT_EQ(q.nnz(), p.nnz());
  std::map<std::pair<std::uint32_t, std::uint32_t>, double> a, b;
  for (std::size_t i = 0; i < 300; ++i)
    for (std::size_t t = p.indptr[i]; t < p.indptr[i + 1]; ++t) a[{static_cast<std::uint32_t>(i), p.indices[t]}] = p.values[t];
  for (std::size_t k = 0; k < 300; ++k)
    for (std::size_t t = q.indptr[k]; t < q.indptr[k + 1]; ++t) {
      if (t > q.indptr[k]) EXPECT_LT(q.indices[t - 1], q.indices[t]);
      b[{order[k], order[q.indices[t]]}] = q.values[t];
    }
  EXPECT_EQ(a, b);
}

TEST(TsneGradient, FftRepulsionMatchesExact) {
  // Compact (boxes narrower than 1), medium and wide (more than 50 boxes of width 1)
  // embeddings. FIt-SNE's default grid (3 nodes per box, boxes of width <= 1) has a
  // few per cent of force error on near pairs; finer grids converge to the exact sum.
  struct Grid {
    std::size_t points;
    double per_unit, z_tol, f_tol;
  };
  for (double extent : {8.0, 30.0, 140.0}) {
    const std::vector<double> y = spread_points(2000, 2, extent, 40);
    std::vector<double> re(y.size()), rf(y.size());
    const double ze = repulsion_exact(y.data(), 2000, 2, re.data());
    for (const Grid g : {Grid{3, 1.0, 3e-3, 5e-2}, Grid{5, 2.0, 1e-4, 1e-3}}) {
      if (g.points == 5 && extent > 100) continue;  // a 3000² FFT: slow, and the 30-unit case shows convergence
      FftRepulsion fft(50, g.per_unit, g.points);
      const double zf = fft.repulsion(y.data(), 2000, rf.data());
      EXPECT_NEAR(zf, ze, g.z_tol * ze) << extent << " " << g.points;
      EXPECT_LT(rel_err(rf, re), g.f_tol) << extent << " " << g.points;
      if (extent > 100) EXPECT_GT(fft.boxes_per_side(), 50u);
      // A second call on a slightly moved embedding reuses or rebuilds the grid.
      std::vector<double> y2 = y;
      for (double& v : y2) v *= 1.01;
      std::vector<double> re2(y.size()), rf2(y.size());
      const double ze2 = repulsion_exact(y2.data(), 2000, 2, re2.data());
      EXPECT_NEAR(fft.repulsion(y2.data(), 2000, rf2.data()), ze2, g.z_tol * ze2);
      EXPECT_LT(rel_err(rf2, re2), g.f_tol);
    }
  }
}

// ---------------------------------------------------------------------------
// FFT
// ---------------------------------------------------------------------------

TEST(TsneFft, FastSizes) {
  EXPECT_EQ(next_fast_size(1), 1u);
  EXPECT_EQ(next_fast_size(7), 8u);
  EXPECT_EQ(next_fast_size(299), 300u);
  EXPECT_EQ(next_fast_size(301), 320u);
  EXPECT_EQ(next_fast_size(1459), 1500u);
}

TEST(TsneFft, ColumnsMatchNaiveDft) {
  Rng rng(12);
  for (std::size_t m : {1u, 2u, 3u, 4u, 5u, 8u, 12u, 30u, 45u, 64u, 100u, 150u, 243u}) {
    const std::size_t count = 5, stride = 7;
    std::vector<double> re(m * stride), im(m * stride);
    for (double& v : re) v = rng.normal();
    for (double& v : im) v = rng.normal();
    for (bool inverse : {false, true}) {
      std::vector<double> r = re, i = im;
      fft_columns(r.data(), i.data(), m, count, stride, inverse);
      for (std::size_t c = 0; c < count; ++c)
        for (std::size_t k = 0; k < m; ++k) {
          std::complex<double> s = 0.0;
          for (std::size_t j = 0; j < m; ++j) {
            const double ang = (inverse ? 2.0 : -2.0) * M_PI * static_cast<double>(j * k % m) / static_cast<double>(m);
            s += std::complex<double>(re[j * stride + c], im[j * stride + c]) * std::polar(1.0, ang);
          }
          EXPECT_NEAR(r[k * stride + c], s.real(), 1e-12 * static_cast<double>(m)) << m;
          EXPECT_NEAR(i[k * stride + c], s.imag(), 1e-12 * static_cast<double>(m)) << m;
        }
      // Columns beyond `count` are untouched.
      for (std::size_t k = 0; k < m; ++k) EXPECT_EQ(r[k * stride + 6], re[k * stride + 6]);
    }
  }
}

TEST(TsneFft, FloatPlan) {
  Rng rng(13);
  const std::size_t m = 60;
  std::vector<float> re(m), im(m);
  for (std::size_t j = 0; j < m; ++j) re[j] = static_cast<float>(rng.normal());
  std::vector<float> r = re, i = im;
  fft_columns(r.data(), i.data(), m, 1, 1, false);
  fft_columns(r.data(), i.data(), m, 1, 1, true);
  for (std::size_t j = 0; j < m; ++j) {
    EXPECT_NEAR(r[j] / m, re[j], 1e-5);
    EXPECT_NEAR(i[j] / m, 0.0f, 1e-5);
  }
}

// ---------------------------------------------------------------------------
// The full run
// ---------------------------------------------------------------------------

TEST(TsneRun, SameEmbeddingForOneAndTwoThreads) {
  std::vector<int> labels;
  const MatrixD x = clusters(500, 6, 14, labels);
  for (TsneMethod method : {TsneMethod::barnes_hut, TsneMethod::fft, TsneMethod::exact}) {
    for (std::size_t d : {2u, 3u}) {
      if (method != TsneMethod::barnes_hut && d == 3) continue;
      TsneParams params;
      params.n_components = d;
      params.method = method;
      params.n_iter = 260;
      params.random_state = 3;
      params.init = d == 3 ? TsneInit::random : TsneInit::pca;
      set_num_threads(1);
      const TsneResult a = fit_tsne(x.view(), params);
      set_num_threads(2);
      const TsneResult b = fit_tsne(x.view(), params);
      set_num_threads(0);
      ASSERT_EQ(a.embedding.size(), b.embedding.size());
      for (std::size_t t = 0; t < a.embedding.size(); ++t)
        ASSERT_EQ(a.embedding.data()[t], b.embedding.data()[t]) << static_cast<int>(method) << " d=" << d;
      EXPECT_EQ(a.kl_divergence, b.kl_divergence);
    }
  }
}

TEST(TsneRun, SeparatesClustersAndReportsKl) {
  std::vector<int> labels;
  const MatrixD x = clusters(600, 8, 15, labels);
  for (TsneMethod method : {TsneMethod::barnes_hut, TsneMethod::fft}) {
    TsneParams params;
    params.method = method;
    params.perplexity = 20;
    Diagnostics diag;
    const TsneResult r = fit_tsne(x.view(), params, &diag);
    EXPECT_EQ(r.method, method);
    EXPECT_EQ(r.n_neighbors, 61u);
    EXPECT_EQ(r.n_iter, 1000u);
    ASSERT_EQ(r.kl_history.size(), 20u);  // iterations 50, 100, ..., 1000 (250 ends stage 1)
    EXPECT_EQ(r.kl_divergence, r.kl_history.back());
    EXPECT_LT(r.kl_divergence, r.kl_history[5]);  // stage 2 keeps improving
    // Every point's nearest embedded neighbour is in its own cluster.
    const Neighbors nn = exact_knn(r.embedding.view(), 1);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < x.rows(); ++i) wrong += labels[i] != labels[nn.index[i]];
    EXPECT_EQ(wrong, 0u);
    EXPECT_GT(trustworthiness(x.view(), r.embedding.view(), 10), 0.85);
  }
}

TEST(TsneRun, ExactMethodKlMatchesNaiveKl) {
  const MatrixD x = gaussian(120, 4, 16);
  TsneParams params;
  params.method = TsneMethod::exact;
  params.perplexity = 10;
  params.n_iter = 400;
  const TsneResult r = fit_tsne(x.view(), params);
  EXPECT_EQ(r.n_neighbors, 119u);
  const MatrixD p = joint_probabilities_dense(x.view(), 10.0);
  std::vector<double> y(r.embedding.data(), r.embedding.data() + r.embedding.size());
  // The KL is evaluated before the last update; recompute on the final embedding
  // and compare loosely (one gradient step apart).
  EXPECT_NEAR(r.kl_divergence, kl_exact_2d(p, y), 1e-3);
}

TEST(TsneRun, RandomInit3dAndFloatInput) {
  // scikit-learn 1.2 on the same kind of data (3 clusters, 300 rows, 3-D, random
  // init, defaults otherwise) separates the clusters with KL ~0.30.
  std::vector<int> labels;
  const MatrixD x = clusters(300, 5, 17, labels);
  MatrixF xf(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.size(); ++i) xf.data()[i] = static_cast<float>(x.data()[i]);
  TsneParams params;
  params.n_components = 3;
  params.init = TsneInit::random;
  const TsneResult r = fit_tsne(xf.view(), params);
  EXPECT_EQ(r.method, TsneMethod::barnes_hut);
  EXPECT_EQ(r.learning_rate, 50.0);
  EXPECT_LT(r.kl_divergence, 0.4);
  EXPECT_EQ(r.embedding.cols(), 3u);
  const Neighbors nn = exact_knn(r.embedding.view(), 1);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < x.rows(); ++i) wrong += labels[i] != labels[nn.index[i]];
  EXPECT_EQ(wrong, 0u);
}

TEST(TsneRun, InvalidParametersThrow) {
  const MatrixD x = gaussian(50, 3, 18);
  auto bad = [&](auto mutate) {
    TsneParams params;
    params.perplexity = 5;
    mutate(params);
    EXPECT_THROW(fit_tsne(x.view(), params), InvalidArgument);
  };
  bad([](TsneParams& p) { p.n_components = 1; });
  bad([](TsneParams& p) { p.n_components = 4; });
  bad([](TsneParams& p) { p.perplexity = 0; });
  bad([](TsneParams& p) { p.perplexity = 50; });
  bad([](TsneParams& p) { p.early_exaggeration = 0.5; });
  bad([](TsneParams& p) { p.learning_rate = -1.0; });
  bad([](TsneParams& p) { p.n_iter = 100; });
  bad([](TsneParams& p) { p.angle = 1.5; });
  bad([](TsneParams& p) {
    p.method = TsneMethod::fft;
    p.n_components = 3;
  });
  bad([](TsneParams& p) { p.fft_interpolation_points = 0; });
  MatrixD nan = x;
  nan(3, 2) = std::nan("");
  EXPECT_THROW(fit_tsne(nan.view(), TsneParams{}), InvalidArgument);
  MatrixD one(1, 3, 0.0);
  EXPECT_THROW(fit_tsne(one.view(), TsneParams{}), InvalidArgument);
}

// ---------------------------------------------------------------------------
// Trustworthiness
// ---------------------------------------------------------------------------

TEST(Trustworthiness, MatchesNaiveDefinition) {
  const MatrixD x = gaussian(150, 5, 19);
  const MatrixD e = gaussian(150, 2, 20);
  for (std::size_t k : {1u, 5u, 12u}) {
    // Naive: full stable argsort of input distances, kNN of the embedding by sort.
    const std::size_t n = 150;
    double t = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<std::size_t> order;
      for (std::size_t j = 0; j < n; ++j)
        if (j != i) order.push_back(j);
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return sqd(x, i, a) < sqd(x, i, b); });
      std::vector<std::size_t> rank(n);
      for (std::size_t r = 0; r < order.size(); ++r) rank[order[r]] = r + 1;
      const auto emb = naive_knn(e, k)[i];
      for (const auto& [dist, j] : emb)
        if (rank[j] > k) t += static_cast<double>(rank[j] - k);
    }
    const double want = 1.0 - t * 2.0 / (150.0 * k * (2.0 * 150 - 3.0 * k - 1.0));
    EXPECT_NEAR(trustworthiness(x.view(), e.view(), k), want, 1e-14) << k;
  }
  EXPECT_DOUBLE_EQ(trustworthiness(x.view(), x.view(), 5), 1.0);
  EXPECT_THROW(trustworthiness(x.view(), e.view(), 75), InvalidArgument);
  EXPECT_THROW(trustworthiness(x.view(), e.view().rows_view(0, 100), 5), InvalidArgument);
}
