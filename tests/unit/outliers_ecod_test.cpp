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

/// The training rows' per-feature tail scores O (n, p), recomputed from the model.
MatrixD tail_scores(const EcodModel& m, const MatrixD& x) {
  MatrixD o;
  m.score_training(x, &o);
  return o;
}

/// The model's training columns expanded back to sorted values, (p, n).
MatrixD sorted_columns(const EcodModel& m) {
  MatrixD s(m.n_features(), m.n_train());
  for (std::size_t j = 0; j < m.n_features(); ++j) {
    const std::vector<double> c = m.sorted_column(j);
    std::copy(c.begin(), c.end(), s.row(j));
  }
  return s;
}

/// The model's columns as model files hold them: distinct values and counts.
std::vector<std::vector<double>> column_values(const EcodModel& m) {
  std::vector<std::vector<double>> v;
  for (std::size_t j = 0; j < m.n_features(); ++j) v.push_back(m.column(j).values);
  return v;
}
std::vector<std::vector<std::uint64_t>> column_counts(const EcodModel& m) {
  std::vector<std::vector<std::uint64_t>> c;
  for (std::size_t j = 0; j < m.n_features(); ++j) {
    c.emplace_back();
    for (std::size_t k = 0; k < m.column(j).values.size(); ++k) c.back().push_back(m.column(j).count(k));
  }
  return c;
}

}  // namespace

