// Large tables: the k sweep on a sample, then the chosen k on all rows, finds the
// same k and recovers the planted segments at least as well as the sweep on every row; the
// silhouette above its threshold is an estimate with a standard error; the result
// does not depend on the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "segmenta/io.hpp"
#include "segmenta/metrics.hpp"
#include "segmenta/pipeline.hpp"

using namespace segmenta;

namespace {

RunParams base_params() {
  RunParams p;
  p.method = Method::kmeans;
  p.k = KSpec::parse("2..7");
  p.outliers = OutlierPolicy::none;
  p.maps = false;
  p.explain = false;
  p.quiet = true;
  p.stability_pairs = 0;
  return p;
}

double ari_vs_truth(const SegmentationResult& r, const std::vector<std::int32_t>& truth) {
  return adjusted_rand_score(r.methods[0].segment_of_row, truth);
}

}  // namespace

TEST(Scale, SampledSweepFindsTheSameKAndRecoversThePlantedSegments) {
  std::vector<std::int32_t> truth;
  const Table t = make_demo_table({60000, 11}, &truth);
  const RunParams all = base_params();
  RunParams sampled = base_params();
  sampled.sweep_all_max = 20000;
  sampled.sweep_sample = 12000;
  sampled.silhouette_exact_max = 30000;
  const SegmentationResult a = segment(t, all);
  const SegmentationResult b = segment(t, sampled);
  const MethodSegmentation& ma = a.methods[0];
  const MethodSegmentation& mb = b.methods[0];
  EXPECT_EQ(ma.sweep.sample_rows, 0u);
  EXPECT_EQ(mb.sweep.sample_rows, 12000u);
  EXPECT_EQ(mb.sweep.all_rows, 60000u);
  EXPECT_EQ(mb.k, ma.k);
  ASSERT_EQ(mb.segment_of_row.size(), 60000u);
  const double ari_a = ari_vs_truth(a, truth), ari_b = ari_vs_truth(b, truth);
  EXPECT_GT(ari_a, 0.3);  // the demo's segments overlap; k-means recovers part of them
  // No worse than the sweep on every row: the same recovery (or better: k-means' local
  // optima differ: here the sample fit ends 1.8 % above the full sweep's objective, at a
  // higher ARI), at an objective on all rows within 3 % of the full sweep's.
  EXPECT_GE(ari_b, ari_a - 0.02);
  EXPECT_LE(mb.final.inertia, 1.03 * ma.final.inertia) << mb.final.inertia << " vs " << ma.final.inertia;
  // The sweep's points are of the sample; the final criteria of every row.
  std::size_t total = 0;
  for (std::size_t s : mb.final.sizes) total += s;
  EXPECT_EQ(total, 60000u);
  std::size_t sample_total = 0;
  for (std::size_t s : mb.sweep.points.front().sizes) sample_total += s;
  EXPECT_EQ(sample_total, 12000u);
  // The silhouette above the threshold: an estimate within a few standard errors of the
  // exact score of the same labels (sweep on all rows: exact, no standard error).
  EXPECT_TRUE(std::isnan(ma.final.silhouette_se));
  EXPECT_EQ(mb.final.silhouette_rows, kSilhouetteEstimateRows);
  ASSERT_GT(mb.final.silhouette_se, 0.0);
  const PrepResult pr = fit_prep(b.table);  // the run's features (standard preset)
  const double exact = silhouette_score(pr.features.view(), Labels(mb.segment_of_row));
  EXPECT_LT(std::abs(mb.final.silhouette - exact), 4 * mb.final.silhouette_se)
      << mb.final.silhouette << " vs " << exact << " se " << mb.final.silhouette_se;
  EXPECT_NEAR(mb.final.calinski_harabasz, calinski_harabasz_score(pr.features.view(), Labels(mb.segment_of_row)),
              1e-6 * mb.final.calinski_harabasz);
}

TEST(Scale, SampledSweepIsTheSameForOneAndTwoThreads) {
  const Table t = make_demo_table({30000, 5});
  RunParams p = base_params();
  p.sweep_all_max = 10000;
  p.silhouette_exact_max = 10000;
  p.threads = 1;
  const SegmentationResult one = segment(t, p);
  p.threads = 2;
  const SegmentationResult two = segment(t, p);
  EXPECT_EQ(one.methods[0].k, two.methods[0].k);
  EXPECT_EQ(one.methods[0].segment_of_row, two.methods[0].segment_of_row);
  EXPECT_EQ(one.methods[0].final.silhouette, two.methods[0].final.silhouette);
  EXPECT_EQ(one.methods[0].final.silhouette_se, two.methods[0].final.silhouette_se);
  for (std::size_t i = 0; i < one.methods[0].sweep.points.size(); ++i)
    EXPECT_EQ(one.methods[0].sweep.points[i].silhouette, two.methods[0].sweep.points[i].silhouette);
}

TEST(Scale, BelowTheThresholdsNothingIsSampled) {
  RunParams p;
  EXPECT_EQ(p.sweep_all_max, 100000u);
  EXPECT_EQ(p.silhouette_exact_max, 100000u);
  const Table t = make_demo_table({3000, 5});
  p = base_params();
  const SegmentationResult r = segment(t, p);
  EXPECT_EQ(r.methods[0].sweep.sample_rows, 0u);
  for (const auto& pt : r.methods[0].sweep.points) EXPECT_EQ(pt.silhouette_rows, 0u);
  EXPECT_FALSE(r.methods[0].sweep.final_all_rows.has_value());
}

