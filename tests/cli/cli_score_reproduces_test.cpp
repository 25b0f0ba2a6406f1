// Scoring a run's own input with its model.json gives the run's segments, outlier
// flags and outlier scores exactly (the same text in the CSV), for every method.
#include <gtest/gtest.h>

#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "segmenta/io.hpp"
#include "small_model.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

std::vector<std::vector<std::string>> csv_cells(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::size_t start = 0;
    for (std::size_t c; (c = line.find(',', start)) != std::string::npos; start = c + 1)
      cells.push_back(line.substr(start, c - start));
    cells.push_back(line.substr(start));
    rows.push_back(std::move(cells));
  }
  return rows;
}

void expect_reproduced(const std::string& method, const std::string& extra) {
  const std::string dir = test::temp_dir("cli_score_reproduces_" + method);
  const auto r = test::run_command(test::cli() + " run " + test::bank_small() + " --method " + method +
                                   " --k 3 --quiet --no-explain --no-maps --no-report" + extra + " --out " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = test::run_command(test::cli() + " score " + dir + "/model.json " + test::bank_small() + " --out " + dir +
                                   "/scored.csv");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const auto run = csv_cells(dir + "/segments.csv"), scored = csv_cells(dir + "/scored.csv");
  ASSERT_EQ(run.size(), scored.size());
  // The latent-class model adds each row's class probability after the segment.
  const std::vector<std::string> header =
      method == "lca" ? std::vector<std::string>{"row", "segment", "probability", "outlier", "outlier_score"}
                      : std::vector<std::string>{"row", "segment", "outlier", "outlier_score"};
  ASSERT_EQ(run[0], header);
  ASSERT_EQ(scored[0], run[0]);
  const std::size_t outlier = header.size() - 2;
  std::size_t differ = 0, flagged = 0;
  for (std::size_t i = 1; i < run.size(); ++i) {
    flagged += run[i][outlier] == "1";
    if (run[i] != scored[i] && ++differ <= 5)
      ADD_FAILURE() << method << " row " << run[i][0] << ": run " << fmt::format("{}", fmt::join(run[i], ","))
                    << " scored " << fmt::format("{}", fmt::join(scored[i], ","));
  }
  EXPECT_EQ(differ, 0u) << method;
  EXPECT_GT(flagged, 400u) << method;  // 10 % of 4521 rows
}

}  // namespace

TEST(CliScoreReproducesTheRun, KMeans) { expect_reproduced("kmeans", ""); }
TEST(CliScoreReproducesTheRun, KPrototypes) { expect_reproduced("kprototypes", ""); }
TEST(CliScoreReproducesTheRun, LatentClass) { expect_reproduced("lca", ""); }
TEST(CliScoreReproducesTheRun, Embed) {
  expect_reproduced("embed", " --no-cache --model " + test::small_model_dir());
}

// The run's decimal mark travels in model.json: rows written with a decimal comma are
// scored as the run read them even where, alone, they would read as thousands
// ("1,125": every comma has three digits after it). An explicit --decimal on score
// wins, and a model written before the marks were kept reads as the data says.
TEST(CliScoreReproducesTheRun, DecimalCommaIsReadAsTheRunReadIt) {
  const std::string dir = test::temp_dir("cli_score_decimal_comma");
  std::string train = "balance;age\n";
  for (int i = 0; i < 40; ++i)  // two groups by balance, 1,1..1,9 and 9,1..9,9; ages alike in both
    train += std::string(i < 20 ? "1," : "9,") + std::to_string(1 + i % 9) + ";" + std::to_string(30 + (i * 7) % 20) + "\n";
  write_file_atomic(dir + "/train.csv", train);
  write_file_atomic(dir + "/new.csv", "balance;age\n1,125;35\n9,875;35\n");
  const auto r = test::run_command(test::cli() + " run " + dir + "/train.csv --method kmeans --k 2 --outliers none " +
                                   "--quiet --no-explain --no-maps --no-report --out " + dir + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto model = test::read_json(dir + "/run/model.json");
  ASSERT_EQ(model["columns"][0]["name"], "balance");
  EXPECT_EQ(model["columns"][0]["decimal"], ",");
  EXPECT_FALSE(model["columns"][1].contains("decimal"));  // plain numbers carry no mark
  const auto run = csv_cells(dir + "/run/segments.csv");
  const std::string low = run[1][1], high = run[21][1];
  ASSERT_NE(low, high);

  auto score = [&](const std::string& model_path, const std::string& extra) {
    const auto s = test::run_command(test::cli() + " score " + model_path + " " + dir + "/new.csv" + extra + " --out " +
                                     dir + "/scored.csv");
    EXPECT_EQ(s.exit_code, 0) << s.err;
    const auto rows = csv_cells(dir + "/scored.csv");
    return std::vector<std::string>{rows.at(1).at(1), rows.at(2).at(1)};
  };
  // As the run read them: 1.125 is low, 9.875 high.
  EXPECT_EQ(score(dir + "/run/model.json", ""), (std::vector<std::string>{low, high}));
  // --decimal . on score: 1,125 and 9,875 are thousands, both far above the high group.
  EXPECT_EQ(score(dir + "/run/model.json", " --decimal ."), (std::vector<std::string>{high, high}));
  // A model without the marks: each column reads as its cells say (thousands here).
  for (auto& c : model["columns"]) c.erase("decimal");
  write_file_atomic(dir + "/old_model.json", model.dump());
  EXPECT_EQ(score(dir + "/old_model.json", ""), (std::vector<std::string>{high, high}));
  // A damaged mark is a model-file error.
  model["columns"][0]["decimal"] = ";";
  write_file_atomic(dir + "/bad_model.json", model.dump());
  const auto bad = test::run_command(test::cli() + " score " + dir + "/bad_model.json " + dir + "/new.csv --out " + dir +
                                     "/bad.csv");
  EXPECT_EQ(bad.exit_code, 5);
  EXPECT_EQ(bad.err, "segmenta: error: " + dir + "/bad_model.json: column 'balance': decimal must be \".\" or \",\", got \";\"\n");
}
