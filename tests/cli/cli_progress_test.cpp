// Progress lines: a run whose stderr is a terminal (a pseudo-terminal here) shows a
// line per stage that names it; with --quiet, or when stderr is a file, there are
// none. The summary names the slowest stages.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// Runs the CLI with `args` and its stderr on a pseudo-terminal; every stage shows
/// from its first moment (SEGMENTA_PROGRESS_AFTER=0). Returns (result, terminal text).
std::pair<segmenta::test::CommandResult, std::string> run_on_terminal(const std::string& args,
                                                                       const std::string& name) {
  const std::string dir = segmenta::test::temp_dir(name);
  const std::string seen = dir + "/terminal.txt";
  const auto r = segmenta::test::run_command("SEGMENTA_PROGRESS_AFTER=0 " + segmenta::test::python() + " " +
                                             SEGMENTA_SOURCE_DIR "/tests/cli/pty_run.py " + seen + " " +
                                             segmenta::test::cli() + " " + args + " --out " + dir + "/out");
  return {r, read_file(seen)};
}

const std::string kRun = "run " + segmenta::test::bank_small() + " --columns 0:8 --method kmeans --k 2..4 --n-init 2";

}  // namespace

TEST(Progress, ATerminalShowsALinePerStageNamingIt) {
  const auto [r, terminal] = run_on_terminal(kRun, "progress_terminal");
  ASSERT_EQ(r.exit_code, 0) << r.err << terminal;
  EXPECT_NE(terminal.find('\r'), std::string::npos) << terminal;
  for (const char* stage : {"read ", "prepare", "outliers (ECOD)", "k sweep kmeans", "silhouette (exact",
                            "Calinski-Harabasz, Davies-Bouldin", "profiles", "explanation (surrogate tree)", "maps",
                            "outputs", "report"})
    EXPECT_NE(terminal.find(stage), std::string::npos) << stage << " missing from:\n" << terminal;
  // The sweep's line counts the k and names the one being fitted.
  EXPECT_NE(terminal.find("3/3 k"), std::string::npos) << terminal;
  EXPECT_NE(terminal.find("k = 4 (2 restarts on"), std::string::npos) << terminal;
  // The summary (stdout) says which stages took the time.
  EXPECT_NE(r.out.find("\nslowest   "), std::string::npos) << r.out;
}

TEST(Progress, ASampledSweepShowsItsFinalFit) {
  const auto [r, terminal] = run_on_terminal(kRun + " --sweep-all-max 2000 --sweep-sample 2500", "progress_sampled");
  ASSERT_EQ(r.exit_code, 0) << r.err << terminal;
  EXPECT_NE(terminal.find("final fit kmeans k = "), std::string::npos) << terminal;
  EXPECT_NE(terminal.find("criteria of k = "), std::string::npos) << terminal;
}

