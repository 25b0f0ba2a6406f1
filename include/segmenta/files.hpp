// segmenta files (part of the core module): whole-file reading and atomic writing.
//
// Every module that reads or writes files goes through these, so the error
// messages are the same everywhere (IoError, one line naming the path) and no
// reader ever sees a partially written output.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "segmenta/core.hpp"

namespace segmenta {

/// Reads a whole file into memory. Throws IoError ("<path>: cannot open: <reason>",
/// "<path>: read error").
std::string read_file(const std::string& path);

/// Reads a stream to its end (standard input, a pipe); `name` is used in the error
/// message. Throws IoError ("<name>: read error").
std::string read_stream(std::FILE* stream, const std::string& name);

/// Writes a file atomically: content goes to a temporary file beside the target,
/// which is renamed over the target by commit(). If commit() is never called (an
/// exception unwinds), the temporary file is removed and the target is untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(std::string_view bytes);
  AtomicFile& operator<<(std::string_view bytes) {
    write(bytes);
    return *this;
  }
  void commit();
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_, temp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

/// Writes `content` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view content);

}  // namespace segmenta
