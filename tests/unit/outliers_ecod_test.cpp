// ECOD against a naive O(n^2) implementation of pyod 1.1.0's definition, plus the
// properties of frozen scoring.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "segmenta/outliers.hpp"

using namespace segmenta;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// numpy.linspace(1/n, 1, n)[k], as pyod's ECDF reads it: product and sum rounded
// separately (the volatile keeps the compiler from fusing them into an FMA).
double ladder(std::size_t n, std::size_t k) {
  if (k == n - 1) return 1.0;
  const double start = 1.0 / static_cast<double>(n);
  volatile double product = static_cast<double>(k) * ((1.0 - start) / static_cast<double>(n - 1));
  return product + start;
}

// Sign of the biased sample skewness, 0 where scipy's zero-variance rule fires.
int naive_skew_sign(const MatrixD& x, std::size_t j) {
  const std::size_t n = x.rows();
  long double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += x(i, j);
  const long double mean = s / n;
  long double m2 = 0, m3 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const long double d = x(i, j) - mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  m2 /= n;
  m3 /= n;
  if (m2 <= (1e-15L * mean) * (1e-15L * mean)) return 0;
  return (m3 > 0) - (m3 < 0);
}

struct Naive {
  MatrixD o;
  std::vector<double> scores;
  std::vector<int> signs;
};

// pyod's fit on x: per element max(-log F_l, -log F_r, U_skew), row sums.
Naive naive_ecod(const MatrixD& x) {
  const std::size_t n = x.rows(), p = x.cols();
  Naive r{MatrixD(n, p), std::vector<double>(n, 0.0), std::vector<int>(p)};
  for (std::size_t j = 0; j < p; ++j) {
    const int s = naive_skew_sign(x, j);
    r.signs[j] = s;
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t le = 0, ge = 0;
      for (std::size_t k = 0; k < n; ++k) {
        le += x(k, j) <= x(i, j);
        ge += x(k, j) >= x(i, j);
      }
      const double ul = -std::log(ladder(n, le - 1)), ur = -std::log(ladder(n, ge - 1));
      const double uskew = s > 0 ? ur : (s < 0 ? ul : ul + ur);
      r.o(i, j) = std::max({ul, ur, uskew});
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < p; ++j) r.scores[i] += r.o(i, j);
  return r;
}

// Small integers, so columns are full of ties; one constant column.
MatrixD tied_data(std::uint64_t seed, std::size_t n, std::size_t p, std::size_t constant_column) {
  Rng r(seed);
  MatrixD x(n, p);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < p; ++j) {
      const double e = std::floor(std::exp(1.5 * r.normal()));  // skewed, heavily tied
      x(i, j) = j == constant_column ? 2.5 : (j % 2 ? e : -e + static_cast<double>(r.below(3)));
    }
  return x;
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

}  // namespace

TEST(Ecod, MatchesNaivePyodDefinitionWithTies) {
  const MatrixD x = tied_data(7, 80, 6, 3);
  const EcodModel m = fit_ecod(x);
  const Naive want = naive_ecod(x);
  ASSERT_EQ(m.n_train(), 80u);
  ASSERT_EQ(m.n_features(), 6u);
  EXPECT_EQ(m.skew_sign(), want.signs);
  EXPECT_EQ(m.skew_sign()[3], 0);
  for (std::size_t i = 0; i < 80; ++i) {
    for (std::size_t j = 0; j < 6; ++j) EXPECT_EQ(m.feature_scores()(i, j), want.o(i, j)) << i << " " << j;
    EXPECT_LE(rel(m.decision_scores()[i], want.scores[i]), 1e-13) << i;
  }
  // Threshold: numpy.percentile(scores, 90), labels strictly above it.
  std::vector<double> sorted = want.scores;
  std::sort(sorted.begin(), sorted.end());
  const double v = 79 * 0.9;
  const std::size_t lo = static_cast<std::size_t>(v);
  const double t = v - static_cast<double>(lo);
  const double want_threshold =
      t >= 0.5 ? sorted[lo + 1] - (sorted[lo + 1] - sorted[lo]) * (1 - t) : sorted[lo] + (sorted[lo + 1] - sorted[lo]) * t;
  EXPECT_LE(rel(m.threshold(), want_threshold), 1e-13);
  for (std::size_t i = 0; i < 80; ++i) EXPECT_EQ(m.labels()[i], m.decision_scores()[i] > m.threshold() ? 1 : 0);
  // Sorted training columns are kept for scoring.
  for (std::size_t j = 0; j < 6; ++j) {
    std::vector<double> col(80);
    for (std::size_t i = 0; i < 80; ++i) col[i] = x(i, j);
    std::sort(col.begin(), col.end());
    for (std::size_t i = 0; i < 80; ++i) EXPECT_EQ(m.sorted_columns()(j, i), col[i]);
  }
}

