// Model-file problems exit 5 with one line naming the file and the key: a missing
// key, a value of the wrong type, a non-finite number (a NaN centre would put every
// row in segment 0).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "pipeline/model_io.hpp"
#include "segmenta/io.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

const std::string kFast = " --method kmeans --k 3 --no-report --no-maps --no-explain --quiet";

struct Fixture {
  std::string dir;
  nlohmann::json model;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    // One folder per test: ctest runs the tests of this file side by side, each in its
    // own process, and temp_dir empties the folder it returns.
    x.dir = test::temp_dir(std::string("cli_model_file_") +
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    const auto r = test::run_command(test::cli() + " run " + test::bank_small() + kFast + " --out " + x.dir + "/run");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    x.model = test::read_json(x.dir + "/run/model.json");
    return x;
  }();
  return f;
}

test::CommandResult score_text(const std::string& name, const std::string& text) {
  const std::string path = fixture().dir + "/" + name;
  write_file_atomic(path, text);
  return test::run_command(test::cli() + " score " + path + " " + test::bank_small() + " --out " + fixture().dir +
                           "/scored.csv");
}

}  // namespace

TEST(CliModelFile, AMissingKeyNamesTheFileAndTheKey) {
  nlohmann::json m = fixture().model;
  m.erase("prep");
  const auto r = score_text("no_prep.json", m.dump());
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(r.err, "segmenta: error: " + fixture().dir + "/no_prep.json: key 'prep' not found\n");

  nlohmann::json c = fixture().model;
  c["columns"][0].erase("type");
  const auto t = score_text("no_type.json", c.dump());
  EXPECT_EQ(t.exit_code, 5);
  EXPECT_EQ(t.err, "segmenta: error: " + fixture().dir + "/no_type.json: key 'type' not found\n");
}

TEST(CliModelFile, ANonFiniteNumberIsAModelFormatError) {
  // A NaN centre (as stored: base64 float64) and a hand-written 1e400.
  nlohmann::json m = fixture().model;
  m["methods"]["kmeans"]["centers"] = {{"rows", 1}, {"cols", 1}, {"n", 1}, {"dtype", "<f8"}, {"base64", "AAAAAAAA+H8="}};
  const auto r = score_text("nan_centre.json", m.dump());
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(r.err, "segmenta: error: " + fixture().dir +
                       "/nan_centre.json: kmeans.centers holds a non-finite value (NaN) at position 0\n");

  nlohmann::json p = fixture().model;
  p["prep"]["power"]["lambdas"][0] = 12345.25;
  std::string text = p.dump();
  text.replace(text.find("12345.25"), 8, "1e400");
  const auto h = score_text("huge_lambda.json", text);
  EXPECT_EQ(h.exit_code, 5);
  EXPECT_EQ(h.err, "segmenta: error: " + fixture().dir + "/huge_lambda.json: not a JSON model file (number overflow parsing '1e400')\n");
  EXPECT_FALSE(std::filesystem::exists(fixture().dir + "/scored.csv"));
}

namespace {

std::string v1_fixture(const std::string& name) {
  return std::string(SEGMENTA_SOURCE_DIR) + "/tests/fixtures/ecod_v1/" + name;
}

}  // namespace

