// Stratified sampling by label (moved here from explain so that the report's map
// sample and explain's TreeSHAP sample share one rule).
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "segmenta/core.hpp"

namespace segmenta {
namespace {

// Largest-remainder apportionment of `total` items to groups with the given weights
// (ties to the lower index).
std::vector<std::size_t> apportion(const std::vector<double>& weights, std::size_t total) {
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<std::size_t> out(weights.size(), 0);
  if (sum <= 0.0 || total == 0) return out;
  std::vector<double> remainder(weights.size());
  std::size_t given = 0;
  for (std::size_t c = 0; c < weights.size(); ++c) {
    const double q = static_cast<double>(total) * weights[c] / sum;
    out[c] = static_cast<std::size_t>(std::floor(q));
    remainder[c] = q - std::floor(q);
    given += out[c];
  }
  std::vector<std::size_t> order(weights.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
  for (std::size_t r = 0; given < total && r < order.size(); ++r, ++given) ++out[order[r]];
  return out;
}

}  // namespace

std::vector<std::size_t> stratified_label_sample(std::span<const std::int32_t> labels, std::size_t max_rows,
                                                 std::uint64_t random_state) {
  // Distinct labels >= 0 (ascending) and the positions of each, ascending.
  std::vector<std::int32_t> classes;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < -1)
      throw InvalidArgument(fmt::format("labels: {} at row {} (segments are >= 0, -1 = not clustered)", labels[i], i));
    if (labels[i] >= 0) classes.push_back(labels[i]);
  }
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  const std::size_t k = classes.size();
  std::vector<std::vector<std::size_t>> rows(k);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) continue;
    rows[static_cast<std::size_t>(std::lower_bound(classes.begin(), classes.end(), labels[i]) - classes.begin())]
        .push_back(i);
  }
  std::size_t total = 0;
  for (const auto& r : rows) total += r.size();

  std::vector<std::size_t> out;
  if (max_rows == 0 || max_rows >= total) {
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] >= 0) out.push_back(i);
    return out;
  }
  std::vector<std::size_t> take(k, 0);
  if (max_rows >= k) {
    // One row per label first, the rest in proportion to the remaining sizes.
    std::vector<double> w(k);
    for (std::size_t c = 0; c < k; ++c) w[c] = static_cast<double>(rows[c].size() - 1);
    take = apportion(w, max_rows - k);
    for (auto& t : take) ++t;
  } else {
    std::vector<std::size_t> order(k);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return rows[a].size() > rows[b].size(); });
    for (std::size_t r = 0; r < max_rows; ++r) take[order[r]] = 1;
  }
  for (std::size_t c = 0; c < k; ++c) {
    Rng rng = Rng::stream(random_state, 1 + c);
    for (const std::size_t s : rng.sample_without_replacement(rows[c].size(), take[c])) out.push_back(rows[c][s]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace segmenta
