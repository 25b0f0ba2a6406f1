// k-means: a naive Lloyd / k-means++ oracle on exactly representable data, and
// the properties the implementation promises (monotone objective, ties to the
// lowest index, thread-count invariance, restarts independent of their group).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "segmenta/cluster.hpp"
#include "segmenta/kernels.hpp"

using namespace segmenta;

namespace {

// ---------------------------------------------------------------------------
// Oracle: scikit-learn's Lloyd loop written out plainly, in double. Distances for
// the assignment are ||c||^2 - 2 x.c with every dot product (and norm) one fused
// multiply-add chain over the features, which is the rounding the implementation
// documents for data with few columns; everything else is exact on the data
// below (small integers, n a power of two so that the centring is exact).
// ---------------------------------------------------------------------------

double fma_dot(const double* a, const double* b, std::size_t p) {
  double s = 0.0;
  for (std::size_t f = 0; f < p; ++f) s = std::fma(a[f], b[f], s);
  return s;
}

double direct_sq(const double* a, const double* b, std::size_t p) {
  double s = 0.0;
  for (std::size_t f = 0; f < p; ++f) s += (a[f] - b[f]) * (a[f] - b[f]);
  return s;
}

struct OracleFit {
  std::vector<std::int32_t> labels;
  MatrixD centers;
  double inertia = 0.0;
  std::size_t n_iter = 0;
  bool converged = false;
  std::vector<double> history;
};

OracleFit naive_lloyd(const MatrixD& x, const MatrixD& init, std::size_t max_iter, double tol) {
  const std::size_t n = x.rows(), p = x.cols(), k = init.rows();
  std::vector<double> mean(p, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t f = 0; f < p; ++f) mean[f] += x(i, f);
  for (double& m : mean) m /= static_cast<double>(n);
  std::vector<double> var(p, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t f = 0; f < p; ++f) var[f] += (x(i, f) - mean[f]) * (x(i, f) - mean[f]);
  for (double& v : var) v /= static_cast<double>(n);
  const double tol_eff = kernels::pairwise_sum(var.data(), p) / static_cast<double>(p) * tol;

  MatrixD xc(n, p), c(k, p);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t f = 0; f < p; ++f) xc(i, f) = x(i, f) - mean[f];
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t f = 0; f < p; ++f) c(j, f) = init(j, f) - mean[f];

  OracleFit out;
  out.labels.assign(n, -1);
  auto estep = [&](std::vector<std::int32_t>& labels, double* objective) {
    std::size_t changed = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::int32_t best_j = 0;
      double best = 0.0;
      for (std::size_t j = 0; j < k; ++j) {
        const double d = fma_dot(c.row(j), c.row(j), p) - 2.0 * fma_dot(xc.row(i), c.row(j), p);
        if (j == 0 || d < best) {
          best = d;
          best_j = static_cast<std::int32_t>(j);
        }
      }
      changed += labels[i] != best_j;
      labels[i] = best_j;
      if (objective) *objective += fma_dot(xc.row(i), xc.row(i), p) + best;
    }
    return changed;
  };

  bool strict = false, stopped = false;
  for (std::size_t it = 0; it < max_iter && !stopped; ++it) {
    double objective = 0.0;
    const std::size_t changed = estep(out.labels, &objective);
    out.history.push_back(objective);
    MatrixD sums(k, p, 0.0);
    std::vector<double> w(k, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      const auto j = static_cast<std::size_t>(out.labels[i]);
      w[j] += 1.0;
      for (std::size_t f = 0; f < p; ++f) sums(j, f) += xc(i, f);
    }
    // Empty clusters take the rows farthest from their centres, largest first,
    // lowest row index on ties.
    std::vector<std::size_t> empty;
    for (std::size_t j = 0; j < k; ++j)
      if (w[j] == 0.0) empty.push_back(j);
    if (!empty.empty()) {
      std::vector<double> dist(n);
      for (std::size_t i = 0; i < n; ++i)
        dist[i] = direct_sq(xc.row(i), c.row(static_cast<std::size_t>(out.labels[i])), p);
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return dist[a] > dist[b]; });
      if (dist[order[0]] > 0.0)
        for (std::size_t t = 0; t < empty.size(); ++t) {
          const std::size_t far = order[t], from = static_cast<std::size_t>(out.labels[far]);
          for (std::size_t f = 0; f < p; ++f) {
            sums(from, f) -= xc(far, f);
            sums(empty[t], f) = xc(far, f);
          }
          w[empty[t]] = 1.0;
          w[from] -= 1.0;
        }
    }
    MatrixD next(k, p);
    std::size_t heaviest = 0;
    for (std::size_t j = 1; j < k; ++j)
      if (w[j] > w[heaviest]) heaviest = j;
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t f = 0; f < p; ++f) next(j, f) = sums(j, f) * (1.0 / w[j]);
    for (std::size_t j = 0; j < k; ++j)
      if (w[j] == 0.0)
        for (std::size_t f = 0; f < p; ++f) next(j, f) = next(heaviest, f);
    double shift = 0.0;
    for (std::size_t j = 0; j < k; ++j) shift += direct_sq(next.row(j), c.row(j), p);
    c = next;
    out.n_iter = it + 1;
    if (changed == 0) {
      strict = stopped = out.converged = true;
    } else if (shift <= tol_eff) {
      stopped = out.converged = true;
    }
  }
  if (!strict) estep(out.labels, nullptr);
  for (std::size_t i = 0; i < n; ++i)
    out.inertia += direct_sq(xc.row(i), c.row(static_cast<std::size_t>(out.labels[i])), p);
  out.centers = MatrixD(k, p);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t f = 0; f < p; ++f) out.centers(j, f) = c(j, f) + mean[f];
  return out;
}

