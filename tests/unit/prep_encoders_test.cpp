// OrdinalEncoder and one-hot encoder semantics on hand-made columns.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "segmenta/prep.hpp"
#include "support.hpp"

using namespace segmenta;

using test::categorical;
using test::numeric;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST(OrdinalEncoder, NumericColumnsUseNumericOrder) {
  // scikit-learn: ints [30, 25, 30, 60, 18] -> categories [18, 25, 30, 60], codes [2, 1, 2, 3, 0].
  const Column c = numeric("age", {30, 25, 30, 60, 18});
  const OrdinalEncoding e = fit_ordinal(c);
  EXPECT_TRUE(e.numeric);
  EXPECT_EQ(e.number_categories, (std::vector<double>{18, 25, 30, 60}));
  EXPECT_EQ(e.transform(c), (std::vector<double>{2, 1, 2, 3, 0}));
  // 9 < 10 numerically although "10" < "9" as text.
  const Column d = numeric("n", {10, 9, -1.5, 100});
  EXPECT_EQ(fit_ordinal(d).transform(d), (std::vector<double>{2, 1, 0, 3}));
}

TEST(OrdinalEncoder, StringsUseCodePointOrder) {
  const Column c = categorical("job", {"unknown", "b", "admin.", "B", "b", "\xc3\xa9t\xc3\xa9"});
  const OrdinalEncoding e = fit_ordinal(c);
  EXPECT_FALSE(e.numeric);
  EXPECT_EQ(e.categories, (std::vector<std::string>{"B", "admin.", "b", "unknown", "\xc3\xa9t\xc3\xa9"}));
  EXPECT_EQ(e.transform(c), (std::vector<double>{3, 2, 1, 0, 2, 4}));
}

TEST(OrdinalEncoder, MissingValuesAndUnusedLevels) {
  const Column c = categorical("m", {"x", "", "y", "x"});
  const OrdinalEncoding e = fit_ordinal(c);
  EXPECT_EQ(e.size(), 2u);
  const auto codes = e.transform(c);
  EXPECT_EQ(codes[0], 0.0);
  EXPECT_TRUE(std::isnan(codes[1]));
  EXPECT_EQ(codes[2], 1.0);
  const Column n = numeric("v", {kNaN, 2.0, 1.0});
  const OrdinalEncoding en = fit_ordinal(n);
  EXPECT_EQ(en.number_categories, (std::vector<double>{1.0, 2.0}));
  EXPECT_TRUE(std::isnan(en.transform(n)[0]));
  // A level no row uses any more (a table cut from a bigger one) is not a category.
  Table t("t", {categorical("k", {"a", "b", "c"})});
  const Table sub = t.take_rows({0, 2});
  EXPECT_EQ(fit_ordinal(sub.column(0)).categories, (std::vector<std::string>{"a", "c"}));
}

TEST(OrdinalEncoder, UnknownPolicies) {
  const OrdinalEncoding e = fit_ordinal(categorical("job", {"a", "b"}));
  const Column fresh = categorical("job", {"b", "zzz", "a"});
  EXPECT_THROW(e.transform(fresh, UnknownPolicy::error), InvalidArgument);
  const auto codes = e.transform(fresh, UnknownPolicy::missing);
  EXPECT_EQ(codes[0], 1.0);
  EXPECT_TRUE(std::isnan(codes[1]));
  EXPECT_EQ(codes[2], 0.0);
  const OrdinalEncoding en = fit_ordinal(numeric("age", {1, 2}));
  EXPECT_THROW(en.transform(numeric("age", {1, 3})), InvalidArgument);
  EXPECT_TRUE(std::isnan(en.transform(numeric("age", {1, 3}), UnknownPolicy::missing)[1]));
  // Another column name or kind is a caller error.
  EXPECT_THROW(e.transform(categorical("other", {"a"})), InvalidArgument);
  EXPECT_THROW(en.transform(categorical("age", {"1"})), InvalidArgument);
}

TEST(OneHotEncoder, NamesAndIndicators) {
  const Column c = categorical("marital", {"single", "married", "divorced", "married"});
  const OneHotEncoding e = fit_onehot(c);
  EXPECT_EQ(e.feature_names(), (std::vector<std::string>{"marital_divorced", "marital_married", "marital_single"}));
  ASSERT_EQ(e.size(), 3u);
  std::vector<double> out(4 * 5, -1.0);  // row stride 5 > 3: the padding stays untouched
  e.transform(c, out.data(), 5);
  const std::vector<std::vector<double>> want = {{0, 0, 1}, {0, 1, 0}, {1, 0, 0}, {0, 1, 0}};
  for (std::size_t i = 0; i < 4; ++i) {
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(out[i * 5 + k], want[i][k]) << i << " " << k;
    EXPECT_EQ(out[i * 5 + 3], -1.0);
  }
  EXPECT_THROW(e.transform(c, out.data(), 2), InvalidArgument);
  EXPECT_THROW(fit_onehot(numeric("x", {1, 2})), InvalidArgument);
}

TEST(OneHotEncoder, DropFirstAndMissingIndicator) {
  const Column c = categorical("loan", {"yes", "", "no", "yes"});
  OneHotEncoding e = fit_onehot(c);
  e.drop_first = true;
  e.missing_indicator = true;
  EXPECT_EQ(e.feature_names(), (std::vector<std::string>{"loan_yes", "loan_nan"}));
  std::vector<double> out(4 * 2);
  e.transform(c, out.data(), 2);
  EXPECT_EQ(out, (std::vector<double>{1, 0, 0, 1, 0, 0, 1, 0}));
  // Without a missing indicator a missing value is all zeros.
  OneHotEncoding plain = fit_onehot(c);
  std::vector<double> o2(4 * 2);
  plain.transform(c, o2.data(), 2);
  EXPECT_EQ(o2, (std::vector<double>{0, 1, 0, 0, 1, 0, 0, 1}));
}

TEST(OneHotEncoder, UnknownPolicies) {
  OneHotEncoding e = fit_onehot(categorical("c", {"a", "b", "c"}));
  const Column fresh = categorical("c", {"b", "new"});
  std::vector<double> out(2 * 4, 7.0);
  EXPECT_THROW(e.transform(fresh, out.data(), 3, UnknownPolicy::error), InvalidArgument);
  e.transform(fresh, out.data(), 3, UnknownPolicy::missing);
  EXPECT_EQ(std::vector<double>(out.begin(), out.begin() + 6), (std::vector<double>{0, 1, 0, 0, 0, 0}));
  e.missing_indicator = true;  // an unseen value then lands in the missing indicator
  e.transform(fresh, out.data(), 4, UnknownPolicy::missing);
  EXPECT_EQ(out, (std::vector<double>{0, 1, 0, 0, 0, 0, 0, 1}));
}
