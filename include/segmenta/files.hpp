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
/// exception unwinds, or SIGINT/SIGTERM arrives once install_temporary_cleanup() has
/// run), the temporary file is removed and the target is untouched. Only a regular
/// file is ever replaced: a target that is a symbolic link, a FIFO, a device, a
/// socket or a directory is refused with IoError before anything is written.
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
  int slot_ = -1;  // register_temporary's slot of temp_
};

/// Writes `content` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view content);

/// Throws IoError ("<path>: not a regular file (...); refusing to replace it") when
/// `path` exists and is not a regular file. A symbolic link is refused, not followed.
void check_replaceable(const std::string& path);

// Temporaries removed on SIGINT and SIGTERM. AtomicFile and the run's staging
// directory register their paths here; install_temporary_cleanup() (the command
// line calls it first thing) installs a handler that unlinks every registered file,
// removes every registered directory (async-signal-safe calls only), then re-raises
// the signal with its default action, so the exit status still says which signal.

/// Registers a temporary path; returns its slot for unregister_temporary, or -1 when
/// every slot is taken (the path is then only removed by the normal error paths).
int register_temporary(const std::string& path) noexcept;
/// Forgets a slot (the path was renamed into place or removed).
void unregister_temporary(int slot) noexcept;
/// Installs the SIGINT/SIGTERM handler once; later calls do nothing.
void install_temporary_cleanup();

}  // namespace segmenta
