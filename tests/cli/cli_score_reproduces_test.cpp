// Scoring a run's own input with its model.json gives the run's segments, outlier
// flags and outlier scores exactly (the same text in the CSV), for every method.
#include <gtest/gtest.h>

#include <sstream>

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
  ASSERT_EQ(run[0], (std::vector<std::string>{"row", "segment", "outlier", "outlier_score"}));
  ASSERT_EQ(scored[0], run[0]);
  std::size_t differ = 0, flagged = 0;
  for (std::size_t i = 1; i < run.size(); ++i) {
    flagged += run[i][2] == "1";
    if (run[i] != scored[i] && ++differ <= 5)
      ADD_FAILURE() << method << " row " << run[i][0] << ": run " << run[i][1] << "," << run[i][2] << "," << run[i][3]
                    << " scored " << scored[i][1] << "," << scored[i][2] << "," << scored[i][3];
  }
  EXPECT_EQ(differ, 0u) << method;
  EXPECT_GT(flagged, 400u) << method;  // 10 % of 4521 rows
}

}  // namespace

TEST(CliScoreReproducesTheRun, KMeans) { expect_reproduced("kmeans", ""); }
TEST(CliScoreReproducesTheRun, KPrototypes) { expect_reproduced("kprototypes", ""); }
TEST(CliScoreReproducesTheRun, Embed) {
  expect_reproduced("embed", " --no-cache --model " + test::small_model_dir());
}
