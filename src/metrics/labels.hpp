// Label encoding shared by the metrics (scikit-learn's LabelEncoder semantics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "segmenta/metrics.hpp"

namespace segmenta::detail {

/// A labeling re-coded to 0..k-1 in increasing order of the original values,
/// with the number of rows carrying each code.
struct EncodedLabels {
  std::vector<std::int32_t> codes;   // (n)
  std::vector<std::size_t> counts;   // (k)
  std::vector<std::int32_t> values;  // (k): the label value of each code, increasing
  std::size_t k() const noexcept { return counts.size(); }
};

/// Encodes any int32 labels; O(n) when the value range is at most 4n, else O(n log n).
EncodedLabels encode_labels(Labels labels);

/// Throws InvalidArgument naming `name` unless 2 <= k <= n - 1 (scikit-learn's
/// check_number_of_labels).
void check_number_of_labels(const EncodedLabels& labels, std::string_view name);
/// The same for k distinct labels of n rows.
void check_number_of_labels(std::size_t k, std::size_t n, std::string_view name);

}  // namespace segmenta::detail
