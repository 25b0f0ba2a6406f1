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

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"
#include "segmenta/pipeline.hpp"

namespace segmenta::detail {

/// Receives output files one after the other, each in pieces: begin(name), then
/// write(piece) any number of times, then end().
class OutputStream {
 public:
  virtual ~OutputStream() = default;
  virtual void begin(const std::string& name) = 0;
  virtual void write(std::string_view piece) = 0;
  virtual void end() = 0;
};

/// The ranks of a run formatting the rows of the per-row files together
/// (docs/ARCHITECTURE.md, "Several processes"): segments.csv and maps.csv (each rank
/// formats the rows whose coordinates it holds: MethodMaps::rank_rows). Every rank
/// calls render_outputs with the same share (rank 0 with its stream, the others with
/// none); the others return after the last shared file (and, with a report, after
/// sending rank 0 the coordinates of the report's map points), rank 0 writes the rest.
struct RowShare {
  const Communicator* comm = nullptr;
  /// Set on rank 0 when it leaves the shared files: a failure after this point is
  /// rank 0's alone (the others must be told), before it every rank had it.
  bool rows_done = false;
  /// What rank 0 received while the rows were shared (for the mpi diagnostic).
  std::uint64_t bytes_received = 0;
  std::size_t rounds = 0;
};

/// Formats rows [begin, end) of a per-row file, appending them to `out`.
using RowFormatter = std::function<void(std::size_t begin, std::size_t end, std::string& out)>;

/// Rows per block of a per-row file: the ranks and the threads format whole blocks.
inline constexpr std::size_t kRowFileBlock = 4096;

/// Counts of write_rows' work on this rank (for tests and measurements).
struct RowWriteCounts {
  std::size_t rows_formatted = 0;   // rows this rank formatted
  std::size_t rounds = 0;           // gathers to rank 0
  std::uint64_t bytes_received = 0; // the rows' text rank 0 received from the others
};

/// Writes the rows [0, rows) of a file to `out` (rank 0's stream; null on the others)
/// in rounds: a round is a run of consecutive blocks of kRowFileBlock rows, at most
/// `blocks_per_rank` blocks per rank (at least the thread count); rank r formats the
/// r-th share of the round's blocks in order (detail::RowRounds, which the maps'
/// projections keep their rows by), on its threads, and rank 0
/// receives the ranks' text in rank order (gather_bytes) and writes it, so the file
/// is the one process's whatever the number of ranks, and rank 0 holds one round's
/// text at a time. A failure on any rank (formatting, or rank 0's write) is every
/// rank's at the end of its round (agree_on_failure). A null or one-rank
/// communicator formats every block here.
void write_rows(const Communicator* comm, std::size_t rows, const RowFormatter& format, OutputStream* out,
                RowWriteCounts* counts = nullptr, std::size_t blocks_per_rank = 16);

/// render_outputs() into a stream: the same files with the same bytes, but no file is
/// held whole (segments.csv and maps.csv are written a block of rows at a time, the
/// JSON files as they are serialised). Returns the timings that render_outputs() puts
/// in OutputFiles::timings. With a share of several ranks, every rank calls it: `out`
/// is rank 0's, null elsewhere; the other ranks return (no timings) after the shared
/// files.
std::vector<std::pair<std::string, double>> render_outputs(const SegmentationResult& result, OutputStream* out,
                                                           RowShare* share = nullptr);
inline std::vector<std::pair<std::string, double>> render_outputs(const SegmentationResult& result,
                                                                  OutputStream& out) {
  return render_outputs(result, &out, nullptr);
}

/// A sink that can take the outputs as a stream instead of rendered whole.
class StreamingSink {
 public:
  virtual ~StreamingSink() = default;
  /// Renders the outputs straight into the destination and commits them, as
  /// Sink::write does with rendered files; sets `timings` as render_outputs() does.
  /// With `share`, the other ranks take part in the per-row files (render_outputs).
  virtual std::vector<std::string> write_streamed(const SegmentationResult& result,
                                                  std::vector<std::pair<std::string, double>>& timings,
                                                  RowShare* share = nullptr) = 0;
};

class OutputSet final : public OutputStream {
 public:
  /// Creates the parent directories if needed and the staging directory; throws
  /// IoError when DIR is not a directory or cannot be written.
  explicit OutputSet(std::string dir);
  ~OutputSet();
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;
  /// Writes `name` (a plain file name) into the staging directory.
  void add(const std::string& name, std::string_view content);
  /// The same in pieces: begin(name), write(piece)..., end() (fsync'ed and closed).
  /// Throws IoError naming the file when it cannot be created or written.
  void begin(const std::string& name) override;
  void write(std::string_view piece) override;
  void end() override;
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
  std::FILE* file_ = nullptr;  // the file being written (begin .. end)
  std::string shown_;          // its name as messages show it
};

/// Whether `name` is a file a run writes (and so may replace or remove).
bool is_run_output_name(const std::string& name);

}  // namespace segmenta::detail
