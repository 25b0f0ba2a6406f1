// Representative rows of segments in a space read row by row (a method's space made
// on demand rather than stored for every row).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace segmenta::detail {

/// Writes the q values of row `row` into dst; called from several threads at once.
using FeatureRow = std::function<void(std::size_t row, double* dst)>;

/// representative_rows of the (labels.size(), q) matrix whose rows `row` writes (only
/// rows with a label >= 0 are read), each segment's centre the mean of its rows: the
/// same rows as representative_rows of the materialised matrix, ties included.
std::vector<std::vector<std::size_t>> representative_rows_of(std::size_t q, const FeatureRow& row,
                                                             std::span<const std::int32_t> labels, std::size_t count);

}  // namespace segmenta::detail
