// Stratified sampling of map points.
#include <algorithm>
#include <map>
#include <numeric>

#include "segmenta/report.hpp"

namespace segmenta {

std::vector<std::size_t> stratified_sample(std::span<const std::int32_t> strata, std::size_t max_count,
                                           std::uint64_t seed) {
  if (max_count == 0) throw InvalidArgument("stratified_sample: max_count must be at least 1");
  const std::size_t n = strata.size();
  std::vector<std::size_t> out;
  if (n <= max_count) {
    out.resize(n);
    std::iota(out.begin(), out.end(), std::size_t{0});
    return out;
  }
  // Members of each stratum in ascending label order: the order (and so each
  // stratum's random stream) depends only on the labels, not on where they occur.
  std::map<std::int32_t, std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < n; ++i) members[strata[i]].push_back(i);
  std::vector<std::vector<std::size_t>*> groups;
  for (auto& [label, rows] : members) groups.push_back(&rows);
  const std::size_t g = groups.size();

  // Largest-remainder apportionment of max_count to the strata by size: the quota
  // of each stratum is within one of max_count * size / n, and they add up to
  // max_count. Since max_count < n no quota exceeds its stratum.
  std::vector<std::size_t> quota(g);
  std::vector<double> remainder(g);
  std::size_t given = 0;
  for (std::size_t s = 0; s < g; ++s) {
    const double exact = static_cast<double>(max_count) * static_cast<double>(groups[s]->size()) / static_cast<double>(n);
    quota[s] = static_cast<std::size_t>(exact);
    remainder[s] = exact - static_cast<double>(quota[s]);
    given += quota[s];
  }
  std::vector<std::size_t> order(g);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
  for (std::size_t t = 0; given < max_count && t < g; ++t, ++given) ++quota[order[t]];
  // A small segment still shows up on the map: a stratum left without points takes
  // one from the stratum with the largest quota, as long as that one keeps two.
  for (std::size_t s = 0; s < g; ++s) {
    if (quota[s] > 0) continue;
    const auto donor = static_cast<std::size_t>(std::max_element(quota.begin(), quota.end()) - quota.begin());
    if (quota[donor] < 2) break;
    --quota[donor];
    quota[s] = 1;
  }

  out.reserve(max_count);
  for (std::size_t s = 0; s < g; ++s) {
    const std::vector<std::size_t>& rows = *groups[s];
    Rng rng = Rng::stream(seed, s);
    for (std::size_t pick : rng.sample_without_replacement(rows.size(), quota[s])) out.push_back(rows[pick]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace segmenta
