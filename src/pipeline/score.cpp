#include <cmath>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "model_io.hpp"
#include "segmenta/cluster.hpp"
#include "segmenta/pipeline.hpp"

namespace segmenta {

std::size_t score(const ScoreParams& params) {
  set_num_threads(params.threads);
  using json = nlohmann::json;
  json model;
  try {
    model = json::parse(read_file(params.model));
  } catch (const json::parse_error& e) {
    throw ModelFormatError(fmt::format("{}: not a JSON model file ({})", params.model, e.what()));
  }
  if (!model.is_object() || model.value("format", "") != "segmenta-model")
    throw ModelFormatError(fmt::format("{}: not a segmenta model file", params.model));
  if (model.value("version", 0) != 1)
    throw ModelFormatError(fmt::format("{}: unsupported model version {}", params.model, model.value("version", 0)));
  const std::string method = model.value("method", "");
  if (method != "kmeans" || !model.contains("methods") || !model["methods"].contains("kmeans"))
    throw ModelFormatError(fmt::format("{}: scoring needs a kmeans model; this one is '{}'", params.model, method));

  // Read only the model's columns, by name, in the model's order.
  CsvOptions csv = params.csv;
  std::string columns;
  for (const auto& c : model.at("columns")) columns += (columns.empty() ? "" : ",") + c.at("name").get<std::string>();
  csv.columns = columns;
  for (const auto& c : model.at("columns")) {
    const auto type = parse_column_type(c.at("type").get<std::string>(), "model columns");
    csv.types.emplace_back(c.at("name").get<std::string>(), type == ColumnType::binary ? ColumnType::categorical : type);
  }
  const Table table = read_csv(params.data, csv);

  const PrepModel prep = detail::prep_from_json(model.at("prep"));
  const MatrixD features = prep.transform(table);
  const MatrixD centers = detail::matrix_from_json(model.at("methods").at("kmeans").at("centers"), "kmeans.centers");
  if (centers.cols() != features.cols())
    throw ModelFormatError(fmt::format("{}: centres have {} features, the preparation gives {}", params.model, centers.cols(),
                                       features.cols()));
  KMeansModel<double> km;
  km.centers = centers;
  const std::vector<std::int32_t> seg = km.predict(features);

  std::vector<double> scores(table.rows(), std::nan(""));
  std::vector<std::uint8_t> flagged(table.rows(), 0);
  const bool drop = model.value("outlier_policy", "drop") == "drop";
  if (model.contains("outliers")) {
    const EcodModel ecod = detail::ecod_from_json(model.at("outliers"));
    scores = ecod.score(features);
    for (std::size_t i = 0; i < scores.size(); ++i) flagged[i] = scores[i] > ecod.threshold();
  }
  std::string out = "row,segment,outlier,outlier_score\n";
  for (std::size_t i = 0; i < table.rows(); ++i) {
    out += std::to_string(i) + ",";
    if (!(drop && flagged[i])) out += std::to_string(seg[i]);
    out += flagged[i] ? ",1," : ",0,";
    if (!std::isnan(scores[i])) out += format_double(scores[i]);
    out += "\n";
  }
  write_file_atomic(params.out, out);
  return table.rows();
}

}  // namespace segmenta