/// scikit-learn's greedy k-means++ written out plainly (unit weights), drawing
/// from rng in the same order as the implementation; exact on integer data.
std::vector<std::size_t> naive_plus_plus(const MatrixD& x, std::size_t k, Rng& rng) {
  const std::size_t n = x.rows(), p = x.cols();
  const std::size_t trials = 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)));
  auto dist_to = [&](std::size_t c) {
    std::vector<double> d(n);
    for (std::size_t i = 0; i < n; ++i) d[i] = direct_sq(x.row(i), x.row(c), p);
    return d;
  };
  std::vector<std::size_t> chosen{std::min(n - 1, static_cast<std::size_t>(rng.uniform() * static_cast<double>(n)))};
  std::vector<double> closest = dist_to(chosen[0]);
  double pot = std::accumulate(closest.begin(), closest.end(), 0.0);
  for (std::size_t c = 1; c < k; ++c) {
    std::vector<std::size_t> cand(trials);
    for (auto& cd : cand) {
      const double target = rng.uniform() * pot;
      double cum = 0.0;
      cd = n - 1;
      for (std::size_t i = 0; i < n; ++i) {
        cum += closest[i];
        if (cum >= target) {
          cd = i;
          break;
        }
      }
    }
    std::size_t best = 0;
    double best_pot = 0.0;
    std::vector<double> best_d;
    for (std::size_t t = 0; t < trials; ++t) {
      std::vector<double> d = dist_to(cand[t]);
      for (std::size_t i = 0; i < n; ++i) d[i] = std::min(d[i], closest[i]);
      const double s = std::accumulate(d.begin(), d.end(), 0.0);
      if (t == 0 || s < best_pot) {
        best_pot = s;
        best = t;
        best_d = d;
      }
    }
    closest = best_d;
    pot = best_pot;
    chosen.push_back(cand[best]);
  }
  return chosen;
}

MatrixD random_integers(std::size_t n, std::size_t p, int range, std::uint64_t seed) {
  Rng rng(seed);
  MatrixD x(n, p);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t f = 0; f < p; ++f) x(i, f) = static_cast<double>(rng.below(static_cast<std::uint64_t>(range)));
  return x;
}

