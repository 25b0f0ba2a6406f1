// segmenta io: CSV reading into typed tables with dialect sniffing, atomic writers.
//
// The CSV reader sniffs the delimiter (',' ';' tab '|'), handles quoting with doubled
// quotes, a header line, CRLF/LF line ends, a UTF-8 byte-order mark, and the
// pandas set of missing-value markers. Types are inferred per column:
//   numeric      every non-missing value parses as a number;
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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/files.hpp"  // read_file, AtomicFile, write_file_atomic (core)
#include "segmenta/table.hpp"

namespace segmenta {

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
  /// Stop after this many data rows (0 = all).
  std::size_t max_rows = 0;

  static std::vector<std::string> default_na_values();
};

/// Reads a CSV file into a typed table. Throws IoError, ParseError, InvalidArgument.
Table read_csv(const std::string& path, const CsvOptions& options = {});
/// Parses CSV text; `name` is used in error messages as the file name.
Table parse_csv(std::string_view text, const std::string& name, const CsvOptions& options = {});

/// Sniffs the delimiter of CSV text among , ; tab | (the one that splits the first
/// lines into the same, largest number of fields outside quotes); ',' if none does.
char sniff_delimiter(std::string_view text);

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
MatrixD read_npy(const std::string& path);

}  // namespace segmenta
