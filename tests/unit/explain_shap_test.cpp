// Surrogate + TreeSHAP: brute-force Shapley values as the oracle of both TreeSHAP
// implementations, XGBoost's own contributions and margins as the oracle of the
// engine, and the properties the explanation must have.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "explain/treeshap.hpp"
#include "segmenta/explain.hpp"

using namespace segmenta;
using namespace segmenta::explain_detail;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A random binary tree with `internal` splits over p features: a random leaf is split
// until the count is reached; leaf covers are random and internal covers the sums of
// their children's (as hessian sums are).
Tree random_tree(Rng& rng, std::size_t p, std::size_t internal) {
  Tree t;
  auto add_leaf = [&]() {
    t.left.push_back(-1);
    t.right.push_back(-1);
    t.feature.push_back(0);
    t.threshold.push_back(0.0f);
    t.default_left.push_back(0);
    t.value.push_back(rng.normal());
    t.cover.push_back(1.0 + 9.0 * rng.uniform());
    return static_cast<std::int32_t>(t.left.size() - 1);
  };
  add_leaf();
  std::vector<std::int32_t> leaves{0};
  for (std::size_t s = 0; s < internal; ++s) {
    const std::size_t pick = rng.below(leaves.size());
    const std::int32_t node = leaves[pick];
    const auto u = static_cast<std::size_t>(node);
    t.feature[u] = static_cast<std::int32_t>(rng.below(p));
    t.threshold[u] = static_cast<float>(rng.normal());
    t.default_left[u] = static_cast<std::uint8_t>(rng.below(2));
    t.value[u] = 0.0;
    const std::int32_t l = add_leaf(), r = add_leaf();
    t.left[u] = l;
    t.right[u] = r;
    leaves[pick] = l;
    leaves.push_back(r);
  }
  // Children have larger indices than parents: a reverse sweep sums covers bottom-up.
  for (std::size_t u = t.size(); u-- > 0;)
    if (t.left[u] >= 0) t.cover[u] = t.cover[static_cast<std::size_t>(t.left[u])] + t.cover[static_cast<std::size_t>(t.right[u])];
  finalize(t);
  return t;
}

// Path-dependent conditional expectation of the tree given the features in `present`.
double expectation(const Tree& t, std::size_t node, const double* row, std::uint32_t present) {
  if (t.left[node] < 0) return t.value[node];
  const auto f = static_cast<std::size_t>(t.feature[node]);
  const auto l = static_cast<std::size_t>(t.left[node]), r = static_cast<std::size_t>(t.right[node]);
  if ((present >> f) & 1u) return expectation(t, goes_left(t, node, row[f]) ? l : r, row, present);
  return (t.cover[l] * expectation(t, l, row, present) + t.cover[r] * expectation(t, r, row, present)) / t.cover[node];
}

// Shapley values by enumerating every coalition of the p features.
std::vector<double> brute_force_shap(const Tree& t, const double* row, std::size_t p) {
  std::vector<double> fact(p + 1, 1.0);
  for (std::size_t i = 1; i <= p; ++i) fact[i] = fact[i - 1] * static_cast<double>(i);
  std::vector<double> phi(p, 0.0);
  for (std::size_t i = 0; i < p; ++i)
    for (std::uint32_t s = 0; s < (1u << p); ++s) {
      if ((s >> i) & 1u) continue;
      const auto size = static_cast<std::size_t>(__builtin_popcount(s));
      const double w = fact[size] * fact[p - size - 1] / fact[p];
      phi[i] += w * (expectation(t, 0, row, s | (1u << i)) - expectation(t, 0, row, s));
    }
  return phi;
}

MatrixD random_rows(Rng& rng, std::size_t n, std::size_t p, double missing_rate) {
  MatrixD x(n, p);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < p; ++j) x(i, j) = rng.uniform() < missing_rate ? kNaN : rng.normal();
  return x;
}

// Segments decided by features 0 and 2 only; features 1, 3, 4 are noise.
struct Segmented {
  MatrixD x;
  std::vector<std::int32_t> labels;
};

Segmented separable(std::size_t n, std::size_t k, std::uint64_t seed) {
  Rng rng(seed);
  Segmented d{MatrixD(n, 5), std::vector<std::int32_t>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < 5; ++j) d.x(i, j) = rng.normal();
    const double a = d.x(i, 0), b = d.x(i, 2);
    std::int32_t label;
    if (k == 2)
      label = a + b > 0 ? 1 : 0;
    else if (a > 0.3)
      label = 0;
    else
      label = b > 0 ? 1 : 2;
    d.labels[i] = label;
  }
  return d;
}

