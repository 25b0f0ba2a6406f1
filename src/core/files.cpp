// Whole-file reading and atomic writing (temporary file beside the target + rename).
#include <unistd.h>

#include <cerrno>
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
  std::fclose(f);
  if (!ok) throw IoError(fmt::format("{}: read error", path));
  return data;
}

std::string read_stream(std::FILE* stream, const std::string& name) {
  std::string data;
  if (!append_stream(stream, data)) throw IoError(fmt::format("{}: read error", name));
  return data;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  temp_ = fmt::format("{}.tmp-{}", path_, static_cast<long>(::getpid()));
  file_ = std::fopen(temp_.c_str(), "wb");
  if (!file_) throw IoError(fmt::format("{}: cannot create: {}", path_, std::strerror(errno)));
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(temp_.c_str());
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
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    throw IoError(fmt::format("{}: cannot rename the temporary file into place: {}", path_, std::strerror(errno)));
  committed_ = true;
}

void write_file_atomic(const std::string& path, std::string_view content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

}  // namespace segmenta