TEST(Ecod, MatchesNaivePyodDefinitionWithTies) {
  const MatrixD x = tied_data(7, 80, 6, 3);
  const EcodModel m = fit_ecod(x);
  const Naive want = naive_ecod(x);
  ASSERT_EQ(m.n_train(), 80u);
  ASSERT_EQ(m.n_features(), 6u);
  EXPECT_EQ(m.skew_sign(), want.signs);
  EXPECT_EQ(m.skew_sign()[3], 0);
  const MatrixD o = tail_scores(m, x);
  for (std::size_t i = 0; i < 80; ++i) {
    for (std::size_t j = 0; j < 6; ++j) EXPECT_EQ(o(i, j), want.o(i, j)) << i << " " << j;
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
  // The training columns are kept for scoring as their distinct values, each with
  // the number of training values up to it.
  for (std::size_t j = 0; j < 6; ++j) {
    std::vector<double> col(80);
    for (std::size_t i = 0; i < 80; ++i) col[i] = x(i, j);
    std::sort(col.begin(), col.end());
    EXPECT_EQ(m.sorted_column(j), col) << j;
    std::vector<double> distinct = col;
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const EcodColumn& c = m.column(j);
    ASSERT_EQ(c.values, distinct) << j;
    for (std::size_t k = 0; k < distinct.size(); ++k)
      EXPECT_EQ(c.upto[k], static_cast<std::size_t>(std::upper_bound(col.begin(), col.end(), distinct[k]) - col.begin()));
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
  const MatrixD o = tail_scores(m, x);
  for (std::size_t i = 0; i < 9; ++i) {
    EXPECT_EQ(o(i, 0), 0.0);
    std::size_t le = 0, ge = 0;
    for (double v : sym) {
      le += v <= sym[i];
      ge += v >= sym[i];
    }
    EXPECT_EQ(o(i, 1), -std::log(ladder(9, le - 1)) + -std::log(ladder(9, ge - 1))) << i;
    EXPECT_EQ(m.decision_scores()[i], o(i, 1));
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
  EXPECT_EQ(one.outlier_feature_means(), two.outlier_feature_means());
  const MatrixD o1 = tail_scores(one, x);
  const Naive want = naive_ecod(x);
  EXPECT_EQ(one.skew_sign(), want.signs);
  for (std::size_t i = 0; i < 40; ++i) {
    for (std::size_t j = 0; j < 70; ++j) ASSERT_EQ(o1(i, j), want.o(i, j)) << i << " " << j;
    EXPECT_LE(rel(one.decision_scores()[i], want.scores[i]), 1e-13) << i;
  }
  // Row sums follow numpy's pairwise order.
  for (std::size_t i = 0; i < 40; ++i) {
    const double* o = o1.row(i);
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
  // The naive mean: every row's tail scores kept, the flagged ones summed in row order.
  const Naive naive = naive_ecod(x);
  std::vector<double> want(3, 0.0);
  std::size_t flagged = 0;
  for (std::size_t i = 0; i < 70; ++i)
    if (m.labels()[i]) {
      ++flagged;
      for (std::size_t j = 0; j < 3; ++j) want[j] += naive.o(i, j);
    }
  ASSERT_GT(flagged, 0u);
  const auto got = m.outlier_feature_means();
  for (std::size_t j = 0; j < 3; ++j) EXPECT_EQ(got[j], want[j] / static_cast<double>(flagged));

  MatrixD probe(3, 3);
  for (std::size_t j = 0; j < 3; ++j) {
    probe(0, j) = x(5, j);
    probe(1, j) = -1e6;
    probe(2, j) = 0.5;
  }
  const EcodModel r = EcodModel::from_parts(column_values(m), column_counts(m), m.n_train(), m.skew_sign(),
                                            m.threshold(), m.contamination());
  const MatrixD sorted = sorted_columns(m);
  const EcodModel old = EcodModel::from_sorted_columns(sorted, m.skew_sign(), m.threshold(), m.contamination());
  for (const EcodModel* loaded : {&r, &old}) {
    EXPECT_EQ(loaded->score(probe), m.score(probe));
    EXPECT_EQ(loaded->predict(probe), m.predict(probe));
    EXPECT_EQ(loaded->score_training(x), m.decision_scores());
    EXPECT_TRUE(loaded->decision_scores().empty());
    EXPECT_THROW(loaded->outlier_feature_means(), NotFitted);
    for (std::size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(loaded->column(j).values, m.column(j).values);
      EXPECT_EQ(loaded->column(j).upto, m.column(j).upto);
    }
  }

  // Sorted columns (model version 1).
  MatrixD unsorted = sorted;
  std::swap(unsorted(0, 0), unsorted(0, 69));
  EXPECT_THROW(EcodModel::from_sorted_columns(unsorted, m.skew_sign(), 1.0, 0.1), ModelFormatError);
  MatrixD infinite = sorted;
  infinite(1, 69) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(EcodModel::from_sorted_columns(infinite, m.skew_sign(), 1.0, 0.1), ModelFormatError);
  EXPECT_THROW(EcodModel::from_sorted_columns(sorted, {1, 0}, 1.0, 0.1), ModelFormatError);
  EXPECT_THROW(EcodModel::from_sorted_columns(sorted, {1, 0, 2}, 1.0, 0.1), ModelFormatError);
  EXPECT_THROW(EcodModel::from_sorted_columns(sorted, m.skew_sign(), kNaN, 0.1), ModelFormatError);
  EXPECT_THROW(EcodModel::from_sorted_columns(sorted, m.skew_sign(), 1.0, 0.7), ModelFormatError);
  EXPECT_THROW(EcodModel::from_sorted_columns(MatrixD(3, 1), m.skew_sign(), 1.0, 0.1), ModelFormatError);

  // Distinct values with counts: every inconsistency is a model-format error.
  const auto values = column_values(m);
  const auto counts = column_counts(m);
  const std::uint64_t n = m.n_train();
  auto load = [&](std::vector<std::vector<double>> v, std::vector<std::vector<std::uint64_t>> c, std::uint64_t rows,
                  std::vector<int> signs) {
    return EcodModel::from_parts(std::move(v), std::move(c), rows, std::move(signs), 1.0, 0.1);
  };
  EXPECT_NO_THROW(load(values, counts, n, m.skew_sign()));
  ASSERT_GE(values[0].size(), 2u);
  auto swapped = values;
  std::swap(swapped[0][0], swapped[0][1]);
  EXPECT_THROW(load(swapped, counts, n, m.skew_sign()), ModelFormatError);  // not ascending
  auto repeated = values;
  repeated[0][1] = repeated[0][0];
  EXPECT_THROW(load(repeated, counts, n, m.skew_sign()), ModelFormatError);  // not strictly ascending
  auto signed_zeros = values;
  signed_zeros[0] = {-0.0, 0.0};
  auto two_counts = counts;
  two_counts[0] = {1, n - 1};
  EXPECT_THROW(load(signed_zeros, two_counts, n, m.skew_sign()), ModelFormatError);  // -0 == +0
  auto nan_value = values;
  nan_value[1].back() = kNaN;
  EXPECT_THROW(load(nan_value, counts, n, m.skew_sign()), ModelFormatError);
  auto zero = counts;
  zero[2][0] = 0;
  zero[2][1] += counts[2][0];
  EXPECT_THROW(load(values, zero, n, m.skew_sign()), ModelFormatError);
  auto short_sum = counts;
  short_sum[2].back() -= 1;
  EXPECT_THROW(load(values, short_sum, n, m.skew_sign()), ModelFormatError);
  auto wrapping = counts;
  wrapping[1][0] = ~std::uint64_t{0};
  EXPECT_THROW(load(values, wrapping, n, m.skew_sign()), ModelFormatError);  // would wrap the sum to n
  auto fewer = counts;
  fewer[0].pop_back();
  EXPECT_THROW(load(values, fewer, n, m.skew_sign()), ModelFormatError);
  auto empty = values;
  empty[2].clear();
  auto empty_counts = counts;
  empty_counts[2].clear();
  EXPECT_THROW(load(empty, empty_counts, n, m.skew_sign()), ModelFormatError);
  EXPECT_THROW(load(values, {counts[0], counts[1]}, n, m.skew_sign()), ModelFormatError);
  EXPECT_THROW(load(values, counts, n + 1, m.skew_sign()), ModelFormatError);
  EXPECT_THROW(load({{1.0}}, {{1}}, 1, {0}), ModelFormatError);  // one training row
  EXPECT_THROW(load({{1.0}}, {{std::uint64_t{1} << 33}}, std::uint64_t{1} << 33, {0}), ModelFormatError);
  EXPECT_THROW(load({}, {}, n, {}), ModelFormatError);
  EXPECT_THROW(load(values, counts, n, {1, 0}), ModelFormatError);
  EXPECT_THROW(load(values, counts, n, {1, 0, 2}), ModelFormatError);
  EXPECT_THROW(EcodModel::from_parts(values, counts, n, m.skew_sign(), kNaN, 0.1), ModelFormatError);
  EXPECT_THROW(EcodModel::from_parts(values, counts, n, m.skew_sign(), 1.0, 0.7), ModelFormatError);
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