ExplainParams all_rows() {
  ExplainParams p;
  p.shap_max_rows = 0;
  return p;
}

double max_abs_diff(const MatrixD& a, const MatrixD& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  double worst = 0.0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::fabs(a.data()[i] - b.data()[i]));
  return worst;
}

}  // namespace

// ---------------------------------------------------------------------------
// TreeSHAP on hand-built trees
// ---------------------------------------------------------------------------

TEST(TreeShap, GaussLegendreIsExactUpToDegree2qMinus1) {
  for (int q = 1; q <= 12; ++q) {
    const Quadrature rule = gauss_legendre(q);
    for (int k = 0; k <= 2 * q - 1; ++k) {
      double s = 0.0;
      for (int r = 0; r < q; ++r) s += rule.w[static_cast<std::size_t>(r)] * std::pow(rule.t[static_cast<std::size_t>(r)], k);
      EXPECT_NEAR(s, 1.0 / (k + 1), 1e-14) << "q=" << q << " k=" << k;
    }
  }
}

TEST(TreeShap, Algorithm2MatchesBruteForceShapley) {
  Rng rng(11);
  const std::size_t p = 5;
  for (int trial = 0; trial < 40; ++trial) {
    const Tree t = random_tree(rng, p, 1 + rng.below(20));  // repeated features on paths are common
    const MatrixD x = random_rows(rng, 8, p, 0.15);
    std::vector<PathElement> path(path_capacity(t));
    for (std::size_t i = 0; i < x.rows(); ++i) {
      std::vector<double> phi(p, 0.0);
      tree_shap(
          t, [&](std::size_t u) { return goes_left(t, u, x(i, static_cast<std::size_t>(t.feature[u]))); }, phi.data(),
          path.data());
      const auto ref = brute_force_shap(t, x.row(i), p);
      for (std::size_t j = 0; j < p; ++j) ASSERT_NEAR(phi[j], ref[j], 1e-12) << "trial " << trial << " row " << i;
    }
  }
}

TEST(TreeShap, FastPathMatchesBruteForceIncludingWideTrees) {
  Rng rng(5);
  const std::size_t p = 6;
  Forest f;
  f.n_features = p;
  f.n_groups = 2;
  f.base_margin = {0.5, -0.25};
  for (int i = 0; i < 6; ++i) {
    // 80 splits exceed the 64-bit branch pattern: that tree takes the per-row path.
    f.trees.push_back(random_tree(rng, p, i == 3 ? 80 : 3 + rng.below(30)));
    f.trees.back().group = i % 2;
  }
  const MatrixD x = random_rows(rng, 60, p, 0.1);
  const MatrixD fast = contributions(f, x);
  const MatrixD ref = contributions_reference(f, x);
  const auto expected = f.expected_values();
  const MatrixD margins = predict_margins(f, x);
  ASSERT_EQ(fast.cols(), 2 * (p + 1));
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t g = 0; g < 2; ++g) {
      std::vector<double> want(p, 0.0);
      for (const Tree& t : f.trees)
        if (static_cast<std::size_t>(t.group) == g) {
          const auto phi = brute_force_shap(t, x.row(i), p);
          for (std::size_t j = 0; j < p; ++j) want[j] += phi[j];
        }
      double total = 0.0;
      for (std::size_t j = 0; j < p; ++j) {
        EXPECT_NEAR(fast(i, g * (p + 1) + j), want[j], 1e-11);
        EXPECT_NEAR(ref(i, g * (p + 1) + j), want[j], 1e-11);
        total += fast(i, g * (p + 1) + j);
      }
      EXPECT_EQ(fast(i, g * (p + 1) + p), expected[g]);
      EXPECT_NEAR(total + expected[g], margins(i, g), 1e-10);  // additivity
    }
}

TEST(TreeShap, FastPathIsThreadCountIndependentAcrossBlocks) {
  Rng rng(9);
  const std::size_t p = 4;
  Forest f;
  f.n_features = p;
  f.n_groups = 1;
  f.base_margin = {0.0};
  for (int i = 0; i < 4; ++i) f.trees.push_back(random_tree(rng, p, 25));
  const MatrixD x = random_rows(rng, 20000, p, 0.02);  // several row blocks
  set_num_threads(1);
  const MatrixD one = contributions(f, x);
  set_num_threads(2);
  const MatrixD two = contributions(f, x);
  set_num_threads(0);
  EXPECT_EQ(max_abs_diff(one, two), 0.0);
  EXPECT_LT(max_abs_diff(one, contributions_reference(f, x)), 1e-12);
}