/// n points around `centers` well-separated blob centres (spacing 20, unit noise).
template <class T>
Matrix<T> blobs(std::size_t n, std::size_t p, std::size_t centers, std::uint64_t seed,
                std::vector<std::int32_t>* truth = nullptr) {
  Rng rng(seed);
  Matrix<T> x(n, p);
  if (truth) truth->resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t b = i % centers;
    if (truth) (*truth)[i] = static_cast<std::int32_t>(b);
    for (std::size_t f = 0; f < p; ++f)
      x(i, f) = static_cast<T>((f == b % p ? 20.0 * static_cast<double>(b + 1) : 0.0) + rng.normal());
  }
  return x;
}

template <class T>
Matrix<T> to(const MatrixD& m) {
  Matrix<T> out(m.rows(), m.cols());
  for (std::size_t i = 0; i < m.size(); ++i) out.data()[i] = static_cast<T>(m.data()[i]);
  return out;
}

void expect_same_model(const KMeansModel<double>& a, const KMeansModel<double>& b) {
  EXPECT_EQ(a.labels, b.labels);
  ASSERT_EQ(a.centers.size(), b.centers.size());
  for (std::size_t i = 0; i < a.centers.size(); ++i) EXPECT_EQ(a.centers.data()[i], b.centers.data()[i]);
  EXPECT_EQ(a.inertia, b.inertia);
  EXPECT_EQ(a.n_iter, b.n_iter);
  EXPECT_EQ(a.best_init, b.best_init);
  EXPECT_EQ(a.init_inertias, b.init_inertias);
  EXPECT_EQ(a.inertia_history, b.inertia_history);
}

bool has_code(const Diagnostics& d, const std::string& code) {
  return std::any_of(d.items().begin(), d.items().end(), [&](const Diagnostic& x) { return x.code == code; });
}

}  // namespace

TEST(KMeans, MatchesNaiveLloydExactly) {
  // 64 rows of small integers: the centring and every centre sum are exact, and
  // ties between candidate centres are frequent in the first E-steps.
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    for (std::size_t k : {2u, 3u, 5u}) {
      for (double tol : {0.0, 1e-4, 0.05}) {
        const MatrixD x = random_integers(64, 3, 7, seed);
        std::vector<std::size_t> rows;
        for (std::size_t j = 0; j < k; ++j) rows.push_back(j * 11 + seed);
        const MatrixD init = take_rows<double, std::size_t>(x.view(), rows);
        const OracleFit want = naive_lloyd(x, init, 50, tol);
        KMeansParams params;
        params.n_clusters = k;
        params.max_iter = 50;
        params.tol = tol;
        const auto got = fit_kmeans_from(x.view(), init.view(), params);
        SCOPED_TRACE(testing::Message() << "seed " << seed << " k " << k << " tol " << tol);
        EXPECT_EQ(got.labels, want.labels);
        for (std::size_t i = 0; i < want.centers.size(); ++i) EXPECT_EQ(got.centers.data()[i], want.centers.data()[i]);
        EXPECT_EQ(got.n_iter, want.n_iter);
        EXPECT_EQ(got.converged, want.converged);
        EXPECT_NEAR(got.inertia, want.inertia, 1e-12 * want.inertia);
        ASSERT_EQ(got.inertia_history.size(), want.history.size());
        for (std::size_t t = 0; t < want.history.size(); ++t)
          EXPECT_NEAR(got.inertia_history[t], want.history[t], 1e-12 * want.history[t]);
      }
    }
  }
}

TEST(KMeans, MatchesNaiveLloydOnWideData) {
  // 40 columns go through the dot-tile kernel (another summation order for the
  // dot products): after the first iteration the centres are no longer exact, so
  // centres agree to rounding and labels exactly (no near-ties in this data).
  const MatrixD x = random_integers(128, 40, 5, 9);
  const std::vector<std::size_t> rows{3, 50, 77, 101};
  const MatrixD init = take_rows<double, std::size_t>(x.view(), rows);
  const OracleFit want = naive_lloyd(x, init, 100, 1e-4);
  KMeansParams params;
  params.n_clusters = 4;
  params.max_iter = 100;
  const auto got = fit_kmeans_from(x.view(), init.view(), params);
  EXPECT_EQ(got.labels, want.labels);
  EXPECT_EQ(got.n_iter, want.n_iter);
  for (std::size_t i = 0; i < want.centers.size(); ++i)
    EXPECT_NEAR(got.centers.data()[i], want.centers.data()[i], 1e-12);
  EXPECT_NEAR(got.inertia, want.inertia, 1e-12 * want.inertia);
}

