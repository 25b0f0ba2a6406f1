// The report stage: a run's outputs -> report.html (see segmenta/report.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "segmenta/table.hpp"

namespace segmenta::detail {

/// The report page of a run from its outputs: metrics.json and run.json (parsed),
/// the text of segments.csv and of maps.csv (empty when the run made no maps) and,
/// when available, the input table the run segmented (representative customers are
/// then shown with their values). The map sample is seeded with the run's seed.
/// Throws InvalidArgument naming the output file that does not fit the others, or
/// ParseError for a malformed CSV.
std::string report_html(const nlohmann::json& metrics, const nlohmann::json& manifest, std::string_view segments_csv,
                        std::string_view maps_csv, const Table* data = nullptr);

}  // namespace segmenta::detail
