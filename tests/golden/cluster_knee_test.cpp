// Knee detection against yellowbrick 1.5's KneeLocator (../shared/golden/kmeans).
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "segmenta/cluster.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

std::optional<double> optional_number(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<double>();
}

std::size_t index_of(const std::vector<double>& x, double v) {
  const auto it = std::find(x.begin(), x.end(), v);
  EXPECT_NE(it, x.end());
  return static_cast<std::size_t>(it - x.begin());
}

}  // namespace

TEST(KneeGolden, SyntheticCurvesBothOrientations) {
  const auto g = test::golden_json("kmeans/knee_synthetic.json");
  ASSERT_EQ(g["cases"].size(), 20u);
  for (const auto& c : g["cases"]) {
    const auto x = c["x"].get<std::vector<double>>();
    const auto y = c["y"].get<std::vector<double>>();
    SCOPED_TRACE(c["name"].get<std::string>());
    const KneeResult cd = find_knee(x, y, CurveNature::convex, CurveDirection::decreasing);
    EXPECT_EQ(cd.knee, optional_number(c["knee_convex_decreasing"]));
    EXPECT_EQ(cd.all_knees, c["all_knees_convex_decreasing"].get<std::vector<double>>());
    const KneeResult ci = find_knee(x, y, CurveNature::concave, CurveDirection::increasing);
    EXPECT_EQ(ci.knee, optional_number(c["knee_concave_increasing"]));
    EXPECT_EQ(ci.all_knees, c["all_knees_concave_increasing"].get<std::vector<double>>());
    for (const KneeResult* r : {&cd, &ci}) {
      EXPECT_TRUE(std::is_sorted(r->local_knees.begin(), r->local_knees.end()));
      if (r->knee) {
        EXPECT_TRUE(std::binary_search(r->local_knees.begin(), r->local_knees.end(), *r->knee));
      } else {
        EXPECT_TRUE(r->local_knees.empty());
      }
    }
  }
}

TEST(KneeGolden, FlippedOrientationsMapTheIndexBack) {
  // The two flipped cases see the reversed curve: convex increasing on reversed y
  // is convex decreasing on y with the knee index mirrored (x[n-1-i]), and concave
  // decreasing on reversed y is concave increasing on y, mirrored likewise.
  const auto g = test::golden_json("kmeans/knee_synthetic.json");
  for (const auto& c : g["cases"]) {
    const auto x = c["x"].get<std::vector<double>>();
    auto y = c["y"].get<std::vector<double>>();
    std::reverse(y.begin(), y.end());
    const std::size_t n = x.size();
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto want_ci = optional_number(c["knee_convex_decreasing"]);
    const KneeResult ci = find_knee(x, y, CurveNature::convex, CurveDirection::increasing);
    ASSERT_EQ(ci.knee.has_value(), want_ci.has_value());
    if (want_ci) {
      EXPECT_EQ(*ci.knee, x[n - 1 - index_of(x, *want_ci)]);
    }
    const auto want_cd = optional_number(c["knee_concave_increasing"]);
    const KneeResult cd = find_knee(x, y, CurveNature::concave, CurveDirection::decreasing);
    ASSERT_EQ(cd.knee.has_value(), want_cd.has_value());
    if (want_cd) {
      EXPECT_EQ(*cd.knee, x[n - 1 - index_of(x, *want_cd)]);
    }
  }
}

TEST(KneeGolden, BlogElbowIsFive) {
  const auto g = test::golden_json("kmeans/elbow.json");
  const auto k = g["k"].get<std::vector<double>>();
  const auto distortion = g["distortion"].get<std::vector<double>>();
  const KneeResult r = find_knee(k, distortion, CurveNature::convex, CurveDirection::decreasing);
  ASSERT_TRUE(r.knee.has_value());
  EXPECT_EQ(*r.knee, g["elbow_k"].get<double>());
  EXPECT_EQ(distortion[index_of(k, *r.knee)], g["elbow_score"].get<double>());
}
