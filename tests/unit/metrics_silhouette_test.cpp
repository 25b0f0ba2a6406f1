// Silhouette against a naive O(n^2) oracle kept here, on small random data, for
// every evaluation path of the engine (direct AVX-512 / portable / GEMM, symmetric /
// streaming, with and without merged duplicates), plus properties and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "metrics/silhouette_engine.hpp"
#include "segmenta/metrics.hpp"

using namespace segmenta;
using detail::DistancePath;
using detail::SilhouetteEngineOptions;

namespace {

// scikit-learn's definition, evaluated naively in double.
template <class T>
std::vector<double> naive_silhouette(MatrixView<T> x, const std::vector<std::int32_t>& labels) {
  const std::size_t n = x.rows(), p = x.cols();
  std::map<std::int32_t, std::size_t> code;
  for (auto l : labels) code.emplace(l, 0);
  std::size_t k = 0;
  for (auto& [l, c] : code) c = k++;
  std::vector<std::size_t> lab(n), count(k, 0);
  for (std::size_t i = 0; i < n; ++i) ++count[lab[i] = code[labels[i]]];
  std::vector<double> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> sums(k, 0.0);
    for (std::size_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (std::size_t f = 0; f < p; ++f) {
        const double d = static_cast<double>(x(i, f)) - static_cast<double>(x(j, f));
        s += d * d;
      }
      sums[lab[j]] += std::sqrt(s);
    }
    const std::size_t own = lab[i];
    if (count[own] == 1) {
      out[i] = 0.0;
      continue;
    }
    const double a = sums[own] / static_cast<double>(count[own] - 1);
    double b = INFINITY;
    for (std::size_t c = 0; c < k; ++c)
      if (c != own) b = std::min(b, sums[c] / static_cast<double>(count[c]));
    const double s = (b - a) / std::max(a, b);
    out[i] = std::isnan(s) ? 0.0 : s;
  }
  return out;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0.0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

struct Data {
  MatrixD x;
  std::vector<std::int32_t> labels;
};

// Gaussian blobs with label values far from 0..k-1, a few singleton clusters and,
// optionally, duplicated rows (inside a cluster and across clusters).
Data make_data(std::size_t n, std::size_t p, std::size_t k, std::uint64_t seed, bool duplicates) {
  Rng rng(seed);
  const std::vector<std::int32_t> values = {-7, 3, 1000000, 42, -123456, 5, 99, 0, 17, -1, 2048, 77};
  Data d{MatrixD(n, p), std::vector<std::int32_t>(n)};
  std::vector<double> centers(k * p);
  for (auto& c : centers) c = 3.0 * rng.normal();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = rng.below(k);
    d.labels[i] = values[c % values.size()] + static_cast<std::int32_t>(c / values.size()) * 7919;
    for (std::size_t f = 0; f < p; ++f) d.x(i, f) = centers[c * p + f] + rng.normal();
  }
  // Two singletons with labels of their own.
  d.labels[n / 3] = 31337;
  d.labels[(2 * n) / 3] = -31337;
  if (duplicates) {
    for (std::size_t t = 0; t < n / 10; ++t) {
      const std::size_t src = rng.below(n), dst = rng.below(n);
      if (src == dst || dst == n / 3 || dst == (2 * n) / 3) continue;
      std::copy(d.x.row(src), d.x.row(src) + p, d.x.row(dst));
      if (t % 2 == 0) d.labels[dst] = d.labels[src];
    }
  }
  return d;
}

MatrixF to_float(const MatrixD& x) {
  MatrixF f(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.size(); ++i) f.data()[i] = static_cast<float>(x.data()[i]);
  return f;
}

template <class T>
std::vector<double> engine(MatrixView<T> x, const std::vector<std::int32_t>& labels, const SilhouetteEngineOptions& o) {
  const auto enc = detail::encode_labels(labels);
  return detail::silhouette_engine(x, {&enc}, o)[0];
}

std::vector<SilhouetteEngineOptions> direct_paths() {
  std::vector<SilhouetteEngineOptions> out;
  for (bool portable : {false, true})
    for (bool streaming : {false, true})
      for (bool merge : {true, false}) {
        SilhouetteEngineOptions o;
        o.path = DistancePath::direct;
        o.portable = portable;
        o.streaming = streaming;
        o.merge_duplicates = merge;
        out.push_back(o);
      }
  return out;
}

