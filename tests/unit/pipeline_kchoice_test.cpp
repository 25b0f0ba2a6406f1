// Choosing k: which criterion decides under --k-criterion, what happens when one
// finds nothing (it says so and the next decides; no silent silhouette fallback),
// the warning when criteria disagree, and the stability criterion's values against
// fits whose agreement is known.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "pipeline/sweep.hpp"

using namespace segmenta;
using namespace segmenta::detail;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Points for k = 2..6 with the given objective, silhouettes peaking at k = 2.
std::vector<SweepPoint> points(const std::vector<double>& objective) {
  std::vector<SweepPoint> pts;
  for (std::size_t i = 0; i < objective.size(); ++i) {
    SweepPoint p;
    p.k = 2 + i;
    p.inertia = objective[i];
    p.silhouette = 0.5 - 0.05 * static_cast<double>(i);
    p.calinski_harabasz = 100.0 - static_cast<double>(i);
    p.davies_bouldin = 1.0 + 0.1 * static_cast<double>(i);
    pts.push_back(p);
  }
  return pts;
}

bool has(const Diagnostics& d, const std::string& code) {
  for (const auto& item : d.items())
    if (item.code == code) return true;
  return false;
}

const std::vector<double> kLine{100, 80, 60, 40, 20};     // no knee
const std::vector<double> kKneeAt4{100, 60, 25, 20, 16};  // knee at k = 4

}  // namespace

TEST(KChoice, TheElbowDecidesWhenThereIsOne) {
  Diagnostics d;
  const KRecommendation r = recommend_k(points(kKneeAt4), d);
  ASSERT_TRUE(r.elbow.has_value());
  EXPECT_EQ(r.k, *r.elbow);
  EXPECT_EQ(r.criterion, "elbow");
  EXPECT_TRUE(has(d, "criteria_disagree"));  // silhouette, CH and DB prefer k = 2
}

TEST(KChoice, NoElbowSaysSoAndStabilityDecides) {
  std::vector<SweepPoint> pts = points(kLine);
  const double st[] = {0.6, 0.7, 0.95, 0.8, 0.5};
  for (std::size_t i = 0; i < pts.size(); ++i) pts[i].stability = st[i];
  Diagnostics d;
  KChoice c;
  c.pairs = 4;
  const KRecommendation r = recommend_k(pts, d, c);
  EXPECT_FALSE(r.elbow.has_value());
  EXPECT_EQ(r.criterion, "stability");
  EXPECT_EQ(r.k, 4u);
  EXPECT_NE(r.reason.find("no knee"), std::string::npos) << r.reason;
  EXPECT_TRUE(has(d, "criterion_found_nothing"));
}

TEST(KChoice, WithoutStabilityTheSilhouetteDecidesAndTheReasonSaysWhy) {
  Diagnostics d;
  const KRecommendation r = recommend_k(points(kLine), d);
  EXPECT_EQ(r.criterion, "silhouette");
  EXPECT_EQ(r.k, 2u);
  EXPECT_NE(r.reason.find("no knee"), std::string::npos) << r.reason;
}

// BIC range 50 - 24 = 26: 2 % of it is 0.52, so the plateau starts at k = 5
// (24.3 - 24 <= 0.52) although k = 6 has the lowest BIC.
TEST(KChoice, LikelihoodMethodsUseTheBicPlateauByDefaultAndBicOrIclOnRequest) {
  std::vector<SweepPoint> pts = points(kKneeAt4);
  const double bic[] = {50, 40, 30, 24.3, 24};
  const double icl[] = {55, 44, 41, 45, 50};
  for (std::size_t i = 0; i < pts.size(); ++i) {
    pts[i].bic = bic[i];
    pts[i].icl = icl[i];
  }
  Diagnostics d;
  KChoice c;
  c.likelihood = true;
  KRecommendation r = recommend_k(pts, d, c);
  EXPECT_EQ(r.criterion, "bic-plateau");
  EXPECT_EQ(r.k, 5u);
  EXPECT_FALSE(r.elbow.has_value());  // the knee of a likelihood curve is not used
  ASSERT_TRUE(r.best_bic.has_value());
  EXPECT_EQ(*r.best_bic, 6u);
  EXPECT_FALSE(has(d, "k_at_range_end"));
  c.criterion = "bic";
  r = recommend_k(pts, d, c);
  EXPECT_EQ(r.criterion, "bic");
  EXPECT_EQ(r.k, 6u);
  EXPECT_TRUE(has(d, "k_at_range_end"));  // 6 is the largest k of the sweep
  c.criterion = "icl";
  r = recommend_k(pts, d, c);
  EXPECT_EQ(r.criterion, "icl");
  EXPECT_EQ(r.k, 4u);
  // A k left out of the likelihood criteria (NaN: a degenerate fit) never wins.
  pts[4].bic = pts[4].icl = kNaN;
  c.criterion = "bic";
  r = recommend_k(pts, d, c);
  EXPECT_EQ(r.k, 5u);
}

