// Output safety: a run's outputs are committed as a whole, only regular files are
// replaced, the output location is checked before the computation, and no
// temporary survives a failure or SIGTERM.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "segmenta/io.hpp"
#include "support.hpp"

using namespace segmenta;
namespace fs = std::filesystem;

namespace {

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

/// Names in `dir` that look like a temporary (".tmp-").
std::vector<std::string> temporaries(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(e.path().string());
  return found;
}

const std::string kFast = " --k 3 --no-report --no-maps --no-explain --quiet";

}  // namespace

TEST(CliOutputSafety, ARunReplacesAPreviousRunAsAWhole) {
  const std::string root = test::temp_dir("cli_out_whole");
  // A previous run (with --method all) left files the new run does not write.
  const std::string dir = root + "/out";
  fs::create_directories(dir);
  for (const char* n : {"segments.csv", "profiles_kmeans.csv", "profiles_embed.csv", "metrics.json", "run.json"})
    write_file_atomic(dir + "/" + n, "previous run\n");
  const auto r = test::run_command(test::cli() + " run " + test::bank_small() + kFast + " --out " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json manifest = test::read_json(dir + "/run.json");
  std::set<std::string> listed(manifest["files"].begin(), manifest["files"].end());
  listed.insert("run.json");
  EXPECT_EQ(entries(dir), listed);  // no file of the previous run is left beside the new ones
  EXPECT_TRUE(temporaries(root).empty());

  // A directory that also holds the user's files: those stay, the old outputs go.
  const std::string mixed = root + "/mixed";
  fs::create_directories(mixed);
  write_file_atomic(mixed + "/notes.txt", "mine\n");
  write_file_atomic(mixed + "/profiles_embed.csv", "previous run\n");
  write_file_atomic(mixed + "/run.json", "previous run\n");
  const auto m = test::run_command(test::cli() + " run " + test::bank_small() + kFast + " --out " + mixed);
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(read_file(mixed + "/notes.txt"), "mine\n");
  EXPECT_FALSE(fs::exists(mixed + "/profiles_embed.csv"));
  EXPECT_EQ(test::read_json(mixed + "/run.json")["files"].size() + 2, entries(mixed).size());
  EXPECT_TRUE(temporaries(root).empty());
}

TEST(CliOutputSafety, AnUnwritableOutputFailsBeforeTheData) {
  const std::string dir = test::temp_dir("cli_out_fail_fast");
  write_file_atomic(dir + "/bad.csv", "age,job\n30,admin\n41,\"blue\n");  // a data error (exit 3)
  write_file_atomic(dir + "/file.txt", "a file, not a directory\n");
  // The output location is checked first, so its error (exit 4) comes before the data's.
  const auto r = test::run_command(test::cli() + " run " + dir + "/bad.csv --quiet --out " + dir + "/file.txt");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.err, "segmenta: error: " + dir + "/file.txt: not a directory\n");
  const auto s = test::run_command(test::cli() + " run " + dir + "/bad.csv --quiet --out " + dir + "/file.txt/sub");
  EXPECT_EQ(s.exit_code, 4) << s.err;
  EXPECT_EQ(read_file(dir + "/file.txt"), "a file, not a directory\n");
  EXPECT_TRUE(temporaries(dir).empty());
}

TEST(CliOutputSafety, ScoreNeverReplacesWhatIsNotARegularFile) {
  const std::string dir = test::temp_dir("cli_out_special");
  const auto r = test::run_command(test::cli() + " run " + test::bank_small() + kFast + " --out " + dir + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string score = test::cli() + " score " + dir + "/run/model.json " + test::bank_small() + " --out ";

  ASSERT_EQ(::mkfifo((dir + "/scored.fifo").c_str(), 0600), 0);
  const auto f = test::run_command(score + dir + "/scored.fifo");
  EXPECT_EQ(f.exit_code, 4);
  EXPECT_EQ(f.err, "segmenta: error: " + dir + "/scored.fifo: is a FIFO, not a regular file; refusing to replace it\n");
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(dir + "/scored.fifo")));

  write_file_atomic(dir + "/kept.csv", "kept\n");
  fs::create_symlink(dir + "/kept.csv", dir + "/scored.csv");
  const auto l = test::run_command(score + dir + "/scored.csv");
  EXPECT_EQ(l.exit_code, 4);
  EXPECT_EQ(l.err,
            "segmenta: error: " + dir + "/scored.csv: is a symbolic link, not a regular file; refusing to replace it\n");
  EXPECT_TRUE(fs::is_symlink(dir + "/scored.csv"));
  EXPECT_EQ(read_file(dir + "/kept.csv"), "kept\n");
  EXPECT_TRUE(temporaries(dir).empty());
}

TEST(CliOutputSafety, SigtermDuringARunLeavesNoTemporaryAndTheOldOutputs) {
  const std::string root = test::temp_dir("cli_out_sigterm");
  const std::string dir = root + "/out";
  fs::create_directories(dir);
  write_file_atomic(dir + "/segments.csv", "previous run\n");
  int in[2];
  ASSERT_EQ(::pipe(in), 0);
  const std::string exe = test::cli();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(in[0], 0);
    ::close(in[0]);
    ::close(in[1]);
    ::execl(exe.c_str(), exe.c_str(), "run", "-", "--quiet", "--out", dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  // The run stages its outputs beside the directory before it reads: wait for that,
  // while it waits for the rows that never come, then stop it.
  const std::string stage = dir + ".tmp-" + std::to_string(child);
  for (int i = 0; i < 3000 && !fs::exists(stage); ++i) ::usleep(10000);
  EXPECT_TRUE(fs::exists(stage));
  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(in[1]);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  EXPECT_TRUE(temporaries(root).empty());
  EXPECT_EQ(entries(dir), std::set<std::string>{"segments.csv"});
  EXPECT_EQ(read_file(dir + "/segments.csv"), "previous run\n");
}

TEST(CliOutputSafety, MapAndEmbedCheckTheirOutputBeforeTheData) {
  const std::string dir = test::temp_dir("cli_out_map_embed");
  write_file_atomic(dir + "/bad.csv", "age,job\n30,admin\n41,\"blue\n");  // a data error (exit 3)
  ASSERT_EQ(::mkfifo((dir + "/out.csv").c_str(), 0600), 0);
  for (const std::string cmd : {"map", "embed"}) {
    const auto r = test::run_command(test::cli() + " " + cmd + " " + dir + "/bad.csv --quiet --out " + dir + "/out.csv" +
                                     (cmd == "embed" ? " --model " + dir : std::string()));
    EXPECT_EQ(r.exit_code, 4) << cmd << ": " << r.err;
    EXPECT_EQ(r.err, "segmenta: error: " + dir + "/out.csv: is a FIFO, not a regular file; refusing to replace it\n")
        << cmd;
    EXPECT_TRUE(fs::is_fifo(fs::symlink_status(dir + "/out.csv")));
  }
  EXPECT_TRUE(temporaries(dir).empty());
}
