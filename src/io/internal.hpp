// Helpers shared by the CSV reader and type inference (io module only).
#pragma once

#include <string_view>

namespace segmenta::io_detail {

/// Strips spaces and tabs at both ends.
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace segmenta::io_detail

#include <cstddef>
#include <cstdint>
#include <string>
#include <functional>
#include <utility>
#include <vector>

#include "segmenta/io.hpp"

namespace segmenta::io_detail {

/// Returns the offset of the first invalid UTF-8 byte, or npos.
std::size_t find_invalid_utf8(std::string_view s);

/// True when text starts as UTF-16 does (a byte-order mark, or every other byte zero).
bool looks_utf16(std::string_view text);

/// What parse_csv_slice needs to know of the text around a slice.
struct CsvSlice {
  char delimiter = ',';
  /// The column names when the slice holds data rows only (its text is then checked
  /// for invalid UTF-8 here); null: the slice starts with the header line (if any).
  const std::vector<std::string>* header = nullptr;
  /// Where splitting starts in the text (after a byte-order mark).
  std::size_t start = 0;
  /// Lines before the slice, so that messages count lines from the input's start.
  std::size_t line_base = 0;
  /// With a header: at most this many records (0: all).
  std::size_t max_records = 0;
  /// The text is a prefix of more to come: a last record without its line end is
  /// left for the next call (none complete: an empty table).
  bool partial = false;
  /// Receives the offset where the records read end.
  std::size_t* consumed = nullptr;
  /// Set: the selected cells of the data rows are appended to these string columns
  /// (made on the first slice) instead of being typed; parse_csv_slice then returns an
  /// empty table. The streaming reader (csv_stream.cpp) gathers a file this way.
  StringTable* cells = nullptr;
  /// Set (with found): nothing is gathered or typed; if the slice holds data row
  /// *find_row, the byte offset of its field `find_field` (a header position) is
  /// stored in *found, otherwise *find_row is lowered by the slice's rows.
  std::size_t* find_row = nullptr;
  std::size_t* found = nullptr;
  std::size_t find_field = 0;
};

/// parse_csv's work on text that has been checked for UTF-16, emptiness and (without
/// a header in `slice`) invalid UTF-8.
Table parse_csv_slice(std::string_view text, const std::string& name, const CsvOptions& options, const CsvSlice& slice);

/// Reads a CSV file (or a gzip one) a block at a time straight into string columns,
/// then types them one column at a time: the same table, warnings and errors as
/// parse_csv(read_data(path)), without a copy of the whole text. `bytes` and `hash`
/// receive the size and FNV-1a hash of the text; `compressed_bytes` the size read when
/// the input is gzip (0 when it is not). block_bytes 0: SEGMENTA_CSV_BLOCK_BYTES or 8 MiB.
Table read_csv_blocks(const std::string& path, const CsvOptions& options, std::size_t block_bytes = 0,
                      std::size_t* bytes = nullptr, std::uint64_t* hash = nullptr,
                      std::size_t* compressed_bytes = nullptr);

/// True when `path` names a regular file (which can be read twice, as the block reader
/// does to name a cell's place); pipes and standard input are read whole.
bool is_regular_file(const std::string& path);

/// The column names of the first record from `start` (as parse_csv names them).
std::vector<std::string> csv_header(std::string_view text, std::size_t start, const std::string& name, char delim,
                                    bool header, std::size_t line_base);

/// The offset just after the last complete record among the next `max_records`
/// records from `start` (blank lines are skipped and not counted), and in `records`
/// how many. A record is complete when its line end is in the text (a quoted field
/// may hold line ends); `start` itself when no record is.
std::size_t scan_records(std::string_view text, std::size_t start, char delim, std::size_t max_records,
                         std::size_t& records);

/// 1-based line and column (in code points) of `offset` in `text`, which starts a
/// line `line_base` lines into the input.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset, std::size_t line_base);

/// The start of a CSV input read a block at a time: where its data start after the
/// byte-order mark, its delimiter, and the end of its header record.
struct CsvHead {
  std::size_t bom = 0;
  char delimiter = ',';
  std::size_t header_end = 0;
};
/// Reads (with `fill(at_least)`, which appends to `buffer` and sets `eof` at the end)
/// enough of the input to check it and sniff its delimiter as parse_csv does (20
/// records after the header, or all of it), then the whole header record. Throws
/// ParseError naming `name` for UTF-16 and for an empty file.
CsvHead read_csv_head(std::string& buffer, const bool& eof, const std::function<void(std::size_t)>& fill,
                      char delimiter_option, std::size_t first_fill, const std::string& name);

}  // namespace segmenta::io_detail