template <class T>
void expect_same_fit(const KMeansModel<T>& a, const KMeansModel<T>& b) {
  EXPECT_EQ(a.labels, b.labels);
  ASSERT_EQ(a.centers.size(), b.centers.size());
  for (std::size_t i = 0; i < a.centers.size(); ++i) EXPECT_EQ(a.centers.data()[i], b.centers.data()[i]) << i;
  EXPECT_EQ(a.inertia, b.inertia);
  EXPECT_EQ(a.n_iter, b.n_iter);
  EXPECT_EQ(a.converged, b.converged);
  EXPECT_EQ(a.inertia_history, b.inertia_history);
}

template <class T>
void check_blockwise_matches_copy(std::size_t n, std::size_t p, std::size_t k, bool far_centre) {
  // Shifted blobs (a non-zero mean, so the centring rounds) and starting centres
  // taken from rows; with far_centre one of them attracts no row and is relocated.
  Matrix<T> x = blobs<T>(n, p, k, 100 + n + p);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t f = 0; f < p; ++f) x(i, f) = static_cast<T>(static_cast<double>(x(i, f)) + 3.7 + 0.1 * f);
  Matrix<T> init(k, p);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t f = 0; f < p; ++f) init(j, f) = x((j * 37 + 5) % n, f);
  if (far_centre)
    for (std::size_t f = 0; f < p; ++f) init(k - 1, f) = static_cast<T>(1e4);
  KMeansParams params;
  params.n_clusters = k;
  params.max_iter = 40;
  for (int threads : {1, 2}) {
    SCOPED_TRACE(testing::Message() << "n " << n << " p " << p << " k " << k << " threads " << threads
                                    << " kernels " << kernels::isa_name(kernels::active_isa()));
    set_num_threads(threads);
    params.copy_max_rows = n;  // at the threshold: one centred copy
    Diagnostics d_copy, d_blocks;
    const auto copied = fit_kmeans_from(x.view(), init.view(), params, &d_copy);
    params.copy_max_rows = n - 1;  // above it: every block centred in each pass
    const auto blockwise = fit_kmeans_from(x.view(), init.view(), params, &d_blocks);
    expect_same_fit(copied, blockwise);
    EXPECT_EQ(has_code(d_copy, "empty_cluster_relocated"), far_centre);
    EXPECT_EQ(has_code(d_blocks, "empty_cluster_relocated"), far_centre);
  }
  set_num_threads(0);
}

TEST(KMeans, BlockwiseCentringMatchesTheCentredCopy) {
  // n not a multiple of the 1024-row block nor of the 8-row panel; p below, between
  // and above the SIMD widths: the panel kernel (p <= 32, double) with p < 8 and
  // p = 13 (padded to 16), the dot-tile kernel with 40 doubles and 37 floats.
  // (ctest runs this binary again with SEGMENTA_KERNEL=portable and avx2.)
  check_blockwise_matches_copy<double>(3001, 3, 4, false);
  check_blockwise_matches_copy<double>(2053, 13, 5, false);
  check_blockwise_matches_copy<double>(2053, 13, 5, true);
  check_blockwise_matches_copy<double>(4099, 40, 6, false);
  check_blockwise_matches_copy<double>(1500, 40, 3, true);
  check_blockwise_matches_copy<float>(2571, 37, 5, false);
  check_blockwise_matches_copy<float>(1031, 37, 4, true);
  // One block of fewer rows than a panel.
  check_blockwise_matches_copy<double>(7, 5, 2, false);
}

