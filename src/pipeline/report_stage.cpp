// report.html from a run's outputs, at the end of run() or later from a run directory
// (segmenta report).
#include "report_stage.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "segmenta/io.hpp"
#include "segmenta/pipeline.hpp"
#include "segmenta/report.hpp"

namespace segmenta {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

Table parse_output_csv(std::string_view text, const std::string& name) {
  CsvOptions o;
  o.delimiter = ',';
  // Identifiers and segment numbers are read as written: no missing-value markers.
  o.na_values = {""};
  return parse_csv(text, name, o);
}

json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann reports a byte offset; say where that is as line:column.
    const std::size_t at = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    const std::size_t last_nl = text.rfind('\n', at == 0 ? 0 : at - 1);
    const std::size_t column = last_nl == std::string::npos || at == 0 ? at + 1 : at - last_nl;
    throw ParseError(path, line, column, "malformed JSON");
  }
}

/// The input table of the run, when its file is still there unchanged: the columns
/// the run used, read with the run's delimiter and type overrides. Null otherwise
/// (the report then lists representative customers by row number).
std::optional<Table> input_table(const json& metrics, const json& manifest) {
  try {
    const json& input = manifest.at("input");
    const std::string file = input.at("file").get<std::string>();
    if (!fs::is_regular_file(file)) return std::nullopt;
    const std::string raw = read_file(file);
    if (fmt::format("{:016x}", fnv1a64(raw)) != input.at("fnv1a64").get<std::string>()) return std::nullopt;
    CsvOptions o;
    const json& params = manifest.value("parameters", json::object());
    const std::string delimiter = params.value("delimiter", std::string("auto"));
    if (delimiter.size() == 1) o.delimiter = delimiter[0];
    if (params.contains("types") && params["types"].is_object())
      for (const auto& [column, type] : params["types"].items())
        o.types.emplace_back(column, parse_column_type(type.get<std::string>(), "run.json types"));
    const Table all = parse_csv(raw, file, o);
    std::vector<std::size_t> keep;
    for (const json& c : metrics.at("input").at("columns")) {
      const auto j = all.find(c.at("name").get<std::string>());
      if (!j) return std::nullopt;
      keep.push_back(*j);
    }
    return all.select(keep);
  } catch (const Error&) {
    return std::nullopt;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

namespace detail {

std::string report_html(const json& metrics, const json& manifest, std::string_view segments_csv, std::string_view maps_csv,
                        const Table* data) {
  ReportInput in;
  in.metrics = metrics;
  in.manifest = manifest;
  in.segments = parse_output_csv(segments_csv, "segments.csv");
  if (!maps_csv.empty()) in.maps = parse_output_csv(maps_csv, "maps.csv");
  in.data = data;
  if (manifest.is_object() && manifest.contains("parameters") && manifest["parameters"].contains("seed") &&
      manifest["parameters"]["seed"].is_number_unsigned())
    in.options.seed = manifest["parameters"]["seed"].get<std::uint64_t>();
  return render_report(in);
}

}  // namespace detail

void write_report(const std::string& run_dir, const std::string& out_file) {
  if (!fs::is_directory(run_dir)) throw IoError(fmt::format("{}: not a directory", run_dir));
  const fs::path dir(run_dir);
  for (const char* required : {"metrics.json", "run.json", "segments.csv"})
    if (!fs::is_regular_file(dir / required))
      throw IoError(fmt::format("{}: not found (is {} the output directory of a run?)", (dir / required).string(), run_dir));
  const json metrics = read_json_file((dir / "metrics.json").string());
  const json manifest = read_json_file((dir / "run.json").string());
  const std::string segments = read_file((dir / "segments.csv").string());
  const std::string maps = fs::is_regular_file(dir / "maps.csv") ? read_file((dir / "maps.csv").string()) : std::string();
  const std::optional<Table> data = input_table(metrics, manifest);
  const std::string html = detail::report_html(metrics, manifest, segments, maps, data ? &*data : nullptr);
  write_file_atomic(out_file, html);
}

}  // namespace segmenta