namespace {

/// A mixed table of `rows` customers from 4 planted segments: three numeric columns
/// (segment means 2.5 standard deviations apart on one axis each, Gaussian noise) and
/// two categorical ones (the segment's own level with probability 0.6, else any of
/// the 4 levels); `truth` receives each row's segment.
Table planted_mixed_table(std::size_t rows, std::vector<std::int32_t>& truth) {
  Rng rng(20);
  std::string csv = "x1,x2,x3,c1,c2\n";
  const double centre[4][3] = {{0, 0, 0}, {2.5, 0, 0}, {0, 2.5, 0}, {0, 0, 2.5}};
  const char* level[4] = {"a", "b", "c", "d"};
  truth.clear();
  for (std::size_t i = 0; i < rows; ++i) {
    const auto s = static_cast<std::size_t>(rng.below(4));
    truth.push_back(static_cast<std::int32_t>(s));
    for (std::size_t f = 0; f < 3; ++f) csv += fmt::format("{:.4f},", centre[s][f] + rng.normal());
    for (std::size_t c = 0; c < 2; ++c) {
      const std::size_t l = rng.uniform() < 0.6 ? s : static_cast<std::size_t>(rng.below(4));
      csv += std::string(level[l]) + (c == 0 ? "," : "\n");
    }
  }
  return parse_csv(csv, "planted.csv");
}

/// Sweeps of `method` over k = 2..7 on a planted table of `rows` rows: on every row,
/// and on a 6,000-row sample (threshold 5,000) with the chosen k then fitted on all
/// rows. The sample must choose the same k (the planted one) and its final labels
/// must agree with the full run's (ARI against the full run) and recover the planted
/// segments as well.
void expect_sampled_like_full(Method method, std::size_t rows, double min_ari_vs_full) {
  std::vector<std::int32_t> truth;
  const Table t = planted_mixed_table(rows, truth);
  RunParams all = base_params();
  all.method = method;
  all.k = KSpec::parse("2..7");
  all.n_init = 4;
  all.silhouette_exact_max = 4000;  // estimated silhouettes in both runs: the test stays fast
  RunParams sampled = all;
  sampled.sweep_all_max = 5000;
  sampled.sweep_sample = 6000;
  const SegmentationResult a = segment(t, all);
  const SegmentationResult b = segment(t, sampled);
  const MethodSegmentation& ma = a.methods[0];
  const MethodSegmentation& mb = b.methods[0];
  EXPECT_EQ(ma.sweep.sample_rows, 0u);
  EXPECT_FALSE(ma.sweep.final_all_rows.has_value());
  EXPECT_EQ(mb.sweep.sample_rows, 6000u);
  EXPECT_EQ(mb.sweep.all_rows, rows);
  ASSERT_TRUE(mb.sweep.final_all_rows.has_value());
  EXPECT_EQ(mb.k, ma.k) << "sampled sweep chose " << mb.k << ", full sweep " << ma.k;
  EXPECT_EQ(mb.k, 4u);
  ASSERT_EQ(mb.segment_of_row.size(), rows);
  const double vs_full = adjusted_rand_score(mb.segment_of_row, ma.segment_of_row);
  EXPECT_GE(vs_full, min_ari_vs_full);
  const double ari_a = ari_vs_truth(a, truth), ari_b = ari_vs_truth(b, truth);
  EXPECT_GT(ari_a, 0.6);
  EXPECT_GE(ari_b, ari_a - 0.03) << ari_b << " vs " << ari_a;
  // The sweep's points are of the sample; the final criteria of every row.
  std::size_t total = 0, sample_total = 0;
  for (std::size_t s : mb.final.sizes) total += s;
  for (std::size_t s : mb.sweep.points.front().sizes) sample_total += s;
  EXPECT_EQ(total, rows);
  EXPECT_EQ(sample_total, 6000u);
  // The run's messages say the sweep was sampled.
  bool said = false;
  for (const auto& d : b.diagnostics.items()) said |= d.code == "sweep_sample";
  EXPECT_TRUE(said);
  std::cout << to_string(method) << ": k = " << mb.k << ", ARI sampled vs full " << vs_full << ", vs planted "
            << ari_b << " (full " << ari_a << ")\n";
}

}  // namespace

TEST(Scale, SampledKPrototypesSweepMatchesTheFullSweep) { expect_sampled_like_full(Method::kprototypes, 20000, 0.9); }

TEST(Scale, SampledLcaSweepMatchesTheFullSweep) { expect_sampled_like_full(Method::lca, 20000, 0.9); }

TEST(Scale, SampledKPrototypesAndLcaAreTheSameForOneAndTwoThreads) {
  const Table t = make_demo_table({12000, 5});
  for (Method m : {Method::kprototypes, Method::lca}) {
    RunParams p = base_params();
    p.method = m;
    p.k = KSpec::parse("2..4");
    p.n_init = 3;
    p.sweep_all_max = 5000;
    p.sweep_sample = 5000;
    p.silhouette_exact_max = 4000;
    p.threads = 1;
    const SegmentationResult one = segment(t, p);
    p.threads = 2;
    const SegmentationResult two = segment(t, p);
    EXPECT_EQ(one.methods[0].sweep.sample_rows, 5000u);
    EXPECT_EQ(one.methods[0].k, two.methods[0].k) << to_string(m);
    EXPECT_EQ(one.methods[0].segment_of_row, two.methods[0].segment_of_row) << to_string(m);
    EXPECT_EQ(one.methods[0].final.silhouette, two.methods[0].final.silhouette) << to_string(m);
    EXPECT_EQ(one.methods[0].final.inertia, two.methods[0].final.inertia) << to_string(m);
  }
}