TEST(KChoice, AnUnavailableCriterionFallsBackInTheAutoOrder) {
  Diagnostics d;
  KChoice c;
  c.criterion = "icl";  // not a likelihood method
  const KRecommendation r = recommend_k(points(kKneeAt4), d, c);
  EXPECT_EQ(r.criterion, "elbow");
  EXPECT_EQ(r.k, 4u);
  EXPECT_TRUE(has(d, "criterion_found_nothing"));
}

TEST(KChoice, OneKIsFixed) {
  Diagnostics d;
  const KRecommendation r = recommend_k(points({10.0}), d);
  EXPECT_EQ(r.k, 2u);
  EXPECT_EQ(r.criterion, "fixed");
  EXPECT_TRUE(d.empty());
}

// Fits that recover a planted partition exactly agree perfectly (ARI 1 on the common
// rows); fits that label rows at random agree by chance only (ARI near 0). Same seed,
// same values.
TEST(KChoice, StabilityIsTheMeanAriOfSubsampleFits) {
  const std::size_t n = 3000;
  KChoice c;
  c.pairs = 3;
  c.seed = 11;
  c.fit = [](std::span<const std::size_t> rows, std::size_t k, std::uint64_t) {
    std::vector<std::int32_t> l;
    for (std::size_t r : rows) l.push_back(static_cast<std::int32_t>((r * 7919) % k));
    return l;
  };
  const std::vector<std::size_t> ks{2, 3, 5};
  std::vector<double> s = stability_scores(n, ks, c);
  for (double v : s) EXPECT_DOUBLE_EQ(v, 1.0);
  c.fit = [](std::span<const std::size_t> rows, std::size_t k, std::uint64_t seed) {
    Rng rng(seed);
    std::vector<std::int32_t> l;
    for (std::size_t i = 0; i < rows.size(); ++i) l.push_back(static_cast<std::int32_t>(rng.below(k)));
    return l;
  };
  s = stability_scores(n, ks, c);
  for (double v : s) EXPECT_LT(std::abs(v), 0.02);
  EXPECT_EQ(s, stability_scores(n, ks, c));
  c.pairs = 0;
  for (double v : stability_scores(n, ks, c)) EXPECT_TRUE(std::isnan(v));
}

namespace {

/// A sweep of `rows` points in the plane whose "fits" label row i as i % k and whose
/// BIC falls by 1000 per k up to `planted` and is flat (rising by 1) after it.
struct PlantedSweep {
  std::size_t rows, planted;
  MatrixD space;
  std::vector<std::size_t> fitted;  // every k fitted, in call order
  PlantedSweep(std::size_t n, std::size_t k) : rows(n), planted(k), space(n, 2) {
    Rng rng(5);
    for (std::size_t i = 0; i < space.size(); ++i) space.data()[i] = rng.uniform();
  }
  FitKs fit() {
    return [this](std::span<const std::size_t> ks, std::vector<KFit>& out) {
      for (std::size_t k : ks) {
        fitted.push_back(k);
        KFit f;
        f.k = k;
        for (std::size_t i = 0; i < rows; ++i) f.labels.push_back(static_cast<std::int32_t>(i % k));
        f.objective = f.bic = k <= planted ? -1000.0 * static_cast<double>(k)
                                           : -1000.0 * static_cast<double>(planted) + static_cast<double>(k - planted);
        f.icl = f.bic;
        out.push_back(std::move(f));
      }
    };
  }
};

}  // namespace

