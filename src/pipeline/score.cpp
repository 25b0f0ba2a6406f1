#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "method.hpp"
#include "model_io.hpp"
#include "segmenta/cluster.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/pipeline.hpp"

namespace segmenta {
namespace {

using json = nlohmann::json;

/// The sentence embeddings of the table's rows with the encoder the run used; the
/// folder must still hold the same weights.
MatrixD embed_for_scoring(const json& enc, const Table& table, const std::string& file) {
  const std::string dir = resolve_model_dir(enc.at("model").get<std::string>());
  const SentenceEncoder encoder = SentenceEncoder::load(dir);
  const std::string fp = fmt::format("{:016x}", encoder.fingerprint());
  if (fp != enc.at("fingerprint").get<std::string>())
    throw ModelFormatError(fmt::format("{}: the encoder folder {} has changed since the run (fingerprint {}, model has {})",
                                       file, dir, fp, enc.at("fingerprint").get<std::string>()));
  const RowTemplate tpl(enc.at("template").get<std::string>());
  EncodeOptions eo;
  eo.precision = parse_embed_precision(enc.at("precision").get<std::string>(), "model precision");
  eo.normalize = true;
  const MatrixF v = encoder.encode(tpl.render(table), eo);
  MatrixD out(v.rows(), v.cols());
  for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = v.data()[i];
  return out;
}

/// nlohmann's message without its "[json.exception.type_error.302] " prefix.
std::string json_message(const json::exception& e) {
  std::string m = e.what();
  if (!m.empty() && m.front() == '[') {
    const std::size_t close = m.find("] ");
    if (close != std::string::npos) m.erase(0, close + 2);
  }
  return m;
}

/// A model-file error says the file, not "model file".
[[noreturn]] void rethrow_naming(const std::string& file, const std::string& message) {
  const std::string prefix = "model file: ";
  if (message.compare(0, file.size() + 2, file + ": ") == 0) throw ModelFormatError(message);
  throw ModelFormatError(fmt::format(
      "{}: {}", file, message.compare(0, prefix.size(), prefix) == 0 ? message.substr(prefix.size()) : message));
}

}  // namespace

namespace detail {
std::size_t score_with_model(const ScoreParams& params, const nlohmann::json& model, AtomicFile& out_file);
}

std::size_t score(const ScoreParams& params) {
  set_num_threads(params.threads);
  // The output is checked (and its temporary created) before any work.
  AtomicFile out_file(params.out);
  using json = nlohmann::json;
  json model;
  try {
    model = json::parse(read_file(params.model));
  } catch (const json::exception& e) {  // a syntax error, or a number out of double's range
    throw ModelFormatError(fmt::format("{}: not a JSON model file ({})", params.model, json_message(e)));
  }
  try {
    return detail::score_with_model(params, model, out_file);
  } catch (const json::exception& e) {
    throw ModelFormatError(fmt::format("{}: {}", params.model, json_message(e)));
  } catch (const ModelFormatError& e) {
    rethrow_naming(params.model, e.what());
  }
}

namespace detail {

std::size_t score_with_model(const ScoreParams& params, const nlohmann::json& model, AtomicFile& out_file) {
  using json = nlohmann::json;
  if (!model.is_object() || model.value("format", "") != "segmenta-model")
    throw ModelFormatError(fmt::format("{}: not a segmenta model file", params.model));
  if (model.value("version", 0) != 1)
    throw ModelFormatError(fmt::format("{}: unsupported model version {}", params.model, model.value("version", 0)));
  if (!model.contains("methods") || !model["methods"].is_object() || model["methods"].empty())
    throw ModelFormatError(fmt::format("{}: the model has no fitted method", params.model));
  const std::string method = params.method.empty() ? model.value("method", "") : params.method;
  if (!model["methods"].contains(method)) {
    std::string have;
    for (const auto& [name, _] : model["methods"].items()) have += (have.empty() ? "" : ", ") + name;
    throw InvalidArgument(fmt::format("--method: the model has no '{}' segmentation (it has {})", method, have));
  }
  const Method* id = nullptr;
  for (const Method& m : clustering_methods())
    if (to_string(m) == method) id = &m;
  if (!id) throw ModelFormatError(fmt::format("{}: unknown method '{}'", params.model, method));

  // Read only the model's columns, by name, in the model's order.
  CsvOptions csv = params.csv;
  std::string columns;
  for (const auto& c : model.at("columns")) columns += (columns.empty() ? "" : ",") + c.at("name").get<std::string>();
  csv.columns = columns;
  for (const auto& c : model.at("columns")) {
    ColumnType type{};
    try {
      type = parse_column_type(c.at("type").get<std::string>(), "model columns");
    } catch (const InvalidArgument& e) {
      const std::string m = e.what();
      throw ModelFormatError(fmt::format("{}: {}", params.model, m.substr(m.find(": ") + 2)));
    }
    csv.types.emplace_back(c.at("name").get<std::string>(), type == ColumnType::binary ? ColumnType::categorical : type);
  }
  Table table;
  try {
    table = read_csv(params.data, csv);
  } catch (const InvalidArgument& e) {
    // The column selection is the model's, not a --columns the user gave: say so.
    const std::string m = e.what();
    const std::string prefix = "--columns: no column named ";
    if (m.compare(0, prefix.size(), prefix) != 0) throw;
    const std::size_t end = m.find("' (", prefix.size());
    throw DataError(fmt::format("{}: no column {}, which the model was fitted on{}", params.data,
                                m.substr(prefix.size(), end + 1 - prefix.size()),
                                end == std::string::npos ? "" : m.substr(end + 1)));
  }

  const PrepModel prep = detail::prep_from_json(model.at("prep"));
  const MatrixD features = prep.transform(table);
  const std::shared_ptr<const FittedMethod> fitted =
      detail::method_spec(*id).load(model.at("methods").at(method), params.model);
  const bool ecod_on_vectors = model.value("outlier_space", "features") == "embeddings";
  MatrixD vectors;
  if (fitted->needs_embeddings() || ecod_on_vectors)
    vectors = embed_for_scoring(model.at("methods").at("embed").at("encoder"), table, params.model);
  const std::vector<std::int32_t> seg = fitted->predict({table, features.view(), vectors.view()});
  const std::vector<double> prob = fitted->probability({table, features.view(), vectors.view()});

  std::vector<double> scores(table.rows(), std::nan(""));
  std::vector<std::uint8_t> flagged(table.rows(), 0);
  const bool drop = model.value("outlier_policy", "drop") == "drop";
  if (model.contains("outliers")) {
    const EcodModel ecod = detail::ecod_from_json(model.at("outliers"));
    const ViewD x = ecod_on_vectors ? vectors.view() : features.view();
    // The run's own rows are scored in-sample, as the run scored them; other rows as new ones.
    scores = ecod.is_training_set(x) ? ecod.score_training(x) : ecod.score(x);
    for (std::size_t i = 0; i < scores.size(); ++i) flagged[i] = scores[i] > ecod.threshold();
  }
  std::string out =
      prob.empty() ? "row,segment,outlier,outlier_score\n" : "row,segment,probability,outlier,outlier_score\n";
  for (std::size_t i = 0; i < table.rows(); ++i) {
    out += std::to_string(i) + ",";
    if (!(drop && flagged[i])) out += std::to_string(seg[i]);
    if (!prob.empty()) {
      out += ",";
      if (!(drop && flagged[i])) out += format_double(prob[i]);
    }
    out += flagged[i] ? ",1," : ",0,";
    if (!std::isnan(scores[i])) out += format_double(scores[i]);
    out += "\n";
  }
  out_file.write(out);
  out_file.commit();
  return table.rows();
}

}  // namespace detail

}  // namespace segmenta
