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
#include <span>
#include <string>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "segmenta/comm.hpp"
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

/// A column stays numeric with a few non-numbers (read as missing, with a warning):
/// at most 5 % of its non-missing cells and at most this many.
inline constexpr std::size_t kMaxStrayCells = 100;
/// The stray cells its warning shows.
inline constexpr std::size_t kStrayShown = 3;

/// How the numbers of a column are written. `plain`: as pandas reads them (1234.5);
/// `grouped`: commas between groups of three digits, a point before the decimals
/// (1,234.5); `decimal_comma`: a comma before the decimals, optionally points
/// between groups of three digits (1.234,5 or 3,14).
enum class NumberFormat { plain, grouped, decimal_comma };

/// A reading of a column's numbers in one format, as read_numbers compares readings.
struct ReadingCounts {
  NumberFormat format = NumberFormat::plain;
  bool complete = true;         // false: more strays than a numeric column may have
  std::size_t strays = 0;
  std::size_t first_stray = 0;  // the first stray's row (with strays)
  std::size_t separated = 0;    // cells read that have a comma
};
/// read_numbers' step: whether reading `p`, tried after `best` (null: the first one),
/// is the better one; sets `ambiguous` when a decimal-comma reading reads the cells a
/// grouped `best` reads.
bool better_reading(const ReadingCounts& p, const ReadingCounts* best, bool& ambiguous);
/// read_numbers' choice among the readings of a column it tries without a declared
/// mark, counted whole (the ranks' counts merged), in the order it tries them: plain,
/// then, with a comma somewhere, grouped and decimal comma. The index of the reading
/// one process keeps, and whether it is ambiguous (grouped or decimal comma).
std::size_t choose_reading(const std::vector<ReadingCounts>& readings, bool& ambiguous);

/// One rank's part of a column's numeric pass (infer_column's reading in one format,
/// a point as the decimal mark first): what the ranks merge to take the one-process
/// decision.
struct NumericPart {
  NumberFormat format = NumberFormat::plain;
  std::size_t missing = 0;     // missing markers
  std::size_t strays = 0;      // present cells that are not numbers (counting stops past the limit)
  bool complete = true;        // false: more strays than a numeric column may have
  bool all_integral = true;    // every number written as an integer
  bool infinite = false;       // some number is infinite
  std::size_t separated = 0;   // cells read that have a comma
  bool any_comma = false;      // plain: some cell has a comma (other number formats would be tried)
  std::string first_comma;     // plain: the first cell with a comma, as the number format note shows it
  int first_present = -1;      // plain: the first present cell: -1 none, 0 not a date, 1 a date
  std::vector<double> numbers; // the cells read as numbers (NaN: missing or stray)
  std::vector<std::size_t> stray_rows;  // the first few strays' rows (as many as a warning shows)
};
NumericPart summarise_numbers(const StringColumn& cells, const std::vector<std::string>& na_values,
                              NumberFormat format = NumberFormat::plain);

/// infer_types' note about a numeric column read in `format` (not plain): a warning
/// when ambiguous, else an info; `example` is the column's first cell with a comma.
Diagnostic number_format_note(std::string_view name, NumberFormat format, bool ambiguous, std::string_view example);

/// What read_dates learns from a column's present cells before it decides the order
/// of day and month.
struct DateEvidence {
  bool any = false;         // some present cell is a date
  bool consistent = true;   // every present cell a date written as the first one (year first or not, separator)
  bool year_first = false;  // of the first present cell
  char separator = 0;
  bool day_first = false;   // some first field above 12
  bool month_first = false; // some second field above 12
  bool has_time = false;
  std::string example;      // the first present cell, trimmed
  /// Adds the evidence of the rows that follow these (the next rank's).
  void merge(const DateEvidence& later);
};
/// The evidence of a rank's cells (it stops at the first cell that is not consistent).
DateEvidence date_evidence(const StringColumn& cells, const std::vector<std::string>& na_values);
/// read_dates' decision on a column's whole evidence: the order (nullopt: no dates)
/// and whether day and month could each come first.
std::optional<DateOrder> date_order(const DateEvidence& evidence, bool& ambiguous);
/// The cells as days since 1970-01-01 in `order` (NaN: missing); false when a present
/// cell is no date in that order (the column is then no date column).
bool read_days(const StringColumn& cells, const std::vector<std::string>& na_values, DateOrder order,
               std::vector<double>& days);