std::string describe(const SilhouetteEngineOptions& o) {
  std::string s = o.path == DistancePath::gemm ? "gemm" : o.path == DistancePath::direct ? "direct" : "auto";
  s += o.portable ? "/portable" : "/simd";
  s += o.streaming ? "/streaming" : "/symmetric";
  s += o.merge_duplicates ? "/merged" : "/unmerged";
  return s;
}

}  // namespace

// Direct differences are exact up to summation order: 1e-12 whatever the path.
TEST(Silhouette, DirectPathsMatchOracle) {
  for (std::size_t p : {1u, 3u, 8u, 13u, 17u, 32u}) {
    for (std::size_t n : {37u, 700u}) {
      const Data d = make_data(n, p, n < 100 ? 4 : 9, 1000 + p * 7 + n, true);
      const auto expected = naive_silhouette(d.x.view(), d.labels);
      for (const auto& o : direct_paths())
        EXPECT_LE(max_abs_diff(engine(d.x.view(), d.labels, o), expected), 1e-12)
            << "p=" << p << " n=" << n << " " << describe(o);
    }
  }
}

TEST(Silhouette, PublicFunctionsMatchOracle) {
  const Data d = make_data(613, 5, 6, 7, true);
  const auto expected = naive_silhouette(d.x.view(), d.labels);
  EXPECT_LE(max_abs_diff(silhouette_samples(d.x.view(), d.labels), expected), 1e-12);
  double mean = 0.0;
  for (double v : expected) mean += v;
  mean /= static_cast<double>(expected.size());
  EXPECT_NEAR(silhouette_score(d.x.view(), d.labels), mean, 1e-13);
  // The two singletons get 0.
  const auto s = silhouette_samples(d.x.view(), d.labels);
  EXPECT_EQ(s[613 / 3], 0.0);
  EXPECT_EQ(s[(2 * 613) / 3], 0.0);
}

// GEMM identity |x|^2 - 2 x.y + |y|^2 (scikit-learn's formula) on data without
// cross-cluster duplicates: relative rounding ~eps |x|^2 / d^2 per distance.
TEST(Silhouette, GemmPathsMatchOracle) {
  for (std::size_t p : {3u, 8u, 40u, 70u}) {
    const Data d = make_data(650, p, 7, 50 + p, false);
    const auto expected = naive_silhouette(d.x.view(), d.labels);
    for (bool portable : {false, true})
      for (bool streaming : {false, true}) {
        SilhouetteEngineOptions o;
        o.path = DistancePath::gemm;
        o.portable = portable;
        o.streaming = streaming;
        EXPECT_LE(max_abs_diff(engine(d.x.view(), d.labels, o), expected), 1e-11) << "p=" << p << " " << describe(o);
      }
  }
}

// Bitwise-equal rows merged into one weighted unit must still count once per row,
// and the distance between twins is exactly 0 on every path.
TEST(Silhouette, DuplicatesOnGemmPath) {
  Data d = make_data(400, 40, 5, 77, false);
  for (std::size_t i = 0; i < 60; ++i) {
    std::copy(d.x.row(i), d.x.row(i) + 40, d.x.row(200 + i));
    d.labels[200 + i] = d.labels[i];
  }
  const auto expected = naive_silhouette(d.x.view(), d.labels);
  for (bool merge : {true, false}) {
    SilhouetteEngineOptions o;
    o.path = DistancePath::gemm;
    o.merge_duplicates = merge;
    EXPECT_LE(max_abs_diff(engine(d.x.view(), d.labels, o), expected), 1e-11) << describe(o);
  }
}

// Float input: direct differences are evaluated in double from the float values
// (p <= 32). The GEMM path (p > 32) forms x.y in single precision (sgemm), so each
// distance carries a random relative rounding of ~sqrt(p) 6e-8 (|x|^2 + |y|^2) / d^2:
// small on unit-norm embeddings, larger on blobs far from the origin relative to
// their spread (measured 1.4e-6 on the data below with OpenBLAS).
TEST(Silhouette, FloatInput) {
  for (std::size_t p : {6u, 24u}) {
    const Data d = make_data(500, p, 6, 300 + p, true);
    const MatrixF xf = to_float(d.x);
    const auto expected = naive_silhouette(xf.view(), d.labels);
    EXPECT_LE(max_abs_diff(silhouette_samples(xf.view(), d.labels), expected), 1e-12) << "p=" << p;
  }
  const Data d = make_data(500, 48, 6, 348, false);
  const MatrixF xf = to_float(d.x);
  const auto expected = naive_silhouette(xf.view(), d.labels);
  EXPECT_LE(max_abs_diff(silhouette_samples(xf.view(), d.labels), expected), 1e-5);
}

