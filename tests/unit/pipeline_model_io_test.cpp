#include <gtest/gtest.h>

#include "pipeline/model_io.hpp"
#include "segmenta/io.hpp"
#include "support.hpp"

using namespace segmenta;

TEST(ModelIo, Base64RoundTripsEveryLength) {
  std::string bytes;
  for (int len = 0; len < 70; ++len) {
    EXPECT_EQ(detail::base64_decode(detail::base64_encode(bytes), "t"), bytes) << len;
    bytes.push_back(static_cast<char>((len * 37 + 11) & 0xFF));
  }
  EXPECT_EQ(detail::base64_encode("Man"), "TWFu");
  EXPECT_EQ(detail::base64_encode("Ma"), "TWE=");
  EXPECT_THROW(detail::base64_decode("TW!u", "t"), ModelFormatError);
  EXPECT_THROW(detail::base64_decode("TWF", "t"), ModelFormatError);
}

TEST(ModelIo, MatrixAndDoublesAreExact) {
  MatrixD m(3, 2);
  const double values[] = {0.1, -1e-300, 1.0 / 3.0, 6.02e23, -0.0, 42.0};
  std::copy(std::begin(values), std::end(values), m.data());
  const MatrixD back = detail::matrix_from_json(detail::matrix_to_json(m), "m");
  ASSERT_EQ(back.rows(), 3u);
  ASSERT_EQ(back.cols(), 2u);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(std::memcmp(&back.data()[i], &m.data()[i], sizeof(double)), 0);
  auto j = detail::matrix_to_json(m);
  j["rows"] = 4;
  EXPECT_THROW(detail::matrix_from_json(j, "m"), ModelFormatError);
}

TEST(ModelIo, PrepAndEcodSurviveTheRoundTrip) {
  CsvOptions o;
  o.columns = "0:8";
  const Table t = read_csv(test::bank_small(), o);
  for (PrepPreset preset : {PrepPreset::standard, PrepPreset::blog}) {
    PrepParams pp;
    pp.preset = preset;
    const PrepResult fit = fit_prep(t, pp);
    const PrepModel back = detail::prep_from_json(nlohmann::json::parse(detail::prep_to_json(fit.model).dump()));
    const MatrixD again = back.transform(t);
    ASSERT_EQ(again.rows(), fit.features.rows());
    ASSERT_EQ(again.cols(), fit.features.cols());
    for (std::size_t i = 0; i < again.size(); ++i) ASSERT_EQ(again.data()[i], fit.features.data()[i]) << i;

    const EcodModel ecod = fit_ecod(fit.features);
    const nlohmann::json written = nlohmann::json::parse(detail::ecod_to_json(ecod).dump());
    const EcodModel ecod_back = detail::ecod_from_json(written, detail::kModelVersion);
    EXPECT_EQ(ecod_back.threshold(), ecod.threshold());
    EXPECT_EQ(ecod_back.score(fit.features), ecod.score(fit.features));
    EXPECT_EQ(ecod_back.score_training(fit.features), ecod.decision_scores());
    // The same model in the form of version 1 (every training column sorted) loads to
    // the same columns.
    MatrixD sorted(ecod.n_features(), ecod.n_train());
    for (std::size_t j = 0; j < ecod.n_features(); ++j) {
      const std::vector<double> c = ecod.sorted_column(j);
      std::copy(c.begin(), c.end(), sorted.row(j));
    }
    nlohmann::json v1 = written;
    v1.erase("columns");
    v1.erase("n_train");
    v1["sorted_columns"] = detail::matrix_to_json(sorted);
    const EcodModel ecod_v1 = detail::ecod_from_json(nlohmann::json::parse(v1.dump()), 1);
    EXPECT_EQ(ecod_v1.score(fit.features), ecod.score(fit.features));
    for (std::size_t j = 0; j < ecod.n_features(); ++j) {
      EXPECT_EQ(ecod_v1.column(j).values, ecod.column(j).values);
      EXPECT_EQ(ecod_v1.column(j).upto, ecod.column(j).upto);
    }
    EXPECT_THROW(detail::ecod_from_json(written, 1), ModelFormatError);  // version 1 has no 'columns'
    EXPECT_THROW(detail::ecod_from_json(v1, detail::kModelVersion), ModelFormatError);
  }
}

TEST(ModelIo, MalformedPrepIsAModelFormatError) {
  nlohmann::json j = {{"preset", "blog"}, {"unknown", "missing"}, {"feature_names", {"a"}}, {"blocks", nlohmann::json::array()}};
  EXPECT_THROW(detail::prep_from_json(j), ModelFormatError);  // no "power"
  j["power"] = {{"lambdas", {1.0, 2.0}}, {"standardize", false}, {"mean", {}}, {"scale", {}}};
  EXPECT_THROW(detail::prep_from_json(j), ModelFormatError);  // two lambdas for one feature
  j["preset"] = "fancy";
  EXPECT_THROW(detail::prep_from_json(j), ModelFormatError);
}

TEST(ModelIo, MixedPlanSurvivesTheRoundTrip) {
  const Table t = read_csv(test::bank_small());
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < t.rows(); i += 2) rows.push_back(i);
  const MixedPlan plan = fit_mixed_plan(t, rows);
  const MixedPlan back = detail::mixed_plan_from_json(detail::mixed_plan_to_json(plan), "model.json");
  EXPECT_EQ(back.numeric_names, plan.numeric_names);
  EXPECT_EQ(back.categorical_names, plan.categorical_names);
  EXPECT_EQ(back.levels, plan.levels);
  EXPECT_EQ(back.missing_level, plan.missing_level);
  const MixedPlan::Data a = plan.transform(t), b = back.transform(t);
  ASSERT_EQ(a.numeric.size(), b.numeric.size());
  for (std::size_t i = 0; i < a.numeric.size(); ++i) ASSERT_EQ(a.numeric.data()[i], b.numeric.data()[i]);
  for (std::size_t i = 0; i < a.codes.size(); ++i) ASSERT_EQ(a.codes.data()[i], b.codes.data()[i]);
  nlohmann::json broken = detail::mixed_plan_to_json(plan);
  broken["numeric"]["lambdas"] = nlohmann::json::array();
  EXPECT_THROW(detail::mixed_plan_from_json(broken, "model.json"), ModelFormatError);
}
