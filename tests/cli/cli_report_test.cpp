// `segmenta report RUN_DIR`: regenerates report.html from a run's outputs; a missing
// or malformed output is named, and nothing half-written is left behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "segmenta/io.hpp"
#include "segmenta/report.hpp"
#include "support.hpp"

using namespace segmenta;
namespace fs = std::filesystem;

namespace {

std::size_t count_files(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

/// A small demo run (no t-SNE, to stay fast) in a directory of its own: ctest runs
/// the tests of this file in parallel processes.
std::string demo_run(const std::string& name) {
  const std::string d = test::temp_dir(name);
  const auto r = test::run_command(test::cli() + " demo --method kmeans --rows 800 --k 3 --tsne-sample 0 --quiet --out " + d);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return d;
}

}  // namespace

TEST(CliReport, WritesTheReportOfARunDirectory) {
  const std::string run = demo_run("cli_report_good_run");
  const std::string dir = test::temp_dir("cli_report_good");
  for (const char* f : {"metrics.json", "run.json", "segments.csv", "maps.csv"}) fs::copy_file(run + "/" + f, dir + "/" + f);
  const auto r = test::run_command(test::cli() + " report " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "wrote " + dir + "/report.html\n");
  const std::string html = read_file(dir + "/report.html");
  const nlohmann::json data = extract_report_data(html);
  const nlohmann::json metrics = test::read_json(run + "/metrics.json");
  EXPECT_EQ(data["metrics"]["methods"]["kmeans"]["final"], metrics["methods"]["kmeans"]["final"]);
  EXPECT_EQ(data["metrics"]["input"], metrics["input"]);
  EXPECT_EQ(data["manifest"], test::read_json(run + "/run.json"));
  // The PCA map of every clustered row (800 rows less 10 % outliers).
  ASSERT_EQ(data["maps"]["kmeans"].size(), 1u);
  EXPECT_EQ(data["maps"]["kmeans"][0]["name"], "pca");
  EXPECT_EQ(data["maps"]["kmeans"][0]["total"], 720);
  // demo.csv is still where the run read it: representatives come with their values.
  EXPECT_EQ(data["representatives"]["columns"].size(), metrics["input"]["columns"].size());
  for (const auto& [row, entry] : data["representatives"]["rows"].items())
    EXPECT_EQ(entry["values"].size(), metrics["input"]["columns"].size()) << row;

  // --out writes elsewhere and leaves the run directory as it is.
  const std::string other = test::temp_dir("cli_report_other") + "/r.html";
  const auto o = test::run_command(test::cli() + " report " + dir + " --out " + other);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(read_file(other), html);
  EXPECT_EQ(count_files(dir), 5u);
}

TEST(CliReport, WithoutMapsOrInputFile) {
  const std::string run = demo_run("cli_report_nomaps_run");
  const std::string dir = test::temp_dir("cli_report_nomaps");
  for (const char* f : {"metrics.json", "run.json", "segments.csv"}) fs::copy_file(run + "/" + f, dir + "/" + f);
  // The manifest points at an input file that is gone.
  nlohmann::json manifest = test::read_json(dir + "/run.json");
  manifest["input"]["file"] = dir + "/gone.csv";
  write_file_atomic(dir + "/run.json", manifest.dump(2));
  const auto r = test::run_command(test::cli() + " report " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json data = extract_report_data(read_file(dir + "/report.html"));
  EXPECT_TRUE(data["maps"].empty());
  EXPECT_TRUE(data["representatives"]["columns"].empty());
  EXPECT_EQ(data["report"]["notes"].size(), 2u);  // no maps.csv, no input table
}

TEST(CliReport, MissingMetricsIsNamedAndNothingIsWritten) {
  const std::string run = demo_run("cli_report_missing_run");
  const std::string dir = test::temp_dir("cli_report_missing");
  for (const char* f : {"run.json", "segments.csv"}) fs::copy_file(run + "/" + f, dir + "/" + f);
  const auto r = test::run_command(test::cli() + " report " + dir);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.err, "segmenta: error: " + dir + "/metrics.json: not found (is " + dir +
                       " the output directory of a run?)\n");
  EXPECT_FALSE(fs::exists(dir + "/report.html"));
  EXPECT_EQ(count_files(dir), 2u);

  const auto nodir = test::run_command(test::cli() + " report " + dir + "/nope");
  EXPECT_EQ(nodir.exit_code, 4);
  EXPECT_EQ(nodir.err, "segmenta: error: " + dir + "/nope: not a directory\n");
}

TEST(CliReport, MalformedOutputsLeaveThePreviousReport) {
  const std::string run = demo_run("cli_report_malformed_run");
  const std::string dir = test::temp_dir("cli_report_malformed");
  for (const char* f : {"metrics.json", "run.json", "segments.csv"}) fs::copy_file(run + "/" + f, dir + "/" + f);
  write_file_atomic(dir + "/report.html", "previous report\n");

  write_file_atomic(dir + "/metrics.json", "{\n  \"input\": {\n    \"rows\": ]\n}\n");
  const auto bad_json = test::run_command(test::cli() + " report " + dir);
  EXPECT_EQ(bad_json.exit_code, 3);
  EXPECT_EQ(bad_json.err, "segmenta: error: " + dir + "/metrics.json:3:13: malformed JSON\n");

  // Outputs of different runs: a segments.csv with other rows than metrics.json's.
  fs::copy_file(run + "/metrics.json", dir + "/metrics.json", fs::copy_options::overwrite_existing);
  write_file_atomic(dir + "/segments.csv", "row,segment,outlier,outlier_score\n0,1,0,3.5\n");
  const auto mismatch = test::run_command(test::cli() + " report " + dir);
  EXPECT_EQ(mismatch.exit_code, 2);
  EXPECT_EQ(mismatch.err, "segmenta: error: segments.csv: 1 rows, but metrics.json describes 800 input rows\n");

  // The target cannot be replaced: the error names it.
  fs::copy_file(run + "/segments.csv", dir + "/segments.csv", fs::copy_options::overwrite_existing);
  fs::create_directories(dir + "/blocked.html");
  const auto blocked = test::run_command(test::cli() + " report " + dir + " --out " + dir + "/blocked.html");
  EXPECT_EQ(blocked.exit_code, 4);
  EXPECT_NE(blocked.err.find(dir + "/blocked.html"), std::string::npos) << blocked.err;

  EXPECT_EQ(read_file(dir + "/report.html"), "previous report\n");
  EXPECT_EQ(count_files(dir), 5u);  // the three inputs, report.html, blocked.html: no temporary file
}
