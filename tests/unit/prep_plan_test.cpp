// The column plan (fit_prep / PrepModel::transform) on small hand-made tables,
// checked against the building blocks composed by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "segmenta/prep.hpp"
#include "support.hpp"

using namespace segmenta;

using test::categorical;
using test::numeric;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// 10 customers: id, a skewed amount with one missing value, a constant, a binary
// and a 3-level categorical with one missing value.
Table customers() {
  return Table("customers.csv",
               {categorical("customer_id", {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}, ColumnType::id),
                numeric("amount", {12, 3, kNaN, 150, 7, 7, 40, 1, 0, 22}),
                numeric("flat", {5, 5, 5, 5, 5, 5, 5, 5, 5, 5}),
                categorical("loan", {"no", "yes", "no", "no", "yes", "no", "no", "no", "yes", "no"}, ColumnType::binary),
                categorical("tier", {"gold", "silver", "", "bronze", "gold", "gold", "silver", "bronze", "gold", "silver"})});
}

// (v - mean) / population std over a column, or 0 for a constant one.
std::vector<double> standardize(const std::vector<double>& v) {
  long double s = 0;
  for (double x : v) s += x;
  const long double mean = s / v.size();
  long double s2 = 0;
  for (double x : v) s2 += (x - mean) * (x - mean);
  const long double sd = std::sqrt(s2 / v.size());
  std::vector<double> out;
  for (double x : v) out.push_back(sd == 0 ? 0.0 : static_cast<double>((x - mean) / sd));
  return out;
}

std::vector<double> column_of(const MatrixD& m, std::size_t j) {
  std::vector<double> v(m.rows());
  for (std::size_t i = 0; i < m.rows(); ++i) v[i] = m(i, j);
  return v;
}

bool has_code(const Diagnostics& d, const std::string& code) {
  return std::any_of(d.items().begin(), d.items().end(), [&](const Diagnostic& x) { return x.code == code; });
}

