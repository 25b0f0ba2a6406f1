// explain and the report each had a function named stratified_sample with a rule of
// its own; the program linked explain's, so the report has always drawn its map
// points with explain's rule. They now have distinct names, both calling core's
// stratified_label_sample. This test links every module (its name is no module's)
// and checks each function as its own module's unit test describes it, and that
// the report's map sample is the rule the program used.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "report_fixture.hpp"
#include "segmenta/explain.hpp"
#include "segmenta/report.hpp"

using namespace segmenta;

namespace {

std::vector<std::int32_t> interleaved(const std::vector<std::size_t>& sizes) {
  std::vector<std::int32_t> s;
  std::vector<std::size_t> left = sizes;
  for (bool any = true; any;) {
    any = false;
    for (std::size_t c = 0; c < left.size(); ++c)
      if (left[c]) {
        s.push_back(static_cast<std::int32_t>(c));
        --left[c];
        any = true;
      }
  }
  return s;
}

std::map<std::int32_t, std::size_t> counts(const std::vector<std::int32_t>& labels,
                                           const std::vector<std::size_t>& pick) {
  std::map<std::int32_t, std::size_t> c;
  for (std::size_t p : pick) ++c[labels[p]];
  return c;
}

}  // namespace

TEST(SamplingRules, ExplainsTrainingSampleAsItsUnitTestSays) {
  std::vector<std::int32_t> labels;
  for (int i = 0; i < 1000; ++i) labels.push_back(i < 500 ? 0 : i < 800 ? 1 : 2);
  for (int i = 0; i < 50; ++i) labels.push_back(-1);
  const auto s = stratified_training_sample(labels, 100, 3);
  ASSERT_EQ(s.size(), 100u);
  const auto c = counts(labels, s);
  EXPECT_EQ(c.count(-1), 0u);
  EXPECT_EQ(c.at(0), 50u);
  EXPECT_EQ(c.at(1), 30u);
  EXPECT_EQ(c.at(2), 20u);
  EXPECT_EQ(stratified_training_sample(labels, 0, 3).size(), 1000u);
  std::vector<std::int32_t> bad = labels;
  bad[7] = -2;
  EXPECT_THROW(stratified_training_sample(bad, 10, 0), InvalidArgument);
}

TEST(SamplingRules, ReportsMapSampleAsItsUnitTestSays) {
  const auto s = interleaved({6000, 3000, 1000});
  const auto c = counts(s, stratified_map_sample(s, 1000, 11));
  EXPECT_EQ(c.at(0), 599u);
  EXPECT_EQ(c.at(1), 300u);
  EXPECT_EQ(c.at(2), 101u);
  const auto v = interleaved({9990, 10});
  const auto cv = counts(v, stratified_map_sample(v, 100, 0));
  EXPECT_EQ(cv.at(0), 99u);
  EXPECT_EQ(cv.at(1), 1u);
}

TEST(SamplingRules, BothAreTheOneRuleOfCore) {
  Rng rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::int32_t> labels(200 + rng.below(3000));
    const auto k = static_cast<std::int32_t>(1 + rng.below(9));
    for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(k) + 1)) - 1;
    const std::size_t m = rng.below(labels.size() + 20);
    const std::uint64_t seed = rng.next_u64();
    const auto core = stratified_label_sample(labels, m, seed);
    EXPECT_EQ(stratified_training_sample(labels, m, seed), core) << "trial " << trial;
    EXPECT_EQ(stratified_map_sample(labels, m, seed), core) << "trial " << trial;
  }
}

TEST(SamplingRules, TheReportDrawsMapPointsWithTheTrainingRule) {
  test::FixtureSpec spec;
  spec.rows = 3000;
  const test::Fixture f = test::make_fixture(spec);
  ReportInput in = test::fixture_input(f);
  in.options.max_map_points = 500;
  in.options.seed = 9;
  const nlohmann::json pca = report_data(in)["maps"]["kmeans"][0];
  // maps.csv lists the clustered rows in order; the first map's stream is the seed.
  std::vector<std::size_t> rows;
  std::vector<std::int32_t> strata;
  for (std::size_t i = 0; i < spec.rows; ++i)
    if (f.labels[0][i] >= 0) {
      rows.push_back(i);
      strata.push_back(f.labels[0][i]);
    }
  std::vector<std::size_t> want;
  for (std::size_t p : stratified_training_sample(strata, 500, 9)) want.push_back(rows[p]);
  EXPECT_EQ(pca["rows"].get<std::vector<std::size_t>>(), want);
}
