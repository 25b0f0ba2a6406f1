// Whole-file reading and atomic writing (temporary file beside the target + rename).
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "segmenta/files.hpp"

namespace segmenta {

namespace {
/// Appends the rest of `f` to `data`; false on a read error.
bool append_stream(std::FILE* f, std::string& data) {
  char buf[1 << 16];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, got);
  return !std::ferror(f);
}
}  // namespace

std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::string data;
  const bool ok = append_stream(f, data);
  const int error = errno;
  std::fclose(f);
  if (!ok) throw IoError(fmt::format("{}: cannot read: {}", path, std::strerror(error)));
  return data;
}

std::string read_stream(std::FILE* stream, const std::string& name) {
  std::string data;
  if (!append_stream(stream, data)) throw IoError(fmt::format("{}: read error", name));
  return data;
}

// ---- temporaries removed on SIGINT / SIGTERM

namespace {

constexpr std::size_t kSlots = 256, kPathMax = 4096;
// state: 0 free, 1 being written or cleared, 2 holds a path the handler removes.
std::array<std::atomic<int>, kSlots> slot_state{};
char slot_path[kSlots][kPathMax];
std::atomic<bool> cleanup_installed{false};

extern "C" void remove_temporaries_and_reraise(int sig) {
  // Files first, then directories (a staging directory is empty once its files are gone).
  for (std::size_t pass = 0; pass < 2; ++pass)
    for (std::size_t i = kSlots; i-- > 0;)
      if (slot_state[i].load(std::memory_order_acquire) == 2) {
        if (pass == 0)
          ::unlink(slot_path[i]);
        else
          ::rmdir(slot_path[i]);
      }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

int register_temporary(const std::string& path) noexcept {
  if (path.size() >= kPathMax) return -1;
  for (std::size_t i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (slot_state[i].compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      std::memcpy(slot_path[i], path.c_str(), path.size() + 1);
      slot_state[i].store(2, std::memory_order_release);
      return static_cast<int>(i);
    }
  }
  return -1;
}

void unregister_temporary(int slot) noexcept {
  if (slot < 0 || static_cast<std::size_t>(slot) >= kSlots) return;
  slot_state[static_cast<std::size_t>(slot)].store(1, std::memory_order_release);
  slot_state[static_cast<std::size_t>(slot)].store(0, std::memory_order_release);
}

void install_temporary_cleanup() {
  if (cleanup_installed.exchange(true)) return;
  struct sigaction sa {};
  sa.sa_handler = remove_temporaries_and_reraise;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    // A signal the parent set to be ignored (nohup, a background job) stays ignored.
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &sa, nullptr);
  }
}

void check_replaceable(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;  // nothing there (or unreachable: creating it will say)
  if (S_ISREG(st.st_mode)) return;
  const char* what = S_ISLNK(st.st_mode)    ? "a symbolic link"
                     : S_ISDIR(st.st_mode)  ? "a directory"
                     : S_ISFIFO(st.st_mode) ? "a FIFO"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                     : S_ISSOCK(st.st_mode)                       ? "a socket"
                                                                  : "a special file";
  throw IoError(fmt::format("{}: is {}, not a regular file; refusing to replace it", path, what));
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  check_replaceable(path_);
  temp_ = fmt::format("{}.tmp-{}", path_, static_cast<long>(::getpid()));
  // Registered before it is created, as the staging directory is: a SIGINT right after
  // the open still removes it.
  slot_ = register_temporary(temp_);
  file_ = std::fopen(temp_.c_str(), "wbx");
  if (!file_ && errno == EEXIST) {
    // A temporary of an earlier process with the same id (a crash): it is ours to replace.
    std::remove(temp_.c_str());
    file_ = std::fopen(temp_.c_str(), "wbx");
  }
  if (!file_) {
    const int err = errno;
    unregister_temporary(slot_);
    throw IoError(fmt::format("{}: cannot create: {}", path_, std::strerror(err)));
  }
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(temp_.c_str());
  unregister_temporary(slot_);
}

void AtomicFile::write(std::string_view bytes) {
  if (!file_) throw IoError(path_ + ": write after commit");
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
    throw IoError(fmt::format("{}: write failed: {}", path_, std::strerror(errno)));
}

void AtomicFile::commit() {
  if (!file_) return;
  const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) throw IoError(fmt::format("{}: write failed: {}", path_, std::strerror(errno)));
  // The target may have changed since the constructor looked (a FIFO made meanwhile).
  check_replaceable(path_);
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    throw IoError(fmt::format("{}: cannot rename the temporary file into place: {}", path_, std::strerror(errno)));
  committed_ = true;
  unregister_temporary(slot_);
  slot_ = -1;
}

void write_file_atomic(const std::string& path, std::string_view content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

}  // namespace segmenta
