// The sane variant (PowerTransformer on raw age and balance, OrdinalEncoder on the
// six string columns) and the standard preset's numeric part, against
// ../shared/golden/prep/sane_*.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "segmenta/io.hpp"
#include "segmenta/prep.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

const std::vector<std::string> kStrings = {"job", "marital", "education", "default", "housing", "loan"};

const Table& bank8() {
  static const Table t = [] {
    CsvOptions o;
    o.columns = "0:8";
    return read_csv(test::bank_full(), o);
  }();
  return t;
}

MatrixD raw_age_balance() {
  const Table& t = bank8();
  return t.numeric_matrix({t.index_of("age"), t.index_of("balance")});
}

double rel(double a, double b) { return std::abs(a - b) / std::abs(b); }

double max_abs_diff(ViewD got, std::size_t gj, ViewD want, std::size_t wj) {
  double worst = 0.0;
  for (std::size_t i = 0; i < want.rows(); ++i) worst = std::max(worst, std::abs(got(i, gj) - want(i, wj)));
  return worst;
}

}  // namespace

TEST(PrepSaneGolden, PowerTransformerOnRawAgeBalance) {
  const auto g = test::golden_json("prep/sane_params.json");
  const auto lambdas = test::json_vector(g["lambdas"]);
  const auto mean = test::json_vector(g["mean"]);
  const auto scale = test::json_vector(g["scale"]);
  const MatrixD x = raw_age_balance();
  Diagnostics diag;
  const PowerTransformerModel m = fit_power_transformer(x, {}, &diag, {"age", "balance"});
  EXPECT_TRUE(diag.empty());
  for (std::size_t j = 0; j < 2; ++j) {
    EXPECT_LE(rel(m.lambdas[j], lambdas[j]), 1e-6) << j << " " << m.lambdas[j] << " vs " << lambdas[j];
    EXPECT_LE(rel(m.scaler.mean[j], mean[j]), 1e-6) << j;
    EXPECT_LE(rel(m.scaler.scale[j], scale[j]), 1e-6) << j;
  }
  const MatrixD want = test::golden_matrix("prep/sane_transformed.csv", {"age", "balance"});
  const MatrixD got = m.transform(x);
  EXPECT_LE(max_abs_diff(got, 0, want, 0), 1e-6);
  EXPECT_LE(max_abs_diff(got, 1, want, 1), 1e-6);
}

TEST(PrepSaneGolden, SavedLambdasReproduceTo1e12) {
  const auto g = test::golden_json("prep/sane_params.json");
  const MatrixD x = raw_age_balance();
  PowerTransformerModel m;
  m.lambdas = test::json_vector(g["lambdas"]);
  m.standardize = false;
  m.scaler = fit_standard_scaler(m.transform(x));
  m.standardize = true;
  const auto mean = test::json_vector(g["mean"]);
  const auto scale = test::json_vector(g["scale"]);
  for (std::size_t j = 0; j < 2; ++j) {
    EXPECT_LE(rel(m.scaler.mean[j], mean[j]), 1e-12) << j;
    EXPECT_LE(rel(m.scaler.scale[j], scale[j]), 1e-12) << j;
  }
  const MatrixD want = test::golden_matrix("prep/sane_transformed.csv", {"age", "balance"});
  const MatrixD got = m.transform(x);
  EXPECT_LE(max_abs_diff(got, 0, want, 0), 1e-12);
  EXPECT_LE(max_abs_diff(got, 1, want, 1), 1e-12);
}

TEST(PrepSaneGolden, OrdinalEncoderOnStringColumns) {
  const auto g = test::golden_json("prep/sane_params.json");
  const MatrixD codes = test::golden_matrix("prep/sane_transformed.csv", kStrings);
  for (std::size_t k = 0; k < kStrings.size(); ++k) {
    const Column& col = bank8().column(bank8().index_of(kStrings[k]));
    const OrdinalEncoding e = fit_ordinal(col);
    EXPECT_EQ(e.categories, g["categories"][kStrings[k]].get<std::vector<std::string>>()) << kStrings[k];
    const std::vector<double> mine = e.transform(col);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < codes.rows(); ++i) mismatches += mine[i] != codes(i, k);
    EXPECT_EQ(mismatches, 0u) << kStrings[k];
  }
}

// The standard preset power-transforms the numeric columns exactly like the sane
// variant and one-hot encodes the strings (one indicator for two-valued columns).
TEST(PrepSaneGolden, StandardPresetMatchesSaneNumericsAndCodes) {
  const PrepResult r = fit_prep(bank8());
  const std::vector<std::string> names = {
      "age",           "job_admin.",        "job_blue-collar",  "job_entrepreneur",    "job_housemaid",
      "job_management", "job_retired",      "job_self-employed", "job_services",       "job_student",
      "job_technician", "job_unemployed",   "job_unknown",      "marital_divorced",    "marital_married",
      "marital_single", "education_primary", "education_secondary", "education_tertiary", "education_unknown",
      "default_yes",    "balance",          "housing_yes",      "loan_yes"};
  ASSERT_EQ(r.model.feature_names, names);
  EXPECT_TRUE(r.diagnostics.empty());
  const MatrixD want = test::golden_matrix("prep/sane_transformed.csv", {"age", "balance"});
  EXPECT_LE(max_abs_diff(r.features, 0, want, 0), 1e-6);
  EXPECT_LE(max_abs_diff(r.features, 21, want, 1), 1e-6);

  // Every indicator is a standardized 0/1 column: positive exactly where the sane
  // ordinal code names its category.
  const MatrixD codes = test::golden_matrix("prep/sane_transformed.csv", kStrings);
  const std::vector<std::pair<std::size_t, std::size_t>> spans = {{1, 12}, {13, 3}, {16, 4}};  // job, marital, education
  for (std::size_t s = 0; s < spans.size(); ++s) {
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < codes.rows(); ++i)
      for (std::size_t k = 0; k < spans[s].second; ++k)
        mismatches += (r.features(i, spans[s].first + k) > 0) != (codes(i, s) == static_cast<double>(k));
    EXPECT_EQ(mismatches, 0u) << kStrings[s];
  }
  const std::vector<std::pair<std::size_t, std::size_t>> binary = {{20, 3}, {22, 4}, {23, 5}};  // feature, code column
  for (auto [f, c] : binary) {
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < codes.rows(); ++i) mismatches += (r.features(i, f) > 0) != (codes(i, c) == 1.0);
    EXPECT_EQ(mismatches, 0u) << names[f];
  }
  // Standardized: mean 0, population standard deviation 1 per feature.
  for (std::size_t j = 0; j < r.features.cols(); ++j) {
    double s = 0.0, s2 = 0.0;
    for (std::size_t i = 0; i < r.features.rows(); ++i) s += r.features(i, j);
    const double mean = s / static_cast<double>(r.features.rows());
    for (std::size_t i = 0; i < r.features.rows(); ++i) s2 += (r.features(i, j) - mean) * (r.features(i, j) - mean);
    EXPECT_NEAR(mean, 0.0, 1e-12) << names[j];
    EXPECT_NEAR(s2 / static_cast<double>(r.features.rows()), 1.0, 1e-10) << names[j];
  }
  const MatrixD again = r.model.transform(bank8());
  EXPECT_EQ(std::memcmp(again.data(), r.features.data(), again.size() * sizeof(double)), 0);
}
