// Representative rows of segments in a space read row by row (a method's space made
// on demand rather than stored for every row).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "metrics/row_source.hpp"

namespace segmenta::detail {

/// representative_rows of x (labels.size() rows; only rows with a label >= 0 are
/// read), each segment's centre the mean of its rows: the same rows as
/// representative_rows of the materialised matrix, ties included.
std::vector<std::vector<std::size_t>> representative_rows_of(const RowSource<double>& x,
                                                             std::span<const std::int32_t> labels, std::size_t count);

}  // namespace segmenta::detail
