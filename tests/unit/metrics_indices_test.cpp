// Calinski-Harabasz, Davies-Bouldin and the elbow distortion against naive oracles
// kept here, hand-computed cases and scikit-learn's special cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "segmenta/metrics.hpp"

using namespace segmenta;

namespace {

using L = std::vector<std::int32_t>;

struct Groups {
  std::map<std::int32_t, std::vector<std::size_t>> members;
  std::map<std::int32_t, std::vector<double>> mean;
};

template <class T>
Groups groups(MatrixView<T> x, const L& labels) {
  Groups g;
  for (std::size_t i = 0; i < labels.size(); ++i) g.members[labels[i]].push_back(i);
  for (const auto& [l, rows] : g.members) {
    std::vector<double> m(x.cols(), 0.0);
    for (auto r : rows)
      for (std::size_t f = 0; f < x.cols(); ++f) m[f] += static_cast<double>(x(r, f));
    for (double& v : m) v /= static_cast<double>(rows.size());
    g.mean[l] = m;
  }
  return g;
}

template <class T>
double sq(MatrixView<T> x, std::size_t r, const std::vector<double>& c) {
  double s = 0;
  for (std::size_t f = 0; f < x.cols(); ++f)
    s += (static_cast<double>(x(r, f)) - c[f]) * (static_cast<double>(x(r, f)) - c[f]);
  return s;
}

double sq(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t f = 0; f < a.size(); ++f) s += (a[f] - b[f]) * (a[f] - b[f]);
  return s;
}

template <class T>
double naive_ch(MatrixView<T> x, const L& labels) {
  const Groups g = groups(x, labels);
  const double n = static_cast<double>(x.rows()), k = static_cast<double>(g.members.size());
  std::vector<double> mean(x.cols(), 0.0);
  for (std::size_t r = 0; r < x.rows(); ++r)
    for (std::size_t f = 0; f < x.cols(); ++f) mean[f] += static_cast<double>(x(r, f)) / n;
  double extra = 0, intra = 0;
  for (const auto& [l, rows] : g.members) {
    extra += static_cast<double>(rows.size()) * sq(g.mean.at(l), mean);
    for (auto r : rows) intra += sq(x, r, g.mean.at(l));
  }
  return intra == 0 ? 1.0 : extra * (n - k) / (intra * (k - 1));
}

template <class T>
double naive_db(MatrixView<T> x, const L& labels) {
  const Groups g = groups(x, labels);
  std::map<std::int32_t, double> s;
  for (const auto& [l, rows] : g.members) {
    double t = 0;
    for (auto r : rows) t += std::sqrt(sq(x, r, g.mean.at(l)));
    s[l] = t / static_cast<double>(rows.size());
  }
  double total = 0;
  for (const auto& [a, sa] : s) {
    double worst = 0;
    for (const auto& [b, sb] : s)
      if (a != b) worst = std::max(worst, (sa + sb) / std::sqrt(sq(g.mean.at(a), g.mean.at(b))));
    total += worst;
  }
  return total / static_cast<double>(s.size());
}

template <class T>
double naive_distortion(MatrixView<T> x, const L& labels) {
  const Groups g = groups(x, labels);
  double d = 0;
  for (const auto& [l, rows] : g.members)
    for (auto r : rows) d += sq(x, r, g.mean.at(l));
  return d;
}

MatrixD blobs(Rng& rng, std::size_t n, std::size_t p, std::size_t k, L& labels) {
  MatrixD x(n, p);
  std::vector<double> centers(k * p);
  for (auto& c : centers) c = 4.0 * rng.normal();
  labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = rng.below(k);
    labels[i] = static_cast<std::int32_t>(c) * 1000 - 2500;
    for (std::size_t f = 0; f < p; ++f) x(i, f) = centers[c * p + f] + rng.normal();
  }
  return x;
}

}  // namespace

TEST(Indices, HandComputed) {
  // x = 0, 2 | 10, 12: means 1 and 11, overall 6. Between: 2*25 + 2*25 = 100;
  // within: 4 * 1 = 4; CH = 100 * (4 - 2) / (4 * 1) = 50. DB: s = 1, 1; d = 10;
  // (1 + 1) / 10 for both clusters = 0.2. Distortion = 4.
  MatrixD x(4, 1);
  x(0, 0) = 0;
  x(1, 0) = 2;
  x(2, 0) = 10;
  x(3, 0) = 12;
  const L labels = {7, 7, -1, -1};
  EXPECT_DOUBLE_EQ(calinski_harabasz_score(x.view(), labels), 50.0);
  EXPECT_DOUBLE_EQ(davies_bouldin_score(x.view(), labels), 0.2);
  EXPECT_DOUBLE_EQ(distortion_score(x.view(), labels), 4.0);
  EXPECT_DOUBLE_EQ(distortion_score(x.view(), L{0, 0, 0, 0}), 36.0 + 16.0 + 16.0 + 36.0);
}