TEST(KMeans, EmptyClusterIsRelocatedToFarthestRow) {
  // The third initial centre attracts no row; the row farthest from its centre
  // (99, assigned to the centre at 2) takes it over. 8 rows with sum 120: exact.
  MatrixD x(8, 1);
  const double v[] = {0, 1, 2, 3, 4, 5, 6, 99};
  for (std::size_t i = 0; i < 8; ++i) x(i, 0) = v[i];
  MatrixD init(3, 1);
  init(0, 0) = 1;
  init(1, 0) = 2;
  init(2, 0) = 1000;
  KMeansParams params;
  params.n_clusters = 3;
  Diagnostics diag;
  const auto got = fit_kmeans_from(x.view(), init.view(), params, &diag);
  const OracleFit want = naive_lloyd(x, init, 300, 1e-4);
  EXPECT_EQ(got.labels, want.labels);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(got.centers(i, 0), want.centers(i, 0));
  EXPECT_EQ(got.labels[7], 2);
  EXPECT_EQ(got.centers(2, 0), 99.0);
  EXPECT_TRUE(has_code(diag, "empty_cluster_relocated"));
  EXPECT_EQ(std::set<std::int32_t>(got.labels.begin(), got.labels.end()).size(), 3u);
}

TEST(KMeans, InertiaNeverIncreases) {
  for (std::size_t p : {5u, 48u}) {
    const MatrixD x = blobs<double>(3000, p, 6, 11);
    KMeansParams params;
    params.n_clusters = 9;  // more clusters than blobs: a slow, non-trivial descent
    params.n_init = 3;
    params.tol = 0.0;
    const auto m = fit_kmeans(x.view(), params);
    ASSERT_EQ(m.inertia_history.size(), m.n_iter);
    ASSERT_GE(m.n_iter, 3u);
    for (std::size_t t = 1; t < m.inertia_history.size(); ++t)
      EXPECT_LE(m.inertia_history[t], m.inertia_history[t - 1] * (1 + 1e-12)) << "p " << p << " t " << t;
    EXPECT_LE(m.inertia, m.inertia_history.back() * (1 + 1e-12));
  }
  const MatrixF xf = blobs<float>(3000, 20, 6, 12);
  KMeansParams params;
  params.n_clusters = 9;
  params.tol = 0.0;
  const auto mf = fit_kmeans(xf.view(), params);
  for (std::size_t t = 1; t < mf.inertia_history.size(); ++t)
    EXPECT_LE(mf.inertia_history[t], mf.inertia_history[t - 1] * (1 + 1e-6));
}

TEST(KMeans, TiesGoToTheLowestIndex) {
  KMeansModel<double> m;
  m.centers = MatrixD(3, 2);
  const double c[] = {1, 0, -1, 0, 1, 0};  // centres 0 and 2 coincide
  std::copy(c, c + 6, m.centers.data());
  MatrixD x(3, 2);
  const double v[] = {0, 5, 0, -3, 2, 0};  // equidistant from (1,0) and (-1,0); then nearest to 0 and 2
  std::copy(v, v + 6, x.data());
  EXPECT_EQ(m.predict(x.view()), (std::vector<std::int32_t>{0, 0, 0}));
  std::swap_ranges(m.centers.row(0), m.centers.row(0) + 2, m.centers.row(1));
  EXPECT_EQ(m.predict(x.view()), (std::vector<std::int32_t>{0, 0, 1}));
}

TEST(KMeans, PredictReproducesLabelsAfterStrictConvergence) {
  std::vector<std::int32_t> truth;
  const MatrixD x = blobs<double>(2000, 4, 4, 21, &truth);
  KMeansParams params;
  params.n_clusters = 4;
  params.tol = 0.0;  // only identical labels stop the iterations
  params.random_state = 5;
  const auto m = fit_kmeans(x.view(), params);
  ASSERT_TRUE(m.converged);
  EXPECT_EQ(m.predict(x.view()), m.labels);
  // Transform: direct distances; nearest centre = predicted label.
  const MatrixD d = m.transform(x.view());
  ASSERT_EQ(d.rows(), 2000u);
  ASSERT_EQ(d.cols(), 4u);
  for (std::size_t i = 0; i < 2000; i += 97) {
    for (std::size_t j = 0; j < 4; ++j)
      EXPECT_NEAR(d(i, j), std::sqrt(direct_sq(x.row(i), m.centers.row(j), 4)), 1e-12 * (1 + d(i, j)));
    EXPECT_EQ(static_cast<std::int32_t>(std::min_element(d.row(i), d.row(i) + 4) - d.row(i)), m.labels[i]);
  }
  // The blobs are recovered (up to a relabelling).
  std::set<std::pair<int, int>> pairs;
  for (std::size_t i = 0; i < truth.size(); ++i) pairs.insert({truth[i], m.labels[i]});
  EXPECT_EQ(pairs.size(), 4u);
}

