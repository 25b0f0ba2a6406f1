// segmenta io: data sources, CSV reading, type inference, writers.
//
// Reading is three steps, each usable alone:
//   sources      a Source (open_source: a CSV file, or standard input for "-")
//                yields a typed Table and its Provenance (kind, name, size and
//                FNV-1a hash of the bytes read);
//   parsing      the CSV reader sniffs the delimiter (',' ';' tab '|'), handles
//                quoting with doubled quotes, a header line, CRLF/LF line ends, a
//                UTF-8 byte-order mark, and splits the text into string columns;
//   inference    infer_types turns string columns (from the CSV reader or any
//                other source) into typed columns, with the pandas set of
//                missing-value markers and per-column type overrides.
// Types are inferred per column:
//   numeric      every non-missing value parses as a number; or all but a few
//                (at most 5 % of the non-missing cells and at most 100 cells):
//                those are read as missing, with a warning naming the column, the
//                count and the first offending values with their place. An
//                infinite value (1e400, inf) in a numeric column is a ParseError.
//                Numbers written with thousands separators (1,234.5) or a decimal
//                comma (3,14 or 1.234,5) are read as such when the column reads
//                best that way (one way throughout the column; a note in the
//                diagnostics says so), or as InferOptions::decimal says;
//   categorical  anything else (strings, mixed);
//   binary       a categorical with exactly two distinct values;
//   id           unique per row and named like an identifier (id, *_id, uuid, key...),
//                or a unique, non-numeric column;
//   text         long free text (mean length > 40 characters, mostly distinct).
// Malformed input (ragged row, unterminated quote, stray quote, invalid UTF-8,
// empty file, no data rows) throws ParseError with file:line:column.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/files.hpp"  // read_file, AtomicFile, write_file_atomic (core)
#include "segmenta/table.hpp"

namespace segmenta {

// ---------------------------------------------------------------------------
// Type inference
// ---------------------------------------------------------------------------

/// One column of text cells before type inference, as a source hands it over. The
/// cells are kept back to back in one buffer. A cell can be flagged missing (an SQL
/// NULL, a None in a data frame): it is missing whatever its text; other cells are
/// missing when they match a missing-value marker.
class StringColumn {
 public:
  StringColumn() = default;
  explicit StringColumn(std::string name) : name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }
  std::size_t size() const noexcept { return ends_.size(); }
  std::string_view cell(std::size_t row) const noexcept {
    const std::size_t begin = row ? ends_[row - 1] : 0;
    return std::string_view(bytes_).substr(begin, ends_[row] - begin);
  }
  bool is_missing(std::size_t row) const noexcept { return !missing_.empty() && missing_[row] != 0; }

  void reserve(std::size_t cells, std::size_t bytes = 0);
  /// Appends a cell with this text.
  void push_back(std::string_view cell);
  /// Appends a cell flagged missing (its text is empty).
  void push_missing();

 private:
  std::string name_;
  std::string bytes_;                  // the cells' text, back to back
  std::vector<std::size_t> ends_;      // end offset of each cell in bytes_
  std::vector<std::uint8_t> missing_;  // per cell; empty while no cell is flagged
};

/// Equally long string columns and the name of where they came from (for messages).
struct StringTable {
  std::string source;
  std::vector<StringColumn> columns;
  std::size_t rows() const noexcept { return columns.empty() ? 0 : columns.front().size(); }
};

/// pandas' default missing-value markers ("", "NA", "NULL", "NaN", "n/a", "null"...).
std::vector<std::string> default_na_values();

/// The order of the fields of a date written with numbers only: year-month-day
/// (ISO 8601, 2024-03-31), day/month/year (31/03/2024) or month/day/year (03/31/2024).
enum class DateOrder { ymd, dmy, mdy };
/// "ymd", "dmy", "mdy".
std::string_view to_string(DateOrder o) noexcept;

/// How a numeric column was read from dates: each value is the number of days since
/// the reference date's midnight (fractions of a day for a time of day; a time zone
/// offset is converted to UTC). The reference is the column's earliest date unless
/// given (scoring uses the run's).
struct DateReading {
  DateOrder order = DateOrder::ymd;
  std::int64_t reference = 0;  // days since 1970-01-01
};
/// The date readings of a table's columns, by column name.
using DateReadings = std::vector<std::pair<std::string, DateReading>>;

/// Days since 1970-01-01 of a proleptic Gregorian date (no range check).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;
/// yyyy-mm-dd of a day count since 1970-01-01.
std::string format_day(std::int64_t days);
/// The day count of "yyyy-mm-dd"; nullopt if it is not a valid date so written.
std::optional<std::int64_t> parse_day(std::string_view iso) noexcept;

/// A column declared as dates (--types COL=date|date-ymd|date-dmy|date-mdy) or read
/// as a fitted model read it: the field order (nullopt: decided from the values) and
/// the reference date (nullopt: the column's earliest date).
struct DateSpec {
  std::optional<DateOrder> order;
  std::optional<std::int64_t> reference;  // days since 1970-01-01
};

