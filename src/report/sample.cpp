// Stratified sampling of map points. The report has always sampled with the rule of
// explain's TreeSHAP sample (the program linked that definition when both modules
// defined a function of the same name), so it calls the shared rule in core.
#include "segmenta/report.hpp"

namespace segmenta {

std::vector<std::size_t> stratified_map_sample(std::span<const std::int32_t> strata, std::size_t max_count,
                                               std::uint64_t seed) {
  return stratified_label_sample(strata, max_count, seed);
}

}  // namespace segmenta