TEST(KMeans, FloatAndDoubleAgreeOnSeparatedData) {
  for (std::size_t p : {3u, 40u}) {
    const MatrixD xd = blobs<double>(3000, p, 5, 31);
    const MatrixF xf = to<float>(xd);
    KMeansParams params;
    params.n_clusters = 5;
    params.n_init = 4;
    params.random_state = 3;
    const auto md = fit_kmeans(xd.view(), params);
    const auto mf = fit_kmeans(xf.view(), params);
    EXPECT_EQ(md.labels, mf.labels) << "p " << p;
    for (std::size_t i = 0; i < md.centers.size(); ++i)
      EXPECT_NEAR(md.centers.data()[i], mf.centers.data()[i], 1e-4);
    EXPECT_NEAR(mf.inertia, md.inertia, 1e-5 * md.inertia);
  }
}

TEST(KMeans, SameResultForOneAndTwoThreads) {
  // Small data runs whole restarts per thread with two threads and lockstep
  // groups with one; large data (over 16 MB) splits rows over threads. All must
  // agree bit for bit.
  const MatrixD small = blobs<double>(5000, 6, 7, 41);
  const MatrixD wide = blobs<double>(3000, 40, 7, 42);
  KMeansParams params;
  params.n_clusters = 7;
  params.n_init = 4;
  params.random_state = 77;
  for (const MatrixD* x : {&small, &wide}) {
    set_num_threads(1);
    const auto one = fit_kmeans(x->view(), params);
    set_num_threads(2);
    const auto two = fit_kmeans(x->view(), params);
    expect_same_model(one, two);
  }
  const MatrixF big = blobs<float>(11000, 384, 5, 43);  // 16.9 MB
  KMeansParams pb;
  pb.n_clusters = 5;
  pb.n_init = 2;
  pb.max_iter = 20;
  set_num_threads(1);
  const auto one = fit_kmeans(big.view(), pb);
  Rng r1(9);
  const auto seeds1 = kmeans_plus_plus(big.view(), 6, r1);
  set_num_threads(2);
  const auto two = fit_kmeans(big.view(), pb);
  Rng r2(9);
  const auto seeds2 = kmeans_plus_plus(big.view(), 6, r2);
  set_num_threads(0);
  EXPECT_EQ(one.labels, two.labels);
  for (std::size_t i = 0; i < one.centers.size(); ++i) EXPECT_EQ(one.centers.data()[i], two.centers.data()[i]);
  EXPECT_EQ(one.inertia, two.inertia);
  EXPECT_EQ(one.init_inertias, two.init_inertias);
  EXPECT_EQ(seeds1, seeds2);
}

TEST(KMeans, RestartGivesTheSameResultAloneOrInItsGroup) {
  const MatrixD x = blobs<double>(3000, 5, 6, 51);
  KMeansParams params;
  params.n_clusters = 6;
  params.n_init = 3;
  params.random_state = 123;
  const auto all = fit_kmeans(x.view(), params);
  // Restart r alone: k-means++ on the centred rows with stream r, then Lloyd.
  std::vector<double> mean(5, 0.0);
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t f = 0; f < 5; ++f) mean[f] += x(i, f);
  for (double& m : mean) m /= static_cast<double>(x.rows());
  MatrixD xc(x.rows(), 5);
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t f = 0; f < 5; ++f) xc(i, f) = x(i, f) - mean[f];
  for (std::size_t r = 0; r < 3; ++r) {
    Rng rng = Rng::stream(123, r);
    const auto seeds = kmeans_plus_plus(xc.view(), 6, rng);
    const MatrixD init = take_rows<double, std::size_t>(x.view(), seeds);
    const auto alone = fit_kmeans_from(x.view(), init.view(), params);
    EXPECT_EQ(alone.inertia, all.init_inertias[r]) << "restart " << r;
    if (r == all.best_init) {
      EXPECT_EQ(alone.labels, all.labels);
    }
  }
}

