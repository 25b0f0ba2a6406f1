// The mixed plan (k-prototypes' view of a table): medians and the power transform
// fitted on the given rows, categories coded by their sorted levels, missing values a
// level of their own when the training rows had any, unseen levels -1 in new tables.
#include <gtest/gtest.h>

#include <cmath>

#include "segmenta/prep.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

Table training() {
  std::vector<Column> cols;
  cols.push_back(test::numeric("age", {30, 40, std::nan(""), 50, 1000}));
  cols.push_back(test::categorical("job", {"b", "a", "c", "", "a"}));
  cols.push_back(test::numeric("balance", {1, 2, 3, 4, 5}));
  cols.push_back(test::categorical("flag", {"yes", "no", "no", "yes", "no"}, ColumnType::binary));
  return Table("train", std::move(cols));
}

}  // namespace

TEST(MixedPlan, FitsOnTheGivenRowsAndCodesBySortedLevels) {
  const Table t = training();
  const std::vector<std::size_t> rows{0, 1, 2, 3};  // row 4 (age 1000) is an outlier left out
  const MixedPlan plan = fit_mixed_plan(t, rows);
  EXPECT_EQ(plan.numeric_names, (std::vector<std::string>{"age", "balance"}));
  EXPECT_EQ(plan.categorical_names, (std::vector<std::string>{"job", "flag"}));
  // Median of the fitted rows' present ages: 30, 40, 50.
  EXPECT_EQ(plan.impute[0], 40.0);
  EXPECT_EQ(plan.impute[1], 2.5);
  EXPECT_EQ(plan.levels[0], (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(plan.missing_level[0]);
  EXPECT_FALSE(plan.missing_level[1]);
  EXPECT_EQ(plan.n_categories(), (std::vector<std::int32_t>{4, 2}));

  const MixedPlan::Data d = plan.transform(t);
  ASSERT_EQ(d.codes.rows(), 5u);
  EXPECT_EQ(d.codes(0, 0), 1);  // b
  EXPECT_EQ(d.codes(1, 0), 0);  // a
  EXPECT_EQ(d.codes(3, 0), 3);  // missing: the extra level
  EXPECT_EQ(d.codes(0, 1), 1);  // yes
  // The numeric part is the power transform (fitted on the rows) of the imputed values.
  MatrixD raw(4, 2);
  const double ages[] = {30, 40, 40, 50};
  for (std::size_t i = 0; i < 4; ++i) {
    raw(i, 0) = ages[i];
    raw(i, 1) = static_cast<double>(i + 1);
  }
  const MatrixD expected = fit_power_transformer(raw.view()).transform(raw.view());
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 2; ++j) EXPECT_EQ(d.numeric(i, j), expected(i, j)) << i << "," << j;
  // Standardised on the fitted rows: their mean is 0.
  double mean = 0;
  for (std::size_t i = 0; i < 4; ++i) mean += d.numeric(i, 1);
  EXPECT_NEAR(mean, 0.0, 1e-12);
}

TEST(MixedPlan, NewTablesAreReadByColumnName) {
  const Table t = training();
  const std::vector<std::size_t> rows{0, 1, 2, 3, 4};
  const MixedPlan plan = fit_mixed_plan(t, rows);
  std::vector<Column> cols;
  cols.push_back(test::categorical("flag", {"no", ""}, ColumnType::binary));
  cols.push_back(test::numeric("balance", {2, std::nan("")}));
  cols.push_back(test::categorical("job", {"z", ""}));
  cols.push_back(test::numeric("age", {30, 40}));
  const MixedPlan::Data d = plan.transform(Table("new", std::move(cols)));
  EXPECT_EQ(d.codes(0, 0), -1);  // unseen job
  EXPECT_EQ(d.codes(1, 0), 3);   // missing job: the training rows had missing jobs
  EXPECT_EQ(d.codes(0, 1), 0);   // no
  EXPECT_EQ(d.codes(1, 1), -1);  // missing flag: no such level at fit
  // The missing balance is imputed with the fitted median (3).
  const MixedPlan::Data train = plan.transform(t);
  EXPECT_EQ(d.numeric(1, 1), train.numeric(2, 1));
  std::vector<Column> lacking;
  lacking.push_back(test::numeric("age", {1}));
  EXPECT_THROW(plan.transform(Table("lacking", std::move(lacking))), InvalidArgument);
}
