// Models by Hugging Face id against a real HTTP server on a loopback port
// (tests/cli/hub_server.py) that serves the tests' random-weight model in the hub's
// shape: downloads into the Hugging Face cache layout, resume, sha256 checks, HTTP
// errors, offline mode and a read-only cache filled beforehand.
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "small_model.hpp"
#include "support.hpp"

using namespace segmenta;
namespace fs = std::filesystem;

namespace {

const std::string kCommit = "4f6d0c3b9a1e2d7c8b5a4f3e2d1c0b9a8f7e6d5c";
const std::string kRepo = "sentence-transformers/tiny-random";

/// The loopback hub, stopped (SIGTERM) when it goes out of scope.
class HubServer {
 public:
  explicit HubServer(const std::vector<std::string>& flags, const std::string& log = "") {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    std::vector<std::string> args = {"python3", std::string(SEGMENTA_SOURCE_DIR) + "/tests/cli/hub_server.py",
                                     test::small_model_dir(), kRepo, kCommit};
    args.insert(args.end(), flags.begin(), flags.end());
    if (!log.empty()) args.insert(args.end(), {"--log", log});
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("python3", argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    port_ = line;
    if (port_.empty()) throw std::runtime_error("the hub server did not start");
  }
  ~HubServer() { stop(); }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  std::string endpoint() const { return "http://127.0.0.1:" + port_; }

 private:
  pid_t pid_ = -1;
  std::string port_;
};

/// 40 rows of the bank data (a quick encode).
std::string small_csv(const std::string& dir) {
  std::ifstream in(test::bank_small());
  std::ofstream out(dir + "/data.csv");
  std::string line;
  for (int i = 0; i < 41 && std::getline(in, line); ++i) out << line << "\n";
  return dir + "/data.csv";
}

std::string env(const std::string& endpoint, const std::string& cache) {
  return "HF_HUB_OFFLINE= HF_TOKEN= HF_ENDPOINT=" + endpoint + " HF_HUB_CACHE=" + cache + " ";
}

std::string embed(const std::string& data, const std::string& model, const std::string& out) {
  return test::cli() + " embed " + data + " --model " + model + " --no-cache --quiet --out " + out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::set<std::string> tree(const std::string& dir) {
  std::set<std::string> s;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return s;
  for (const auto& e : fs::recursive_directory_iterator(dir)) s.insert(fs::relative(e.path(), dir).string());
  return s;
}

std::string repo_dir(const std::string& cache) { return cache + "/models--sentence-transformers--tiny-random"; }

/// The hub's name for the weights: their sha256, computed by coreutils.
std::string weights_sha() {
  const auto r = test::run_command("sha256sum " + test::small_model_dir() + "/model.safetensors");
  return r.out.substr(0, 64);
}

}  // namespace

TEST(CliHub, AnEmptyCacheDownloadsThenTheCacheServesWithTheServerStopped) {
  const std::string dir = test::temp_dir("cli_hub_download");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  HubServer hub({});
  // A bare name reads as sentence-transformers/<name>.
  const auto r = test::run_command(env(hub.endpoint(), cache) + test::cli() + " run " + data +
                                   " --method embed --model tiny-random --k 2 --quiet --no-explain --no-maps "
                                   "--no-report --out " + dir + "/out");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string repo = repo_dir(cache);
  EXPECT_EQ(slurp(repo + "/refs/main"), kCommit);
  const std::string snap = repo + "/snapshots/" + kCommit;
  ASSERT_TRUE(fs::is_symlink(snap + "/model.safetensors"));
  EXPECT_EQ(fs::read_symlink(snap + "/model.safetensors").string(), "../../blobs/" + weights_sha());
  EXPECT_EQ(slurp(snap + "/model.safetensors"), slurp(test::small_model_dir() + "/model.safetensors"));
  EXPECT_EQ(slurp(snap + "/1_Pooling/config.json"), slurp(test::small_model_dir() + "/1_Pooling/config.json"));
  for (const auto& f : tree(repo)) EXPECT_EQ(f.find(".incomplete"), std::string::npos) << f;

  // model.json names the model by id, commit and weights' hash, not by a folder.
  const auto model = test::read_json(dir + "/out/model.json");
  const auto& enc = model["methods"]["embed"]["encoder"];
  EXPECT_EQ(enc["model"], kRepo);
  EXPECT_EQ(enc["revision"], kCommit);
  EXPECT_EQ(enc["weights_sha256"], weights_sha());

  // score on a machine whose cache lacks the model downloads the recorded commit.
  const std::string other = dir + "/hf-other";
  const auto fresh = test::run_command("cd / && " + env(hub.endpoint(), other) + test::cli() + " score " + dir +
                                       "/out/model.json " + data + " --out " + dir + "/scores-fresh.csv");
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_TRUE(fs::exists(repo_dir(other) + "/snapshots/" + kCommit + "/model.safetensors"));
  EXPECT_FALSE(fs::exists(repo_dir(other) + "/refs/main"));  // asked for by commit, not by branch

  hub.stop();
  // score from another directory, the server gone: the cache alone.
  const auto s = test::run_command("cd / && " + env("http://127.0.0.1:9", cache) + test::cli() + " score " + dir +
                                   "/out/model.json " + data + " --out " + dir + "/scores.csv");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(slurp(dir + "/scores.csv"), slurp(dir + "/scores-fresh.csv"));
  EXPECT_NE(slurp(dir + "/scores.csv").find("row,segment"), std::string::npos);
  const auto again = test::run_command(env("http://127.0.0.1:9", cache) + embed(data, kRepo, dir + "/v.npy"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto offline = test::run_command(env("http://127.0.0.1:9", cache) + "HF_HUB_OFFLINE=1 " +
                                         embed(data, "tiny-random", dir + "/v2.npy"));
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_EQ(slurp(dir + "/v.npy"), slurp(dir + "/v2.npy"));
}

TEST(CliHub, OfflineWithoutTheModelCachedNamesTheUrlAndWritesNothing) {
  const std::string dir = test::temp_dir("cli_hub_offline");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  HubServer hub({}, dir + "/log.txt");
  const auto r = test::run_command(env(hub.endpoint(), cache) + "HF_HUB_OFFLINE=1 " + embed(data, "tiny-random", dir + "/v.npy"));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("HF_HUB_OFFLINE"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(hub.endpoint() + "/" + kRepo + "/resolve/main/config.json"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(cache));
  EXPECT_FALSE(fs::exists(dir + "/v.npy"));
  EXPECT_FALSE(fs::exists(dir + "/log.txt")) << slurp(dir + "/log.txt");  // no request reached the hub
}

TEST(CliHub, ACutConnectionIsResumedWithARangeRequest) {
  const std::string dir = test::temp_dir("cli_hub_resume");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  HubServer hub({"--cut-once"}, dir + "/log.txt");
  const auto r = test::run_command(env(hub.endpoint(), cache) + embed(data, "tiny-random", dir + "/v.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string log = slurp(dir + "/log.txt");
  const std::size_t half = fs::file_size(test::small_model_dir() + "/model.safetensors") / 2;
  EXPECT_NE(log.find("GET /cdn/" + weights_sha() + " range=bytes=" + std::to_string(half) + "-"), std::string::npos) << log;
  EXPECT_EQ(slurp(repo_dir(cache) + "/blobs/" + weights_sha()), slurp(test::small_model_dir() + "/model.safetensors"));
}

TEST(CliHub, CorruptedWeightsAreRefusedAndRemoved) {
  const std::string dir = test::temp_dir("cli_hub_corrupt");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  HubServer hub({"--corrupt"});
  const auto r = test::run_command(env(hub.endpoint(), cache) + test::cli() + " run " + data +
                                   " --method embed --model tiny-random --k 2 --quiet --out " + dir + "/out");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find(hub.endpoint() + "/" + kRepo + "/resolve/main/model.safetensors"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not the hub's " + weights_sha()), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const auto& f : tree(repo_dir(cache))) EXPECT_EQ(f.find("safetensors"), std::string::npos) << f;
  for (const auto& f : tree(repo_dir(cache) + "/blobs")) EXPECT_NE(f, weights_sha()) << f;
  for (const auto& f : tree(repo_dir(cache))) EXPECT_EQ(f.find(".incomplete"), std::string::npos) << f;
  EXPECT_FALSE(fs::exists(dir + "/out"));
}

TEST(CliHub, MissingModelsAndRevisionsAre404sNamingTheUrl) {
  const std::string dir = test::temp_dir("cli_hub_404");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  HubServer hub({});
  const auto r = test::run_command(env(hub.endpoint(), cache) + embed(data, "someone/absent", dir + "/v.npy"));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("cannot download " + hub.endpoint() + "/someone/absent/resolve/main/config.json: HTTP 404"),
            std::string::npos) << r.err;
  const auto rev = test::run_command(env(hub.endpoint(), cache) + embed(data, "tiny-random", dir + "/v.npy") +
                                     " --revision v9");
  EXPECT_EQ(rev.exit_code, 4);
  EXPECT_NE(rev.err.find("/" + kRepo + "/resolve/v9/config.json: HTTP 404"), std::string::npos) << rev.err;
  EXPECT_NE(rev.err.find("revision 'v9'"), std::string::npos) << rev.err;
  EXPECT_TRUE(tree(cache).empty());
  EXPECT_FALSE(fs::exists(dir + "/v.npy"));
  // A revision is a name, not a path.
  const auto bad = test::run_command(env(hub.endpoint(), cache) + embed(data, "tiny-random", dir + "/v.npy") +
                                     " --revision ../../x");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--revision: expected a branch, tag or commit, got '../../x'"), std::string::npos) << bad.err;
  EXPECT_TRUE(tree(cache).empty());
  // The commit itself is a revision.
  const auto byc = test::run_command(env(hub.endpoint(), cache) + embed(data, "tiny-random", dir + "/v.npy") +
                                     " --revision " + kCommit);
  ASSERT_EQ(byc.exit_code, 0) << byc.err;
  EXPECT_FALSE(fs::exists(repo_dir(cache) + "/refs/" + kCommit));
}

TEST(CliHub, AGatedModelNeedsHfTokenWhichIsNeverShownOrStored) {
  const std::string dir = test::temp_dir("cli_hub_401");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  const std::string token = "hf_s3cretT0ken";
  HubServer hub({"--token", token});
  const auto r = test::run_command(env(hub.endpoint(), cache) + embed(data, "tiny-random", dir + "/v.npy"));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find(hub.endpoint() + "/" + kRepo + "/resolve/main/config.json: HTTP 401"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("set HF_TOKEN"), std::string::npos) << r.err;
  EXPECT_TRUE(tree(cache).empty());
  const auto wrong = test::run_command(env(hub.endpoint(), cache) + "HF_TOKEN=nope " + embed(data, "tiny-random", dir + "/v.npy"));
  EXPECT_EQ(wrong.exit_code, 4);
  EXPECT_NE(wrong.err.find("HF_TOKEN does not give access"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("nope"), std::string::npos) << wrong.err;
  const auto ok = test::run_command(env(hub.endpoint(), cache) + "HF_TOKEN=" + token + " " +
                                    test::cli() + " embed " + data + " --model tiny-random --no-cache --out " + dir + "/v.npy");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find(" with " + kRepo + " at " + kCommit + " ("), std::string::npos) << ok.out;
  EXPECT_EQ(ok.out.find(token), std::string::npos);
  EXPECT_EQ(ok.err.find(token), std::string::npos);
  for (const auto& f : tree(cache))
    if (fs::is_regular_file(cache + "/" + f)) EXPECT_EQ(slurp(cache + "/" + f).find(token), std::string::npos) << f;
}

TEST(CliHub, APrepopulatedReadOnlyCacheIsUsedAsItIs) {
  const std::string dir = test::temp_dir("cli_hub_readonly");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  // As a copy from another machine leaves it: plain files in the snapshot, a ref to it.
  const std::string snap = repo_dir(cache) + "/snapshots/" + kCommit;
  fs::create_directories(snap);
  fs::copy(test::small_model_dir(), snap, fs::copy_options::recursive);
  fs::create_directories(repo_dir(cache) + "/refs");
  std::ofstream(repo_dir(cache) + "/refs/main") << kCommit;
  ASSERT_EQ(test::run_command("chmod -R a-w " + cache).exit_code, 0);
  const auto before = tree(cache);
  // No server: an endpoint nothing listens on.
  const auto r = test::run_command(env("http://127.0.0.1:9", cache) + embed(data, kRepo, dir + "/v.npy"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree(cache), before);
  const auto direct = test::run_command(test::cli() + " embed " + data + " --model " + test::small_model_dir() +
                                        " --no-cache --quiet --out " + dir + "/direct.npy");
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(slurp(dir + "/v.npy"), slurp(dir + "/direct.npy"));
  test::run_command("chmod -R u+w " + cache);
}

TEST(CliHub, AnUnreachableHubNamesTheUrlAndTheCause) {
  const std::string dir = test::temp_dir("cli_hub_unreachable");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  const auto r = test::run_command(env("http://127.0.0.1:9", cache) + embed(data, "tiny-random", dir + "/v.npy"));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("cannot download http://127.0.0.1:9/" + kRepo + "/resolve/main/config.json: "), std::string::npos)
      << r.err;
  EXPECT_TRUE(tree(cache).empty());
}

TEST(CliHub, AFolderIsRecordedByItsAbsolutePathAndOldModelFilesWithARelativeOneStillScore) {
  const std::string dir = test::temp_dir("cli_hub_folder");
  const std::string data = small_csv(dir);
  fs::copy(test::small_model_dir(), dir + "/enc", fs::copy_options::recursive);
  const auto r = test::run_command("cd " + dir + " && " + test::cli() + " run data.csv --method embed --model enc --k 2 "
                                   "--quiet --no-explain --no-maps --no-report --out out");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto model = test::read_json(dir + "/out/model.json");
  auto& enc = model["methods"]["embed"]["encoder"];
  EXPECT_EQ(enc["model"], fs::absolute(dir + "/enc").lexically_normal().string());
  EXPECT_TRUE(enc["revision"].is_null());
  // Scored from elsewhere, with the folder found by its absolute path.
  const auto s = test::run_command("cd / && HF_HUB_OFFLINE=1 " + test::cli() + " score " + dir + "/out/model.json " + data +
                                   " --out " + dir + "/a.csv");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  // A model file from before ids: a relative folder, no revision.
  enc["model"] = "enc";
  enc.erase("revision");
  enc.erase("weights_sha256");
  std::ofstream(dir + "/old.json") << model.dump();
  const auto old = test::run_command("cd " + dir + " && HF_HUB_OFFLINE=1 " + test::cli() + " score old.json data.csv --out b.csv");
  ASSERT_EQ(old.exit_code, 0) << old.err;
  EXPECT_EQ(slurp(dir + "/a.csv"), slurp(dir + "/b.csv"));
}

TEST(CliHub, TwoProcessesDownloadingTheSameModelBothSucceed) {
  const std::string dir = test::temp_dir("cli_hub_parallel");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  HubServer hub({});
  const std::string one = env(hub.endpoint(), cache) + embed(data, "tiny-random", dir + "/a.npy");
  const std::string two = env(hub.endpoint(), cache) + embed(data, "tiny-random", dir + "/b.npy");
  const auto r = test::run_command("(" + one + "; echo $? > " + dir + "/a.rc) & (" + two + "; echo $? > " + dir +
                                   "/b.rc) & wait");
  EXPECT_EQ(slurp(dir + "/a.rc"), "0\n") << r.err;
  EXPECT_EQ(slurp(dir + "/b.rc"), "0\n") << r.err;
  EXPECT_TRUE(slurp(dir + "/a.npy") == slurp(dir + "/b.npy"));
  EXPECT_TRUE(slurp(repo_dir(cache) + "/blobs/" + weights_sha()) == slurp(test::small_model_dir() + "/model.safetensors"));
}

TEST(CliHub, AFullDiskNamesTheUrlAndTheCauseAndWritesNothing) {
  // A cache on a file system too small for the weights: a 64 KiB tmpfs, mounted for
  // the test (root only; elsewhere the test skips).
  const std::string dir = test::temp_dir("cli_hub_disk_full");
  const std::string data = small_csv(dir), cache = dir + "/hf";
  fs::create_directories(cache);
  if (::geteuid() != 0 || test::run_command("mount -t tmpfs -o size=64k tmpfs " + cache).exit_code != 0)
    GTEST_SKIP() << "mounting a small tmpfs needs root";
  ASSERT_GT(fs::file_size(test::small_model_dir() + "/model.safetensors"), 64u * 1024u);
  ASSERT_TRUE(fs::is_empty(cache));
  HubServer hub({});
  const auto r = test::run_command(env(hub.endpoint(), cache) + embed(data, "tiny-random", dir + "/v.npy"));
  const std::set<std::string> left = tree(repo_dir(cache));
  test::run_command("umount " + cache);
  EXPECT_EQ(r.exit_code, 4);
  // The file that no longer fits (the tokenizer or the weights) is named by its URL.
  EXPECT_NE(r.err.find("cannot download " + hub.endpoint() + "/" + kRepo + "/resolve/main/"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::strerror(ENOSPC)), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/v.npy"));
  // No weights passed off as complete, and no partial file left filling the disk.
  for (const auto& f : left) {
    EXPECT_EQ(f.find("snapshots/" + kCommit + "/model.safetensors"), std::string::npos) << f;
    EXPECT_EQ(f.find(".incomplete"), std::string::npos) << f;
  }
}
