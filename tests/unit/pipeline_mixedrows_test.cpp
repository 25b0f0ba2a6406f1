// The mixed methods' space made on demand (MixedRows) and the criteria and
// representatives read from it row by row: bit for bit what the materialised matrix
// (mixed_space of the plan's transform of every row) gives, and the silhouette
// estimate, now measured one panel of rows at a time, against a naive computation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "explain/representatives.hpp"
#include "pipeline/context.hpp"
#include "segmenta/explain.hpp"
#include "segmenta/metrics.hpp"
#include "segmenta/prep.hpp"
#include "support.hpp"

using namespace segmenta;
using namespace segmenta::detail;

namespace {

// n rows: two numeric columns (with missing cells), `cats` categorical columns of
// `levels` levels (with missing cells); rows repeat every `period` rows so that
// representatives have exact ties.
Table table(std::size_t n, std::size_t cats, std::size_t levels, std::size_t period) {
  Rng rng(7);
  std::vector<double> a(period), b(period);
  std::vector<std::vector<std::string>> c(cats, std::vector<std::string>(period));
  for (std::size_t i = 0; i < period; ++i) {
    a[i] = i % 37 == 5 ? std::nan("") : rng.normal() * 10 + static_cast<double>(i % 3) * 20;
    b[i] = std::exp(rng.normal());
    for (std::size_t j = 0; j < cats; ++j)
      c[j][i] = i % 41 == 7 ? "" : "L" + std::to_string(rng.below(levels));
  }
  std::vector<double> va(n), vb(n);
  std::vector<std::vector<std::string>> vc(cats, std::vector<std::string>(n));
  for (std::size_t i = 0; i < n; ++i) {
    va[i] = a[i % period];
    vb[i] = b[i % period];
    for (std::size_t j = 0; j < cats; ++j) vc[j][i] = c[j][i % period];
  }
  std::vector<Column> cols;
  cols.push_back(test::numeric("a", va));
  cols.push_back(test::numeric("b", vb));
  for (std::size_t j = 0; j < cats; ++j) cols.push_back(test::categorical("c" + std::to_string(j), vc[j]));
  return Table("t", std::move(cols));
}

// Every row but every 9th (the "outliers").
std::vector<std::size_t> clustered(std::size_t n) {
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < n; ++i)
    if (i % 9 != 4) rows.push_back(i);
  return rows;
}

bool same_bits(double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; }

// Labels from the first numeric column's thirds and the first category, k segments.
std::vector<std::int32_t> labels_of(const MatrixD& z, std::size_t k) {
  std::vector<std::int32_t> l(z.rows());
  for (std::size_t i = 0; i < z.rows(); ++i) {
    const double v = z(i, 0) + 0.5 * z(i, 3);
    l[i] = static_cast<std::int32_t>(static_cast<std::size_t>(std::fabs(v) * 7.0) % k);
  }
  return l;
}

struct Space {
  MixedPlan plan;
  std::vector<std::size_t> rows;
  MatrixD z;  // the materialised space of the clustered rows
  std::shared_ptr<MixedRows> mixed;
};

Space space(const Table& t, double gamma) {
  Space s;
  s.rows = clustered(t.rows());
  s.plan = fit_mixed_plan(t, s.rows);
  const MatrixD all = mixed_space(s.plan, s.plan.transform(t), gamma);
  s.z = take_rows<double, std::size_t>(all.view(), s.rows);
  s.mixed = std::make_shared<MixedRows>(s.plan, s.plan.transform(t, s.rows));
  s.mixed->set_gamma(gamma);
  return s;
}

}  // namespace

TEST(MixedRows, MakesTheRowsOfTheMaterialisedSpace) {
  const Table t = table(3000, 3, 5, 1000);
  const Space s = space(t, 0.73);
  ASSERT_EQ(s.mixed->rows(), s.z.rows());
  ASSERT_EQ(s.mixed->width(), s.z.cols());
  const MatrixD made = s.mixed->all();
  EXPECT_EQ(std::memcmp(made.data(), s.z.data(), s.z.size() * sizeof(double)), 0);
  const std::vector<std::size_t> pick{5, 0, 2999 - 400, 17};
  const MatrixD some = s.mixed->take(pick);
  for (std::size_t r = 0; r < pick.size(); ++r)
    EXPECT_EQ(std::memcmp(some.row(r), s.z.row(pick[r]), s.z.cols() * sizeof(double)), 0) << r;
}

