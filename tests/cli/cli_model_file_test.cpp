// Model-file problems exit 5 with one line naming the file and the key: a missing
// key, a value of the wrong type, a non-finite number (a NaN centre would put every
// row in segment 0).
#include <gtest/gtest.h>

#include <filesystem>

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