/// "date" (order decided from the values), "date-ymd", "date-dmy", "date-mdy"; nullopt
/// for any other type name.
std::optional<DateSpec> parse_date_type(std::string_view name);

struct InferOptions {
  /// Missing-value markers (exact match after trimming spaces and tabs).
  std::vector<std::string> na_values = default_na_values();
  /// Per-column type overrides, applied instead of inference.
  std::vector<std::pair<std::string, ColumnType>> types;
  /// Where warnings go (a numeric column's few non-numbers read as missing); none: dropped.
  Diagnostics* diagnostics = nullptr;
  /// Says where a cell is, "file:line:column", for warnings; default "<source>, data row R".
  std::function<std::string(std::size_t column, std::size_t row)> place;
  /// The decimal mark of numbers: 0 = per column (a point, or, when the whole
  /// column reads so, a comma), '.' (commas only as thousands separators, 1,234.5)
  /// or ',' (a decimal comma, points only as thousands separators, 1.234,5).
  char decimal = 0;
  /// Per-column decimal marks ('.' or ','), used for the named columns while `decimal`
  /// is 0 (scoring reads a column as the run that fitted the model read it).
  std::vector<std::pair<std::string, char>> column_decimal;
  /// Columns declared or known to hold dates (read as dates even where `types` says numeric).
  std::vector<std::pair<std::string, DateSpec>> dates;
  /// Where the columns read as dates are recorded (appended); none: not recorded.
  DateReadings* dates_read = nullptr;
};

/// Reports a cell that contradicts a type override (a non-number in a column
/// declared numeric): called with the column's index in the StringTable, the row
/// and a one-line message; it must throw.
using CellErrorHandler = std::function<void(std::size_t column, std::size_t row, const std::string& message)>;

/// Types string columns: each becomes a typed Column by the rules at the top of this
/// file, or by its override. Throws InvalidArgument for columns of different lengths
/// and for an override naming no column ("--types: no column named 'x' in <source>");
/// a cell contradicting an override goes to `on_error`, by default a ParseError at
/// <source>:<row + 1>:<column + 1>.
Table infer_types(const StringTable& table, const InferOptions& options = {},
                  const CellErrorHandler& on_error = {});

/// True for names of identifiers (id, uuid, key, customer_id, customerId...): a
/// unique column so named is typed id, never a feature.
bool named_like_identifier(std::string_view name);

/// The type of a column of non-numeric values by the rules at the top of this file
/// (text, id, binary or categorical), from its row count, missing cells, distinct
/// values, the total length of its present values, the blanks in them (words) and
/// the length of its longest value (a value longer than kLongestCategory bytes makes
/// the column text: no category is written that way).
/// Sources that type their own values (a database's text columns) classify them with
/// it, as infer_types does.
ColumnType classify_text_column(std::string_view name, std::size_t rows, std::size_t missing, std::size_t distinct,
                                std::size_t total_length, std::size_t blanks, std::size_t longest = 0);
/// The longest value a category may have, in bytes: a column with a longer value is
/// free text unless its type is given.
inline constexpr std::size_t kLongestCategory = 1000;

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

struct CsvOptions {
  /// Field delimiter; 0 = sniff from the first lines among , ; tab |.
  char delimiter = 0;
  /// The first line is a header. Without one columns are named col0, col1...
  bool header = true;
  /// Column selection (see resolve_columns); empty = all columns.
  std::string columns;
  /// Missing-value markers (exact match after trimming spaces); defaults to pandas' set.
  std::vector<std::string> na_values = default_na_values();
  /// Per-column type overrides, applied instead of inference.
  std::vector<std::pair<std::string, ColumnType>> types;
  /// Columns declared or known to hold dates (InferOptions::dates).
  std::vector<std::pair<std::string, DateSpec>> dates;
  /// Where the columns read as dates are recorded (InferOptions::dates_read).
  DateReadings* dates_read = nullptr;
  /// Stop after this many data rows (0 = all).
  std::size_t max_rows = 0;
  /// Where type-inference warnings go (see InferOptions); none: dropped.
  Diagnostics* diagnostics = nullptr;
  /// The decimal mark (see InferOptions::decimal): 0 = per column, '.' or ','.
  char decimal = 0;
  /// Per-column decimal marks while `decimal` is 0 (see InferOptions::column_decimal).
  std::vector<std::pair<std::string, char>> column_decimal;

  static std::vector<std::string> default_na_values();
  /// The na_values, types and diagnostics of these options, for infer_types.
  InferOptions infer_options() const { return {na_values, types, diagnostics, {}, decimal, column_decimal, dates, dates_read}; }
};

