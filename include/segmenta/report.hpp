// segmenta report: one self-contained HTML page from the results of a run.
//
// The page works offline: plotly.js (the npm package plotly.js-dist-min pinned in
// package.json) and the page's own script and style sheet are built into the
// library and inlined; nothing is fetched when the page is opened. The results go
// into the page as one JSON document in <script type="application/json"
// id="segmenta-data">, and the page's script builds every table and figure from it:
//   data summary and column types; outliers (count, threshold, score histogram,
//   contributing features); per method the elbow curve with its knee, the criteria
//   per k, silhouette plots per k, 2-D and 3-D maps coloured by segment, the
//   surrogate's mean |SHAP| per segment and feature (shap's summary_plot bar),
//   segment profiles and representative customers; the comparison of methods;
//   diagnostics, timings and the run's settings.
//
// Text taken from the data (column names, levels, identifiers, file names) is never
// interpreted as markup: the C++ side escapes what it writes into the page
// (html_escape), the JSON document cannot close its script element (every '<' is
// written as \u003c), and the page's script inserts text with textContent and
// escapes what it hands to plotly.
//
// Size: maps keep at most ReportOptions::max_map_points points each (a seeded
// sample stratified by segment) and silhouette plots about max_silhouette_values
// bars per k (evenly spaced ranks within each cluster, at least one per cluster, so
// each cluster's sorted shape is kept); the page states the share shown.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "segmenta/core.hpp"
#include "segmenta/table.hpp"

namespace segmenta {

struct ReportOptions {
  /// Points drawn per map (2-D or 3-D scatter); larger maps are sampled. >= 1.
  std::size_t max_map_points = 5000;
  /// Silhouette bars drawn per k; larger profiles are thinned. >= 2.
  std::size_t max_silhouette_values = 2000;
  /// Seed of the map samples (the same inputs and seed give the same page).
  std::uint64_t seed = 0;
  /// Significant digits kept for map coordinates (the pictures need few). 3..17.
  int map_digits = 6;
};

/// Everything the report is made from; plain data, as a run writes it.
struct ReportInput {
  /// metrics.json of the run (required: input, outliers, methods).
  nlohmann::json metrics;
  /// run.json, the run's manifest (parameters, command line, timings); may be null.
  nlohmann::json manifest;
  /// segments.csv: `row`, optionally an id column, then `segment` (one method) or
  /// `segment_<method>` per method, `outlier`, `outlier_score`; one line per input
  /// row, the segment empty for rows not clustered.
  Table segments;
  /// maps.csv: `row` (input row index of a clustered row) and the projection
  /// columns metrics["maps"] lists per method (found as listed, or with the
  /// `<method>_` prefix maps.csv gives them when several methods ran); empty cells
  /// outside a map's sample. Absent: the report has no maps.
  std::optional<Table> maps;
  /// The input table (not owned; may be null): representative customers are shown
  /// with their values when given, by row number and id otherwise.
  const Table* data = nullptr;
  ReportOptions options;
};

/// The report's data document: what the page's script renders. Keys: "report"
/// (title, versions, sampling settings), "metrics" (metrics.json, with silhouette
/// profiles thinned and each profile's "shown" and "rate" added), "manifest",
/// "maps" ({method: [{name, axes, dims, info, total, shown, rate, segments[],
/// rows[], coords[[...] per axis]}]}), "representatives" ({columns, rows: {row:
/// {id?, values[]}}}).
/// Throws InvalidArgument naming the part of the input that is malformed (e.g.
/// "metrics.json: methods is missing", "segments.csv: no column segment_kmeans").
nlohmann::json report_data(const ReportInput& input);

/// The lines of input.maps whose coordinates report_data reads (the points of the
/// map samples), ascending; of the other lines it reads only whether each
/// coordinate is finite. Under mpirun rank 0 fetches just these lines' coordinates
/// from the ranks that hold them. Throws as report_data.
std::vector<std::size_t> report_map_lines(const ReportInput& input);

/// The complete HTML page (UTF-8). Throws as report_data.
std::string render_report(const ReportInput& input);

/// Reads the data document back out of a page written by render_report. Throws
/// InvalidArgument when the page has none.
nlohmann::json extract_report_data(std::string_view html);

/// `text` with & < > " ' replaced by character references: safe in element content
/// and in quoted attribute values.
std::string html_escape(std::string_view text);

/// `j` serialised for a <script type="application/json"> element: every '<', '>'
/// and '&' is written as a \u escape, so no data text can end the element or open
/// a comment; JSON.parse reads it back unchanged. Invalid UTF-8 is replaced by
/// U+FFFD.
std::string json_for_script(const nlohmann::json& j);

/// Neutralises the sequences that end or confuse an inline <script> element
/// ("</script" in any case becomes "<\/script", "<!--" becomes "\x3C!--") in
/// JavaScript source; both rewrites keep the meaning of string, regular-expression
/// and template literals and of comments, where such sequences can occur.
std::string escape_inline_script(std::string_view source);

/// The sample of map points: at most `max_count` positions of `strata` (the segment
/// of each point, >= 0), stratified by segment with core's stratified_label_sample
/// (the rule of explain's TreeSHAP sample): every segment gets one point, the rest
/// goes to the segments in proportion to their sizes minus one (largest
/// remainders), each segment's points drawn uniformly without replacement from
/// Rng::stream(seed, 1 + its rank among the segments). Returns ascending positions;
/// all of them when max_count is 0 or at least n. Throws InvalidArgument for strata
/// < -1; -1 points are never drawn.
std::vector<std::size_t> stratified_map_sample(std::span<const std::int32_t> strata, std::size_t max_count,
                                               std::uint64_t seed);

/// The version of plotly.js built into the report.
std::string_view plotly_version() noexcept;

}  // namespace segmenta