// ---------------------------------------------------------------------------
// The XGBoost surrogate
// ---------------------------------------------------------------------------

TEST(Surrogate, SeparableSegmentsAreLearnedAndExplainedByTheirFeatures) {
  const Segmented d = separable(600, 3, 1);
  Diagnostics diag;
  const SurrogateExplanation ex = explain_segments(d.x, d.labels, all_rows(), &diag);
  EXPECT_GE(ex.train_accuracy, 0.99);
  EXPECT_EQ(ex.classes, (std::vector<std::int32_t>{0, 1, 2}));
  EXPECT_EQ(ex.n_clustered, 600u);
  EXPECT_EQ(ex.n_train, 600u);
  EXPECT_FALSE(ex.holdout_accuracy.has_value());
  EXPECT_EQ((std::set<std::size_t>{ex.feature_order[0], ex.feature_order[1]}), (std::set<std::size_t>{0, 2}));
  const double informative = std::min(ex.feature_importance[0], ex.feature_importance[2]);
  for (const std::size_t noise : {1, 3, 4}) EXPECT_LT(ex.feature_importance[noise], 0.2 * informative);

  // Naive oracle of the summary: mean |phi| over every row from the contributions.
  const std::size_t p = 5, k = 3;
  const MatrixD phi = ex.model.contributions(d.x);
  MatrixD mean(k, p, 0.0);
  for (std::size_t i = 0; i < d.x.rows(); ++i)
    for (std::size_t c = 0; c < k; ++c)
      for (std::size_t j = 0; j < p; ++j) mean(c, j) += std::fabs(phi(i, c * (p + 1) + j)) / 600.0;
  EXPECT_LT(max_abs_diff(ex.mean_abs_shap, mean), 1e-12);
  for (std::size_t j = 0; j < p; ++j) {
    double s = 0.0;
    for (std::size_t c = 0; c < k; ++c) s += ex.mean_abs_shap(c, j);
    EXPECT_DOUBLE_EQ(ex.feature_importance[j], s);
  }
  for (std::size_t r = 1; r < p; ++r)
    EXPECT_GE(ex.feature_importance[ex.feature_order[r - 1]], ex.feature_importance[ex.feature_order[r]]);
  std::vector<double> class_total(k, 0.0);
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < p; ++j) class_total[c] += ex.mean_abs_shap(c, j);
  for (std::size_t r = 1; r < k; ++r) EXPECT_GE(class_total[ex.class_order[r - 1]], class_total[ex.class_order[r]]);
  EXPECT_EQ((std::set<std::size_t>(ex.class_order.begin(), ex.class_order.end())).size(), k);

  bool told = false;
  for (const auto& item : diag.items()) told |= item.code == "shap_rows";
  EXPECT_TRUE(told);
}

TEST(Surrogate, EnginesAgreeAndSumToTheMargins) {
  const Segmented d = separable(400, 3, 2);
  const SurrogateModel m = fit_surrogate(d.x, d.labels);
  EXPECT_EQ(m.n_trees(), 300u);
  const MatrixD native = m.contributions(d.x, ShapEngine::native);
  const MatrixD xgb = m.contributions(d.x, ShapEngine::xgboost);
  EXPECT_LT(max_abs_diff(native, xgb), 1e-5);
  const MatrixD margins = m.margins(d.x);
  const auto bias = m.bias();
  const std::size_t p = 5, k = 3;
  for (std::size_t i = 0; i < d.x.rows(); ++i)
    for (std::size_t c = 0; c < k; ++c) {
      double s = 0.0;
      for (std::size_t j = 0; j <= p; ++j) s += native(i, c * (p + 1) + j);
      EXPECT_NEAR(s, margins(i, c), 1e-4 * std::max(1.0, std::fabs(margins(i, c))));
      EXPECT_DOUBLE_EQ(native(i, c * (p + 1) + p), bias[c]);
    }
  const SurrogateExplanation ex = explain_segments(d.x, d.labels, all_rows());
  EXPECT_LT(ex.additivity_max_abs_error, 1e-4);
}

TEST(Surrogate, ParsedTreesReproduceXgboost) {
  const Segmented d = separable(300, 3, 3);
  const SurrogateModel m = fit_surrogate(d.x, d.labels);
  const Forest f = parse_xgboost_json(m.to_json(), 0.5);
  EXPECT_EQ(f.trees.size(), m.n_trees());
  EXPECT_LT(max_abs_diff(predict_margins(f, d.x), m.margins(d.x)), 1e-5);
  EXPECT_LT(max_abs_diff(contributions(f, d.x), contributions_reference(f, d.x)), 1e-12);
}

