#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <future>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "method.hpp"
#include "model_io.hpp"
#include "segmenta/cluster.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/pipeline.hpp"
#include "segmenta/streams.hpp"

namespace segmenta {
namespace {

using json = nlohmann::json;

/// The encoder a run used, loaded once to embed the rows of every block; the folder
/// must still hold the same weights.
class RowEmbedder {
 public:
  RowEmbedder(const json& enc, const std::string& file) : tpl_(enc.at("template").get<std::string>()) {
    // Model files before revisions were recorded hold a folder path.
    const std::string revision =
        enc.contains("revision") && enc["revision"].is_string() ? enc["revision"].get<std::string>() : "";
    const std::string dir = resolve_model_dir(enc.at("model").get<std::string>(), revision);
    encoder_ = SentenceEncoder::load(dir);
    const std::string fp = fmt::format("{:016x}", encoder_.fingerprint());
    if (fp != enc.at("fingerprint").get<std::string>())
      throw ModelFormatError(fmt::format("{}: the encoder folder {} has changed since the run (fingerprint {}, model has {})",
                                         file, dir, fp, enc.at("fingerprint").get<std::string>()));
    options_.precision = parse_embed_precision(enc.at("precision").get<std::string>(), "model precision");
    options_.normalize = true;
    // The prompt the run used (null: none; model files from before prompts have none).
    options_.prompt = enc.contains("prompt") && enc["prompt"].is_string() ? enc["prompt"].get<std::string>() : std::string();
  }
  /// The sentence embeddings of the table's rows.
  MatrixD embed(const Table& table) const {
    const MatrixF v = encoder_.encode(tpl_.render(table), options_);
    MatrixD out(v.rows(), v.cols());
    for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = v.data()[i];
    return out;
  }