/// Reads a CSV file into a typed table. Throws IoError, ParseError, InvalidArgument.
Table read_csv(const std::string& path, const CsvOptions& options = {});
/// Parses CSV text; `name` is used in error messages as the file name. Splits the
/// text into string columns (the selected ones), then types them with infer_types.
Table parse_csv(std::string_view text, const std::string& name, const CsvOptions& options = {});

/// Sniffs the delimiter of CSV text among , ; tab | (the one that splits the first
/// lines into the same, largest number of fields outside quotes); ',' if none does.
char sniff_delimiter(std::string_view text);

// ---------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------

/// Where a table came from, for the run manifest and the report.
struct Provenance {
  /// "file", "stdin"; other sources name themselves ("postgresql", "dataframe").
  std::string kind;
  /// What the data is called in messages: the path, "<stdin>", a query...
  std::string name;
  /// Size in bytes and FNV-1a 64 hash of the bytes read, for sources that have bytes.
  std::optional<std::uint64_t> bytes;
  std::optional<std::uint64_t> fnv1a64;
  /// Further facts a kind of source records (key, value), in order.
  std::vector<std::pair<std::string, std::string>> extra;
  /// The rows' keys where the source knows them (a database table's primary key, or
  /// an identifier column): its name, its SQL type and one value per row, in row
  /// order; a sink writes them beside the segments. Not recorded in run.json.
  std::string key_name, key_type;
  std::vector<std::string> keys;
  /// The columns read from dates, with their order and reference date.
  DateReadings dates;

  /// fnv1a64 as 16 lower-case hex digits, as run.json records it; "" when unset.
  std::string fnv1a64_hex() const;
};

/// A typed table and its provenance. The bytes it was parsed from are not kept.
struct SourceData {
  Table table;
  Provenance provenance;
};

/// Something that yields a typed table: a CSV file, standard input, later a
/// database query or a data frame. Sources with text cells build a StringTable and
/// type it with infer_types, so every source infers types the same way.
class Source {
 public:
  virtual ~Source() = default;
  /// The provenance's kind and name, known before reading.
  virtual std::string_view kind() const noexcept = 0;
  virtual const std::string& name() const noexcept = 0;
  /// Reads the data. Throws IoError, ParseError, InvalidArgument.
  virtual SourceData read() = 0;
};

/// A CSV file (kind "file", named by its path), parsed with parse_csv.
class CsvFileSource final : public Source {
 public:
  explicit CsvFileSource(std::string path, CsvOptions options = {});
  std::string_view kind() const noexcept override { return "file"; }
  const std::string& name() const noexcept override { return path_; }
  SourceData read() override;

 private:
  std::string path_;
  CsvOptions options_;
};

/// CSV text on a stream, standard input by default (kind "stdin", named "<stdin>"),
/// parsed with parse_csv. The stream is read to its end once: a second read()
/// throws InvalidArgument.
class StdinSource final : public Source {
 public:
  explicit StdinSource(CsvOptions options = {}, std::FILE* stream = stdin);
  std::string_view kind() const noexcept override { return "stdin"; }
  const std::string& name() const noexcept override { return name_; }
  SourceData read() override;

 private:
  std::string name_ = "<stdin>";
  CsvOptions options_;
  std::FILE* stream_;
  bool consumed_ = false;
};

/// The source a data argument names: "-" is standard input, anything else a CSV
/// file path. Nothing is read until read(). Throws InvalidArgument for an empty spec.
std::unique_ptr<Source> open_source(const std::string& spec, const CsvOptions& options = {});

class Communicator;
/// A CSV file read by every rank of `comm` (an MPI run): rank r reads the lines that
/// start in its r-th 1/size of the bytes and checks them (invalid UTF-8 is reported
/// at its line and column in the file, and every rank fails with the first such
/// error); the parts are gathered in rank order, and every rank parses the file's
/// text as parse_csv does, so each returns the table one process reads. A gzip file
/// is read whole by every rank. Provenance: kind "file", extra "ranks".
SourceData read_csv_on_ranks(const std::string& path, const CsvOptions& options, const Communicator& comm);

// ---------------------------------------------------------------------------
// Writing (AtomicFile and write_file_atomic come from segmenta/files.hpp)
// ---------------------------------------------------------------------------

/// Quotes a CSV field when it contains the delimiter, a quote, CR or LF.
std::string csv_escape(std::string_view field, char delimiter = ',');

/// A matrix as CSV text with a header line (names; col0.. when empty); doubles in
/// shortest round-trip form.
std::string matrix_to_csv(ViewD m, const std::vector<std::string>& names = {});
std::string matrix_to_csv(ViewF m, const std::vector<std::string>& names = {});

/// A float32 / float64 matrix as NumPy .npy bytes (version 1.0, C order, little endian).
std::string matrix_to_npy(ViewF m);
std::string matrix_to_npy(ViewD m);
/// Reads a 2-D float32 or float64 .npy file (C order, little endian) as doubles.
/// Throws IoError, DataError (not a .npy file, an unsupported or truncated one).
MatrixD read_npy(const std::string& path);

}  // namespace segmenta