TEST(Surrogate, SameResultForOneAndTwoThreads) {
  const Segmented d = separable(500, 3, 4);
  ExplainParams params;
  params.shap_max_rows = 200;
  set_num_threads(1);
  const SurrogateExplanation a = explain_segments(d.x, d.labels, params);
  set_num_threads(2);
  const SurrogateExplanation b = explain_segments(d.x, d.labels, params);
  set_num_threads(0);
  EXPECT_EQ(a.model.to_json(), b.model.to_json());
  EXPECT_EQ(a.shap_rows, b.shap_rows);
  EXPECT_EQ(max_abs_diff(a.mean_abs_shap, b.mean_abs_shap), 0.0);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(a.feature_order, b.feature_order);
  EXPECT_EQ(a.class_order, b.class_order);
  EXPECT_EQ(a.train_accuracy, b.train_accuracy);
  EXPECT_EQ(a.additivity_max_abs_error, b.additivity_max_abs_error);
}

TEST(Surrogate, TwoSegmentsUseTheNegatedLogitForClassZero) {
  const Segmented d = separable(300, 2, 5);
  const SurrogateExplanation ex = explain_segments(d.x, d.labels, all_rows());
  const SurrogateModel& m = ex.model;
  ASSERT_EQ(m.n_classes(), 2u);
  EXPECT_EQ(m.n_trees(), 100u);  // binary:logistic: one tree per round
  EXPECT_GE(ex.train_accuracy, 0.97);
  for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(ex.mean_abs_shap(0, j), ex.mean_abs_shap(1, j));
  EXPECT_EQ(ex.bias[0], -ex.bias[1]);
  EXPECT_LT(ex.additivity_max_abs_error, 1e-4);
  const MatrixD margins = m.margins(d.x);
  const MatrixD phi = m.contributions(d.x);
  for (std::size_t i = 0; i < d.x.rows(); ++i) {
    EXPECT_EQ(margins(i, 0), -margins(i, 1));
    for (std::size_t j = 0; j < 6; ++j) EXPECT_EQ(phi(i, j), -phi(i, 6 + j));
  }
  const auto pred = m.predict(d.x);
  for (std::size_t i = 0; i < d.x.rows(); ++i) EXPECT_EQ(pred[i], margins(i, 1) > 0 ? 1 : 0);
  EXPECT_LT(max_abs_diff(phi, m.contributions(d.x, ShapEngine::xgboost)), 1e-5);
}

TEST(Surrogate, LabelValuesAndUnclusteredRows) {
  Segmented d = separable(450, 3, 6);
  const std::int32_t names[] = {10, 20, 30};
  std::size_t unclustered = 0;
  for (std::size_t i = 0; i < d.labels.size(); ++i) {
    d.labels[i] = names[d.labels[i]];
    if (i % 9 == 4) {
      d.labels[i] = -1;
      d.x(i, 0) = kNaN;  // anything goes in rows left out
      ++unclustered;
    }
  }
  ExplainParams params;
  params.shap_max_rows = 120;
  const SurrogateExplanation ex = explain_segments(d.x, d.labels, params);
  EXPECT_EQ(ex.classes, (std::vector<std::int32_t>{10, 20, 30}));
  EXPECT_EQ(ex.n_clustered, 450 - unclustered);
  EXPECT_EQ(ex.shap_rows.size(), 120u);
  for (const std::size_t r : ex.shap_rows) EXPECT_GE(d.labels[r], 0);
  EXPECT_EQ(ex.shap_rows, stratified_training_sample(d.labels, 120, params.surrogate.random_state));
  for (const std::int32_t l : ex.model.predict(d.x)) EXPECT_TRUE(l == 10 || l == 20 || l == 30);
}