TEST(Progress, QuietShowsNothingOnATerminal) {
  const auto [r, terminal] = run_on_terminal(kRun + " --quiet", "progress_quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err << terminal;
  EXPECT_EQ(terminal.find("k sweep"), std::string::npos) << terminal;
  EXPECT_EQ(terminal.find('\r'), std::string::npos) << terminal;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Progress, StderrToAFileGetsNoProgressLines) {
  const std::string dir = segmenta::test::temp_dir("progress_file");
  const auto r = segmenta::test::run_command("SEGMENTA_PROGRESS_AFTER=0 " + segmenta::test::cli() + " " + kRun +
                                             " --out " + dir + "/out 2>" + dir + "/stderr.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string err = read_file(dir + "/stderr.txt");
  EXPECT_EQ(err.find("k sweep"), std::string::npos) << err;
  EXPECT_EQ(err.find('\r'), std::string::npos) << err;
  EXPECT_NE(r.out.find("\nslowest   "), std::string::npos) << r.out;  // the summary still does
}

TEST(Progress, ScoringShowsTheRowsScored) {
  const std::string dir = segmenta::test::temp_dir("progress_score");
  const auto fit = segmenta::test::run_command(segmenta::test::cli() + " " + kRun + " --no-maps --no-explain --no-report --quiet --out " + dir + "/model");
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const std::string seen = dir + "/terminal.txt";
  const auto r = segmenta::test::run_command("SEGMENTA_PROGRESS_AFTER=0 " + segmenta::test::python() + " " +
                                             SEGMENTA_SOURCE_DIR "/tests/cli/pty_run.py " + seen + " " +
                                             segmenta::test::cli() + " score " + dir + "/model/model.json " +
                                             segmenta::test::bank_small() + " --out " + dir + "/scores.csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string terminal = read_file(seen);
  EXPECT_NE(terminal.find("scoring"), std::string::npos) << terminal;
  EXPECT_NE(terminal.find("4521 rows"), std::string::npos) << terminal;  // the rows scored, counted
}

TEST(Progress, QuietScoringShowsNothingAndWritesTheSameScores) {
  const std::string dir = segmenta::test::temp_dir("progress_score_quiet");
  const auto fit = segmenta::test::run_command(segmenta::test::cli() + " " + kRun + " --no-maps --no-explain --no-report --quiet --out " + dir + "/model");
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const std::string score = segmenta::test::cli() + " score " + dir + "/model/model.json " + segmenta::test::bank_small();
  const auto loud = segmenta::test::run_command(score + " --out " + dir + "/loud.csv");
  ASSERT_EQ(loud.exit_code, 0) << loud.err;
  EXPECT_NE(loud.out.find("scored 4521 rows"), std::string::npos) << loud.out;
  const std::string seen = dir + "/terminal.txt";
  const auto r = segmenta::test::run_command("SEGMENTA_PROGRESS_AFTER=0 " + segmenta::test::python() + " " +
                                             SEGMENTA_SOURCE_DIR "/tests/cli/pty_run.py " + seen + " " + score +
                                             " --quiet --out " + dir + "/quiet.csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string terminal = read_file(seen);
  EXPECT_EQ(terminal.find("scoring"), std::string::npos) << terminal;
  EXPECT_EQ(terminal.find('\r'), std::string::npos) << terminal;
  EXPECT_TRUE(r.out.empty()) << r.out;  // no summary line either
  EXPECT_EQ(read_file(dir + "/quiet.csv"), read_file(dir + "/loud.csv"));
  // With --out - the CSV alone reaches standard output, and nothing else is said.
  const auto piped = segmenta::test::run_command(score + " -q --out -");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, read_file(dir + "/loud.csv"));
  EXPECT_TRUE(piped.err.empty()) << piped.err;
}

// The final fit on all rows after a sampled sweep counts its iterations: its line ends
// with the last iteration, the number metrics.json gives for the final model.
TEST(Progress, TheFinalFitShowsItsIterations) {
  const struct {
    const char* method;
    int max_iter;
  } cases[] = {{"kmeans", 300}, {"kprototypes", 100}, {"lca", 1000}};
  for (const auto& c : cases) {
    const std::string name = std::string("progress_iterations_") + c.method;
    const auto [r, terminal] =
        run_on_terminal("run " + segmenta::test::bank_small() + " --method " + c.method +
                            " --k 2..4 --n-init 2 --sweep-all-max 2000 --sweep-sample 2500 --no-maps --no-explain --no-report",
                        name);
    ASSERT_EQ(r.exit_code, 0) << r.err << terminal;
    // The stage's last paint (the final line) is the last text before its newline.
    const std::string stage = std::string("final fit ") + c.method + " k = ";
    const std::size_t at = terminal.rfind(stage);
    ASSERT_NE(at, std::string::npos) << terminal;
    const std::string line = terminal.substr(at, terminal.find('\n', at) - at);
    const std::size_t it = line.find("iteration ");
    ASSERT_NE(it, std::string::npos) << line;
    const int shown = std::stoi(line.substr(it + 10));
    EXPECT_NE(line.find(" (at most " + std::to_string(c.max_iter) + ")"), std::string::npos) << line;
    const nlohmann::json metrics = nlohmann::json::parse(read_file(std::string(SEGMENTA_TEST_OUTPUT_DIR) + "/" + name + "/out/metrics.json"));
    EXPECT_EQ(shown, metrics.at("methods").at(c.method).at("final").at("n_iter").get<int>()) << c.method << ": " << line;
  }
}
