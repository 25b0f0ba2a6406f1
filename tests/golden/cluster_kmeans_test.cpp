// k-means against scikit-learn on the blog's 40691 ECOD inliers (../shared/golden/kmeans).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "segmenta/cluster.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

const MatrixD& inliers() {
  static const MatrixD x = test::golden_matrix_skip_first("kmeans/inlier_matrix.csv");
  return x;
}

std::vector<std::int32_t> golden_labels(const std::string& column) {
  const MatrixD m = test::golden_matrix("kmeans/labels.csv", {column});
  std::vector<std::int32_t> out(m.rows());
  for (std::size_t i = 0; i < m.rows(); ++i) out[i] = static_cast<std::int32_t>(m(i, 0));
  return out;
}

std::vector<std::size_t> cluster_sizes(const std::vector<std::int32_t>& labels, std::size_t k) {
  std::vector<std::size_t> sizes(k, 0);
  for (auto l : labels) ++sizes[static_cast<std::size_t>(l)];
  return sizes;
}

}  // namespace

TEST(KMeansGolden, FixedInitReproducesScikitLearn) {
  const auto g = test::golden_json("kmeans/fixed_init.json");
  const MatrixD& x = inliers();
  ASSERT_EQ(x.rows(), 40691u);
  ASSERT_EQ(x.cols(), 8u);
  const auto rows = g["init_rows_of_inlier_matrix"].get<std::vector<std::size_t>>();
  const MatrixD init = take_rows<double, std::size_t>(x.view(), rows);
  const MatrixD golden_init = test::json_matrix(g["init_centers"]);
  for (std::size_t j = 0; j < init.rows(); ++j)
    for (std::size_t f = 0; f < init.cols(); ++f) ASSERT_EQ(init(j, f), golden_init(j, f));

  KMeansParams params;
  params.n_clusters = 5;
  params.max_iter = 300;
  params.tol = 1e-4;
  Diagnostics diag;
  const auto model = fit_kmeans_from(x.view(), init.view(), params, &diag);

  EXPECT_EQ(model.n_iter, g["n_iter"].get<std::size_t>());
  EXPECT_TRUE(model.converged);
  const auto expected = golden_labels("fixed_init_label");
  ASSERT_EQ(model.labels.size(), expected.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) mismatches += model.labels[i] != expected[i];
  EXPECT_EQ(mismatches, 0u);

  const MatrixD centers = test::json_matrix(g["final_centers"]);
  for (std::size_t j = 0; j < 5; ++j)
    for (std::size_t f = 0; f < 8; ++f) EXPECT_NEAR(model.centers(j, f), centers(j, f), 1e-10) << j << "," << f;
  const double inertia = g["inertia"].get<double>();
  EXPECT_NEAR(model.inertia, inertia, 1e-10 * inertia);
  EXPECT_EQ(cluster_sizes(model.labels, 5), g["cluster_sizes"].get<std::vector<std::size_t>>());
  EXPECT_TRUE(diag.empty());
  ASSERT_EQ(model.inertia_history.size(), model.n_iter);
  for (std::size_t t = 1; t < model.inertia_history.size(); ++t)
    EXPECT_LE(model.inertia_history[t], model.inertia_history[t - 1] * (1 + 1e-12));
}

TEST(KMeansGolden, FixedInitInFloatStaysClose) {
  // The same run in single precision (centre sums in double): the partition is
  // well separated from rounding (smallest best/second-best gap 3.9e-4).
  const auto g = test::golden_json("kmeans/fixed_init.json");
  const MatrixD& xd = inliers();
  MatrixF x(xd.rows(), xd.cols());
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t f = 0; f < x.cols(); ++f) x(i, f) = static_cast<float>(xd(i, f));
  const auto rows = g["init_rows_of_inlier_matrix"].get<std::vector<std::size_t>>();
  const MatrixF init = take_rows<float, std::size_t>(x.view(), rows);
  KMeansParams params;
  params.n_clusters = 5;
  const auto model = fit_kmeans_from(x.view(), init.view(), params);
  const double inertia = g["inertia"].get<double>();
  EXPECT_NEAR(model.inertia, inertia, 1e-5 * inertia);
  const auto expected = golden_labels("fixed_init_label");
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) mismatches += model.labels[i] != expected[i];
  EXPECT_LE(mismatches, 40u);
  const MatrixD centers = test::json_matrix(g["final_centers"]);
  for (std::size_t j = 0; j < 5; ++j)
    for (std::size_t f = 0; f < 8; ++f) EXPECT_NEAR(model.centers(j, f), centers(j, f), 1e-3);
}

TEST(KMeansGolden, BlogRunReachesScikitLearnsOptimum) {
  // KMeans(n_clusters=5, init='k-means++', n_init=10, max_iter=100, random_state=42):
  // our own random streams, so the same optimum is expected, not the same labels.
  const auto g = test::golden_json("kmeans/blog_run.json");
  const MatrixD& x = inliers();
  KMeansParams params;
  params.n_clusters = 5;
  params.n_init = 10;
  params.max_iter = 100;
  params.random_state = 42;
  Diagnostics diag;
  const auto model = fit_kmeans(x.view(), params, &diag);
  const double inertia = g["inertia"].get<double>();
  EXPECT_NEAR(model.inertia, inertia, 1e-5 * inertia);
  EXPECT_TRUE(model.converged);
  ASSERT_EQ(model.init_inertias.size(), 10u);
  EXPECT_EQ(model.init_inertias[model.best_init], model.inertia);
  for (double v : model.init_inertias) EXPECT_GE(v, model.inertia);

  // Same partition as the blog's up to a relabelling, apart from a few rows: match
  // every cluster to the blog cluster it shares most rows with.
  const auto blog = golden_labels("blog_run_label");
  std::map<std::pair<int, int>, std::size_t> table;
  for (std::size_t i = 0; i < blog.size(); ++i) ++table[{model.labels[i], blog[i]}];
  std::set<int> matched;
  std::size_t agree = 0;
  for (int a = 0; a < 5; ++a) {
    int best = -1;
    std::size_t count = 0;
    for (int b = 0; b < 5; ++b)
      if (table[{a, b}] > count) {
        count = table[{a, b}];
        best = b;
      }
    matched.insert(best);
    agree += count;
  }
  EXPECT_EQ(matched.size(), 5u);
  EXPECT_GE(static_cast<double>(agree) / static_cast<double>(blog.size()), 0.99);
}

TEST(KMeansGolden, OwnSweepFindsTheBlogElbow) {
  // yellowbrick's elbow on the blog data is k = 5; a sweep k = 2..9 with our own
  // fits (n_init = 10) must find the same knee, with the k = 5 objective at the
  // same optimum as yellowbrick's distortion there.
  const auto g = test::golden_json("kmeans/elbow.json");
  const MatrixD& x = inliers();
  std::vector<double> ks, inertia;
  for (std::size_t k = 2; k <= 9; ++k) {
    KMeansParams params;
    params.n_clusters = k;
    params.n_init = 10;
    params.random_state = 0;
    ks.push_back(static_cast<double>(k));
    inertia.push_back(fit_kmeans(x.view(), params).inertia);
  }
  const KneeResult r = find_knee(ks, inertia, CurveNature::convex, CurveDirection::decreasing);
  ASSERT_TRUE(r.knee.has_value());
  EXPECT_EQ(*r.knee, g["elbow_k"].get<double>());
  const double at5 = g["distortion"][3].get<double>();
  EXPECT_NEAR(inertia[3], at5, 1e-5 * at5);
}