TEST(Surrogate, SampledSummaryUsesPostStratificationWeights) {
  const Segmented d = separable(500, 3, 7);
  ExplainParams params;
  params.shap_max_rows = 50;
  const SurrogateExplanation ex = explain_segments(d.x, d.labels, params);
  // Oracle: sum over sampled rows of (n_c / N) / m_c * |phi|.
  const MatrixD sx = take_rows(ViewD(d.x), std::span<const std::size_t>(ex.shap_rows));
  const MatrixD phi = ex.model.contributions(sx);
  std::vector<double> n_c(3, 0.0), m_c(3, 0.0);
  for (const std::int32_t l : d.labels) n_c[static_cast<std::size_t>(l)] += 1.0;
  for (const std::size_t r : ex.shap_rows) m_c[static_cast<std::size_t>(d.labels[r])] += 1.0;
  MatrixD want(3, 5, 0.0);
  for (std::size_t r = 0; r < ex.shap_rows.size(); ++r) {
    const auto c0 = static_cast<std::size_t>(d.labels[ex.shap_rows[r]]);
    const double w = n_c[c0] / 500.0 / m_c[c0];
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t j = 0; j < 5; ++j) want(c, j) += w * std::fabs(phi(r, c * 6 + j));
  }
  EXPECT_LT(max_abs_diff(ex.mean_abs_shap, want), 1e-12);
}

TEST(Surrogate, StratifiedSampleIsProportionalAndDeterministic) {
  std::vector<std::int32_t> labels;
  for (int i = 0; i < 1000; ++i) labels.push_back(i < 500 ? 0 : i < 800 ? 1 : 2);
  for (int i = 0; i < 50; ++i) labels.push_back(-1);
  const auto s = stratified_training_sample(labels, 100, 3);
  ASSERT_EQ(s.size(), 100u);
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  EXPECT_EQ(std::set<std::size_t>(s.begin(), s.end()).size(), 100u);
  std::size_t count[3] = {0, 0, 0};
  for (const std::size_t r : s) {
    ASSERT_GE(labels[r], 0);
    ++count[labels[r]];
  }
  // One per segment, then 97 rows apportioned to 499 : 299 : 199 (largest remainders).
  EXPECT_EQ(count[0], 50u);
  EXPECT_EQ(count[1], 30u);
  EXPECT_EQ(count[2], 20u);
  EXPECT_EQ(s, stratified_training_sample(labels, 100, 3));
  EXPECT_NE(s, stratified_training_sample(labels, 100, 4));
  EXPECT_EQ(stratified_training_sample(labels, 0, 3).size(), 1000u);
  EXPECT_EQ(stratified_training_sample(labels, 5000, 3).size(), 1000u);
  // Fewer rows than segments: the largest segments get one each.
  const auto two = stratified_training_sample(labels, 2, 3);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(labels[two[0]], 0);
  EXPECT_EQ(labels[two[1]], 1);
  // A tiny segment keeps its one row.
  std::vector<std::int32_t> skewed(1000, 0);
  skewed[123] = 1;
  const auto t = stratified_training_sample(skewed, 10, 0);
  EXPECT_EQ(std::count_if(t.begin(), t.end(), [&](std::size_t r) { return skewed[r] == 1; }), 1);
}

TEST(Surrogate, HoldoutAccuracy) {
  const Segmented d = separable(600, 3, 8);
  ExplainParams params;
  params.holdout_fraction = 0.25;
  params.shap_max_rows = 100;
  const SurrogateExplanation ex = explain_segments(d.x, d.labels, params);
  std::size_t held = 0;
  for (std::int32_t c = 0; c < 3; ++c)
    held += static_cast<std::size_t>(std::floor(0.25 * static_cast<double>(std::count(d.labels.begin(), d.labels.end(), c))));
  EXPECT_EQ(ex.n_train, 600 - held);
  ASSERT_TRUE(ex.holdout_accuracy.has_value());
  EXPECT_GE(*ex.holdout_accuracy, 0.85);
  EXPECT_LE(*ex.holdout_accuracy, 1.0);
  EXPECT_GE(ex.train_accuracy, 0.99);
}

// Above train_max_rows the surrogate trains on a stratified sample; the rows left out
// are predicted as held-out rows, and the explanation still names the informative
// features.
TEST(Surrogate, TrainsOnAStratifiedSampleAboveTrainMaxRows) {
  const Segmented d = separable(3000, 3, 9);
  ExplainParams params;
  params.train_max_rows = 400;
  params.shap_max_rows = 300;
  Diagnostics diag;
  const SurrogateExplanation ex = explain_segments(d.x, d.labels, params, &diag);
  EXPECT_EQ(ex.n_train, 400u);
  EXPECT_EQ(ex.n_clustered, 3000u);
  ASSERT_TRUE(ex.holdout_accuracy.has_value());
  EXPECT_GE(*ex.holdout_accuracy, 0.95);
  EXPECT_EQ((std::set<std::size_t>{ex.feature_order[0], ex.feature_order[1]}), (std::set<std::size_t>{0, 2}));
  bool told = false;
  for (const auto& item : diag.items()) told |= item.code == "surrogate_sample";
  EXPECT_TRUE(told);
  // The training rows are the stratified sample: each segment in proportion.
  const std::vector<std::size_t> expected = stratified_training_sample(d.labels, 400, params.surrogate.random_state ^ 0x7a11);
  EXPECT_EQ(expected.size(), 400u);
  // Same seed, same model; below the threshold nothing is sampled.
  const SurrogateExplanation again = explain_segments(d.x, d.labels, params);
  EXPECT_EQ(again.feature_importance, ex.feature_importance);
  params.train_max_rows = 3000;
  EXPECT_EQ(explain_segments(d.x, d.labels, params).n_train, 3000u);
}

