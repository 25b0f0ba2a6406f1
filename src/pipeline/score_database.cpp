// score() with a database on either side: rows from a postgresql:// table or query,
// scores into a table (one transaction) and/or the usual CSV.
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "postgres_sink.hpp"
#include "segmenta/pipeline.hpp"
#include "segmenta/postgres.hpp"

namespace segmenta {
namespace {

using json = nlohmann::json;

/// The scores as score() writes its CSV: row (0-based), segment, [probability],
/// outlier, outlier_score.
std::string scores_csv(const TableScores& s) {
  const bool drop = s.dropped;
  std::string out =
      s.probability.empty() ? "row,segment,outlier,outlier_score\n" : "row,segment,probability,outlier,outlier_score\n";
  for (std::size_t i = 0; i < s.segment.size(); ++i) {
    out += std::to_string(i) + ",";
    if (!(drop && s.outlier[i])) out += std::to_string(s.segment[i]);
    if (!s.probability.empty()) {
      out += ",";
      if (!(drop && s.outlier[i])) out += format_double(s.probability[i]);
    }
    out += s.outlier[i] ? ",1," : ",0,";
    if (!std::isnan(s.outlier_score[i])) out += format_double(s.outlier_score[i]);
    out += "\n";
  }
  return out;
}

/// The same values as table rows: the key, segment, [probability], outlier, outlier_score.
detail::SinkRows score_rows(const TableScores& s, const Provenance& input, const Table& table) {
  detail::SinkRows rows;
  rows.rows = s.segment.size();
  rows.columns.push_back(detail::key_column(input, table));
  const TableScores* p = &s;
  rows.columns.push_back({"segment", "integer", [p](std::size_t i, std::string& out) {
                            if ((p->dropped && p->outlier[i]) || p->segment[i] < 0)
                              out += "\\N";
                            else
                              out += std::to_string(p->segment[i]);
                          }});
  if (!s.probability.empty())
    rows.columns.push_back({"probability", "double precision", [p](std::size_t i, std::string& out) {
                              if ((p->dropped && p->outlier[i]) || std::isnan(p->probability[i]))
                                out += "\\N";
                              else
                                out += format_double(p->probability[i]);
                            }});
  rows.columns.push_back(
      {"outlier", "boolean", [p](std::size_t i, std::string& out) { out += p->outlier[i] ? 't' : 'f'; }});
  rows.columns.push_back({"outlier_score", "double precision", [p](std::size_t i, std::string& out) {
                            if (std::isnan(p->outlier_score[i]))
                              out += "\\N";
                            else
                              out += format_double(p->outlier_score[i]);
                          }});
  return rows;
}

}  // namespace

std::size_t score_to_database(const ScoreParams& params) {
  set_num_threads(params.threads);
  Progress::set_enabled(!params.quiet);
  detail::check_database_target(params.to, params.to_table, params.if_exists);
  if (params.out.empty() && params.to.empty()) throw ParameterError("out", "give an output CSV (--out), a database (--to), or both");
  // Both destinations are checked before any work.
  std::optional<AtomicFile> out_file;
  if (!params.out.empty()) out_file.emplace(params.out);
  std::optional<detail::PostgresTableWriter> table;
  if (!params.to.empty()) table.emplace(params.to, params.to_table, params.if_exists);

  json model;
  try {
    model = json::parse(read_file(params.model));
  } catch (const json::exception& e) {
    throw ModelFormatError(fmt::format("{}: not a JSON model file ({})", params.model, e.what()));
  }
  // Read only the model's columns, by name, typed as the model says.
  CsvOptions csv = params.csv;
  try {
    csv.columns.clear();
    for (const auto& c : model.at("columns")) csv.columns += (csv.columns.empty() ? "" : ",") + c.at("name").get<std::string>();
  } catch (const json::exception& e) {
    throw ModelFormatError(fmt::format("{}: {}", params.model, e.what()));
  }
  for (auto& t : model_columns(model)) csv.types.push_back(std::move(t));
  const SourceData data = open_source(params.data, csv, PostgresQuery{params.table, params.query})->read();
  const TableScores s = score_table(model, data.table, params.method, params.model);

  if (table) table->stage(score_rows(s, data.provenance, data.table));
  if (out_file) out_file->write(scores_csv(s));
  if (table) table->commit();
  if (out_file) out_file->commit();
  return s.segment.size();
}

}  // namespace segmenta