TEST(Silhouette, FloatUnitNormEmbeddings) {
  // Six directions on the unit sphere in 96-d, rows = direction + noise, normalised.
  const std::size_t n = 900, p = 96, k = 6;
  Rng rng(1234);
  std::vector<double> dirs(k * p);
  for (auto& v : dirs) v = rng.normal();
  MatrixF x(n, p);
  std::vector<std::int32_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = rng.below(k);
    labels[i] = static_cast<std::int32_t>(c);
    std::vector<double> v(p);
    double s = 0.0;
    for (std::size_t f = 0; f < p; ++f) {
      v[f] =
          dirs[c * p + f] / std::sqrt(static_cast<double>(p)) + 0.8 * rng.normal() / std::sqrt(static_cast<double>(p));
      s += v[f] * v[f];
    }
    for (std::size_t f = 0; f < p; ++f) x(i, f) = static_cast<float>(v[f] / std::sqrt(s));
  }
  const auto expected = naive_silhouette(x.view(), labels);
  EXPECT_LE(max_abs_diff(silhouette_samples(x.view(), labels), expected), 1e-7);
}

TEST(Silhouette, DegenerateDistances) {
  // Cluster 0 is two copies of the origin, cluster 1 two copies of the origin too:
  // a = b = 0 gives 0/0, which scikit-learn maps to 0.
  const MatrixD zeros(4, 2, 0.0);
  EXPECT_EQ(silhouette_samples(zeros.view(), std::vector<std::int32_t>{0, 0, 1, 1}),
            (std::vector<double>{0.0, 0.0, 0.0, 0.0}));
  // Points on a line: hand-computed values. x = 0, 1 in cluster A, 5 in cluster B
  // with 7: a(0) = 1, b(0) = (5 + 7) / 2 = 6, s = 5/6; a(5) = 2, b(5) = (5 + 4) / 2.
  MatrixD line(4, 1);
  line(0, 0) = 0;
  line(1, 0) = 1;
  line(2, 0) = 5;
  line(3, 0) = 7;
  const auto s = silhouette_samples(line.view(), std::vector<std::int32_t>{10, 10, -3, -3});
  EXPECT_NEAR(s[0], 5.0 / 6.0, 1e-15);
  EXPECT_NEAR(s[1], (5.0 - 1.0) / 5.0, 1e-15);  // b = (4 + 6) / 2 = 5
  EXPECT_NEAR(s[2], (4.5 - 2.0) / 4.5, 1e-15);  // b = (5 + 4) / 2
  EXPECT_NEAR(s[3], (6.5 - 2.0) / 6.5, 1e-15);  // b = (7 + 6) / 2
}

TEST(Silhouette, ManyEqualsOneAtATime) {
  const Data d = make_data(900, 4, 5, 11, true);
  std::vector<std::vector<std::int32_t>> labelings;
  Rng rng(3);
  for (std::size_t k : {2u, 3u, 5u, 9u, 40u}) {
    std::vector<std::int32_t> l(900);
    for (std::size_t i = 0; i < 900; ++i)
      l[i] =
          static_cast<std::int32_t>(i % 3 == 0 ? rng.below(k) : (d.labels[i] & 0xffff) % static_cast<std::int32_t>(k));
    labelings.push_back(std::move(l));
  }
  labelings.push_back(d.labels);
  std::vector<Labels> views(labelings.begin(), labelings.end());
  const auto many = silhouette_samples_many(d.x.view(), views);
  ASSERT_EQ(many.size(), labelings.size());
  for (std::size_t l = 0; l < labelings.size(); ++l)
    EXPECT_LE(max_abs_diff(many[l], naive_silhouette(d.x.view(), labelings[l])), 1e-12) << "labeling " << l;

  // A tiny accumulator budget splits the labelings into groups and sends large-k
  // ones to the streaming evaluation; results do not change.
  std::vector<detail::EncodedLabels> enc;
  for (const auto& l : labelings) enc.push_back(detail::encode_labels(l));
  std::vector<const detail::EncodedLabels*> ptrs;
  for (const auto& e : enc) ptrs.push_back(&e);
  SilhouetteEngineOptions o;
  o.accumulator_budget = 100000;
  const auto split = detail::silhouette_engine(d.x.view(), ptrs, o);
  for (std::size_t l = 0; l < labelings.size(); ++l) EXPECT_LE(max_abs_diff(split[l], many[l]), 1e-12);
  EXPECT_TRUE(silhouette_samples_many(d.x.view(), {}).empty());
}