TEST(Surrogate, RejectsBadInputs) {
  const Segmented d = separable(100, 3, 9);
  std::vector<std::int32_t> one_segment(100, 4);
  EXPECT_THROW(fit_surrogate(d.x, one_segment), InvalidArgument);
  EXPECT_THROW(explain_segments(d.x, one_segment), InvalidArgument);
  std::vector<std::int32_t> unclustered(100, -1);
  EXPECT_THROW(fit_surrogate(d.x, unclustered), InvalidArgument);
  std::vector<std::int32_t> short_labels(d.labels.begin(), d.labels.begin() + 50);
  EXPECT_THROW(fit_surrogate(d.x, short_labels), InvalidArgument);
  EXPECT_THROW(explain_segments(d.x, short_labels), InvalidArgument);
  std::vector<std::int32_t> bad = d.labels;
  bad[7] = -2;
  EXPECT_THROW(fit_surrogate(d.x, bad), InvalidArgument);
  EXPECT_THROW(stratified_training_sample(bad, 10, 0), InvalidArgument);
  MatrixD inf = d.x;
  inf(3, 1) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(fit_surrogate(inf, d.labels), InvalidArgument);
  MatrixD huge = d.x;
  huge(3, 1) = 1e39;  // beyond float
  EXPECT_THROW(fit_surrogate(huge, d.labels), InvalidArgument);
  EXPECT_THROW(fit_surrogate(MatrixD(100, 0), d.labels), InvalidArgument);

  auto with = [&](auto change) {
    SurrogateParams p;
    change(p);
    return p;
  };
  EXPECT_THROW(fit_surrogate(d.x, d.labels, with([](auto& p) { p.n_estimators = 0; })), InvalidArgument);
  EXPECT_THROW(fit_surrogate(d.x, d.labels, with([](auto& p) { p.learning_rate = 0.0; })), InvalidArgument);
  EXPECT_THROW(fit_surrogate(d.x, d.labels, with([](auto& p) { p.max_leaves = 1; })), InvalidArgument);
  EXPECT_THROW(fit_surrogate(d.x, d.labels, with([](auto& p) { p.max_leaves = 0; })), InvalidArgument);
  EXPECT_THROW(fit_surrogate(d.x, d.labels, with([](auto& p) { p.max_bin = 1; })), InvalidArgument);
  EXPECT_THROW(fit_surrogate(d.x, d.labels, with([](auto& p) { p.subsample = 0.0; })), InvalidArgument);
  EXPECT_THROW(fit_surrogate(d.x, d.labels, with([](auto& p) { p.colsample_bytree = 1.5; })), InvalidArgument);
  EXPECT_THROW(fit_surrogate(d.x, d.labels, with([](auto& p) { p.reg_lambda = -1.0; })), InvalidArgument);
  EXPECT_THROW(fit_surrogate(d.x, d.labels, with([](auto& p) { p.fit_threads = -1; })), InvalidArgument);
  ExplainParams ep;
  ep.holdout_fraction = 0.6;
  EXPECT_THROW(explain_segments(d.x, d.labels, ep), InvalidArgument);

  const SurrogateModel m = fit_surrogate(d.x, d.labels);
  EXPECT_THROW(m.contributions(MatrixD(3, 4)), InvalidArgument);
  EXPECT_THROW(m.margins(MatrixD(3, 6)), InvalidArgument);
  const SurrogateModel empty;
  EXPECT_FALSE(empty.fitted());
  EXPECT_THROW(empty.margins(d.x), NotFitted);
  EXPECT_THROW(parse_xgboost_json("{\"learner\": 1}", 0.0), ModelFormatError);
  EXPECT_THROW(parse_xgboost_json("not json", 0.0), ModelFormatError);
}
