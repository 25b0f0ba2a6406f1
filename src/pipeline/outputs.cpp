#include "outputs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace segmenta::detail {

namespace fs = std::filesystem;

namespace {

std::string strip_trailing_separators(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool is_real_directory(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void sync_directory(const std::string& path) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

bool is_run_output_name(const std::string& n) {
  if (n == "segments.csv" || n == "profiles.csv" || n == "maps.csv" || n == "metrics.json" || n == "model.json" ||
      n == "report.html" || n == "run.json")
    return true;
  return n.size() > 13 && n.compare(0, 9, "profiles_") == 0 && n.compare(n.size() - 4, 4, ".csv") == 0;
}

OutputSet::OutputSet(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) throw IoError("out: no output directory given");
  std::error_code ec;
  target_ = strip_trailing_separators(fs::absolute(fs::path(dir_), ec).lexically_normal().string());
  if (ec || target_ == "/") throw IoError(fmt::format("{}: cannot be used as the output directory", dir_));
  const fs::file_status st = fs::status(target_, ec);
  const bool exists = fs::exists(st);
  if (exists && !fs::is_directory(st)) throw IoError(fmt::format("{}: not a directory", dir_));
  if (exists && ::access(target_.c_str(), W_OK | X_OK) != 0)
    throw IoError(fmt::format("{}: cannot write the output directory: {}", dir_, std::strerror(errno)));
  const fs::path parent = fs::path(target_).parent_path();
  fs::create_directories(parent, ec);
  if (ec) throw IoError(fmt::format("{}: cannot create the output directory: {}", dir_, ec.message()));

  stage_ = fmt::format("{}.tmp-{}", target_, static_cast<long>(::getpid()));
  // Registered before it is created: a signal that arrives just after mkdir still
  // removes it (removing a directory that does not exist yet is harmless).
  stage_slot_ = register_temporary(stage_);
  if (::mkdir(stage_.c_str(), 0777) != 0 && errno == EEXIST) {
    // Left by an earlier process with the same id that was killed: ours to remove.
    fs::remove_all(stage_, ec);
    ::mkdir(stage_.c_str(), 0777);
  }
  if (!is_real_directory(stage_)) {
    const int err = errno;
    unregister_temporary(stage_slot_);
    stage_slot_ = -1;
    throw IoError(fmt::format("{}: cannot write beside the output directory ({}): {}", dir_, parent.string(),
                              std::strerror(err)));
  }
  stage_exists_ = true;
}

OutputSet::~OutputSet() { remove_stage(); }

void OutputSet::remove_stage() noexcept {
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
  }
  if (stage_exists_) {
    for (const auto& n : names_) ::unlink((stage_ + "/" + n).c_str());
    std::error_code ec;
    fs::remove_all(stage_, ec);  // an exchanged old set, whatever it holds
    stage_exists_ = false;
  }
  for (int s : slots_) unregister_temporary(s);
  slots_.clear();
  unregister_temporary(stage_slot_);
  stage_slot_ = -1;
}

void OutputSet::add(const std::string& name, std::string_view content) {
  begin(name);
  write(content);
  end();
}

void OutputSet::begin(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    throw InvalidArgument(fmt::format("output file name '{}' is not a plain file name", name));
  if (file_) throw IoError(fmt::format("{}: {} begun before {} ended", dir_, name, shown_));
  const std::string path = stage_ + "/" + name;
  slots_.push_back(register_temporary(path));
  names_.push_back(name);
  shown_ = (fs::path(dir_) / name).string();
  file_ = std::fopen(path.c_str(), "wbx");
  if (!file_) throw IoError(fmt::format("{}: cannot create: {}", shown_, std::strerror(errno)));
}

void OutputSet::write(std::string_view piece) {
  if (!file_) throw IoError(fmt::format("{}: output written outside begin() .. end()", dir_));
  if (piece.empty() || std::fwrite(piece.data(), 1, piece.size(), file_) == piece.size()) return;
  const int saved = errno;
  std::fclose(file_);
  file_ = nullptr;
  throw IoError(fmt::format("{}: write failed: {}", shown_, std::strerror(saved)));
}

void OutputSet::end() {
  if (!file_) throw IoError(fmt::format("{}: output ended outside begin() .. end()", dir_));
  std::FILE* f = std::exchange(file_, nullptr);
  bool ok = std::fflush(f) == 0;
  ok = ::fsync(::fileno(f)) == 0 && ok;
  const int saved = errno;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) throw IoError(fmt::format("{}: write failed: {}", shown_, std::strerror(saved)));
}