TEST(KMeansPlusPlus, MatchesNaiveSeeding) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const MatrixD x = random_integers(300, 4, 50, seed);
    for (std::size_t k : {1u, 3u, 8u}) {
      Rng a(seed * 10 + k), b(seed * 10 + k);
      EXPECT_EQ(kmeans_plus_plus(x.view(), k, a), naive_plus_plus(x, k, b)) << "seed " << seed << " k " << k;
      EXPECT_EQ(a.next_u64(), b.next_u64());  // same number of draws
    }
  }
}

TEST(KMeansPlusPlus, SeedsOnePointPerSeparatedBlob) {
  std::vector<std::int32_t> truth;
  const MatrixD x = blobs<double>(1000, 5, 5, 61, &truth);
  for (std::uint64_t s = 0; s < 5; ++s) {
    Rng rng(s);
    const auto seeds = kmeans_plus_plus(x.view(), 5, rng);
    std::set<std::int32_t> hit;
    for (std::size_t i : seeds) hit.insert(truth[i]);
    EXPECT_EQ(hit.size(), 5u) << "seed " << s;
  }
}

TEST(KMeans, RandomInitUsesDistinctRows) {
  const MatrixD x = blobs<double>(500, 3, 4, 71);
  KMeansParams params;
  params.n_clusters = 4;
  params.init = KMeansInit::random;
  params.n_init = 5;
  const auto m = fit_kmeans(x.view(), params);
  EXPECT_EQ(m.init_inertias.size(), 5u);
  EXPECT_EQ(*std::min_element(m.init_inertias.begin(), m.init_inertias.end()), m.inertia);
  // Restart 0 by hand: the rows drawn from stream 0 start the same Lloyd run.
  Rng rng = Rng::stream(params.random_state, 0);
  const auto rows = rng.sample_without_replacement(500, 4);
  EXPECT_EQ(std::set<std::size_t>(rows.begin(), rows.end()).size(), 4u);
  const MatrixD init = take_rows<double, std::size_t>(x.view(), rows);
  EXPECT_EQ(fit_kmeans_from(x.view(), init.view(), params).inertia, m.init_inertias[0]);
}

TEST(KMeans, DiagnosticsForDegenerateData) {
  MatrixD x(40, 2);
  for (std::size_t i = 0; i < 40; ++i) {
    x(i, 0) = static_cast<double>(i % 3);
    x(i, 1) = 1.0;
  }
  KMeansParams params;
  params.n_clusters = 5;
  params.n_init = 2;
  Diagnostics diag;
  const auto m = fit_kmeans(x.view(), params, &diag);
  EXPECT_TRUE(has_code(diag, "fewer_distinct_points"));
  EXPECT_TRUE(has_code(diag, "fewer_clusters"));
  EXPECT_NEAR(m.inertia, 0.0, 1e-20);  // every row sits on a centre (up to the centring's rounding)

  const MatrixD b = blobs<double>(1000, 3, 8, 81);
  KMeansParams one;
  one.n_clusters = 8;
  one.max_iter = 1;
  one.tol = 0.0;
  Diagnostics d2;
  const auto m2 = fit_kmeans(b.view(), one, &d2);
  EXPECT_FALSE(m2.converged);
  EXPECT_EQ(m2.n_iter, 1u);
  EXPECT_TRUE(has_code(d2, "not_converged"));
}

