// Cluster-validity indices on the 40691 blog inliers against scikit-learn 1.2.1 and
// yellowbrick (../shared/golden/metrics, ../shared/golden/kmeans).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "segmenta/metrics.hpp"
#include "support.hpp"

using namespace segmenta;
using segmenta::test::golden_json;
using segmenta::test::golden_matrix;
using segmenta::test::golden_matrix_skip_first;

namespace {

const MatrixD& inliers() {
  static const MatrixD x = golden_matrix_skip_first("kmeans/inlier_matrix.csv");
  return x;
}

std::vector<std::int32_t> int_column(const std::string& file, const std::string& name) {
  const MatrixD m = golden_matrix(file, {name});
  std::vector<std::int32_t> out(m.rows());
  for (std::size_t i = 0; i < m.rows(); ++i) out[i] = static_cast<std::int32_t>(m(i, 0));
  return out;
}

// Column "k<k>" of elbow_labels.csv.
std::vector<std::int32_t> elbow_labels(int k) {
  std::string name = "k";
  name += std::to_string(k);
  return int_column("kmeans/elbow_labels.csv", name);
}

// Rows that have a bitwise-identical twin elsewhere in the matrix.
std::vector<bool> has_duplicate(const MatrixD& x) {
  const std::size_t n = x.rows(), p = x.cols();
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  auto cmp = [&](std::size_t a, std::size_t b) { return std::memcmp(x.row(a), x.row(b), p * sizeof(double)); };
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cmp(a, b) < 0; });
  std::vector<bool> dup(n, false);
  for (std::size_t k = 1; k < n; ++k)
    if (cmp(order[k - 1], order[k]) == 0) dup[order[k - 1]] = dup[order[k]] = true;
  return dup;
}

// Exact silhouette of one row from its definition, with compensated (Neumaier) sums.
double oracle_silhouette(const MatrixD& x, const std::vector<std::int32_t>& labels, std::size_t i) {
  std::map<std::int32_t, std::pair<double, double>> sums;  // label -> (sum, compensation)
  std::map<std::int32_t, std::size_t> counts;
  for (std::size_t j = 0; j < x.rows(); ++j) {
    double s = 0.0;
    for (std::size_t f = 0; f < x.cols(); ++f) {
      const double d = x(i, f) - x(j, f);
      s += d * d;
    }
    const double d = std::sqrt(s);
    auto& [sum, comp] = sums[labels[j]];
    const double t = sum + d;
    comp += std::abs(sum) >= d ? (sum - t) + d : (d - t) + sum;
    sum = t;
    ++counts[labels[j]];
  }
  const std::int32_t own = labels[i];
  if (counts[own] == 1) return 0.0;
  const double a = (sums[own].first + sums[own].second) / static_cast<double>(counts[own] - 1);
  double b = INFINITY;
  for (const auto& [l, s] : sums)
    if (l != own) b = std::min(b, (s.first + s.second) / static_cast<double>(counts[l]));
  return (b - a) / std::max(a, b);
}

}  // namespace

// scikit-learn forms distances with the GEMM identity |x|^2 - 2 x.y + |y|^2. For a row
// with a bitwise-identical twin that gives sqrt(a few ulps of |x|^2) ~ 4e-8 instead of
// 0 on the machine that produced the golden file, so the silhouette of such rows is
// off by up to ~2.1e-11 there; segmenta computes those distances exactly (0). All
// other rows agree to ~1.5e-14 (sums of ~10^4 distances in another order).
TEST(GoldenSilhouette, SamplesMatchScikitLearn) {
  const MatrixD& x = inliers();
  const auto labels = int_column("metrics/silhouette_samples.csv", "label");
  const MatrixD expected = golden_matrix("metrics/silhouette_samples.csv", {"silhouette"});
  ASSERT_EQ(labels.size(), x.rows());
  const std::vector<double> s = silhouette_samples(x.view(), labels);
  ASSERT_EQ(s.size(), x.rows());
  const std::vector<bool> dup = has_duplicate(x);
  double worst_unique = 0.0, worst_dup = 0.0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    double& worst = dup[i] ? worst_dup : worst_unique;
    worst = std::max(worst, std::abs(s[i] - expected(i, 0)));
  }
  EXPECT_LE(worst_unique, 1e-12);
  EXPECT_LE(worst_dup, 1e-10);
}

// Independent of scikit-learn's rounding: a few hundred rows (duplicates included)
// against the definition evaluated with compensated sums.
TEST(GoldenSilhouette, SamplesMatchExactDefinition) {
  const MatrixD& x = inliers();
  const auto labels = int_column("metrics/silhouette_samples.csv", "label");
  const std::vector<double> s = silhouette_samples(x.view(), labels);
  const std::vector<bool> dup = has_duplicate(x);
  std::size_t checked_dup = 0;
  for (std::size_t i = 0; i < x.rows(); i += 151) {
    EXPECT_NEAR(s[i], oracle_silhouette(x, labels, i), 1e-13) << "row " << i;
    checked_dup += dup[i];
  }
  EXPECT_GT(checked_dup, 10u);
}

TEST(GoldenSilhouette, ScoresMatchScikitLearn) {
  const MatrixD& x = inliers();
  const auto j = golden_json("metrics/scores.json");
  for (const char* which : {"fixed_init", "blog_run"}) {
    SCOPED_TRACE(which);
    const auto labels = int_column("kmeans/labels.csv", std::string(which) + "_label");
    const auto& ref = j.at(which);
    EXPECT_NEAR(silhouette_score(x.view(), labels), ref.at("silhouette_score").get<double>(), 1e-12);
    const double ch = ref.at("calinski_harabasz_score").get<double>();
    EXPECT_NEAR(calinski_harabasz_score(x.view(), labels), ch, 1e-10 * ch);
    const double db = ref.at("davies_bouldin_score").get<double>();
    EXPECT_NEAR(davies_bouldin_score(x.view(), labels), db, 1e-10 * db);
  }
}

TEST(GoldenSilhouette, DistortionOfElbowLabels) {
  const MatrixD& x = inliers();
  const auto j = golden_json("kmeans/elbow.json");
  const auto ks = j.at("k").get<std::vector<int>>();
  const auto distortion = j.at("distortion").get<std::vector<double>>();
  ASSERT_EQ(ks.size(), distortion.size());
  for (std::size_t t = 0; t < ks.size(); ++t) {
    const auto labels = elbow_labels(ks[t]);
    EXPECT_NEAR(distortion_score(x.view(), labels), distortion[t], 1e-12 * distortion[t]) << "k = " << ks[t];
  }
}

// The k = 2..9 silhouette analysis in one pass equals one silhouette_samples per k.
TEST(GoldenSilhouette, ManyLabelingsEqualOneAtATime) {
  const MatrixD& x = inliers();
  std::vector<std::vector<std::int32_t>> labelings;
  for (int k = 2; k <= 9; ++k) labelings.push_back(elbow_labels(k));
  std::vector<Labels> views(labelings.begin(), labelings.end());
  const auto many = silhouette_samples_many(x.view(), views);
  ASSERT_EQ(many.size(), labelings.size());
  for (std::size_t l = 0; l < labelings.size(); ++l) {
    const auto one = silhouette_samples(x.view(), Labels(labelings[l]));
    ASSERT_EQ(many[l].size(), one.size());
    double worst = 0.0;
    for (std::size_t i = 0; i < one.size(); ++i) worst = std::max(worst, std::abs(many[l][i] - one[i]));
    EXPECT_LE(worst, 1e-12) << "k = " << l + 2;
  }
}