TEST(Indices, MatchNaiveOracles) {
  Rng rng(99);
  for (std::size_t p : {1u, 4u, 9u, 40u}) {
    L labels;
    const MatrixD x = blobs(rng, 700, p, 6, labels);
    EXPECT_NEAR(calinski_harabasz_score(x.view(), labels), naive_ch(x.view(), labels),
                1e-12 * naive_ch(x.view(), labels));
    EXPECT_NEAR(davies_bouldin_score(x.view(), labels), naive_db(x.view(), labels), 1e-12 * naive_db(x.view(), labels));
    EXPECT_NEAR(distortion_score(x.view(), labels), naive_distortion(x.view(), labels),
                1e-12 * naive_distortion(x.view(), labels));
  }
}

TEST(Indices, FloatInputIsEvaluatedInDouble) {
  Rng rng(4);
  L labels;
  const MatrixD xd = blobs(rng, 500, 12, 5, labels);
  MatrixF x(500, 12);
  for (std::size_t i = 0; i < xd.size(); ++i) x.data()[i] = static_cast<float>(xd.data()[i]);
  EXPECT_NEAR(calinski_harabasz_score(x.view(), labels), naive_ch(x.view(), labels),
              1e-12 * naive_ch(x.view(), labels));
  EXPECT_NEAR(davies_bouldin_score(x.view(), labels), naive_db(x.view(), labels), 1e-12 * naive_db(x.view(), labels));
  EXPECT_NEAR(distortion_score(x.view(), labels), naive_distortion(x.view(), labels),
              1e-12 * naive_distortion(x.view(), labels));
}

TEST(Indices, ScikitLearnSpecialCases) {
  // Every cluster is one repeated point: within dispersion 0 -> CH = 1, and all
  // intra distances 0 -> DB = 0.
  MatrixD x(4, 2, 0.0);
  x(2, 0) = x(3, 0) = 3.0;
  EXPECT_EQ(calinski_harabasz_score(x.view(), L{0, 0, 1, 1}), 1.0);
  EXPECT_EQ(davies_bouldin_score(x.view(), L{0, 0, 1, 1}), 0.0);
  // All centroids coincide (x = -1, 1 and -2, 2): DB = 0.
  MatrixD y(4, 1);
  y(0, 0) = -1;
  y(1, 0) = 1;
  y(2, 0) = -2;
  y(3, 0) = 2;
  EXPECT_EQ(davies_bouldin_score(y.view(), L{0, 0, 1, 1}), 0.0);
  // Two of three centroids coincide: that pair is ignored (distance +inf).
  // Clusters A = {-1, 1} (centroid 0, s = 1), B = {-2, 2} (0, 2), C = {9, 11} (10, 1).
  MatrixD z(6, 1);
  const double v[] = {-1, 1, -2, 2, 9, 11};
  for (int i = 0; i < 6; ++i) z(i, 0) = v[i];
  const double expected = ((1 + 1) / 10.0 + (2 + 1) / 10.0 + std::max(2.0, 3.0) / 10.0) / 3.0;
  EXPECT_DOUBLE_EQ(davies_bouldin_score(z.view(), L{0, 0, 1, 1, 2, 2}), expected);
}

TEST(Indices, BadInputThrows) {
  Rng rng(1);
  L labels;
  const MatrixD x = blobs(rng, 20, 3, 3, labels);
  L all(20);
  for (int i = 0; i < 20; ++i) all[i] = i;
  const L one(20, 3), short_labels(19, 0);
  EXPECT_THROW(calinski_harabasz_score(x.view(), one), InvalidArgument);
  EXPECT_THROW(calinski_harabasz_score(x.view(), all), InvalidArgument);
  EXPECT_THROW(calinski_harabasz_score(x.view(), short_labels), InvalidArgument);
  EXPECT_THROW(davies_bouldin_score(x.view(), one), InvalidArgument);
  EXPECT_THROW(davies_bouldin_score(x.view(), all), InvalidArgument);
  EXPECT_THROW(davies_bouldin_score(x.view(), short_labels), InvalidArgument);
  EXPECT_THROW(distortion_score(x.view(), short_labels), InvalidArgument);
  EXPECT_THROW(distortion_score(MatrixD(0, 2).view(), L{}), InvalidArgument);
  MatrixD bad = x;
  bad(3, 2) = INFINITY;
  EXPECT_THROW(calinski_harabasz_score(bad.view(), labels), InvalidArgument);
  // The distortion of one cluster is defined (the elbow's k = 1).
  EXPECT_GT(distortion_score(x.view(), one), 0.0);
}
