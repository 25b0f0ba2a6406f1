// The report's data document: metrics and manifest as the run wrote them, with the
// large parts reduced to what the page draws (sampled maps, thinned silhouette
// profiles) and the rows the page refers to (representative customers).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "segmenta/report.hpp"

namespace segmenta {
namespace {

using json = nlohmann::json;

const json& require_object(const json& parent, const char* key, const char* where) {
  if (!parent.is_object() || !parent.contains(key) || !parent[key].is_object())
    throw InvalidArgument(fmt::format("metrics.json: {}{} is missing or not an object", where, key));
  return parent[key];
}

/// The integer in a cell of a CSV column (numeric or text), nullopt when empty.
std::optional<long long> cell_integer(const Column& c, std::size_t i, const char* file) {
  if (c.is_missing(i)) return std::nullopt;
  double v;
  if (c.is_numeric()) {
    v = c.numbers[i];
  } else {
    const std::string t = c.text(i);
    char* end = nullptr;
    v = std::strtod(t.c_str(), &end);
    if (end == t.c_str() || *end != '\0') v = std::numeric_limits<double>::quiet_NaN();
  }
  if (!(std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 2e9))
    throw InvalidArgument(fmt::format("{}: column {}, line {}: expected an integer, got '{}'", file, c.name, i + 2, c.text(i)));
  return static_cast<long long>(v);
}

double cell_number(const Column& c, std::size_t i) {
  if (c.is_missing(i)) return std::numeric_limits<double>::quiet_NaN();
  if (c.is_numeric()) return c.numbers[i];
  const std::string t = c.text(i);
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  return end == t.c_str() || *end != '\0' ? std::numeric_limits<double>::quiet_NaN() : v;
}

/// Input row index of each line of a table with a `row` column.
std::vector<std::size_t> row_numbers(const Table& t, const char* file) {
  const auto col = t.find("row");
  if (!col) throw InvalidArgument(fmt::format("{}: no column row", file));
  std::vector<std::size_t> rows(t.rows());
  for (std::size_t i = 0; i < t.rows(); ++i) {
    const auto v = cell_integer(t.column(*col), i, file);
    if (!v || *v < 0) throw InvalidArgument(fmt::format("{}: line {}: the row number is missing or negative", file, i + 2));
    rows[i] = static_cast<std::size_t>(*v);
  }
  return rows;
}

/// Methods in the order the run used them: the comparison lists them in run order;
/// a JSON object only knows its keys' sorted order.
std::vector<std::string> method_order(const json& metrics) {
  std::vector<std::string> order;
  const json& methods = metrics["methods"];
  if (metrics.contains("comparison") && metrics["comparison"].is_object() &&
      metrics["comparison"].contains("methods") && metrics["comparison"]["methods"].is_array())
    for (const auto& m : metrics["comparison"]["methods"])
      if (m.is_object() && m.contains("method") && m["method"].is_string()) {
        const std::string name = m["method"].get<std::string>();
        if (methods.contains(name) && std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
      }
  for (const auto& [name, block] : methods.items())
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  return order;
}

/// The segment of every input row per method (-1: not clustered), from segments.csv.
struct SegmentColumns {
  std::vector<std::size_t> rows;                                 // input row of each line
  std::map<std::string, std::vector<std::int32_t>> label_of_row;  // method -> per input row
  std::optional<std::size_t> id_column;
  std::size_t flagged = 0;
};

SegmentColumns read_segments(const Table& t, const std::vector<std::string>& methods) {
  constexpr const char* file = "segments.csv";
  SegmentColumns s;
  s.rows = row_numbers(t, file);
  const std::size_t n_rows = s.rows.empty() ? 0 : *std::max_element(s.rows.begin(), s.rows.end()) + 1;
  std::set<std::string> known{"row", "outlier", "outlier_score"};
  for (const auto& m : methods) {
    std::optional<std::size_t> col = t.find("segment_" + m);
    if (!col && methods.size() == 1) col = t.find("segment");
    if (!col)
      throw InvalidArgument(fmt::format("{}: no column {}", file, methods.size() == 1 ? "segment" : "segment_" + m));
    known.insert(t.column(*col).name);
    std::vector<std::int32_t> labels(n_rows, -1);
    for (std::size_t i = 0; i < t.rows(); ++i) {
      const auto v = cell_integer(t.column(*col), i, file);
      if (v && *v < 0) throw InvalidArgument(fmt::format("{}: line {}: negative segment {}", file, i + 2, *v));
      if (v) labels[s.rows[i]] = static_cast<std::int32_t>(*v);
    }
    s.label_of_row[m] = std::move(labels);
  }
  for (std::size_t j = 0; j < t.cols() && !s.id_column; ++j)
    if (!known.count(t.column(j).name) && t.column(j).name.rfind("segment", 0) != 0) s.id_column = j;
  if (const auto col = t.find("outlier"))
    for (std::size_t i = 0; i < t.rows(); ++i) {
      const auto v = cell_integer(t.column(*col), i, file);
      if (v && *v != 0) ++s.flagged;
    }
  return s;
}

/// `v` rounded to `digits` significant decimal digits (shorter JSON, same picture).
double round_significant(double v, int digits) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return std::strtod(buf, nullptr);
}

/// `count` of the values at evenly spaced ranks of `desc` (first and last kept).
json thin(const json& desc, std::size_t count) {
  const std::size_t m = desc.size();
  if (count >= m) return desc;
  json out = json::array();
  for (std::size_t t = 0; t < count; ++t) {
    const std::size_t idx =
        count == 1 ? 0
                   : static_cast<std::size_t>(std::llround(static_cast<double>(t) * static_cast<double>(m - 1) /
                                                           static_cast<double>(count - 1)));
    out.push_back(desc[idx]);
  }
  return out;
}

/// Thins every silhouette profile of a method's sweep to about `budget` values per k
/// and records how many values are drawn and which share of the rows that is.
void thin_silhouettes(json& method, std::size_t budget) {
  if (!method.contains("sweep") || !method["sweep"].contains("per_k") || !method["sweep"]["per_k"].is_array()) return;
  for (json& point : method["sweep"]["per_k"]) {
    if (!point.contains("silhouette_profile") || !point["silhouette_profile"].is_array()) continue;
    json& profile = point["silhouette_profile"];
    std::size_t values = 0, rows = 0;
    for (const json& c : profile) {
      if (!c.contains("values_desc") || !c["values_desc"].is_array())
        throw InvalidArgument(fmt::format("metrics.json: a silhouette profile of k = {} has no values_desc", point.value("k", 0)));
      values += c["values_desc"].size();
      rows += c.value("size", c["values_desc"].size());
    }
    std::size_t shown = 0;
    for (json& c : profile) {
      const std::size_t m = c["values_desc"].size();
      if (values > budget && m > 0) {
        const std::size_t keep = std::max<std::size_t>(1, m * budget / values);
        c["values_desc"] = thin(c["values_desc"], keep);
      }
      shown += c["values_desc"].size();
    }
    point["silhouette_shown"] = shown;
    point["silhouette_rate"] = rows ? static_cast<double>(shown) / static_cast<double>(rows) : 1.0;
  }
}

std::string map_label(const std::string& name) {
  if (name == "pca") return "PCA";
  if (name == "famd") return "FAMD";
  if (name == "mca") return "MCA";
  if (name == "tsne") return "t-SNE";
  return name;
}

json method_maps(const std::string& method, const json& infos, const Table& maps, const std::vector<std::size_t>& map_rows,
                 const std::vector<std::int32_t>& label_of_row, bool single, const ReportOptions& opt,
                 std::uint64_t stream, json& notes, std::vector<std::size_t>* read_lines) {
  json out = json::array();
  for (const json& info : infos) {
    if (!info.is_object() || !info.contains("name") || !info.contains("columns") || !info["columns"].is_array()) continue;
    const std::string name = info["name"].get<std::string>();
    std::vector<std::size_t> cols;
    std::string missing;
    for (const json& c : info["columns"]) {
      // The column as metrics.json names it, or with the method's prefix that
      // maps.csv adds when several methods ran.
      const std::string col = c.get<std::string>();
      std::optional<std::size_t> j = maps.find(col);
      if (!j && !single) j = maps.find(method + "_" + col);
      if (!j) {
        missing = single ? col : method + "_" + col;
        break;
      }
      cols.push_back(*j);
    }
    if (cols.size() < 2) {
      notes.push_back(fmt::format("The {} map of {} is not shown: {}.", map_label(name), method,
                                  missing.empty() ? "it has fewer than two axes" : "maps.csv has no column " + missing));
      continue;
    }
    // Rows with every coordinate (t-SNE covers a sample only) and a segment.
    std::vector<std::size_t> lines;
    std::vector<std::int32_t> strata;
    for (std::size_t i = 0; i < maps.rows(); ++i) {
      const std::size_t row = map_rows[i];
      if (row >= label_of_row.size() || label_of_row[row] < 0) continue;
      bool complete = true;
      for (std::size_t j : cols) complete = complete && std::isfinite(cell_number(maps.column(j), i));
      if (!complete) continue;
      lines.push_back(i);
      strata.push_back(label_of_row[row]);
    }
    if (lines.empty()) {
      notes.push_back(fmt::format("The {} map of {} is not shown: no clustered row has coordinates.", map_label(name), method));
      continue;
    }
    const std::vector<std::size_t> pick = stratified_map_sample(strata, opt.max_map_points, opt.seed ^ stream);
    json rows = json::array(), segments = json::array(), coords = json::array();
    for (std::size_t a = 0; a < cols.size(); ++a) coords.push_back(json::array());
    for (std::size_t p : pick) {
      const std::size_t i = lines[p];
      if (read_lines) read_lines->push_back(i);
      rows.push_back(map_rows[i]);
      segments.push_back(strata[p]);
      for (std::size_t a = 0; a < cols.size(); ++a)
        coords[a].push_back(round_significant(cell_number(maps.column(cols[a]), i), opt.map_digits));
    }
    json axes = json::array();
    for (std::size_t j : cols) axes.push_back(maps.column(j).name);
    out.push_back({{"name", name},
                   {"label", map_label(name)},
                   {"axes", axes},
                   {"dims", cols.size()},
                   {"info", info},
                   {"total", lines.size()},
                   {"shown", pick.size()},
                   {"rate", static_cast<double>(pick.size()) / static_cast<double>(lines.size())},
                   {"rows", rows},
                   {"segments", segments},
                   {"coords", coords}});
    ++stream;
  }
  return out;
}

// report_data; read_lines (if given) receives the lines of input.maps whose
// coordinates it reads.
json report_data(const ReportInput& input, std::vector<std::size_t>* read_lines) {
  const ReportOptions& opt = input.options;
  if (opt.max_map_points < 1) throw ParameterError("max_map_points", "must be at least 1");
  if (opt.max_silhouette_values < 2) throw ParameterError("max_silhouette_values", "must be at least 2");
  if (opt.map_digits < 3 || opt.map_digits > 17) throw ParameterError("map_digits", "must be in 3..17");
  const json& metrics_in = input.metrics;
  if (!metrics_in.is_object()) throw InvalidArgument("metrics.json: not a JSON object");
  const json& methods_in = require_object(metrics_in, "methods", "");
  if (methods_in.empty()) throw InvalidArgument("metrics.json: methods is empty");
  const json& input_in = require_object(metrics_in, "input", "");
  const std::vector<std::string> methods = method_order(metrics_in);

  const SegmentColumns seg = read_segments(input.segments, methods);
  if (input_in.contains("rows") && input_in["rows"].is_number_integer() &&
      input_in["rows"].get<long long>() != static_cast<long long>(input.segments.rows()))
    throw InvalidArgument(fmt::format("segments.csv: {} rows, but metrics.json describes {} input rows",
                                      input.segments.rows(), input_in["rows"].get<long long>()));

  json notes = json::array();
  json metrics = metrics_in;
  for (const auto& m : methods) thin_silhouettes(metrics["methods"][m], opt.max_silhouette_values);

  // ---- maps
  json maps = json::object();
  const bool has_map_info = metrics_in.contains("maps") && metrics_in["maps"].is_object() &&
                            metrics_in["maps"].contains("methods") && metrics_in["maps"]["methods"].is_object();
  if (has_map_info && !input.maps) {
    notes.push_back("maps.csv is missing: the report has no maps.");
  } else if (has_map_info) {
    const std::vector<std::size_t> map_rows = row_numbers(*input.maps, "maps.csv");
    std::uint64_t stream = 0;
    for (const auto& m : methods) {
      const json& infos = metrics_in["maps"]["methods"].value(m, json::array());
      if (!infos.is_array() || infos.empty()) continue;
      json entries = method_maps(m, infos, *input.maps, map_rows, seg.label_of_row.at(m), methods.size() == 1, opt,
                                 stream, notes, read_lines);
      stream += 0x100;
      if (!entries.empty()) maps[m] = std::move(entries);
    }
  }
  // The maps' coordinates are all the page needs: the copy in metrics goes.
  if (metrics.contains("maps")) metrics.erase("maps");

  // ---- representative customers
  std::set<std::size_t> rep_rows;
  for (const auto& m : methods) {
    const json& block = methods_in[m];
    if (!block.contains("profiles") || !block["profiles"].is_object() || !block["profiles"].contains("segments")) continue;
    for (const json& s : block["profiles"]["segments"])
      if (s.contains("representatives") && s["representatives"].is_array())
        for (const json& r : s["representatives"])
          if (r.is_number_integer() && r.get<long long>() >= 0) rep_rows.insert(r.get<std::size_t>());
  }
  json rep_columns = json::array();
  if (input.data)
    for (const auto& c : input.data->columns()) rep_columns.push_back(c.name);
  json rep = json::object();
  std::vector<std::size_t> line_of_row;
  if (seg.id_column) {
    line_of_row.assign(seg.label_of_row.begin()->second.size(), SIZE_MAX);
    for (std::size_t i = 0; i < seg.rows.size(); ++i) line_of_row[seg.rows[i]] = i;
  }
  for (std::size_t r : rep_rows) {
    json entry = json::object();
    if (seg.id_column && r < line_of_row.size() && line_of_row[r] != SIZE_MAX)
      entry["id"] = input.segments.column(*seg.id_column).text(line_of_row[r]);
    if (input.data && r < input.data->rows()) {
      json values = json::array();
      for (const auto& c : input.data->columns()) values.push_back(c.text(r));
      entry["values"] = std::move(values);
    }
    rep[std::to_string(r)] = std::move(entry);
  }
  if (!rep_rows.empty() && !input.data)
    notes.push_back("The input table was not available: representative customers are listed by row number only.");

  // ---- the segments file as read
  json clustered = json::object();
  for (const auto& m : methods) {
    const auto& labels = seg.label_of_row.at(m);
    clustered[m] = static_cast<std::size_t>(std::count_if(labels.begin(), labels.end(), [](std::int32_t l) { return l >= 0; }));
  }

  const std::string file = input_in.value("file", std::string());
  const std::string base = file.empty() ? std::string() : std::filesystem::path(file).filename().string();
  json report{{"title", base.empty() ? std::string("Customer segments") : "Customer segments: " + base},
              {"segmenta", metrics_in.value("segmenta", std::string(version()))},
              {"plotly", std::string(plotly_version())},
              {"methods", methods},
              {"max_map_points", opt.max_map_points},
              {"max_silhouette_values", opt.max_silhouette_values},
              {"seed", opt.seed},
              {"map_digits", opt.map_digits},
              {"notes", notes}};
  json segments{{"rows", input.segments.rows()},
                {"id_column", seg.id_column ? json(input.segments.column(*seg.id_column).name) : json(nullptr)},
                {"flagged", seg.flagged},
                {"clustered", clustered}};
  return json{{"report", report},
              {"metrics", std::move(metrics)},
              {"manifest", input.manifest.is_null() ? json::object() : input.manifest},
              {"segments", segments},
              {"maps", maps},
              {"representatives", {{"columns", rep_columns}, {"rows", rep}}}};
}

}  // namespace

json report_data(const ReportInput& input) { return report_data(input, nullptr); }

std::vector<std::size_t> report_map_lines(const ReportInput& input) {
  std::vector<std::size_t> lines;
  report_data(input, &lines);
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  return lines;
}

}  // namespace segmenta