void OutputSet::commit() {
  if (!stage_exists_) throw IoError(fmt::format("{}: outputs already committed", dir_));
  if (file_) throw IoError(fmt::format("{}: committed before {} ended", dir_, shown_));
  sync_directory(stage_);
  // Check every target before anything moves, so that a predictable failure (a
  // directory or a special file in the way) changes nothing.
  for (const auto& n : names_) {
    const std::string p = target_ + "/" + n;
    if (is_real_directory(p))
      throw IoError(fmt::format("{}: cannot replace a directory with an output file", (fs::path(dir_) / n).string()));
    check_replaceable(p);
  }
  struct stat st {};
  const bool absent = ::lstat(target_.c_str(), &st) != 0 && errno == ENOENT;
  const bool real_dir = !absent && S_ISDIR(st.st_mode);
  std::vector<std::string> old_entries;
  bool only_outputs = true;
  if (!absent) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(target_, ec)) {
      const std::string n = e.path().filename().string();
      old_entries.push_back(n);
      if (!is_run_output_name(n) || !e.is_regular_file() || e.is_symlink()) only_outputs = false;
    }
    if (ec) throw IoError(fmt::format("{}: cannot list the output directory: {}", dir_, ec.message()));
  }

  const std::string parent = fs::path(target_).parent_path().string();
  // A missing or empty directory: the staging directory becomes it in one rename.
  if (absent || (real_dir && old_entries.empty())) {
    if (std::rename(stage_.c_str(), target_.c_str()) == 0) {
      stage_exists_ = false;
      sync_directory(parent);
      remove_stage();
      return;
    }
  }
  // Only a previous run's files: exchange the two directories in one step.
  if (real_dir && only_outputs && !old_entries.empty()) {
    for (const auto& n : old_entries) slots_.push_back(register_temporary(stage_ + "/" + n));
    if (::renameat2(AT_FDCWD, stage_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) == 0) {
      sync_directory(parent);
      remove_stage();  // the staging path now holds the old set
      return;
    }
  }
  // Other files in the directory: the manifest goes first and comes back last.
  const std::string manifest = "run.json";
  const bool has_manifest = std::find(names_.begin(), names_.end(), manifest) != names_.end();
  auto move_in = [&](const std::string& n) {
    if (std::rename((stage_ + "/" + n).c_str(), (target_ + "/" + n).c_str()) != 0)
      throw IoError(fmt::format("{}: cannot move the output into place: {}", (fs::path(dir_) / n).string(),
                                std::strerror(errno)));
  };
  if (has_manifest && ::unlink((target_ + "/" + manifest).c_str()) != 0 && errno != ENOENT)
    throw IoError(fmt::format("{}: cannot remove the previous run's manifest: {}",
                              (fs::path(dir_) / manifest).string(), std::strerror(errno)));
  for (const auto& n : names_)
    if (n != manifest) move_in(n);
  for (const auto& n : old_entries)
    if (is_run_output_name(n) && std::find(names_.begin(), names_.end(), n) == names_.end())
      ::unlink((target_ + "/" + n).c_str());
  if (has_manifest) {
    sync_directory(target_);
    move_in(manifest);
  }
  sync_directory(target_);
  remove_stage();
}

}  // namespace segmenta::detail
