// Staged output files: every file of a run is first written to a temporary file in
// the output directory; only when all of them are complete are they renamed into
// place. A run that fails before commit() leaves the directory as it was.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "segmenta/io.hpp"

namespace segmenta::detail {

class OutputSet {
 public:
  /// Creates the directory (and parents) if needed; throws IoError if impossible.
  explicit OutputSet(std::string dir);
  /// Writes `name` (relative to the directory) to its temporary file.
  void add(const std::string& name, std::string_view content);
  /// Renames every file into place.
  void commit();
  const std::string& dir() const noexcept { return dir_; }
  const std::vector<std::string>& names() const noexcept { return names_; }

 private:
  std::string dir_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<AtomicFile>> files_;
};

}  // namespace segmenta::detail