TEST(Ecod, ZeroSkewColumnsAddBothTails) {
  // A constant column contributes 0; an exactly symmetric column has skewness 0 and
  // contributes -log F_l - log F_r (pyod's U_skew = U_l + U_r).
  MatrixD x(9, 2);
  const double sym[9] = {-2, -1, -1, 0, 0, 0, 1, 1, 2};
  for (std::size_t i = 0; i < 9; ++i) {
    x(i, 0) = 7.0;
    x(i, 1) = sym[i];
  }
  const EcodModel m = fit_ecod(x);
  EXPECT_EQ(m.skew_sign(), (std::vector<int>{0, 0}));
  for (std::size_t i = 0; i < 9; ++i) {
    EXPECT_EQ(m.feature_scores()(i, 0), 0.0);
    std::size_t le = 0, ge = 0;
    for (double v : sym) {
      le += v <= sym[i];
      ge += v >= sym[i];
    }
    EXPECT_EQ(m.feature_scores()(i, 1), -std::log(ladder(9, le - 1)) + -std::log(ladder(9, ge - 1))) << i;
    EXPECT_EQ(m.decision_scores()[i], m.feature_scores()(i, 1));
  }
}

TEST(Ecod, WideMatrixMatchesNaiveAndIsThreadIndependent) {
  const MatrixD x = tied_data(9, 40, 70, 12);  // p >= 64 takes the tiled path
  set_num_threads(1);
  const EcodModel one = fit_ecod(x);
  set_num_threads(2);
  const EcodModel two = fit_ecod(x);
  set_num_threads(0);
  EXPECT_EQ(one.decision_scores(), two.decision_scores());
  EXPECT_EQ(one.labels(), two.labels());
  EXPECT_EQ(one.threshold(), two.threshold());
  EXPECT_EQ(std::memcmp(one.feature_scores().data(), two.feature_scores().data(), 40 * 70 * sizeof(double)), 0);
  const Naive want = naive_ecod(x);
  EXPECT_EQ(one.skew_sign(), want.signs);
  for (std::size_t i = 0; i < 40; ++i) {
    for (std::size_t j = 0; j < 70; ++j) ASSERT_EQ(one.feature_scores()(i, j), want.o(i, j)) << i << " " << j;
    EXPECT_LE(rel(one.decision_scores()[i], want.scores[i]), 1e-13) << i;
  }
  // Row sums follow numpy's pairwise order.
  for (std::size_t i = 0; i < 40; ++i) {
    const double* o = one.feature_scores().row(i);
    double r[8];
    for (int k = 0; k < 8; ++k) r[k] = o[k];
    std::size_t j = 8;
    for (; j < 64; j += 8)
      for (int k = 0; k < 8; ++k) r[k] += o[j + k];
    double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; j < 70; ++j) s += o[j];
    EXPECT_EQ(one.decision_scores()[i], s) << i;
  }
}

