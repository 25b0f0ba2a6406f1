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
  // Model files before revisions were recorded hold a folder path.
  const std::string revision = enc.contains("revision") && enc["revision"].is_string() ? enc["revision"].get<std::string>() : "";
  const std::string dir = resolve_model_dir(enc.at("model").get<std::string>(), revision);
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

/// The model's header checked and the method to use resolved ("" = the model's own).
const Method& model_method(const nlohmann::json& model, const std::string& requested, const std::string& origin,
                           std::string_view what = "method") {
  if (!model.is_object() || model.value("format", "") != "segmenta-model")
    throw ModelFormatError(fmt::format("{}: not a segmenta model file", origin));
  if (model.value("version", 0) != 1)
    throw ModelFormatError(fmt::format("{}: unsupported model version {}", origin, model.value("version", 0)));
  if (!model.contains("methods") || !model["methods"].is_object() || model["methods"].empty())
    throw ModelFormatError(fmt::format("{}: the model has no fitted method", origin));
  const std::string method = requested.empty() ? model.value("method", "") : requested;
  if (!model["methods"].contains(method)) {
    std::string have;
    for (const auto& [name, _] : model["methods"].items()) have += (have.empty() ? "" : ", ") + name;
    throw ParameterError(std::string(what), fmt::format("the model has no '{}' segmentation (it has {})", method, have));
  }
  for (const Method& m : clustering_methods())
    if (to_string(m) == method) return m;
  throw ModelFormatError(fmt::format("{}: unknown method '{}'", origin, method));
}

}  // namespace detail

std::vector<std::pair<std::string, ColumnType>> model_columns(const nlohmann::json& model) {
  std::vector<std::pair<std::string, ColumnType>> out;
  try {
    for (const auto& c : model.at("columns")) {
      const auto type = parse_column_type(c.at("type").get<std::string>(), "model columns");
      // A binary column of the run may show one value only (or three) among new rows.
      out.emplace_back(c.at("name").get<std::string>(), type == ColumnType::binary ? ColumnType::categorical : type);
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelFormatError(fmt::format("model file: {}", json_message(e)));
  }
  return out;
}

std::vector<std::pair<std::string, DateSpec>> model_dates(const nlohmann::json& model) {
  std::vector<std::pair<std::string, DateSpec>> out;
  try {
    for (const auto& c : model.at("columns")) {
      if (!c.contains("date")) continue;
      const std::string name = c.at("name").get<std::string>();
      const auto spec = parse_date_type("date-" + c.at("date").at("order").get<std::string>());
      const auto reference = parse_day(c.at("date").at("reference").get<std::string>());
      if (!spec || !spec->order || !reference)
        throw ModelFormatError(fmt::format("model file: column '{}': a date reading needs an order ymd, dmy or mdy "
                                           "and a reference yyyy-mm-dd",
                                           name));
      out.emplace_back(name, DateSpec{spec->order, reference});
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelFormatError(fmt::format("model file: {}", json_message(e)));
  }
  return out;
}

TableScores score_table(const nlohmann::json& model, const Table& table, const std::string& method,
                        const std::string& origin) {
  using json = nlohmann::json;
  try {
    const Method& id = detail::model_method(model, method, origin);
    const std::string name(to_string(id));
    const PrepModel prep = detail::prep_from_json(model.at("prep"));
    const MatrixD features = prep.transform(table);
    const std::shared_ptr<const FittedMethod> fitted = detail::method_spec(id).load(model.at("methods").at(name), origin);
    const bool ecod_on_vectors = model.value("outlier_space", "features") == "embeddings";
    MatrixD vectors;
    if (fitted->needs_embeddings() || ecod_on_vectors)
      vectors = embed_for_scoring(model.at("methods").at("embed").at("encoder"), table, origin);
    TableScores s;
    s.method = name;
    s.segment = fitted->predict({table, features.view(), vectors.view()});
    s.probability = fitted->probability({table, features.view(), vectors.view()});
    s.outlier_score.assign(table.rows(), std::nan(""));
    s.outlier.assign(table.rows(), 0);
    s.dropped = model.value("outlier_policy", "drop") == "drop";
    if (model.contains("outliers")) {
      const EcodModel ecod = detail::ecod_from_json(model.at("outliers"));
      const ViewD x = ecod_on_vectors ? vectors.view() : features.view();
      // The run's own rows are scored in-sample, as the run scored them; other rows as new ones.
      s.outlier_score = ecod.is_training_set(x) ? ecod.score_training(x) : ecod.score(x);
      for (std::size_t i = 0; i < s.outlier_score.size(); ++i) s.outlier[i] = s.outlier_score[i] > ecod.threshold();
    }
    return s;
  } catch (const json::exception& e) {
    throw ModelFormatError(fmt::format("{}: {}", origin, json_message(e)));
  } catch (const ModelFormatError& e) {
    rethrow_naming(origin, e.what());
  }
}

namespace detail {

std::size_t score_with_model(const ScoreParams& params, const nlohmann::json& model, AtomicFile& out_file) {
  detail::model_method(model, params.method, params.model);
  // Read only the model's columns, by name, in the model's order.
  CsvOptions csv = params.csv;
  std::string columns;
  for (const auto& c : model.at("columns")) columns += (columns.empty() ? "" : ",") + c.at("name").get<std::string>();
  csv.columns = columns;
  try {
    for (auto& t : model_columns(model)) csv.types.push_back(std::move(t));
    for (auto& d : model_dates(model)) csv.dates.push_back(std::move(d));
  } catch (const InvalidArgument& e) {
    const std::string m = e.what();
    throw ModelFormatError(fmt::format("{}: {}", params.model, m.substr(m.find(": ") + 2)));
  }
  Table table;
  try {
    table = read_csv(params.data, csv);
  } catch (const ParameterError& e) {
    // The column selection is the model's, not a --columns the user gave: say so.
    const std::string prefix = "no column named ";
    if (e.parameter() != "columns" || e.message().compare(0, prefix.size(), prefix) != 0) throw;
    const std::string& m = e.message();
    const std::size_t end = m.find("' (", prefix.size());
    throw DataError(fmt::format("{}: no column {}, which the model was fitted on{}", params.data,
                                m.substr(prefix.size(), end + 1 - prefix.size()),
                                end == std::string::npos ? "" : m.substr(end + 1)));
  }

  const TableScores s = score_table(model, table, params.method, params.model);
  const std::vector<std::int32_t>& seg = s.segment;
  const std::vector<double>& prob = s.probability;
  const std::vector<double>& scores = s.outlier_score;
  const std::vector<std::uint8_t>& flagged = s.outlier;
  const bool drop = s.dropped;
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
