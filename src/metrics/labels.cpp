#include "metrics/labels.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace segmenta::detail {

EncodedLabels encode_labels(Labels labels) {
  EncodedLabels out;
  const std::size_t n = labels.size();
  out.codes.resize(n);
  if (n == 0) return out;
  const auto [lo_it, hi_it] = std::minmax_element(labels.begin(), labels.end());
  const std::int64_t lo = *lo_it, hi = *hi_it;
  const std::uint64_t range = static_cast<std::uint64_t>(hi - lo) + 1;
  if (range <= 4 * static_cast<std::uint64_t>(n)) {
    // Dense value range: a lookup table is cheaper than sorting.
    std::vector<std::int32_t> code(range, -1);
    for (std::int32_t v : labels) code[static_cast<std::size_t>(v - lo)] = 0;
    std::int32_t next = 0;
    for (std::size_t v = 0; v < code.size(); ++v)
      if (code[v] == 0) {
        code[v] = next++;
        out.values.push_back(static_cast<std::int32_t>(lo + static_cast<std::int64_t>(v)));
      }
    out.counts.assign(static_cast<std::size_t>(next), 0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t c = code[static_cast<std::size_t>(labels[i] - lo)];
      out.codes[i] = c;
      ++out.counts[static_cast<std::size_t>(c)];
    }
    return out;
  }
  std::vector<std::int32_t> values(labels.begin(), labels.end());
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  out.counts.assign(values.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c =
        static_cast<std::int32_t>(std::lower_bound(values.begin(), values.end(), labels[i]) - values.begin());
    out.codes[i] = c;
    ++out.counts[static_cast<std::size_t>(c)];
  }
  out.values = std::move(values);
  return out;
}

void check_number_of_labels(const EncodedLabels& labels, std::string_view name) {
  check_number_of_labels(labels.k(), labels.codes.size(), name);
}

void check_number_of_labels(std::size_t k, std::size_t n, std::string_view name) {
  if (k < 2 || k + 1 > n)
    throw InvalidArgument(std::string(name) + ": number of distinct labels is " + std::to_string(k) +
                          "; valid values are 2 to n_samples - 1 = " + std::to_string(n == 0 ? 0 : n - 1));
}

}  // namespace segmenta::detail