TEST(KMeans, RejectsBadParameters) {
  const MatrixD x = blobs<double>(20, 2, 2, 91);
  KMeansParams ok;
  ok.n_clusters = 3;
  auto with = [&](auto change) {
    KMeansParams p = ok;
    change(p);
    return p;
  };
  EXPECT_THROW(fit_kmeans(x.view(), with([](KMeansParams& p) { p.n_clusters = 0; })), InvalidArgument);
  EXPECT_THROW(fit_kmeans(x.view(), with([](KMeansParams& p) { p.n_clusters = 21; })), InvalidArgument);
  EXPECT_THROW(fit_kmeans(x.view(), with([](KMeansParams& p) { p.n_init = 0; })), InvalidArgument);
  EXPECT_THROW(fit_kmeans(x.view(), with([](KMeansParams& p) { p.max_iter = 0; })), InvalidArgument);
  EXPECT_THROW(fit_kmeans(x.view(), with([](KMeansParams& p) { p.tol = -1e-3; })), InvalidArgument);
  EXPECT_THROW(fit_kmeans(x.view(), with([](KMeansParams& p) { p.tol = std::nan(""); })), InvalidArgument);
  EXPECT_THROW(fit_kmeans(MatrixD(0, 2).view(), ok), InvalidArgument);
  EXPECT_THROW(fit_kmeans(MatrixD(5, 0).view(), ok), InvalidArgument);
  MatrixD bad = x;
  bad(3, 1) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(fit_kmeans(bad.view(), ok), InvalidArgument);
  const MatrixD init2(2, 2, 0.0), init3(3, 3, 0.0);
  EXPECT_THROW(fit_kmeans_from(x.view(), init2.view(), ok), InvalidArgument);
  EXPECT_THROW(fit_kmeans_from(x.view(), init3.view(), ok), InvalidArgument);
  MatrixD nan_init(3, 2, 0.0);
  nan_init(1, 1) = std::nan("");
  EXPECT_THROW(fit_kmeans_from(x.view(), nan_init.view(), ok), InvalidArgument);
  Rng rng(1);
  EXPECT_THROW(kmeans_plus_plus(x.view(), 0, rng), InvalidArgument);
  EXPECT_THROW(kmeans_plus_plus(x.view(), 21, rng), InvalidArgument);

  KMeansModel<double> empty;
  EXPECT_THROW(empty.predict(x.view()), NotFitted);
  const auto m = fit_kmeans(x.view(), ok);
  EXPECT_THROW(m.predict(MatrixD(4, 3).view()), InvalidArgument);
  EXPECT_THROW(m.transform(bad.view()), InvalidArgument);
}

TEST(KMeans, StridedViewsAndEdgeSizes) {
  // A view with a row stride (every other column block) gives the same fit as a
  // contiguous copy.
  const MatrixD wide = blobs<double>(600, 8, 3, 101);
  const MatrixView<double> left(wide.data(), 600, 4, 8);
  const MatrixD copy(left);
  KMeansParams params;
  params.n_clusters = 3;
  params.n_init = 2;
  const auto a = fit_kmeans(left, params);
  const auto b = fit_kmeans(copy.view(), params);
  expect_same_model(a, b);
  EXPECT_EQ(a.predict(left), b.predict(copy.view()));
  Rng r1(4), r2(4);
  EXPECT_EQ(kmeans_plus_plus(left, 3, r1), kmeans_plus_plus(copy.view(), 3, r2));

  // k = 1: the centre is the mean; k = n: every row is its own cluster.
  const MatrixD x = random_integers(16, 2, 9, 5);
  KMeansParams one;
  one.n_clusters = 1;
  const auto m1 = fit_kmeans(x.view(), one);
  for (std::size_t f = 0; f < 2; ++f) {
    double mean = 0;
    for (std::size_t i = 0; i < 16; ++i) mean += x(i, f);
    EXPECT_DOUBLE_EQ(m1.centers(0, f), mean / 16);
  }
  MatrixD distinct(12, 1);
  for (std::size_t i = 0; i < 12; ++i) distinct(i, 0) = static_cast<double>(i * i);
  KMeansParams all;
  all.n_clusters = 12;
  all.n_init = 3;
  const auto m12 = fit_kmeans(distinct.view(), all);
  EXPECT_EQ(std::set<std::int32_t>(m12.labels.begin(), m12.labels.end()).size(), 12u);
  EXPECT_NEAR(m12.inertia, 0.0, 1e-9);
}
