// segmenta io: PostgreSQL as a source of customer tables, and the connection the
// database sink writes through (pipeline module).
//
// A data argument postgresql://[user[:password]@][host][:port][/database][?param=value...]
// (or postgres://) is handed to libpq as it is, so libpq's environment variables
// (PGHOST, PGPASSWORD...), ~/.pgpass and the URI's parameters all apply. A password
// is never stored or printed: every message, run.json, metrics.json and the report
// name the URI as redact_postgres_uri() writes it.
//
// The rows stream from the server (COPY (query) TO STDOUT, one row at a time) into
// typed columns, so memory follows the typed table, not the text. Column types come
// from the database:
//   smallint, integer, bigint         numeric (integers)
//   numeric, real, double precision   numeric (NaN: missing; an infinity: an error)
//   date                              numeric: days since 1970-01-01
//   timestamp, timestamptz            numeric: seconds since 1970-01-01 00:00 UTC
//   boolean                           levels "true" / "false" (binary when both occur)
//   text, varchar, char, enum, other  categorical, binary, id or text by the same
//                                     rules as a CSV column of strings
// NULL is missing. An integer column named like an identifier (id, customer_id...)
// with unique values and no NULL is typed id, as in a CSV file. --columns selects
// and --types overrides as for CSV (a numeric override of a text column parses its
// values; a categorical override of a number or a date keeps the database's text).
// Built without libpq (SEGMENTA_POSTGRES=OFF), every entry point here throws
// InvalidArgument saying so.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/io.hpp"

namespace segmenta {

/// True for postgresql:// and postgres:// URIs.
bool is_postgres_uri(std::string_view spec) noexcept;

/// The URI without its password (the user-info's ":password" and any password=
/// parameter), as every message and output names it.
std::string redact_postgres_uri(std::string_view uri);

/// False when segmenta was built without libpq.
bool postgres_supported() noexcept;

/// What to read: a table (optionally schema-qualified, as SQL names it) or a query.
struct PostgresQuery {
  std::string table;
  std::string query;
};

/// Rows of a table or a query (kind "postgresql", named by the redacted URI). The
/// provenance records the server (host:port), the database, the table or query,
/// the row count and the time of reading; its key is the table's single-column
/// primary key, else the first column named like an identifier, when its values are
/// unique and never NULL. A table with a single-column primary key is read in key
/// order. Throws IoError for anything the server refuses (connection, syntax, a
/// missing table): "reading <uri>: <the server's message>"; DataError for no rows
/// or a value that contradicts a --types override; ParameterError for a bad
/// --columns / --types or neither/both of table and query.
class PostgresSource final : public Source {
 public:
  PostgresSource(std::string uri, PostgresQuery what, CsvOptions options = {});
  std::string_view kind() const noexcept override { return "postgresql"; }
  const std::string& name() const noexcept override { return name_; }
  SourceData read() override;

 private:
  std::string uri_, name_;
  PostgresQuery what_;
  CsvOptions options_;
};

/// A connection for writing (the database sink). Every failure is an IoError
/// "<doing> <redacted uri>: <the server's message>", one line.
class PostgresConnection {
 public:
  /// Connects; `doing` says what for ("writing to").
  PostgresConnection(const std::string& uri, std::string doing);
  ~PostgresConnection();
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  /// Runs SQL without a result (several statements allowed).
  void execute(const std::string& sql);
  /// The first column of the first row of a query with text parameters $1..;
  /// nullopt when there is no row or the value is NULL.
  std::optional<std::string> value(const std::string& sql, const std::vector<std::string>& params = {});
  /// Runs `copy` (COPY ... FROM STDIN, text format) and sends what `next` appends
  /// to its buffer until it returns false.
  void copy_in(const std::string& copy, const std::function<bool(std::string& buffer)>& next);
  /// A quoted SQL identifier.
  std::string identifier(std::string_view name) const;
  /// The URI without password.
  const std::string& name() const noexcept;
  /// The server's process id of this session (for tests that end it).
  int backend_pid() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The source a data argument names, with a table or query for postgresql:// URIs
/// (open_source for anything else). Throws ParameterError when a URI comes without
/// table or query, or a table or query without a URI.
std::unique_ptr<Source> open_source(const std::string& spec, const CsvOptions& options, const PostgresQuery& what);

}  // namespace segmenta
