// Representative rows of segments in a space read row by row (a method's space made
// on demand rather than stored for every row), and what one rank computed of the
// profiles when ranks share them.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "segmenta/comm.hpp"
#include "segmenta/explain.hpp"

namespace segmenta::detail {

/// Writes the q values of row `row` into dst; called from several threads at once.
using FeatureRow = std::function<void(std::size_t row, double* dst)>;

/// What this rank computed of profile_segments / representative_rows_of (for tests
/// of the ranks' shares; one process computes all of it).
struct ProfileWork {
  std::size_t summed_rows = 0;     // rows whose values this rank added (sums, counts)
  std::size_t ordered_values = 0;  // numeric values this rank selected quartiles among (each (column, group)'s)
  std::size_t ordered_rows = 0;    // rows whose values this rank read for the order statistics
  std::size_t searched_rows = 0;   // rows this rank measured for the representatives
};

/// representative_rows of the (labels.size(), q) matrix whose rows `row` writes (only
/// rows with a label >= 0 are read), each segment's centre the mean of its rows: the
/// same rows as representative_rows of the materialised matrix, ties included. With
/// `comm`, the ranks share the rows (the same result on every rank).
std::vector<std::vector<std::size_t>> representative_rows_of(std::size_t q, const FeatureRow& row,
                                                             std::span<const std::int32_t> labels, std::size_t count,
                                                             const Communicator* comm = nullptr,
                                                             ProfileWork* work = nullptr);

/// profile_segments, also telling what this rank computed.
Profiles profile_segments_counted(const Table& table, std::span<const std::int32_t> labels, const ProfileParams& params,
                                  ViewD features, ViewD centers, ProfileWork* work);

}  // namespace segmenta::detail