TEST(KChoice, AnAutomaticSweepGoesOnWhileTheCriterionStillImproves) {
  PlantedSweep s(400, 13);
  KChoice c;
  c.likelihood = true;
  std::vector<KFit> fits;
  Diagnostics d;
  const Evaluation e = sweep_k<double>(s.space.view(), KSpec{}, s.fit(), fits, 0, 0, d, c);
  EXPECT_EQ(e.recommendation.k, 13u);
  EXPECT_EQ(e.recommendation.criterion, "bic-plateau");
  ASSERT_EQ(e.points.size(), 13u);  // 2..14: 11, 12 and then 13, 14 added
  EXPECT_EQ(e.points.back().k, 14u);
  EXPECT_EQ(fits.size(), 13u);
  EXPECT_EQ(s.fitted, (std::vector<std::size_t>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));  // each k once
  EXPECT_TRUE(has(d, "sweep_extended"));
  EXPECT_FALSE(has(d, "k_at_range_end"));
  // Measured in parts, the sweep is the sweep of 2..14 measured at once.
  const Evaluation whole = evaluate_fits<double>(s.space.view(), fits, 0, 0, d, c);
  for (std::size_t i = 0; i < fits.size(); ++i) {
    EXPECT_EQ(e.points[i].k, whole.points[i].k);
    EXPECT_DOUBLE_EQ(e.points[i].silhouette, whole.points[i].silhouette);
    EXPECT_DOUBLE_EQ(e.points[i].davies_bouldin, whole.points[i].davies_bouldin);
    EXPECT_EQ(e.silhouette_profiles[i], whole.silhouette_profiles[i]);
  }
  EXPECT_EQ(e.recommendation.k, whole.recommendation.k);
}

TEST(KChoice, AnAutomaticSweepStopsWhereTheCriterionStopsImprovingOrAtTheBound) {
  {  // planted inside the default range: 2..10 only
    PlantedSweep s(400, 6);
    KChoice c;
    c.likelihood = true;
    std::vector<KFit> fits;
    Diagnostics d;
    const Evaluation e = sweep_k<double>(s.space.view(), KSpec{}, s.fit(), fits, 0, 0, d, c);
    EXPECT_EQ(e.recommendation.k, 6u);
    EXPECT_EQ(e.points.back().k, 10u);
    EXPECT_FALSE(has(d, "sweep_extended"));
  }
  {  // a range the user gave is kept: k = 10 with the warning that a larger k may be better
    PlantedSweep s(400, 13);
    KChoice c;
    c.likelihood = true;
    std::vector<KFit> fits;
    Diagnostics d;
    const Evaluation e = sweep_k<double>(s.space.view(), KSpec::parse("2..10"), s.fit(), fits, 0, 0, d, c);
    EXPECT_EQ(e.recommendation.k, 10u);
    EXPECT_EQ(e.points.back().k, 10u);
    EXPECT_TRUE(has(d, "k_at_range_end"));
  }
  {  // 288 rows support floor(sqrt(144)) = 12 segments: the sweep ends there and says so
    PlantedSweep s(288, 40);
    KChoice c;
    c.likelihood = true;
    std::vector<KFit> fits;
    Diagnostics d;
    const Evaluation e = sweep_k<double>(s.space.view(), KSpec{}, s.fit(), fits, 0, 0, d, c);
    EXPECT_EQ(e.points.back().k, 12u);
    EXPECT_EQ(e.recommendation.k, 12u);
    EXPECT_TRUE(has(d, "k_at_range_end"));
  }
  EXPECT_EQ(auto_k_bound(288, 10), 12u);
  EXPECT_EQ(auto_k_bound(100, 10), 10u);      // never below the default end
  EXPECT_EQ(auto_k_bound(1000000, 10), 100u);  // nor above --k's limit
}