 private:
  SentenceEncoder encoder_;
  RowTemplate tpl_;
  EncodeOptions options_;
};

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
std::size_t score_with_model(const ScoreParams& params, const nlohmann::json& model, OutputStream& out);
}

std::size_t score(const ScoreParams& params) {
  set_num_threads(params.threads);
  Progress::set_enabled(!params.quiet);
  // The output is checked (and its temporary created) before any work.
  if (params.out.empty()) throw ParameterError("out", "no output file given");
  OutputStream out_file(params.out);
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
  const json& version = model.contains("version") ? model.at("version") : json();
  if (!version.is_number_integer() || version.get<std::int64_t>() < 1 || version.get<std::int64_t>() > kModelVersion)
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

namespace {

/// A model's parts loaded once (preparation, fitted method, ECOD, encoder), to
/// score any number of tables or blocks of rows with.
class ModelScorer {
 public:
  ModelScorer(const nlohmann::json& model, const std::string& method, const std::string& origin) : origin_(origin) {
    const Method& id = detail::model_method(model, method, origin);
    name_ = std::string(to_string(id));
    prep_ = detail::prep_from_json(model.at("prep"));
    fitted_ = detail::method_spec(id).load(model.at("methods").at(name_), origin);
    ecod_on_vectors_ = model.value("outlier_space", "features") == "embeddings";
    if (fitted_->needs_embeddings() || ecod_on_vectors_)
      embedder_.emplace(model.at("methods").at("embed").at("encoder"), origin);
    dropped_ = model.value("outlier_policy", "drop") == "drop";
    if (model.contains("outliers")) ecod_ = detail::ecod_from_json(model.at("outliers"), model.at("version").get<int>());
  }

  /// Whether rows are embedded (the encoder batches sentences by length across all
  /// of them, so its results depend on the whole input, not row by row).
  bool embeds() const { return embedder_.has_value(); }
  /// The number of training rows of the outlier model (0: none).
  std::size_t training_rows() const { return ecod_ ? ecod_->n_train() : 0; }
  const EcodModel& ecod() const { return *ecod_; }

  /// Scores the rows as new ones (the outlier scores out of sample); `outlier_space`,
  /// when given, receives the matrix the outlier model reads. `first_row`: the
  /// table's first row in the whole input (for messages).
  TableScores score(const Table& table, std::size_t first_row, MatrixD* outlier_space) const {
    MatrixD features = prep_.transform(table);
    // k-means and the outlier model need numbers in every feature.
    if (name_ == "kmeans" || (ecod_ && !ecod_on_vectors_)) check_finite(table, features.view(), first_row);
    MatrixD vectors;
    if (embedder_) vectors = embedder_->embed(table);
    TableScores s;
    s.method = name_;
    s.segment = fitted_->predict({table, features.view(), vectors.view()});
    s.probability = fitted_->probability({table, features.view(), vectors.view()});
    s.outlier_score.assign(table.rows(), std::nan(""));
    s.outlier.assign(table.rows(), 0);
    s.dropped = dropped_;
    if (ecod_) {
      const ViewD x = ecod_on_vectors_ ? vectors.view() : features.view();
      if (ecod_on_vectors_) check_finite(table, x, first_row);
      s.outlier_score = ecod_->score(x);
      flag(s);
      if (outlier_space) *outlier_space = ecod_on_vectors_ ? std::move(vectors) : std::move(features);
    }
    return s;
  }

  /// A row with a feature that is not a number (the blog preset's encoding of a
  /// missing value or a level the run never saw) cannot be scored: a data error
  /// naming the row in the input and the column.
  void check_finite(const Table& table, ViewD x, std::size_t first_row) const {
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t j = 0; j < x.cols(); ++j) {
        if (std::isfinite(x(i, j))) continue;
        std::string why = fmt::format("feature {} is {}", j, format_double(x(i, j)));
        for (const FeatureBlock& b : prep_.blocks) {
          if (ecod_on_vectors_ || j < b.first_feature || j >= b.first_feature + b.n_features) continue;
          const std::optional<std::size_t> c = table.find(b.column);
          if (!c) break;
          const Column& col = table.column(*c);
          const std::string preset(to_string(prep_.preset));
          if (col.is_missing(i))
            why = fmt::format("{} is missing, which the {} preset cannot encode", b.column, preset);
          else if (!col.is_numeric())
            why = fmt::format("{} is '{}', a level the run never saw, which the {} preset cannot encode", b.column,
                              col.levels[static_cast<std::size_t>(col.codes[i])], preset);
          else
            why = fmt::format("{} is {}, which the {} preset cannot encode", b.column, format_double(col.numbers[i]), preset);
          break;
        }
        throw DataError(fmt::format("{}: data row {}: the model cannot score this row: {}", table.source(),
                                    first_row + i + 1, why));
      }
  }

  /// Sets the outlier flags from the scores.
  void flag(TableScores& s) const {
    for (std::size_t i = 0; i < s.outlier_score.size(); ++i) s.outlier[i] = s.outlier_score[i] > ecod_->threshold();
  }

 private:
  std::string origin_, name_;
  PrepModel prep_;
  std::shared_ptr<const FittedMethod> fitted_;
  bool ecod_on_vectors_ = false, dropped_ = true;
  std::optional<EcodModel> ecod_;
  std::optional<RowEmbedder> embedder_;
};

/// Runs `f` with the model's JSON and format errors named after the model file.
template <class F>
auto naming_model_errors(const std::string& origin, F&& f) -> decltype(f()) {
  using json = nlohmann::json;
  try {
    return f();
  } catch (const json::exception& e) {
    throw ModelFormatError(fmt::format("{}: {}", origin, json_message(e)));
  } catch (const ModelFormatError& e) {
    rethrow_naming(origin, e.what());
  }
}

}  // namespace

TableScores score_table(const nlohmann::json& model, const Table& table, const std::string& method,
                        const std::string& origin) {
  return naming_model_errors(origin, [&] {
    const ModelScorer scorer(model, method, origin);
    MatrixD x;
    TableScores s = scorer.score(table, 0, &x);
    // The run's own rows are scored in-sample, as the run scored them; other rows as new ones.
    if (scorer.training_rows() && scorer.ecod().is_training_set(x.view())) {
      s.outlier_score = scorer.ecod().score_training(x.view());
      scorer.flag(s);
    }
    return s;
  });
}

namespace detail {

namespace {

/// Rows per block of `segmenta score`: SEGMENTA_SCORE_BLOCK_ROWS when set (tests
/// compare small blocks with the whole table), else 65536.
std::size_t score_block_rows() {
  if (const char* v = std::getenv("SEGMENTA_SCORE_BLOCK_ROWS")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    if (end != v && *end == '\0' && n > 0) return static_cast<std::size_t>(n);
  }
  return 65536;
}

/// Appends the CSV lines of a block's scores; rows are numbered from `first_row`.
void append_scores(std::string& out, const TableScores& s, std::size_t first_row) {
  const bool drop = s.dropped;
  char buf[32];
  for (std::size_t i = 0; i < s.segment.size(); ++i) {
    const auto put_int = [&](long long v) {
      const auto r = std::to_chars(buf, buf + sizeof buf, v);
      out.append(buf, static_cast<std::size_t>(r.ptr - buf));
    };
    put_int(static_cast<long long>(first_row + i));
    out += ',';
    if (!(drop && s.outlier[i])) put_int(s.segment[i]);
    if (!s.probability.empty()) {
      out += ',';
      if (!(drop && s.outlier[i])) out += format_double(s.probability[i]);
    }
    out += s.outlier[i] ? ",1," : ",0,";
    if (!std::isnan(s.outlier_score[i])) out += format_double(s.outlier_score[i]);
    out += '\n';
  }
}

/// A scored block kept back until it is known whether the input is the run's own rows.
struct HeldBlock {
  TableScores scores;
  MatrixD outlier_space;
  std::size_t first_row = 0;
};

}  // namespace

std::size_t score_with_model(const ScoreParams& params, const nlohmann::json& model, OutputStream& out) {
  detail::model_method(model, params.method, params.model);
  // Read only the model's columns, by name, in the model's order, typed as the model
  // says (never inferred from the rows, so every block reads alike).
  CsvOptions csv = params.csv;
  std::string columns;
  for (const auto& c : model.at("columns")) columns += (columns.empty() ? "" : ",") + c.at("name").get<std::string>();
  csv.columns = columns;
  // Numbers are read as the run read them (its decimal mark per column), unless
  // --decimal says otherwise; a model without the marks leaves it to the data.
  if (csv.decimal == 0)
    for (const auto& c : model.at("columns")) {
      if (!c.contains("decimal")) continue;
      const auto& mark = c.at("decimal");
      if (!mark.is_string() || (mark != "." && mark != ","))
        throw ModelFormatError(fmt::format("{}: column '{}': decimal must be \".\" or \",\", got {}", params.model,
                                           c.at("name").get<std::string>(), mark.dump()));
      csv.column_decimal.emplace_back(c.at("name").get<std::string>(), mark.get<std::string>()[0]);
    }
  try {
    for (auto& t : model_columns(model)) csv.types.push_back(std::move(t));
    for (auto& d : model_dates(model)) csv.dates.push_back(std::move(d));
  } catch (const InvalidArgument& e) {
    const std::string m = e.what();
    throw ModelFormatError(fmt::format("{}: {}", params.model, m.substr(m.find(": ") + 2)));
  }
  const std::string data_name = params.data == "-" ? std::string(kStdinName) : params.data;
  std::optional<CsvBlockReader> reader;
  try {
    reader.emplace(params.data, csv);
  } catch (const ParameterError& e) {
    // The column selection is the model's, not a --columns the user gave: say so.
    const std::string prefix = "no column named ";
    if (e.parameter() != "columns" || e.message().compare(0, prefix.size(), prefix) != 0) throw;
    const std::string& m = e.message();
    const std::size_t end = m.find("' (", prefix.size());
    throw DataError(fmt::format("{}: no column {}, which the model was fitted on{}", data_name,
                                m.substr(prefix.size(), end + 1 - prefix.size()),
                                end == std::string::npos ? "" : m.substr(end + 1)));
  }
  const ModelScorer scorer = naming_model_errors(params.model, [&] { return ModelScorer(model, params.method, params.model); });

  // The input is read and scored a block at a time and each block written as it is
  // done. Rows that may still turn out to be the run's own (no more of them than the
  // outlier model's training rows) are held back: the run's own rows are scored
  // in-sample, as the run scored them, which needs all of them at once.
  // Embedded rows are scored all at once: the encoder's length-sorted batches make
  // each row's embedding depend (in its last bits) on the other rows.
  const std::size_t block_rows = scorer.embeds() ? std::numeric_limits<std::size_t>::max() : score_block_rows();
  const std::size_t training_rows = scorer.training_rows();
  std::vector<HeldBlock> held;
  std::size_t held_rows = 0, rows = 0;
  bool header_written = false;
  std::string text;
  const auto write = [&](const TableScores& s, std::size_t first_row) {
    text.clear();
    if (!header_written) {
      text = s.probability.empty() ? "row,segment,outlier,outlier_score\n"
                                   : "row,segment,probability,outlier,outlier_score\n";
      header_written = true;
    }
    append_scores(text, s, first_row);
    out.write(text);
  };
  const auto release_held = [&] {
    for (const HeldBlock& b : held) write(b.scores, b.first_row);
    held.clear();
    held_rows = 0;
  };
  // The next block is read and parsed on another thread while this one is scored
  // and written (an error in it surfaces once this block is done, as it would in turn).
  Table block, ahead;
  Progress progress("scoring", 0, "rows");
  bool have = reader->next(block_rows, block);
  while (have) {
    std::future<bool> next = std::async(std::launch::async, [&] { return reader->next(block_rows, ahead); });
    MatrixD x;
    const bool hold = training_rows > 0 && rows + block.rows() <= training_rows && rows == held_rows;
    TableScores s = naming_model_errors(params.model, [&] { return scorer.score(block, rows, hold ? &x : nullptr); });
    if (hold) {
      held.push_back({std::move(s), std::move(x), rows});
      held_rows += block.rows();
    } else {
      release_held();
      write(s, rows);
    }
    rows += block.rows();
    progress.advance(block.rows());
    have = next.get();
    std::swap(block, ahead);
  }
  if (!held.empty() && held_rows == training_rows) {
    const std::size_t p = held.front().outlier_space.cols();
    MatrixD all(held_rows, p);
    for (const HeldBlock& b : held)
      std::copy(b.outlier_space.data(), b.outlier_space.data() + b.outlier_space.size(), all.row(b.first_row));
    if (scorer.ecod().is_training_set(all.view())) {
      const std::vector<double> in_sample = scorer.ecod().score_training(all.view());
      for (HeldBlock& b : held) {
        std::copy(in_sample.begin() + static_cast<std::ptrdiff_t>(b.first_row),
                  in_sample.begin() + static_cast<std::ptrdiff_t>(b.first_row + b.scores.outlier_score.size()),
                  b.scores.outlier_score.begin());
        scorer.flag(b.scores);
      }
    }
  }
  release_held();
  out.commit();
  return rows;
}

}  // namespace detail

}  // namespace segmenta
