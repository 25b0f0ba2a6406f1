// ECOD on the blog matrix against pyod 1.1.0 (../shared/golden/ecod/).
#include <gtest/gtest.h>

#include <cmath>

#include "segmenta/outliers.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

const MatrixD& blog_matrix() {
  static const MatrixD x = test::golden_matrix_skip_first("prep/blog_transformed.csv");
  return x;
}

const EcodModel& model() {
  static const EcodModel m = fit_ecod(blog_matrix());
  return m;
}

}  // namespace

TEST(EcodGolden, ScoresThresholdAndLabelsMatchPyod) {
  const Table want = test::golden_table("ecod/ecod_scores.csv");
  const auto summary = test::golden_json("ecod/ecod_summary.json");
  const EcodModel& m = model();
  ASSERT_EQ(blog_matrix().rows(), 45211u);
  ASSERT_EQ(blog_matrix().cols(), 8u);
  ASSERT_EQ(want.rows(), 45211u);
  const auto& row = want.column(want.index_of("row")).numbers;
  const auto& score = want.column(want.index_of("decision_score")).numbers;
  const auto& label = want.column(want.index_of("label")).numbers;
  double worst = 0.0;
  std::size_t label_mismatches = 0, inliers = 0;
  for (std::size_t i = 0; i < 45211; ++i) {
    ASSERT_EQ(row[i], static_cast<double>(i));
    worst = std::max(worst, std::abs(m.decision_scores()[i] - score[i]) / std::abs(score[i]));
    label_mismatches += m.labels()[i] != static_cast<std::uint8_t>(label[i]);
    inliers += m.labels()[i] == 0;
  }
  EXPECT_LE(worst, 1e-12);
  EXPECT_EQ(label_mismatches, 0u);
  EXPECT_EQ(inliers, summary["n_inliers"].get<std::size_t>());
  EXPECT_EQ(inliers, 40691u);
  const double threshold = summary["threshold"].get<double>();
  EXPECT_LE(std::abs(m.threshold() - threshold) / threshold, 1e-12);
  EXPECT_EQ(m.contamination(), summary["contamination"].get<double>());
}

TEST(EcodGolden, RowsAtTheThresholdStayInliers) {
  // Rows 41894 and 43503 are identical and their score is the 90th percentile
  // itself (position 0.9 * 45210 is an integer); the rule is strictly above.
  const EcodModel& m = model();
  for (std::size_t r : {41894u, 43503u}) {
    EXPECT_EQ(m.decision_scores()[r], m.threshold()) << r;
    EXPECT_EQ(m.labels()[r], 0) << r;
  }
}

TEST(EcodGolden, SameResultWithOneAndTwoThreads) {
  set_num_threads(1);
  const EcodModel one = fit_ecod(blog_matrix());
  set_num_threads(2);
  const EcodModel two = fit_ecod(blog_matrix());
  set_num_threads(0);
  EXPECT_EQ(one.decision_scores(), two.decision_scores());
  EXPECT_EQ(one.labels(), two.labels());
  EXPECT_EQ(one.threshold(), two.threshold());
}

TEST(EcodGolden, FrozenScoresOfTrainingRows) {
  // Re-scoring a training row against the frozen ECDFs counts it once more:
  // F = (c + 1)/(n + 1) >= c/n, so each feature score can only drop, by at most
  // log 2. And it equals a direct count over the training column.
  const EcodModel& m = model();
  const MatrixD& x = blog_matrix();
  const std::size_t n = x.rows(), p = x.cols(), rows = 50;
  const MatrixD head(x.view().rows_view(0, rows));
  MatrixD o;
  const std::vector<double> s = m.score(head, &o);
  const double start = 1.0 / static_cast<double>(n + 1), step = (1.0 - start) / static_cast<double>(n);
  for (std::size_t i = 0; i < rows; ++i) {
    EXPECT_LE(s[i], m.decision_scores()[i] + 1e-12) << i;
    EXPECT_GE(s[i], m.decision_scores()[i] - static_cast<double>(p) * std::log(2.0) - 1e-12) << i;
    for (std::size_t j = 0; j < p; ++j) {
      ASSERT_NE(m.skew_sign()[j], 0);
      std::size_t le = 0, ge = 0;
      for (std::size_t k = 0; k < n; ++k) {
        le += x(k, j) <= x(i, j);
        ge += x(k, j) >= x(i, j);
      }
      volatile double pl = static_cast<double>(le) * step, pr = static_cast<double>(ge) * step;
      const double fl = le == n ? 1.0 : pl + start, fr = ge == n ? 1.0 : pr + start;
      EXPECT_EQ(o(i, j), std::max(-std::log(fl), -std::log(fr))) << i << " " << j;
    }
  }
}