TEST(Ecod, FrozenScoringHasNoBatchLeakage) {
  const MatrixD train = tied_data(3, 60, 4, 99);
  const EcodModel m = fit_ecod(train);
  Rng r(17);
  MatrixD fresh(25, 4);
  for (std::size_t i = 0; i < 25; ++i)
    for (std::size_t j = 0; j < 4; ++j) fresh(i, j) = std::floor(8 * r.normal());  // includes out-of-range values
  MatrixD per_feature;
  const std::vector<double> batch = m.score(fresh, &per_feature);
  ASSERT_EQ(per_feature.rows(), 25u);
  for (std::size_t i = 0; i < 25; ++i) {
    const std::vector<double> alone = m.score(fresh.view().rows_view(i, 1));
    EXPECT_EQ(alone[0], batch[i]) << i;
    EXPECT_TRUE(std::isfinite(batch[i]));
  }
  set_num_threads(1);
  const std::vector<double> serial = m.score(fresh);
  set_num_threads(0);
  EXPECT_EQ(serial, batch);
  const auto labels = m.predict(fresh);
  for (std::size_t i = 0; i < 25; ++i) EXPECT_EQ(labels[i], batch[i] > m.threshold() ? 1 : 0);
}

TEST(Ecod, OneNewRowEqualsTransductiveScoreOnTrainPlusRow) {
  const MatrixD train = tied_data(5, 50, 5, 99);
  const EcodModel m = fit_ecod(train);
  Rng r(23);
  for (int trial = 0; trial < 10; ++trial) {
    MatrixD row(1, 5);
    for (std::size_t j = 0; j < 5; ++j) row(0, j) = trial < 5 ? train(r.below(50), j) : std::floor(6 * r.normal());
    MatrixD both(51, 5);
    std::memcpy(both.data(), train.data(), 50 * 5 * sizeof(double));
    std::memcpy(both.row(50), row.data(), 5 * sizeof(double));
    const Naive union_fit = naive_ecod(both);
    ASSERT_EQ(union_fit.signs, m.skew_sign()) << "the row changed a skewness sign; pick other data";
    MatrixD o;
    const double got = m.score(row, &o)[0];
    for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(o(0, j), union_fit.o(50, j)) << trial << " " << j;
    EXPECT_LE(rel(got, union_fit.scores[50]), 1e-13) << trial;
  }
}

TEST(Ecod, OutlierFeatureMeansAndFromParts) {
  const MatrixD x = tied_data(11, 70, 3, 99);
  const EcodModel m = fit_ecod(x, {0.2});
  EXPECT_EQ(m.contamination(), 0.2);
  std::vector<double> want(3, 0.0);
  std::size_t flagged = 0;
  for (std::size_t i = 0; i < 70; ++i)
    if (m.labels()[i]) {
      ++flagged;
      for (std::size_t j = 0; j < 3; ++j) want[j] += m.feature_scores()(i, j);
    }
  ASSERT_GT(flagged, 0u);
  const auto got = m.outlier_feature_means();
  for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(got[j], want[j] / flagged, 1e-12 * want[j]);

  const EcodModel r = EcodModel::from_parts(m.sorted_columns(), m.skew_sign(), m.threshold(), m.contamination());
  MatrixD probe(3, 3);
  for (std::size_t j = 0; j < 3; ++j) {
    probe(0, j) = x(5, j);
    probe(1, j) = -1e6;
    probe(2, j) = 0.5;
  }
  EXPECT_EQ(r.score(probe), m.score(probe));
  EXPECT_EQ(r.predict(probe), m.predict(probe));
  EXPECT_TRUE(r.decision_scores().empty());
  EXPECT_THROW(r.outlier_feature_means(), NotFitted);

  MatrixD unsorted = m.sorted_columns();
  std::swap(unsorted(0, 0), unsorted(0, 69));
  EXPECT_THROW(EcodModel::from_parts(unsorted, m.skew_sign(), 1.0, 0.1), ModelFormatError);
  EXPECT_THROW(EcodModel::from_parts(m.sorted_columns(), {1, 0}, 1.0, 0.1), ModelFormatError);
  EXPECT_THROW(EcodModel::from_parts(m.sorted_columns(), {1, 0, 2}, 1.0, 0.1), ModelFormatError);
  EXPECT_THROW(EcodModel::from_parts(m.sorted_columns(), m.skew_sign(), kNaN, 0.1), ModelFormatError);
  EXPECT_THROW(EcodModel::from_parts(m.sorted_columns(), m.skew_sign(), 1.0, 0.7), ModelFormatError);
  EXPECT_THROW(EcodModel::from_parts(MatrixD(3, 1), m.skew_sign(), 1.0, 0.1), ModelFormatError);
}

