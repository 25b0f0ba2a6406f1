// The database sink (see postgres_sink.hpp) and the run's sink that pairs it with
// the output directory.
#include "postgres_sink.hpp"

#include <cmath>

#include <fmt/format.h>

#include "outputs.hpp"

namespace segmenta::detail {
namespace {

/// Text in COPY text format: backslash, tab, newline and carriage return escaped.
void append_copy_text(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

void append_double(std::string& out, double v) {
  if (std::isnan(v))
    out += "\\N";
  else
    out += format_double(v);
}

bool integer_text(std::string_view s) {
  if (s.starts_with('-')) s.remove_prefix(1);
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

/// A table name, optionally schema-qualified (schema.table), quoted part by part.
std::string quoted_table(const PostgresConnection& conn, const std::string& name) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = name.find('.', start);
    out += conn.identifier(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    out += '.';
    start = dot + 1;
  }
  return out;
}

/// Redacts a URI inside a command-line argument (a whole argument, or --to=URI).
std::string redact_argument(const std::string& arg) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    const std::size_t at = arg.find(scheme);
    if (at != std::string::npos) return arg.substr(0, at) + redact_postgres_uri(std::string_view(arg).substr(at));
  }
  return arg;
}

class RunSink final : public Sink, public StreamingSink {
 public:
  explicit RunSink(const RunParams& p) : out_(p.out_dir), table_(p.to, p.to_table, p.if_exists) {}
  std::vector<std::string> write(const SegmentationResult& result, const OutputFiles& files) override {
    table_.stage(run_rows(result));
    for (const auto& [name, content] : files.files) out_.add(name, content);
    table_.commit();
    out_.commit();
    return out_.names();
  }
  std::vector<std::string> write_streamed(const SegmentationResult& result,
                                          std::vector<std::pair<std::string, double>>& timings,
                                          RowShare* share = nullptr) override {
    // The files first: their per-row files may be shared with the other ranks, which
    // wait in render_outputs until rank 0 is done with them; the database's rows are
    // rank 0's alone.
    timings = render_outputs(result, &out_, share);
    table_.stage(run_rows(result));
    table_.commit();
    out_.commit();
    return out_.names();
  }
  std::string describe() const override { return out_.dir() + " and " + table_.describe(); }

 private:
  OutputSet out_;
  PostgresTableWriter table_;
};

}  // namespace

SinkColumn key_column(const Provenance& input, const Table& table) {
  if (!input.keys.empty() && input.keys.size() == table.rows()) {
    const std::vector<std::string>* keys = &input.keys;
    return {input.key_name, input.key_type.empty() ? "text" : input.key_type,
            [keys](std::size_t i, std::string& out) { append_copy_text(out, (*keys)[i]); }};
  }
  for (std::size_t j = 0; j < table.cols(); ++j) {
    const Column& c = table.column(j);
    if (c.type != ColumnType::id) continue;
    bool integers = true;
    for (const auto& level : c.levels) integers = integers && integer_text(level);
    return {c.name, integers ? "bigint" : "text", [&c](std::size_t i, std::string& out) {
              if (c.is_missing(i))
                out += "\\N";
              else
                append_copy_text(out, c.text(i));
            }};
  }
  return {"row_number", "bigint", [](std::size_t i, std::string& out) { out += std::to_string(i + 1); }};
}

SinkRows run_rows(const SegmentationResult& r) {
  SinkRows rows;
  rows.rows = r.table.rows();
  rows.columns.push_back(key_column(r.input, r.table));
  const bool single = r.methods.size() == 1;
  for (const auto& m : r.methods) {
    const std::vector<std::int32_t>* seg = &m.segment_of_row;
    rows.columns.push_back({single ? "segment" : "segment_" + m.name, "integer", [seg](std::size_t i, std::string& out) {
                              if ((*seg)[i] < 0)
                                out += "\\N";
                              else
                                out += std::to_string((*seg)[i]);
                            }});
    if (!m.probability.empty()) {
      const std::vector<double>* prob = &m.probability;
      rows.columns.push_back({single ? "probability" : "probability_" + m.name, "double precision",
                              [prob](std::size_t i, std::string& out) { append_double(out, (*prob)[i]); }});
    }
  }
  const OutlierResult* o = &r.outliers;
  rows.columns.push_back(
      {"outlier", "boolean", [o](std::size_t i, std::string& out) { out += o->flagged[i] ? 't' : 'f'; }});
  rows.columns.push_back({"outlier_score", "double precision",
                          [o](std::size_t i, std::string& out) { append_double(out, o->score[i]); }});
  return rows;
}