// Wide enough (more than 32 columns) for the GEMM kernels, and more rows than one
// panel of the estimate (32768 units), so that panels roll over.
TEST(MixedRows, CriteriaRowByRowEqualTheMatrixBitForBit) {
  for (const std::size_t cats : {2u, 8u}) {  // 2: direct kernels (p <= 32); 8: GEMM
    const Table t = table(45000, cats, 6, 45000);
    const Space s = space(t, 1.9);
    const std::vector<std::int32_t> labels = labels_of(s.z, 4);
    const SweepPoint full = score_labels<double>(s.z.view(), labels, 500, 11);
    const SweepPoint made = score_labels_rows(s.mixed->source(), labels, 500, 11);
    EXPECT_GT(full.silhouette_rows, 400u);
    EXPECT_TRUE(same_bits(full.silhouette, made.silhouette)) << cats << ": " << full.silhouette << " " << made.silhouette;
    EXPECT_TRUE(same_bits(full.silhouette_se, made.silhouette_se)) << cats;
    EXPECT_TRUE(same_bits(full.calinski_harabasz, made.calinski_harabasz)) << cats;
    EXPECT_TRUE(same_bits(full.davies_bouldin, made.davies_bouldin)) << cats;
    EXPECT_EQ(full.sizes, made.sizes);
  }
}

// Each sampled row's silhouette against a naive double loop over every row.
TEST(SilhouetteEstimate, PanelsOfRowsGiveEachSampledRowsExactSilhouette) {
  for (const std::size_t cats : {2u, 8u}) {
    const Table t = table(40000, cats, 6, 40000);
    const Space s = space(t, 1.2);
    const std::vector<std::int32_t> labels = labels_of(s.z, 3);
    std::vector<SilhouetteSampleRow> sampled;
    const SilhouetteEstimate e = silhouette_estimate_rows<double>(s.mixed->source(), labels, 40, 5, &sampled);
    ASSERT_EQ(sampled.size(), e.rows);
    const std::size_t n = s.z.rows(), p = s.z.cols();
    std::vector<std::size_t> count(3, 0);
    for (auto l : labels) ++count[static_cast<std::size_t>(l)];
    for (const auto& sr : sampled) {
      std::vector<double> sum(3, 0.0);
      for (std::size_t j = 0; j < n; ++j) {
        double d2 = 0;
        for (std::size_t f = 0; f < p; ++f) d2 += (s.z(sr.row, f) - s.z(j, f)) * (s.z(sr.row, f) - s.z(j, f));
        sum[static_cast<std::size_t>(labels[j])] += std::sqrt(d2);
      }
      const auto own = static_cast<std::size_t>(labels[sr.row]);
      const double a = sum[own] / static_cast<double>(count[own] - 1);
      double b = INFINITY;
      for (std::size_t c = 0; c < 3; ++c)
        if (c != own) b = std::min(b, sum[c] / static_cast<double>(count[c]));
      EXPECT_NEAR(sr.value, (b - a) / std::max(a, b), 1e-11) << cats << " row " << sr.row;
    }
  }
}

// Representatives read row by row: the rows representative_rows picks from the
// materialised space of every table row, exact ties (repeated rows) included.
TEST(MixedRows, RepresentativesEqualThoseOfTheMaterialisedSpace) {
  const Table t = table(6000, 3, 4, 60);  // every row repeated 100 times: ties
  const Space s = space(t, 0.5);
  const std::vector<std::int32_t> own = labels_of(s.z, 5);
  std::vector<std::int32_t> labels(t.rows(), -1);
  MatrixD every(t.rows(), s.z.cols(), 0.0);  // rows not clustered: never read
  for (std::size_t r = 0; r < s.rows.size(); ++r) {
    labels[s.rows[r]] = own[r];
    std::copy(s.z.row(r), s.z.row(r) + s.z.cols(), every.row(s.rows[r]));
  }
  const auto expected = representative_rows(every.view(), labels, 5);
  const MixedRows& z = *s.mixed;
  const FeatureRow source = [&](std::size_t row, double* dst) {
    z.fill(static_cast<std::size_t>(std::lower_bound(s.rows.begin(), s.rows.end(), row) - s.rows.begin()), dst);
  };
  const auto got = representative_rows_of(z.width(), source, labels, 5);
  EXPECT_EQ(got, expected);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].size(), 5u);
}
