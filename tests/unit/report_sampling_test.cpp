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

TEST(ReportSampling, SmallInputsAreKeptWhole) {
  const std::vector<std::int32_t> s{2, 0, 1, 1};
  EXPECT_EQ(stratified_sample(s, 4, 0), (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_EQ(stratified_sample(s, 100, 0), (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_TRUE(stratified_sample({}, 5, 0).empty());
  EXPECT_THROW(stratified_sample(s, 0, 0), InvalidArgument);
}

TEST(ReportSampling, QuotasFollowTheStrataSizes) {
  const auto s = strata_of_sizes({6000, 3000, 1000});
  const auto pick = stratified_sample(s, 1000, 11);
  ASSERT_EQ(pick.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(pick.begin(), pick.end()));
  EXPECT_EQ(std::set<std::size_t>(pick.begin(), pick.end()).size(), pick.size());
  const auto c = counts(s, pick);
  EXPECT_EQ(c.at(0), 600u);
  EXPECT_EQ(c.at(1), 300u);
  EXPECT_EQ(c.at(2), 100u);

  // Uneven shares: every quota is within one of its exact share, the total exact.
  const std::vector<std::size_t> sizes{517, 1234, 33, 2999, 7};
  const auto s2 = strata_of_sizes(sizes);
  const auto pick2 = stratified_sample(s2, 777, 5);
  ASSERT_EQ(pick2.size(), 777u);
  const auto c2 = counts(s2, pick2);
  for (std::size_t g = 0; g < sizes.size(); ++g) {
    const double exact = 777.0 * static_cast<double>(sizes[g]) / static_cast<double>(s2.size());
    EXPECT_NEAR(static_cast<double>(c2.at(static_cast<std::int32_t>(g))), exact, 1.0) << "stratum " << g;
  }
}

TEST(ReportSampling, EverySegmentStaysVisible) {
  // 10 rows of 10,000 would get 0.1 points of 100: it still gets one.
  const auto s = strata_of_sizes({9990, 10});
  const auto c = counts(s, stratified_sample(s, 100, 0));
  EXPECT_EQ(c.at(0), 99u);
  EXPECT_EQ(c.at(1), 1u);
}

TEST(ReportSampling, SeededAndDependingOnTheSeed) {
  const auto s = strata_of_sizes({4000, 2500, 500});
  const auto a = stratified_sample(s, 700, 42), b = stratified_sample(s, 700, 42), c = stratified_sample(s, 700, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Negative labels (rows not clustered) are a stratum like any other.
  std::vector<std::int32_t> neg(s);
  for (auto& l : neg) l -= 1;
  EXPECT_EQ(stratified_sample(neg, 700, 42), a);
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
