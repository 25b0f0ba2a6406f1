// Downsampling in the report: map samples are stratified by segment, seeded and
// stated; silhouette profiles are thinned within each cluster, keeping its shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "report_fixture.hpp"
#include "segmenta/report.hpp"

using namespace segmenta;
using json = nlohmann::json;

namespace {

std::vector<std::int32_t> strata_of_sizes(const std::vector<std::size_t>& sizes) {
  // Interleaved, so that a sample of the first positions would not be stratified.
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

std::map<std::int32_t, std::size_t> counts(const std::vector<std::int32_t>& strata, const std::vector<std::size_t>& pick) {
  std::map<std::int32_t, std::size_t> c;
  for (std::size_t p : pick) ++c[strata[p]];
  return c;
}

}  // namespace

// The map sample is core's stratified_label_sample, the rule of explain's TreeSHAP
// sample: it is what the program has always drawn (tests/unit/sampling_rules_test.cpp).
TEST(ReportSampling, SmallInputsAreKeptWhole) {
  const std::vector<std::int32_t> s{2, 0, 1, 1};
  EXPECT_EQ(stratified_map_sample(s, 4, 0), (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_EQ(stratified_map_sample(s, 100, 0), (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_TRUE(stratified_map_sample({}, 5, 0).empty());
  // 0 = no limit (report_data itself rejects max_map_points = 0).
  EXPECT_EQ(stratified_map_sample(s, 0, 0), (std::vector<std::size_t>{0, 1, 2, 3}));
  const std::vector<std::int32_t> bad{0, -2, 1};
  EXPECT_THROW(stratified_map_sample(bad, 2, 0), InvalidArgument);
}

TEST(ReportSampling, QuotasFollowTheStrataSizes) {
  const auto s = strata_of_sizes({6000, 3000, 1000});
  const auto pick = stratified_map_sample(s, 1000, 11);
  ASSERT_EQ(pick.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(pick.begin(), pick.end()));
  EXPECT_EQ(std::set<std::size_t>(pick.begin(), pick.end()).size(), pick.size());
  // One point per segment, then 997 apportioned to 5999 : 2999 : 999 by largest
  // remainders (598.27, 299.09, 99.63: the last one gets the spare point).
  const auto c = counts(s, pick);
  EXPECT_EQ(c.at(0), 599u);
  EXPECT_EQ(c.at(1), 300u);
  EXPECT_EQ(c.at(2), 101u);

  // Uneven shares: one point each, then 772 apportioned to 516 : 1233 : 32 : 2998 : 6
  // (83.25, 198.93, 5.16, 483.69, 0.97: the three largest remainders get the three
  // spare points). Every quota stays within a few points of its exact share.
  const std::vector<std::size_t> sizes{517, 1234, 33, 2999, 7};
  const auto s2 = strata_of_sizes(sizes);
  const auto pick2 = stratified_map_sample(s2, 777, 5);
  ASSERT_EQ(pick2.size(), 777u);
  const auto c2 = counts(s2, pick2);
  const std::vector<std::size_t> want{84, 200, 6, 485, 2};
  for (std::size_t g = 0; g < sizes.size(); ++g) {
    EXPECT_EQ(c2.at(static_cast<std::int32_t>(g)), want[g]) << "stratum " << g;
    const double exact = 777.0 * static_cast<double>(sizes[g]) / static_cast<double>(s2.size());
    EXPECT_NEAR(static_cast<double>(want[g]), exact, 2.0) << "stratum " << g;
  }
}

TEST(ReportSampling, EverySegmentStaysVisible) {
  // 10 rows of 10,000 would get 0.1 points of 100: it still gets one.
  const auto s = strata_of_sizes({9990, 10});
  const auto c = counts(s, stratified_map_sample(s, 100, 0));
  EXPECT_EQ(c.at(0), 99u);
  EXPECT_EQ(c.at(1), 1u);
  // Fewer points than segments: the largest segments get one each.
  const auto few = strata_of_sizes({5, 50, 20});
  const auto c3 = counts(few, stratified_map_sample(few, 2, 0));
  EXPECT_EQ(c3.count(0), 0u);
  EXPECT_EQ(c3.at(1), 1u);
  EXPECT_EQ(c3.at(2), 1u);
}

TEST(ReportSampling, SeededAndDependingOnTheSeed) {
  const auto s = strata_of_sizes({4000, 2500, 500});
  const auto a = stratified_map_sample(s, 700, 42), b = stratified_map_sample(s, 700, 42),
             c = stratified_map_sample(s, 700, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Streams follow the segments' order, not their values.
  std::vector<std::int32_t> shifted(s);
  for (auto& l : shifted) l += 5;
  EXPECT_EQ(stratified_map_sample(shifted, 700, 42), a);
  // Points without a segment (-1) are never drawn.
  std::vector<std::int32_t> some_unclustered(s);
  for (std::size_t i = 0; i < some_unclustered.size(); i += 3) some_unclustered[i] = -1;
  for (std::size_t p : stratified_map_sample(some_unclustered, 700, 42)) EXPECT_GE(some_unclustered[p], 0);
}

TEST(ReportSampling, MapsAreSampledAndStateTheirRate) {
  test::FixtureSpec spec;
  spec.rows = 3000;
  const test::Fixture f = test::make_fixture(spec);
  ReportInput in = test::fixture_input(f);
  in.options.max_map_points = 500;
  const json data = report_data(in);
  EXPECT_EQ(data["report"]["max_map_points"], 500);
  const json& pca = data["maps"]["kmeans"][0];
  EXPECT_EQ(pca["total"], 2700);
  EXPECT_EQ(pca["shown"], 500);
  EXPECT_DOUBLE_EQ(pca["rate"].get<double>(), 500.0 / 2700.0);
  EXPECT_EQ(pca["rows"].size(), 500u);
  for (const auto& c : pca["coords"]) EXPECT_EQ(c.size(), 500u);
  // Stratified: each segment's share of the sample is its share of the map.
  std::map<int, std::size_t> all, shown;
  for (std::size_t i = 0; i < 3000; ++i)
    if (f.labels[0][i] >= 0) ++all[f.labels[0][i]];
  for (const auto& seg : pca["segments"]) ++shown[seg.get<int>()];
  for (const auto& [seg, n] : all)
    EXPECT_NEAR(static_cast<double>(shown[seg]), 500.0 * static_cast<double>(n) / 2700.0, 1.0) << "segment " << seg;
  // Every shown row is a clustered row with its own segment, at most once.
  std::set<std::size_t> rows;
  for (std::size_t i = 0; i < pca["rows"].size(); ++i) {
    const std::size_t r = pca["rows"][i].get<std::size_t>();
    EXPECT_TRUE(rows.insert(r).second);
    EXPECT_EQ(pca["segments"][i].get<int>(), f.labels[0][r]);
  }
  // Seeded by the options: the same seed gives the same sample, another seed another.
  EXPECT_EQ(report_data(in)["maps"], data["maps"]);
  in.options.seed = 1;
  EXPECT_NE(report_data(in)["maps"]["kmeans"][0]["rows"], pca["rows"]);

  // The t-SNE map covers half of the clustered rows: its rate is against those.
  const json& tsne = data["maps"]["kmeans"][1];
  EXPECT_EQ(tsne["total"], 1350);
  EXPECT_EQ(tsne["shown"], 500);
}

TEST(ReportSampling, SilhouetteProfilesKeepTheirShape) {
  test::FixtureSpec spec;
  spec.rows = 3000;
  const test::Fixture f = test::make_fixture(spec);
  ReportInput in = test::fixture_input(f);
  in.options.max_silhouette_values = 60;
  const json data = report_data(in);
  const json& per_k = data["metrics"]["methods"]["kmeans"]["sweep"]["per_k"];
  const json& orig = f.metrics["methods"]["kmeans"]["sweep"]["per_k"];
  for (std::size_t i = 0; i < per_k.size(); ++i) {
    const json& p = per_k[i];
    std::size_t shown = 0, rows = 0, values = 0;
    for (const auto& c : orig[i]["silhouette_profile"]) values += c["values_desc"].size();
    ASSERT_GT(values, 60u);
    for (std::size_t c = 0; c < p["silhouette_profile"].size(); ++c) {
      const json& v = p["silhouette_profile"][c]["values_desc"];
      const json& w = orig[i]["silhouette_profile"][c]["values_desc"];
      shown += v.size();
      rows += p["silhouette_profile"][c]["size"].get<std::size_t>();
      if (w.empty()) {
        EXPECT_TRUE(v.empty());
        continue;
      }
      ASSERT_GE(v.size(), 1u);
      // Each cluster's share of the bars follows its share of the values.
      EXPECT_NEAR(static_cast<double>(v.size()), 60.0 * static_cast<double>(w.size()) / static_cast<double>(values), 1.0);
      // Sorted, with the cluster's largest and smallest value kept.
      EXPECT_TRUE(std::is_sorted(v.rbegin(), v.rend()));
      EXPECT_EQ(v.front(), w.front());
      if (v.size() > 1) {
        EXPECT_EQ(v.back(), w.back());
      }
    }
    EXPECT_LE(shown, 60u);
    EXPECT_EQ(p["silhouette_shown"].get<std::size_t>(), shown);
    EXPECT_DOUBLE_EQ(p["silhouette_rate"].get<double>(), static_cast<double>(shown) / static_cast<double>(rows));
  }
}