TEST(Silhouette, SameResultForOneAndTwoThreads) {
  const Data d = make_data(3000, 6, 8, 5, true);
  const Data d50 = make_data(1500, 50, 4, 6, false);
  std::vector<std::vector<double>> results[2];
  for (int t = 0; t < 2; ++t) {
    set_num_threads(t + 1);
    results[t].push_back(silhouette_samples(d.x.view(), d.labels));
    SilhouetteEngineOptions o;
    o.streaming = true;
    results[t].push_back(engine(d.x.view(), d.labels, o));
    results[t].push_back(silhouette_samples(d50.x.view(), d50.labels));
    results[t].push_back({silhouette_score_sampled(d.x.view(), d.labels, 1000, 9)});
  }
  set_num_threads(0);
  for (std::size_t r = 0; r < results[0].size(); ++r) EXPECT_EQ(results[0][r], results[1][r]) << "case " << r;
}

TEST(Silhouette, Sampled) {
  const Data d = make_data(800, 3, 5, 21, true);
  // m >= n is the exact score.
  EXPECT_EQ(silhouette_score_sampled(d.x.view(), d.labels, 800, 1), silhouette_score(d.x.view(), d.labels));
  EXPECT_EQ(silhouette_score_sampled(d.x.view(), d.labels, 5000, 1), silhouette_score(d.x.view(), d.labels));
  // Deterministic for a seed; another seed draws another subset.
  const double s1 = silhouette_score_sampled(d.x.view(), d.labels, 300, 42);
  EXPECT_EQ(s1, silhouette_score_sampled(d.x.view(), d.labels, 300, 42));
  EXPECT_NE(s1, silhouette_score_sampled(d.x.view(), d.labels, 300, 43));
  // It is the exact silhouette of the rows drawn by Rng(random_state).
  Rng rng(42);
  const auto rows = rng.sample_without_replacement(800, 300);
  const MatrixD xs = take_rows<double, std::size_t>(d.x.view(), rows);
  std::vector<std::int32_t> ls;
  for (auto r : rows) ls.push_back(d.labels[r]);
  const auto ref = naive_silhouette(xs.view(), ls);
  double mean = 0.0;
  for (double v : ref) mean += v;
  EXPECT_NEAR(s1, mean / 300.0, 1e-13);
}

TEST(Silhouette, BadInputThrows) {
  const Data d = make_data(50, 3, 3, 1, false);
  const auto x = d.x.view();
  const std::vector<std::int32_t> one(50, 4);
  std::vector<std::int32_t> all(50);
  for (std::size_t i = 0; i < 50; ++i) all[i] = static_cast<std::int32_t>(i) * 3;
  const std::vector<std::int32_t> short_labels(49, 1);
  EXPECT_THROW(silhouette_samples(x, one), InvalidArgument);
  EXPECT_THROW(silhouette_samples(x, all), InvalidArgument);
  EXPECT_THROW(silhouette_samples(x, short_labels), InvalidArgument);
  EXPECT_THROW(silhouette_score(x, one), InvalidArgument);
  EXPECT_THROW(silhouette_score_sampled(x, d.labels, 0, 1), InvalidArgument);
  EXPECT_THROW(silhouette_score_sampled(x, short_labels, 10, 1), InvalidArgument);
  // A sample in which every row has its own label (or one label only) is invalid too.
  EXPECT_THROW(silhouette_score_sampled(x, all, 10, 1), InvalidArgument);
  std::vector<Labels> many = {Labels(d.labels), Labels(one)};
  EXPECT_THROW(silhouette_samples_many(x, many), InvalidArgument);
  MatrixD bad = d.x;
  bad(7, 1) = NAN;
  EXPECT_THROW(silhouette_samples(bad.view(), d.labels), InvalidArgument);
  EXPECT_THROW(silhouette_samples(MatrixD(0, 3).view(), std::vector<std::int32_t>{}), InvalidArgument);
  EXPECT_THROW(silhouette_samples(MatrixD(50, 0).view(), d.labels), InvalidArgument);
}

// ---- the estimate on a stratified sample (each sampled row exact against all rows)

