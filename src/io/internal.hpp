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
#include <string>
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
};

/// parse_csv's work on text that has been checked for UTF-16, emptiness and (without
/// a header in `slice`) invalid UTF-8.
Table parse_csv_slice(std::string_view text, const std::string& name, const CsvOptions& options, const CsvSlice& slice);

/// The column names of the first record from `start` (as parse_csv names them).
std::vector<std::string> csv_header(std::string_view text, std::size_t start, const std::string& name, char delim,
                                    bool header, std::size_t line_base);

/// The offset just after the last complete record among the next `max_records`
/// records from `start` (blank lines are skipped and not counted), and in `records`
/// how many. A record is complete when its line end is in the text (a quoted field
/// may hold line ends); `start` itself when no record is.
std::size_t scan_records(std::string_view text, std::size_t start, char delim, std::size_t max_records,
                         std::size_t& records);

}  // namespace segmenta::io_detail
