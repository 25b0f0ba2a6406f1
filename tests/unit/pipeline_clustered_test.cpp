// ClusteredCommon: the clustered rows of the common feature matrix in place, without a
// copy, and every row back bit for bit afterwards.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "pipeline/context.hpp"

using namespace segmenta;

namespace {

MatrixD numbered(std::size_t n, std::size_t p) {
  MatrixD x(n, p);
  Rng rng(17);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = rng.normal() * 1e3 + static_cast<double>(i) * 1e-7;
  x.data()[p + 1] = -0.0;
  x.data()[2 * p] = std::numeric_limits<double>::quiet_NaN();
  return x;
}

bool same_bits(ViewD a, ViewD b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::size_t i = 0; i < a.rows(); ++i)
    if (std::memcmp(a.row(i), b.row(i), a.cols() * sizeof(double)) != 0) return false;
  return true;
}

void check(std::size_t n, std::size_t p, const std::vector<std::size_t>& rows) {
  RunParams params;
  detail::RunContext ctx(params);
  ctx.prep.features = numbered(n, p);
  ctx.rows = rows;
  const MatrixD original = ctx.prep.features;
  const MatrixD copy = ctx.common_clustered();
  {
    const detail::ClusteredCommon common(ctx);
    EXPECT_TRUE(same_bits(common.view(), copy.view())) << n << " rows, " << rows.size() << " clustered";
  }
  EXPECT_TRUE(same_bits(ctx.prep.features.view(), original.view())) << n << " rows, " << rows.size() << " clustered";
}

}  // namespace

TEST(ClusteredCommon, GivesTheClusteredRowsInPlaceAndPutsEveryRowBack) {
  const std::size_t n = 41, p = 5;
  std::vector<std::size_t> all(n), none, first{0}, last{n - 1}, inner, every_third, outliers_first;
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  for (std::size_t i = 1; i + 1 < n; ++i) inner.push_back(i);
  for (std::size_t i = 0; i < n; i += 3) every_third.push_back(i);
  for (std::size_t i = 4; i < n; ++i) outliers_first.push_back(i);
  for (const auto& rows : {all, none, first, last, inner, every_third, outliers_first}) check(n, p, rows);
  // A seeded draw of 90 % of the rows, as the outlier policy leaves them.
  Rng rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::size_t> rows = rng.sample_without_replacement(n, n * 9 / 10);
    std::sort(rows.begin(), rows.end());
    check(n, p, rows);
  }
}

TEST(ClusteredCommon, PutsTheRowsBackWhenTheWorkInBetweenThrows) {
  RunParams params;
  detail::RunContext ctx(params);
  ctx.prep.features = numbered(30, 4);
  ctx.rows = {1, 2, 5, 8, 13, 21, 29};
  const MatrixD original = ctx.prep.features;
  EXPECT_THROW(
      {
        const detail::ClusteredCommon common(ctx);
        ASSERT_EQ(common.view().rows(), 7u);
        throw std::runtime_error("fit failed");
      },
      std::runtime_error);
  EXPECT_TRUE(same_bits(ctx.prep.features.view(), original.view()));
}