bool same_bits(const MatrixD& a, const MatrixD& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

TEST(PrepStandard, HandMadeTable) {
  const PrepResult r = fit_prep(customers());
  const std::vector<std::string> names = {"amount", "flat", "loan_yes", "tier_bronze", "tier_gold", "tier_silver", "tier_nan"};
  ASSERT_EQ(r.model.feature_names, names);
  ASSERT_EQ(r.features.rows(), 10u);
  EXPECT_EQ(r.model.blocks[0].kind, FeatureBlock::Kind::excluded);
  EXPECT_EQ(r.model.blocks[1].kind, FeatureBlock::Kind::power);
  EXPECT_EQ(r.model.blocks[4].kind, FeatureBlock::Kind::onehot);
  EXPECT_EQ(r.model.blocks[4].first_feature, 3u);
  EXPECT_EQ(r.model.blocks[4].n_features, 4u);

  // amount: the median of the 9 present values (7) fills the gap, then Yeo-Johnson
  // with the lambda fitted on the imputed column, then standardization.
  EXPECT_EQ(r.model.blocks[1].impute, 7.0);
  std::vector<double> amount = {12, 3, 7, 150, 7, 7, 40, 1, 0, 22};
  const double lambda = fit_yeo_johnson_lambda(amount.data(), amount.size());
  EXPECT_EQ(r.model.power.lambdas[0], lambda);
  std::vector<double> yj;
  for (double a : amount) yj.push_back(yeo_johnson(a, lambda));
  const auto want_amount = standardize(yj);
  const auto got_amount = column_of(r.features, 0);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_NEAR(got_amount[i], want_amount[i], 1e-12) << i;

  // flat: lambda 1, exactly 0.
  EXPECT_EQ(r.model.power.lambdas[1], 1.0);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(r.features(i, 1), 0.0);

  // Indicators: lambda 1, standardized 0/1 columns.
  const std::vector<std::vector<double>> indicators = {
      {0, 1, 0, 0, 1, 0, 0, 0, 1, 0},  // loan_yes
      {0, 0, 0, 1, 0, 0, 0, 1, 0, 0},  // tier_bronze
      {1, 0, 0, 0, 1, 1, 0, 0, 1, 0},  // tier_gold
      {0, 1, 0, 0, 0, 0, 1, 0, 0, 1},  // tier_silver
      {0, 0, 1, 0, 0, 0, 0, 0, 0, 0},  // tier_nan
  };
  for (std::size_t k = 0; k < indicators.size(); ++k) {
    EXPECT_EQ(r.model.power.lambdas[2 + k], 1.0);
    const auto want = standardize(indicators[k]);
    for (std::size_t i = 0; i < 10; ++i) EXPECT_NEAR(r.features(i, 2 + k), want[i], 1e-12) << names[2 + k] << " " << i;
  }

  EXPECT_TRUE(has_code(r.diagnostics, "imputed_missing"));
  EXPECT_TRUE(has_code(r.diagnostics, "constant_column"));
  EXPECT_TRUE(has_code(r.diagnostics, "excluded_column"));
  EXPECT_TRUE(has_code(r.diagnostics, "missing_indicator"));
}

TEST(PrepStandard, TransformOfTrainingTableEqualsFitOutput) {
  const PrepResult r = fit_prep(customers());
  EXPECT_TRUE(same_bits(r.model.transform(customers()), r.features));
  PrepParams p;
  p.preset = PrepPreset::blog;
  Table no_missing = customers().take_rows({0, 1, 3, 4, 5, 6, 7, 8, 9});
  const PrepResult b = fit_prep(no_missing, p);
  EXPECT_TRUE(same_bits(b.model.transform(no_missing), b.features));
}

TEST(PrepStandard, NewRowsUseTrainingParameters) {
  const PrepResult r = fit_prep(customers());
  // A new customer with a missing amount, an unseen tier and a reordered table.
  Table fresh("new.csv", {categorical("tier", {"platinum", "gold"}), numeric("flat", {9, 5}),
                          numeric("amount", {kNaN, 12}), categorical("loan", {"yes", "no"})});
  const MatrixD z = r.model.transform(fresh);
  ASSERT_EQ(z.rows(), 2u);
  // Missing amount -> the training median 7, unseen tier -> the tier_nan indicator.
  Table as_training("t", {categorical("customer_id", {"x"}, ColumnType::id), numeric("amount", {7}), numeric("flat", {5}),
                          categorical("loan", {"yes"}), categorical("tier", {""})});
  const MatrixD w = r.model.transform(as_training);
  for (std::size_t j = 0; j < z.cols(); ++j)
    if (j != 1) {
      EXPECT_EQ(z(0, j), w(0, j)) << j;
    }
  EXPECT_EQ(z(0, 1), 4.0);  // flat: (9 - 5) / scale 1
  // The second new row equals training row 0.
  for (std::size_t j = 0; j < z.cols(); ++j) EXPECT_EQ(z(1, j), r.features(0, j)) << j;

  PrepParams strict;
  strict.unknown = UnknownPolicy::error;
  const PrepResult s = fit_prep(customers(), strict);
  EXPECT_THROW(s.model.transform(fresh), InvalidArgument);
  Table missing_column("m", {numeric("amount", {1})});
  EXPECT_THROW(r.model.transform(missing_column), InvalidArgument);
  Table changed_kind("k", {numeric("amount", {1}), numeric("flat", {5}), numeric("loan", {1}), categorical("tier", {"gold"})});
  EXPECT_THROW(r.model.transform(changed_kind), InvalidArgument);
  EXPECT_THROW(PrepModel{}.transform(fresh), NotFitted);
}

TEST(PrepBlog, OrdinalCodesThenPowerTransformer) {
  Table t("t", {numeric("age", {30, 25, 30, 60, 18, 25, 41}),
                categorical("job", {"b", "a", "c", "a", "b", "b", "c"}),
                categorical("id", {"1", "2", "3", "4", "5", "6", "7"}, ColumnType::id)});
  PrepParams p;
  p.preset = PrepPreset::blog;
  const PrepResult r = fit_prep(t, p);
  ASSERT_EQ(r.model.feature_names, (std::vector<std::string>{"age", "job"}));
  EXPECT_TRUE(has_code(r.diagnostics, "excluded_column"));
  MatrixD codes(7, 2);
  const std::vector<double> age = {2, 1, 2, 4, 0, 1, 3}, job = {1, 0, 2, 0, 1, 1, 2};
  for (std::size_t i = 0; i < 7; ++i) {
    codes(i, 0) = age[i];
    codes(i, 1) = job[i];
  }
  const PowerTransformerModel m = fit_power_transformer(codes);
  EXPECT_EQ(r.model.power.lambdas, m.lambdas);
  EXPECT_TRUE(same_bits(r.features, m.transform(codes)));

  // An unseen value: NaN features under the missing policy, an error otherwise.
  Table fresh("f", {numeric("age", {99, 30}), categorical("job", {"a", "zzz"})});
  const MatrixD z = r.model.transform(fresh);
  EXPECT_TRUE(std::isnan(z(0, 0)));
  EXPECT_FALSE(std::isnan(z(0, 1)));
  EXPECT_FALSE(std::isnan(z(1, 0)));
  EXPECT_TRUE(std::isnan(z(1, 1)));
  p.unknown = UnknownPolicy::error;
  EXPECT_THROW(fit_prep(t, p).model.transform(fresh), InvalidArgument);
}

TEST(PrepBlog, MissingValuesAreRejectedWithReason) {
  PrepParams p;
  p.preset = PrepPreset::blog;
  try {
    fit_prep(customers(), p);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'amount'"), std::string::npos) << m;
    EXPECT_NE(m.find("k-means"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  }
}

TEST(PrepPlan, ExclusionsAndBadInputs) {
  std::vector<std::string> many;
  for (int i = 0; i < 12; ++i) many.push_back(std::string(1, static_cast<char>('a' + i % 6)));
  Table t("t", {categorical("city", many), numeric("x", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}),
                numeric("empty", std::vector<double>(12, kNaN))});
  PrepParams p;
  p.max_onehot_levels = 5;
  const PrepResult r = fit_prep(t, p);
  EXPECT_EQ(r.model.feature_names, (std::vector<std::string>{"x"}));
  EXPECT_TRUE(has_code(r.diagnostics, "too_many_levels"));
  EXPECT_TRUE(has_code(r.diagnostics, "empty_column"));
  EXPECT_EQ(r.model.transform(t).cols(), 1u);

  // Data that cannot be prepared is a data error (exit 3), naming the table, not fit_prep.
  EXPECT_THROW(fit_prep(Table()), DataError);
  try {
    fit_prep(t.select({0}), p);  // nothing usable left
    ADD_FAILURE() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()).find("fit_prep"), std::string::npos) << e.what();
  }
  p.max_onehot_levels = 0;
  EXPECT_THROW(fit_prep(t, p), InvalidArgument);
}

TEST(PrepPlan, SameResultWithOneAndTwoThreads) {
  set_num_threads(1);
  const PrepResult one = fit_prep(customers());
  set_num_threads(2);
  const PrepResult two = fit_prep(customers());
  set_num_threads(0);
  EXPECT_EQ(one.model.power.lambdas, two.model.power.lambdas);
  EXPECT_TRUE(same_bits(one.features, two.features));
}