TEST(SilhouetteEstimate, EveryRowSampledIsTheExactScore) {
  const Data d = make_data(700, 4, 5, 3, true);
  const std::vector<double> exact = silhouette_samples(d.x.view(), d.labels);
  std::vector<SilhouetteSampleRow> rows;
  const SilhouetteEstimate e = silhouette_estimate(d.x.view(), d.labels, 700, 5, &rows);
  EXPECT_EQ(e.rows, 700u);
  EXPECT_EQ(e.population, 700u);
  EXPECT_NEAR(e.mean, silhouette_score(d.x.view(), d.labels), 1e-12);
  EXPECT_EQ(e.standard_error, 0.0);
  ASSERT_EQ(rows.size(), 700u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].row, i);
    EXPECT_NEAR(rows[i].value, exact[i], 1e-12);
  }
}

TEST(SilhouetteEstimate, SampledRowsHaveTheirExactSilhouette) {
  for (const std::size_t p : {3u, 40u}) {
    const Data d = make_data(2000, p, 7, 11 + p, true);
    const std::vector<double> exact = naive_silhouette(d.x.view(), d.labels);
    std::vector<SilhouetteSampleRow> rows;
    const SilhouetteEstimate e = silhouette_estimate(d.x.view(), d.labels, 150, 8, &rows);
    ASSERT_EQ(rows.size(), 150u);
    EXPECT_GT(e.standard_error, 0.0);
    for (const auto& r : rows) EXPECT_NEAR(r.value, exact[r.row], 1e-10) << "p " << p << " row " << r.row;
    // Every label is sampled, the singletons included.
    EXPECT_TRUE(std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return d.labels[r.row] == 31337; }));
    const MatrixF f = to_float(d.x);
    std::vector<SilhouetteSampleRow> rows_f;
    silhouette_estimate(f.view(), d.labels, 150, 8, &rows_f);
    ASSERT_EQ(rows_f.size(), 150u);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows_f[i].row, rows[i].row);
      EXPECT_NEAR(rows_f[i].value, rows[i].value, 2e-4);
    }
  }
}

// Unbiased with a calibrated standard error: over many seeds the exact score lies
// within 1, 2 and 3 standard errors of the estimate about as often as a normal
// estimate's (68 %, 95 %, 99.7 %), and the errors average out near 0.
TEST(SilhouetteEstimate, ExactScoreWithinTheStandardErrorAsOftenAsExpected) {
  const Data d = make_data(4000, 5, 6, 77, false);
  const double exact = silhouette_score(d.x.view(), d.labels);
  const std::size_t seeds = 300;
  std::size_t within1 = 0, within2 = 0, within3 = 0;
  double z_sum = 0.0;
  for (std::size_t s = 0; s < seeds; ++s) {
    const SilhouetteEstimate e = silhouette_estimate(d.x.view(), d.labels, 250, 1000 + s);
    ASSERT_GT(e.standard_error, 0.0);
    const double z = (e.mean - exact) / e.standard_error;
    z_sum += z;
    within1 += std::abs(z) <= 1;
    within2 += std::abs(z) <= 2;
    within3 += std::abs(z) <= 3;
  }
  const double n = static_cast<double>(seeds);
  EXPECT_NEAR(static_cast<double>(within1) / n, 0.683, 0.085);
  EXPECT_NEAR(static_cast<double>(within2) / n, 0.954, 0.04);
  EXPECT_GE(static_cast<double>(within3) / n, 0.975);
  EXPECT_NEAR(z_sum / n, 0.0, 0.2);  // the mean of 300 z-scores has a standard error of 0.058
}

TEST(SilhouetteEstimate, SameResultForOneAndTwoThreadsAndSeeds) {
  const Data d = make_data(5000, 6, 8, 5, true);
  SilhouetteEstimate r[2];
  std::vector<SilhouetteSampleRow> rows[2];
  for (int t = 0; t < 2; ++t) {
    set_num_threads(t + 1);
    r[t] = silhouette_estimate(d.x.view(), d.labels, 900, 4, &rows[t]);
  }
  set_num_threads(0);
  EXPECT_EQ(r[0].mean, r[1].mean);
  EXPECT_EQ(r[0].standard_error, r[1].standard_error);
  ASSERT_EQ(rows[0].size(), rows[1].size());
  for (std::size_t i = 0; i < rows[0].size(); ++i) EXPECT_EQ(rows[0][i].value, rows[1][i].value);
  EXPECT_NE(silhouette_estimate(d.x.view(), d.labels, 900, 5).mean, r[0].mean);
  EXPECT_THROW(silhouette_estimate(d.x.view(), d.labels, 1, 4), InvalidArgument);
}