void check_database_target(const std::string& to, const std::string& to_table, const std::string& if_exists) {
  if (if_exists != "fail" && if_exists != "replace" && if_exists != "append")
    throw ParameterError("if_exists", fmt::format("expected fail, replace or append, got '{}'", if_exists));
  if (to.empty()) {
    if (!to_table.empty()) throw ParameterError("to_table", "only with --to, the database to write to");
    return;
  }
  if (!is_postgres_uri(to))
    throw ParameterError("to", fmt::format("expected a postgresql:// URI, got '{}'", redact_postgres_uri(to)));
  if (to_table.empty()) throw ParameterError("to_table", "--to needs the table to write (--to-table NAME)");
}

PostgresTableWriter::PostgresTableWriter(const std::string& uri, const std::string& table, const std::string& if_exists)
    : table_(table), if_exists_(if_exists) {
  check_database_target(uri, table, if_exists);
  conn_ = std::make_unique<PostgresConnection>(uri, "writing to");
  quoted_ = quoted_table(*conn_, table);
  if (if_exists_ == "fail" && conn_->value("SELECT to_regclass($1)::text", {quoted_}))
    throw IoError(fmt::format("writing to {}: table {} exists already (--if-exists fail; replace or append to write it)",
                              conn_->name(), table_));
}

void PostgresTableWriter::stage(const SinkRows& rows) {
  std::string definition, names;
  for (const auto& c : rows.columns) {
    const std::string name = conn_->identifier(c.name);
    definition += fmt::format("{}{} {}", definition.empty() ? "" : ", ", name, c.sql_type);
    names += (names.empty() ? "" : ", ") + name;
  }
  conn_->execute("BEGIN");
  if (if_exists_ == "replace") conn_->execute("DROP TABLE IF EXISTS " + quoted_);
  conn_->execute(fmt::format("CREATE TABLE {}{} ({})", if_exists_ == "append" ? "IF NOT EXISTS " : "", quoted_,
                             definition));
  std::size_t next = 0;
  conn_->copy_in(fmt::format("COPY {} ({}) FROM STDIN", quoted_, names), [&](std::string& buffer) {
    while (next < rows.rows && buffer.size() < (1u << 16)) {
      for (std::size_t c = 0; c < rows.columns.size(); ++c) {
        if (c) buffer += '\t';
        rows.columns[c].append(next, buffer);
      }
      buffer += '\n';
      ++next;
    }
    return next < rows.rows;
  });
  staged_ = true;
}

void PostgresTableWriter::commit() {
  if (!staged_) throw InvalidArgument("database sink: nothing staged to commit");
  conn_->execute("COMMIT");
}

std::string PostgresTableWriter::describe() const { return fmt::format("table {} of {}", table_, conn_->name()); }

std::unique_ptr<Sink> open_run_sink(const RunParams& params) {
  if (params.to.empty()) {
    check_database_target(params.to, params.to_table, params.if_exists);
    return open_sink(params.out_dir);
  }
  return std::make_unique<RunSink>(params);
}

RunParams redacted_params(const RunParams& params) {
  RunParams p = params;
  if (is_postgres_uri(p.data)) p.data = redact_postgres_uri(p.data);
  if (!p.to.empty()) p.to = redact_argument(p.to);
  for (auto& a : p.command_line) a = redact_argument(a);
  return p;
}

}  // namespace segmenta::detail
