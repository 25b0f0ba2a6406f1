// Golden test of the surrogate explanation against xgboost's Python package.
//
// tests/fixtures/explain/surrogate_{multiclass,binary}.json are written by
// tools/make_surrogate_fixture.py: the surrogate trained by python3-xgboost 1.7.4 with
// the engine's default settings, its margins, its pred_contribs TreeSHAP values
// (cross-checked in the script against an independent pure-Python TreeSHAP to
// 1e-5) and shap's bar-plot summary of them.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "segmenta/explain.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

nlohmann::json fixture(const std::string& name) {
  const std::string path = std::string(SEGMENTA_SOURCE_DIR) + "/tests/fixtures/explain/" + name;
  if (!std::filesystem::exists(path)) {
    ADD_FAILURE() << "fixture missing: " << path << " (regenerate with tools/make_surrogate_fixture.py)";
    throw std::runtime_error("missing fixture " + path);
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

MatrixD features(const nlohmann::json& j) {
  const auto& rows = j.at("x");
  MatrixD x(rows.size(), rows.at(0).size());
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t c = 0; c < x.cols(); ++c)
      x(i, c) = rows[i][c].is_null() ? std::numeric_limits<double>::quiet_NaN() : rows[i][c].get<double>();
  return x;
}

std::vector<std::int32_t> labels_of(const nlohmann::json& j) { return j.at("labels").get<std::vector<std::int32_t>>(); }

// The fixture's training settings, as SurrogateParams (they are the defaults).
SurrogateParams params_of(const nlohmann::json& j) {
  const auto& p = j.at("params");
  SurrogateParams s;
  EXPECT_EQ(s.n_estimators, p.at("rounds").get<std::size_t>());
  EXPECT_EQ(s.learning_rate, p.at("eta").get<double>());
  EXPECT_EQ(s.max_leaves, p.at("max_leaves").get<std::size_t>());
  EXPECT_EQ(s.max_depth, p.at("max_depth").get<std::size_t>());
  EXPECT_EQ(s.max_bin, p.at("max_bin").get<std::size_t>());
  EXPECT_EQ(s.min_child_weight, p.at("min_child_weight").get<double>());
  EXPECT_EQ(s.reg_lambda, p.at("lambda").get<double>());
  EXPECT_EQ(s.random_state, p.at("seed").get<std::uint64_t>());
  EXPECT_EQ(s.fit_threads, p.at("nthread").get<int>());
  return s;
}

void check_case(const std::string& file) {
  SCOPED_TRACE(file);
  const auto j = fixture(file);
  const MatrixD x = features(j);
  const auto labels = labels_of(j);
  const std::size_t n = x.rows(), p = x.cols();
  const SurrogateModel model = fit_surrogate(x, labels, params_of(j));
  const std::size_t k = model.n_classes();
  ASSERT_EQ(k, j.at("mean_abs_shap").size());
  EXPECT_EQ(model.n_trees(), j.at("n_trees").get<std::size_t>());

  // Same library, same data, same settings: the same margins up to float printing.
  const MatrixD margins = model.margins(x);
  const auto& ref_margins = j.at("margins");
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < k; ++c) ASSERT_NEAR(margins(i, c), ref_margins[i][c].get<double>(), 1e-5) << i;

  // TreeSHAP values of both engines against pred_contribs.
  const auto& ref = j.at("contributions");
  for (const ShapEngine engine : {ShapEngine::native, ShapEngine::xgboost}) {
    const MatrixD phi = model.contributions(x, engine);
    ASSERT_EQ(phi.cols(), k * (p + 1));
    double worst = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < k; ++c)
        for (std::size_t f = 0; f <= p; ++f)
          worst = std::max(worst, std::fabs(phi(i, c * (p + 1) + f) - ref[i][c][f].get<double>()));
    EXPECT_LT(worst, 1e-5) << (engine == ShapEngine::native ? "native" : "xgboost");
  }

  // The shap bar-plot summary over every row.
  ExplainParams ep;
  ep.shap_max_rows = 0;
  const SurrogateExplanation ex = explain_segments(x, labels, ep);
  ASSERT_EQ(ex.shap_rows.size(), n);
  for (std::size_t c = 0; c < k; ++c) {
    EXPECT_NEAR(ex.bias[c], j.at("bias")[c].get<double>(), 1e-5);
    for (std::size_t f = 0; f < p; ++f)
      EXPECT_NEAR(ex.mean_abs_shap(c, f), j.at("mean_abs_shap")[c][f].get<double>(), 1e-5) << c << "," << f;
  }
  for (std::size_t f = 0; f < p; ++f)
    EXPECT_NEAR(ex.feature_importance[f], j.at("feature_importance")[f].get<double>(), 1e-5);
  EXPECT_EQ(ex.feature_order, j.at("feature_order").get<std::vector<std::size_t>>());
  EXPECT_EQ(ex.class_order, j.at("class_order").get<std::vector<std::size_t>>());
  EXPECT_DOUBLE_EQ(ex.train_accuracy, j.at("train_accuracy").get<double>());
  EXPECT_LT(ex.additivity_max_abs_error, 1e-4);
}

}  // namespace

TEST(ExplainSurrogateGolden, MulticlassMatchesXgboostPython) { check_case("surrogate_multiclass.json"); }

TEST(ExplainSurrogateGolden, BinaryMatchesXgboostPython) { check_case("surrogate_binary.json"); }