/// infer_types' warning about a column read from dates.
Diagnostic date_note(std::string_view name, DateOrder order, bool ambiguous, bool has_time, std::string_view example,
                     std::int64_t reference);

/// One rank's cells of a text column coded into its own levels (first appearance
/// order) and the counts classify_text_column reads.
struct TextPart {
  std::vector<std::int32_t> codes;
  std::vector<std::string> levels;
  std::size_t missing = 0, total_length = 0, blanks = 0;
};
TextPart code_text(const StringColumn& cells, const std::vector<std::string>& na_values);

/// What infer_types' warning about an inferred column (no override, no date) whose
/// type is not what its cells look like at first sight (integer codes, identifiers,
/// text) reads of it: facts of all its rows, which ranks that each hold some of the
/// rows merge exactly (ranks.cpp).
struct TypeFacts {
  std::string name;
  ColumnType type = ColumnType::categorical;
  bool integral = false;
  std::size_t present = 0;  // rows not missing (a numeric column's stray cells are missing)
  std::size_t levels = 0;   // text columns: distinct values
  std::size_t longest = 0;  // text columns: bytes of the longest value
  /// When wants_few_integers: the column's first distinct numbers in row order, up to
  /// one more than the warning lists (add_few_distinct).
  std::vector<double> few;
};
/// True when the warning looks for integer codes (an integral numeric column of
/// enough present rows): it then needs `few`.
bool wants_few_integers(const TypeFacts& facts);
/// Appends to `few` the values (NaN skipped) not yet in it (as ==), in order, until it
/// holds one more than the warning lists. Applied to each rank's rows, then to the
/// ranks' lists in rank order, it gives the list of the whole column (or one too long).
void add_few_distinct(std::span<const double> values, std::vector<double>& few);
/// The warning (or none) for a column with these facts.
void announce_inferred(const TypeFacts& facts, Diagnostics& diagnostics);

/// A stray cell of a numeric column as infer_types' warning shows it: "'text' at place".
std::string stray_cell_shown(std::string_view cell, const std::string& place);
/// infer_types' warning about a numeric column's `count` stray cells (the first shown).
std::string non_numeric_cells_message(std::string_view name, std::size_t count, const std::vector<std::string>& shown);

/// A CSV file read by the ranks of a run (ranks.cpp), before its rows are gathered.
/// On the fast path each rank split and typed only its own rows: `data.table` holds
/// them, with the types, levels, integral flags and decimal marks every rank agreed
/// on (the one-process decisions; a column's `missing` counts this rank's rows).
/// Otherwise (`whole`: a case the ranks do not merge, or gzip) the text was gathered
/// and every rank parsed it whole, and `data.table` is the whole table.
struct RankRows {
  SourceData data;
  bool whole = false;
  std::vector<std::size_t> rows_per_rank;  // fast path: each rank's data rows, in rank order
};
/// On the fast path the warnings and notes infer_types gives about the whole columns
/// (types, number formats, stray cells, dates) go to options.diagnostics, and the
/// columns read from dates to options.dates_read, from the ranks' merged summaries, in
/// the one-process order and words, before any row is gathered.
RankRows read_csv_rows_on_ranks(const std::string& path, const CsvOptions& options, const Communicator& comm);
/// Every rank's rows in rank order, on every rank: the whole table.
SourceData gather_rank_rows(RankRows rows, const Communicator& comm);

/// Whether the (finite) numbers of all the ranks, `mine` being this rank's, are all
/// different (+0.0 and -0.0 counting as equal, as in one process's sort and compare),
/// without gathering them: a repeat on a rank or ranges that do not touch decide at
/// once; otherwise each rank checks the numbers whose value hashes to it. Every rank
/// gets the same answer.
bool numbers_distinct_on_ranks(std::span<const double> mine, const Communicator& comm);

/// What the last read_csv_on_ranks of this process did, for tests: whether it took
/// the fast path, and how many data rows this rank split and typed.
struct RanksReadCount {
  bool fast = false;
  std::size_t rows_typed = 0;
};
RanksReadCount last_read_on_ranks() noexcept;

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
