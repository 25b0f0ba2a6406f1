// A run's outputs, committed as a whole. The files are written into a staging
// directory beside the output directory (`DIR.tmp-PID`), created before the
// computation starts (so an output location that cannot be written fails fast).
// commit() then makes the new set visible:
//   * DIR does not exist, or is empty: the staging directory is renamed to DIR;
//   * DIR holds only files a run writes (segments.csv, profiles*.csv, maps.csv,
//     metrics.json, model.json, report.html, run.json): the two directories are
//     exchanged in one step (renameat2 RENAME_EXCHANGE) and the old set removed;
//   * DIR holds other files too (or the exchange is not supported): the old run.json
//     (the manifest) is removed first, the new files are renamed in, outputs of the
//     old run that the new one does not write are removed, and run.json comes last.
//     A directory without run.json is an incomplete run.
// A failure or SIGINT/SIGTERM before commit() leaves DIR as it was and removes the
// staging directory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "segmenta/io.hpp"

namespace segmenta::detail {

class OutputSet {
 public:
  /// Creates the parent directories if needed and the staging directory; throws
  /// IoError when DIR is not a directory or cannot be written.
  explicit OutputSet(std::string dir);
  ~OutputSet();
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;
  /// Writes `name` (a plain file name) into the staging directory.
  void add(const std::string& name, std::string_view content);
  /// Makes the staged set DIR's outputs (see above).
  void commit();
  const std::string& dir() const noexcept { return dir_; }
  const std::vector<std::string>& names() const noexcept { return names_; }

 private:
  void remove_stage() noexcept;
  std::string dir_;     // as the user gave it (for messages)
  std::string target_;  // absolute, without a trailing separator
  std::string stage_;   // target_ + ".tmp-PID"
  int stage_slot_ = -1;
  bool stage_exists_ = false;
  std::vector<std::string> names_;
  std::vector<int> slots_;
};

/// Whether `name` is a file a run writes (and so may replace or remove).
bool is_run_output_name(const std::string& name);

}  // namespace segmenta::detail