TEST(CliModelFile, AVersion1ModelScoresAsItDidWhenWritten) {
  // model_v1.json keeps the outlier model's training columns sorted, as model files
  // of version 1 did; the expected outputs were written by that version.
  const std::string dir = test::temp_dir("cli_model_file_v1");
  const nlohmann::json old = test::read_json(v1_fixture("model_v1.json"));
  ASSERT_EQ(old["version"], 1);
  ASSERT_TRUE(old["outliers"].contains("sorted_columns"));
  for (const std::string part : {"new", "train"}) {
    const auto r = test::run_command(test::cli() + " score " + v1_fixture("model_v1.json") + " " +
                                     v1_fixture(part + ".csv") + " --out " + dir + "/old_" + part + ".csv");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(dir + "/old_" + part + ".csv"), read_file(v1_fixture("scored_" + part + "_v1.csv"))) << part;
  }

  // The same run today writes version 2 (distinct values with counts), the same
  // segments, and a model that scores the same rows to the same bytes.
  const auto run = test::run_command(test::cli() + " run " + v1_fixture("train.csv") + kFast + " --out " + dir + "/run");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(read_file(dir + "/run/segments.csv"), read_file(v1_fixture("segments_v1.csv")));
  const nlohmann::json now = test::read_json(dir + "/run/model.json");
  EXPECT_EQ(now["version"], 2);
  EXPECT_FALSE(now["outliers"].contains("sorted_columns"));
  ASSERT_EQ(now["outliers"]["columns"].size(), old["outliers"]["skew_sign"].size());
  EXPECT_EQ(now["outliers"]["n_train"], 120);
  EXPECT_EQ(now["outliers"]["skew_sign"], old["outliers"]["skew_sign"]);
  EXPECT_EQ(now["outliers"]["threshold"], old["outliers"]["threshold"]);
  // Each column's values are the distinct sorted training values, the counts their
  // multiplicities: expanded, the version 1 sorted columns.
  const std::vector<double> sorted = detail::doubles_from_json(old["outliers"]["sorted_columns"], "sorted");
  const std::size_t n = old["outliers"]["sorted_columns"]["cols"];
  for (std::size_t j = 0; j < now["outliers"]["columns"].size(); ++j) {
    const nlohmann::json& c = now["outliers"]["columns"][j];
    const std::vector<double> values = detail::doubles_from_json(c["values"], "values");
    const std::vector<std::uint64_t> counts = c["counts"];
    ASSERT_EQ(values.size(), counts.size());
    std::vector<double> expanded;
    for (std::size_t k = 0; k < values.size(); ++k) expanded.insert(expanded.end(), counts[k], values[k]);
    EXPECT_EQ(expanded, std::vector<double>(sorted.begin() + j * n, sorted.begin() + (j + 1) * n)) << j;
  }
  for (const std::string part : {"new", "train"}) {
    const auto r = test::run_command(test::cli() + " score " + dir + "/run/model.json " + v1_fixture(part + ".csv") +
                                     " --out " + dir + "/new_" + part + ".csv");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(dir + "/new_" + part + ".csv"), read_file(v1_fixture("scored_" + part + "_v1.csv"))) << part;
  }
}

TEST(CliModelFile, BadOutlierColumnsAreModelFormatErrors) {
  // Each inconsistency of the distinct values and counts: exit 5, one line naming
  // the file, nothing written.
  const nlohmann::json good = fixture().model;
  ASSERT_EQ(good["version"], 2);
  auto edited = [&](auto edit) {
    nlohmann::json m = good;
    edit(m["outliers"]);
    return m.dump();
  };
  auto values_of = [](const nlohmann::json& c) { return detail::doubles_from_json(c["values"], "values"); };
  auto set_values = [](nlohmann::json& c, const std::vector<double>& v) {
    c["values"] = nlohmann::json{{"dtype", "<f8"}, {"n", v.size()},
                                 {"base64", detail::base64_encode(std::string_view(reinterpret_cast<const char*>(v.data()),
                                                                           v.size() * sizeof(double)))}};
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {edited([](nlohmann::json& o) { o["columns"][0]["counts"][0] = 0; }),
       "a count of 0 in feature 0"},
      {edited([](nlohmann::json& o) { o["columns"][0]["counts"][0] = o["columns"][0]["counts"][0].get<int>() + 1; }),
       "the counts of feature 0 add up to more than"},
      {edited([](nlohmann::json& o) { o["columns"][1]["counts"].erase(0); }), "counts for"},
      {edited([](nlohmann::json& o) { o["columns"][0]["counts"][0] = -1; }),
       "outliers.columns[].counts must hold non-negative integers"},
      {edited([&](nlohmann::json& o) {
         std::vector<double> v = values_of(o["columns"][0]);
         std::swap(v[0], v[1]);
         set_values(o["columns"][0], v);
       }),
       "the values of feature 0 are not strictly ascending"},
      {edited([](nlohmann::json& o) { o["n_train"] = 3; }), "the counts of feature 0 add up to more than 3 rows"},
      {edited([](nlohmann::json& o) { o.erase("n_train"); }), "outliers has no 'n_train'"},
      {edited([](nlohmann::json& o) { o["columns"].erase(0); }), "outliers.skew_sign does not match the features"},
      {edited([](nlohmann::json& o) { o["sorted_columns"] = o["columns"]; o.erase("columns"); }),
       "outliers has no 'columns'"},
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const std::string name = "bad_columns_" + std::to_string(c) + ".json";
    std::filesystem::remove(fixture().dir + "/scored.csv");
    const auto r = score_text(name, cases[c].first);
    EXPECT_EQ(r.exit_code, 5) << c << " " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c << " " << r.err;
    EXPECT_NE(r.err.find(fixture().dir + "/" + name + ": "), std::string::npos) << c << " " << r.err;
    EXPECT_NE(r.err.find(cases[c].second), std::string::npos) << c << " " << r.err;
    EXPECT_FALSE(std::filesystem::exists(fixture().dir + "/scored.csv")) << c;
  }
  // Version 1 files hold sorted columns, not distinct values.
  nlohmann::json v1 = good;
  v1["version"] = 1;
  const auto r = score_text("v1_with_columns.json", v1.dump());
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("outliers has no 'sorted_columns'"), std::string::npos) << r.err;
}
