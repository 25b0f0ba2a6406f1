// The database sink: a run's (or a scoring's) rows written to a PostgreSQL table in
// one transaction with COPY FROM STDIN, beside the output directory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "segmenta/pipeline.hpp"
#include "segmenta/postgres.hpp"

namespace segmenta::detail {

/// One column of the written table: its name, SQL type and each row's value in COPY
/// text format ("\\N" for NULL) appended to `out`.
struct SinkColumn {
  std::string name, sql_type;
  std::function<void(std::size_t row, std::string& out)> append;
};

/// The rows a sink writes.
struct SinkRows {
  std::size_t rows = 0;
  std::vector<SinkColumn> columns;
};

/// The key column of the written table: the source's key (a table's primary key or an
/// identifier column, with its SQL type), else an id column of the table, else
/// row_number (1-based).
SinkColumn key_column(const Provenance& input, const Table& table);

/// The rows of a run: the key, the segment per method (NULL where not clustered),
/// the posterior probability per method that has one, the outlier flag and score.
SinkRows run_rows(const SegmentationResult& r);

/// Writes rows to a table: connects and checks --if-exists fail at construction
/// (before any work), stage() creates or empties the table as --if-exists says and
/// copies the rows inside a transaction, commit() commits it. Destroyed without
/// commit(), nothing changes.
class PostgresTableWriter {
 public:
  PostgresTableWriter(const std::string& uri, const std::string& table, const std::string& if_exists);
  void stage(const SinkRows& rows);
  void commit();
  /// "table T of URI" (without password).
  std::string describe() const;

 private:
  std::unique_ptr<PostgresConnection> conn_;
  std::string table_, quoted_, if_exists_;
  bool staged_ = false;
};

/// Checks --to, --to-table and --if-exists; throws ParameterError.
void check_database_target(const std::string& to, const std::string& to_table, const std::string& if_exists);

/// The sink of run(): the output directory, and with params.to the table too. The
/// table is staged first, the files next, then the table's transaction is committed
/// and the directory swapped in, so a failure before that point leaves both as they
/// were.
std::unique_ptr<Sink> open_run_sink(const RunParams& params);

/// params as run.json records them: URIs in `data`, `to` and the command line
/// without password.
RunParams redacted_params(const RunParams& params);

}  // namespace segmenta::detail