TEST(Ecod, BadInputsThrow) {
  const MatrixD x = tied_data(1, 20, 2, 99);
  EXPECT_THROW(fit_ecod(x, {0.0}), InvalidArgument);
  EXPECT_THROW(fit_ecod(x, {0.51}), InvalidArgument);
  EXPECT_THROW(fit_ecod(x, {kNaN}), InvalidArgument);
  EXPECT_NO_THROW(fit_ecod(x, {0.5}));
  EXPECT_THROW(fit_ecod(MatrixD(1, 2, 1.0)), InvalidArgument);
  EXPECT_THROW(fit_ecod(MatrixD(5, 0)), InvalidArgument);
  MatrixD bad = x;
  bad(4, 1) = kNaN;
  EXPECT_THROW(fit_ecod(bad), InvalidArgument);
  bad(4, 1) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(fit_ecod(bad), InvalidArgument);
  const EcodModel m = fit_ecod(x);
  EXPECT_THROW(m.score(MatrixD(2, 3)), InvalidArgument);
  MatrixD q(1, 2, 0.0);
  q(0, 0) = kNaN;
  EXPECT_THROW(m.score(q), InvalidArgument);
  EXPECT_THROW(EcodModel().score(q), NotFitted);
}

TEST(PercentileLinear, NumpyValuesAndLerpRule) {
  // Reference values printed by numpy 1.24 numpy.percentile.
  const std::vector<double> v = {0.1, 0.7, 0.2, 0.3};
  EXPECT_EQ(percentile_linear(v, 0), 0.1);
  EXPECT_EQ(percentile_linear(v, 37.5), 0.21250000000000002);
  EXPECT_EQ(percentile_linear(v, 50), 0.25);
  EXPECT_EQ(percentile_linear(v, 66.6), 0.29979999999999996);
  EXPECT_EQ(percentile_linear(v, 90), 0.5800000000000001);
  EXPECT_EQ(percentile_linear(v, 100), 0.7);
  // t >= 0.5 interpolates back from the upper value: 0.07, not 0.06999999999999999.
  EXPECT_EQ(percentile_linear({0.0, 0.1}, 70), 0.07);
  EXPECT_EQ(percentile_linear({0.0, 0.1}, 30), 0.03);
  EXPECT_EQ(percentile_linear({1e16, 1.0, 3.0}, 80), 6000000000000002.0);
  EXPECT_THROW(percentile_linear({}, 50), InvalidArgument);
  EXPECT_THROW(percentile_linear({1.0}, 101), InvalidArgument);
  EXPECT_THROW(percentile_linear({1.0, kNaN}, 50), InvalidArgument);
}

TEST(Ecod, TheTrainingSetScoredInSampleGivesTheFittedScores) {
  const MatrixD x = tied_data(7, 80, 4, 99);
  const EcodModel m = fit_ecod(x, {0.1});
  // The same rows in another order: still the training set.
  MatrixD shuffled(80, 4);
  for (std::size_t i = 0; i < 80; ++i)
    for (std::size_t j = 0; j < 4; ++j) shuffled(i, j) = x((i * 37) % 80, j);
  ASSERT_TRUE(m.is_training_set(x));
  ASSERT_TRUE(m.is_training_set(shuffled));
  EXPECT_EQ(m.score_training(x), m.decision_scores());
  const std::vector<double> s = m.score_training(shuffled);
  for (std::size_t i = 0; i < 80; ++i) EXPECT_EQ(s[i], m.decision_scores()[(i * 37) % 80]) << i;
  // Scored as new rows, each training row would count twice: the scores differ.
  EXPECT_NE(m.score(x), m.decision_scores());
  // Anything else is not the training set.
  MatrixD changed = x;
  changed(3, 2) += 1;
  EXPECT_FALSE(m.is_training_set(changed));
  EXPECT_FALSE(m.is_training_set(x.view().rows_view(0, 79)));
  EXPECT_THROW(m.score_training(changed), InvalidArgument);
}
