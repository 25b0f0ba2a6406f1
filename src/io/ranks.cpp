// A CSV file read by the ranks of an MPI run: each rank reads the records that start
// in its share of the bytes (cut at line ends outside quotes), checks them, splits
// them into cells and types them; the ranks merge their columns' summaries so that
// every type and level is the one process's decision, and give infer_types'
// warnings and notes about the columns from the merged summaries, in the one-process
// order, before the typed rows are gathered on every rank. Numbers written with
// commas (each reading's counts merged, the best one chosen as one process chooses)
// and dates (the evidence of each rank's cells merged in rank order to decide the
// order, the earliest date of all as the reference) are decided so too. Cases whose
// decisions need more than the summaries merged here gather the text and parse it
// whole, as one process does: declared types and dates, --decimal and per-column
// marks, a row limit, an infinite value and any parse error (their message names the
// first one's place), a head rank 0 cannot read alone, gzip and files of 4 GiB or more.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <bit>
#include <limits>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "io/internal.hpp"
#include "io/source_bytes.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"
#include "segmenta/streams.hpp"

namespace segmenta {
namespace {

/// A file opened for reading at offsets; closed on every path.
class RangeFile {
 public:
  explicit RangeFile(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "rb")) {
    if (!f_) throw IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  ~RangeFile() { std::fclose(f_); }
  RangeFile(const RangeFile&) = delete;
  RangeFile& operator=(const RangeFile&) = delete;

  std::uint64_t size() {
    seek(0, SEEK_END);
    const off_t end = ::ftello(f_);
    if (end < 0) fail();
    return static_cast<std::uint64_t>(end);
  }
  /// Up to n bytes from `offset` (fewer at the end of the file).
  std::string read(std::uint64_t offset, std::size_t n) {
    seek(static_cast<off_t>(offset), SEEK_SET);
    std::string out(n, '\0');
    const std::size_t got = std::fread(out.data(), 1, n, f_);
    if (got < n && std::ferror(f_)) fail();
    out.resize(got);
    return out;
  }
  /// The first line start at or after `pos`: pos itself at 0 or after a '\n', else
  /// the byte after the next '\n' (the file's size when there is none).
  std::uint64_t line_start_from(std::uint64_t pos, std::uint64_t file_size) {
    if (pos == 0 || pos >= file_size) return std::min(pos, file_size);
    std::uint64_t at = pos - 1;
    constexpr std::size_t kChunk = 1 << 16;
    while (at < file_size) {
      const std::string chunk = read(at, kChunk);
      if (chunk.empty()) break;
      if (const void* nl = std::memchr(chunk.data(), '\n', chunk.size()))
        return at + static_cast<std::uint64_t>(static_cast<const char*>(nl) - chunk.data()) + 1;
      at += chunk.size();
    }
    return file_size;
  }

 private:
  void seek(off_t offset, int whence) {
    if (::fseeko(f_, offset, whence) != 0) fail();
  }
  [[noreturn]] void fail() { throw IoError(fmt::format("{}: cannot read: {}", path_, std::strerror(errno))); }

  const std::string& path_;
  std::FILE* f_;
};

bool is_gzip(const std::string& head) { return head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b'; }

/// line:column (1-based, columns in code points) of `offset` in `part`, whose first
/// line is line `line_base + 1` of the file and starts at the part's first byte.
std::pair<std::size_t, std::size_t> place_in_part(std::string_view part, std::size_t offset, std::size_t line_base) {
  std::size_t line = line_base + 1, line_start = 0;
  for (std::size_t i = 0; i < offset; ++i)
    if (part[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  std::size_t column = 1;
  for (std::size_t i = line_start; i < offset; ++i)
    if ((static_cast<unsigned char>(part[i]) & 0xC0) != 0x80) ++column;
  return {line, column};
}

/// The summaries the ranks exchange, as bytes: integers and length-prefixed strings.
void put(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put(std::string& out, std::string_view v) {
  put(out, static_cast<std::uint64_t>(v.size()));
  out.append(v);
}
struct Reader {
  std::string_view in;
  const std::string& path;  // the CSV file, for the message of a broken exchange
  std::size_t at = 0;
  std::uint64_t u64() {
    std::uint64_t v = 0;
    if (at + sizeof v > in.size()) throw Error(path + ": the ranks' summaries of its columns differ");
    std::memcpy(&v, in.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string_view str() {
    const std::uint64_t n = u64();
    if (n > in.size() - at) throw Error(path + ": the ranks' summaries of its columns differ");
    const std::string_view s = in.substr(at, static_cast<std::size_t>(n));
    at += static_cast<std::size_t>(n);
    return s;
  }
};

/// The line ends outside quotes at the start of `text`, counted as sniff_delimiter
/// counts a line's end, up to `limit`.
std::size_t line_ends_outside_quotes(std::string_view text, std::size_t limit) {
  std::size_t count = 0;
  bool in_quotes = false;
  for (std::size_t pos = 0; pos < text.size() && count < limit; ++pos) {
    const char c = text[pos];
    if (c == '"') {
      in_quotes = !in_quotes;
    } else if (!in_quotes && (c == '\n' || c == '\r')) {
      if (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
      ++count;
    }
  }
  return count;
}

/// What rank 0 finds at the start of the file: the delimiter, the column names and
/// where its data rows start. `ok` is false where rank 0's part cannot tell what one
/// process reads there (fewer lines than the delimiter's sniffing reads, a header
/// record that does not end in the part, an empty file, a header error): the text is
/// then parsed whole.
struct Head {
  bool ok = false;
  char delimiter = ',';
  std::vector<std::string> names;
  std::size_t data_start = 0;
};

Head read_head(std::string_view part, bool whole_file, const std::string& path, const CsvOptions& options) {
  Head h;
  const std::size_t bom = part.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  const std::string_view body = part.substr(bom);
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return h;
  if (!options.delimiter && !whole_file && line_ends_outside_quotes(body, 20) < 20) return h;
  h.delimiter = options.delimiter ? options.delimiter : sniff_delimiter(body);
  try {
    h.names = io_detail::csv_header(part, bom, path, h.delimiter, options.header, 0);
  } catch (const std::exception&) {
    return h;
  }
  if (options.header) {
    std::size_t records = 0;
    h.data_start = io_detail::scan_records(part, bom, h.delimiter, 1, records);
    if (records != 1) return h;
  } else {
    h.data_start = bom;
  }
  h.ok = true;
  return h;
}

/// Moves the cuts between the ranks' parts out of quoted fields: the quotes of the
/// parts before a rank's say whether its first byte is inside quotes (each '"' opens
/// or closes one, as in a well-formed file); a rank whose start is inside moves it to
/// the first line end outside quotes in its part (or, with none, to the next rank's
/// start), and the rank before reads up to there. The parts stay a partition of the
/// file in order. Where the quotes are not all opening and closing ones the cut may
/// still fall inside a field: the ranks' parsing then fails and the text is parsed
/// whole, so the outcome is exact either way.
void cut_outside_quotes(const std::string& path, std::uint64_t n, std::uint64_t& begin, std::uint64_t& end,
                        std::string& part, const Communicator& comm) {
  const int rank = comm.rank(), size = comm.size();
  const std::int64_t quotes = static_cast<std::int64_t>(std::count(part.begin(), part.end(), '"'));
  const std::vector<std::int64_t> all = comm.allgather(std::span<const std::int64_t>(&quotes, 1));
  // The quotes before each rank's first byte: an odd count puts it inside quotes.
  std::int64_t prefix = 0, mine_before = 0;
  bool any_inside = false;
  for (int r = 0; r < size; ++r) {
    if (r == rank) mine_before = prefix;
    if (r > 0 && prefix % 2 == 1) any_inside = true;
    prefix += all[static_cast<std::size_t>(r)];
  }
  if (!any_inside) return;
  std::int64_t found = static_cast<std::int64_t>(begin);
  if (rank > 0 && mine_before % 2 == 1) {
    found = -1;
    bool in_quotes = true;
    for (std::size_t i = 0; i < part.size(); ++i) {
      if (part[i] == '"') {
        in_quotes = !in_quotes;
      } else if (!in_quotes && part[i] == '\n') {
        found = static_cast<std::int64_t>(begin + i + 1);
        break;
      }
    }
  }
  const std::vector<std::int64_t> starts = comm.allgather(std::span<const std::int64_t>(&found, 1));
  std::vector<std::uint64_t> cut(static_cast<std::size_t>(size) + 1, n);
  for (int r = size - 1; r >= 0; --r) {
    const std::int64_t s = starts[static_cast<std::size_t>(r)];
    cut[static_cast<std::size_t>(r)] = s >= 0 ? static_cast<std::uint64_t>(s) : cut[static_cast<std::size_t>(r) + 1];
  }
  const std::uint64_t new_begin = cut[static_cast<std::size_t>(rank)], new_end = cut[static_cast<std::size_t>(rank) + 1];
  // Every rank agrees (a collective step), those whose part moved reading it again.
  const bool moved = new_begin != begin || new_end != end;
  agree_on_failure(comm, [&] {
    if (!moved) return;
    RangeFile file(path);
    part = file.read(new_begin, static_cast<std::size_t>(new_end - new_begin));
    if (part.size() != new_end - new_begin) throw IoError(fmt::format("{}: cannot read: the file changed while read", path));
  });
  begin = new_begin;
  end = new_end;
}

/// A column's reading in one format (NumericPart), merged over the ranks in rank order.
struct MergedReading {
  io_detail::ReadingCounts counts;
  std::size_t missing = 0;
  bool all_integral = true, infinite = false;
  bool started = false;  // a rank's counts added
};

/// The counts of a rank's reading that the ranks merge.
void put_part(std::string& out, const io_detail::NumericPart& p) {
  put(out, static_cast<std::uint64_t>(p.format));
  put(out, p.missing);
  put(out, p.strays);
  put(out, p.complete ? 1 : 0);
  put(out, p.all_integral ? 1 : 0);
  put(out, p.infinite ? 1 : 0);
  put(out, p.separated);
  put(out, p.stray_rows.empty() ? 0 : p.stray_rows.front());
}
/// Adds the next rank's counts (its rows start at `row_offset` in the table) to `m`;
/// `complete` is then checked against the limit of strays by the caller.
void add_part(MergedReading& m, Reader& in, const std::string& path, std::size_t row_offset) {
  const auto format = static_cast<io_detail::NumberFormat>(in.u64());
  if (!m.started) m.counts.format = format;
  if (format != m.counts.format) throw Error(path + ": the ranks' summaries of its columns differ");
  m.started = true;
  m.missing += static_cast<std::size_t>(in.u64());
  const std::size_t strays = static_cast<std::size_t>(in.u64());
  m.counts.complete = in.u64() != 0 && m.counts.complete;
  m.all_integral = in.u64() != 0 && m.all_integral;
  m.infinite = in.u64() != 0 || m.infinite;
  m.counts.separated += static_cast<std::size_t>(in.u64());
  const std::size_t first_stray = static_cast<std::size_t>(in.u64());
  if (m.counts.strays == 0 && strays > 0) m.counts.first_stray = row_offset + first_stray;
  m.counts.strays += strays;
}

/// This rank's records split into cells and typed as one process types the whole
/// columns (the ranks merge their summaries and take the same decisions); false on
/// every rank where the merge would not be exact (the caller parses the text whole).
bool type_rows(std::string_view part, bool whole_file, std::size_t line_base, const std::string& path,
               const CsvOptions& options, const Communicator& comm, std::vector<Column>& columns,
               std::vector<std::size_t>& rows_per_rank, Diagnostics& warnings,
               DateReadings& dates) {
  const int rank = comm.rank(), size = comm.size();
  // The delimiter and the header, from rank 0.
  Head head;
  std::string head_bytes;
  if (rank == 0) {
    head = read_head(part, whole_file, path, options);
    put(head_bytes, head.ok ? 1 : 0);
    put(head_bytes, static_cast<unsigned char>(head.delimiter));
    put(head_bytes, head.names.size());
    for (const auto& name : head.names) put(head_bytes, name);
  }
  if (size > 1) comm.broadcast(head_bytes, 0);
  if (rank != 0) {
    Reader in{head_bytes, path};
    head.ok = in.u64() != 0;
    head.delimiter = static_cast<char>(in.u64());
    head.names.resize(static_cast<std::size_t>(in.u64()));
    for (auto& name : head.names) name = std::string(in.str());
  }
  if (!head.ok) return false;

  // This rank's records as string columns (the selected ones) and their numeric pass.
  StringTable strings;
  std::vector<io_detail::NumericPart> numeric;
  bool ok = true;
  const std::size_t start = rank == 0 ? head.data_start : 0;
  CsvOptions local = options;
  local.header = false;  // the slice's records are data rows
  io_detail::CsvSlice slice;
  slice.delimiter = head.delimiter;
  slice.header = &head.names;
  slice.start = start;
  slice.line_base = line_base;
  std::vector<std::size_t> selected;  // the columns' positions in the header
  try {
    if (options.columns.empty())
      for (std::size_t j = 0; j < head.names.size(); ++j) selected.push_back(j);
    else
      selected = resolve_columns(options.columns, head.names);
    if (part.substr(start).find_first_not_of("\r\n") == std::string_view::npos) {  // no record (blank lines only)
      strings.source = path;
      for (std::size_t j : selected) strings.columns.emplace_back(head.names[j]);
    } else {
      io_detail::CsvSlice cells = slice;
      cells.cells = &strings;
      io_detail::parse_csv_slice(part, path, local, cells);
    }
    for (const StringColumn& cells : strings.columns) numeric.push_back(io_detail::summarise_numbers(cells, options.na_values));
  } catch (const std::exception&) {
    ok = false;  // the one process's error (or none: a cut inside a field) comes from the whole text
  }
  const std::size_t n_cols = strings.columns.size(), n_local = strings.rows();
  {
    const std::int64_t mine[] = {ok ? 1 : 0, static_cast<std::int64_t>(n_local), static_cast<std::int64_t>(n_cols)};
    const std::vector<std::int64_t> all = comm.allgather(std::span<const std::int64_t>(mine, 3));
    std::size_t total = 0;
    rows_per_rank.assign(static_cast<std::size_t>(size), 0);
    for (int r = 0; r < size; ++r) {
      const std::int64_t* v = all.data() + 3 * r;
      if (v[0] == 0 || v[2] != static_cast<std::int64_t>(n_cols)) return false;
      rows_per_rank[static_cast<std::size_t>(r)] = static_cast<std::size_t>(v[1]);
      total += static_cast<std::size_t>(v[1]);
    }
    if (total == 0) return false;  // "no data rows after the header", said at its place
  }
  std::size_t n_rows = 0;
  for (std::size_t r : rows_per_rank) n_rows += r;

  std::vector<std::size_t> row_offset(static_cast<std::size_t>(size), 0);  // each rank's first row in the table
  for (int r = 1; r < size; ++r)
    row_offset[static_cast<std::size_t>(r)] = row_offset[static_cast<std::size_t>(r) - 1] + rows_per_rank[static_cast<std::size_t>(r) - 1];

  // The numeric pass merged: every rank takes the one-process decision per column.
  // With a comma somewhere and cells that are no plain numbers, one process also
  // reads the column with a comma as thousands separator and as decimal mark and
  // keeps the best reading: the ranks count those readings too, merge the counts and
  // choose as read_numbers chooses (choose_reading); the note shows the column's first
  // cell with a comma, the first rank's that has one.
  std::string numeric_bytes;
  for (const auto& p : numeric) {
    put_part(numeric_bytes, p);
    put(numeric_bytes, p.any_comma ? 1 : 0);
    put(numeric_bytes, static_cast<std::uint64_t>(p.first_present + 1));
    put(numeric_bytes, p.first_comma);
  }
  std::vector<std::vector<MergedReading>> readings(n_cols, std::vector<MergedReading>(1));
  std::vector<bool> any_comma(n_cols);
  std::vector<int> first_present(n_cols, -1);
  std::vector<std::string> first_comma(n_cols);
  {
    const std::vector<std::string> all = comm.allgather_bytes(numeric_bytes);
    for (int r = 0; r < size; ++r) {
      Reader in{all[static_cast<std::size_t>(r)], path};
      for (std::size_t c = 0; c < n_cols; ++c) {
        add_part(readings[c][0], in, path, row_offset[static_cast<std::size_t>(r)]);
        any_comma[c] = in.u64() != 0 || any_comma[c];
        const int present = static_cast<int>(in.u64()) - 1;
        if (first_present[c] < 0) first_present[c] = present;
        const std::string_view shown = in.str();
        if (first_comma[c].empty()) first_comma[c] = shown;
      }
    }
  }
  std::vector<std::size_t> other_formats;  // columns read in the other formats too
  for (std::size_t c = 0; c < n_cols; ++c)
    if (readings[c][0].counts.strays > 0 && any_comma[c]) other_formats.push_back(c);
  std::vector<std::array<io_detail::NumericPart, 2>> other_parts(other_formats.size());
  if (!other_formats.empty()) {
    std::string bytes;
    for (std::size_t k = 0; k < other_formats.size(); ++k) {
      const std::size_t c = other_formats[k];
      for (std::size_t f = 0; f < 2; ++f) {
        other_parts[k][f] = io_detail::summarise_numbers(
            strings.columns[c], options.na_values, f == 0 ? io_detail::NumberFormat::grouped : io_detail::NumberFormat::decimal_comma);
        put_part(bytes, other_parts[k][f]);
      }
      readings[c].resize(3);
    }
    const std::vector<std::string> all = comm.allgather_bytes(bytes);
    for (int r = 0; r < size; ++r) {
      Reader in{all[static_cast<std::size_t>(r)], path};
      for (std::size_t c : other_formats)
        for (std::size_t f = 1; f <= 2; ++f) add_part(readings[c][f], in, path, row_offset[static_cast<std::size_t>(r)]);
    }
  }
  std::vector<bool> is_number(n_cols);
  std::vector<bool> integral(n_cols);
  std::vector<io_detail::NumberFormat> format(n_cols, io_detail::NumberFormat::plain);
  std::vector<bool> format_ambiguous(n_cols);
  std::vector<std::size_t> id_check;    // numeric columns named like identifiers, without missing cells
  std::vector<bool> is_id(n_cols);      // ... whose numbers are all distinct: identifiers, coded as text
  std::vector<std::size_t> with_strays;  // numeric columns with a few cells that are not numbers
  std::vector<std::size_t> stray_counts(n_cols);
  std::vector<std::size_t> missing_counts(n_cols);  // the missing markers of every rank (the chosen reading's)
  std::vector<std::size_t> date_check;  // text columns whose first present cell is a date
  for (std::size_t c = 0, k = 0; c < n_cols; ++c) {
    std::vector<io_detail::ReadingCounts> counts;
    for (MergedReading& m : readings[c]) {
      m.counts.complete = m.counts.complete && m.counts.strays <= io_detail::kMaxStrayCells;
      counts.push_back(m.counts);
    }
    bool ambiguous = false;
    const std::size_t chosen = io_detail::choose_reading(counts, ambiguous);
    const MergedReading& m = readings[c][chosen];
    const std::size_t strays = m.counts.strays, missing = m.missing;
    const bool numeric_column = m.counts.complete && (strays == 0 || strays * 20 <= n_rows - missing);
    const bool other = k < other_formats.size() && other_formats[k] == c;
    if (numeric_column) {
      if (m.infinite) return false;  // an error at its place: the text is read whole
      if (chosen > 0) numeric[c] = std::move(other_parts[k][chosen - 1]);
      format[c] = m.counts.format;
      format_ambiguous[c] = ambiguous;
      if (strays > 0) with_strays.push_back(c);
      stray_counts[c] = strays;
      missing_counts[c] = missing;
      if (missing + strays == 0 && named_like_identifier(strings.columns[c].name())) id_check.push_back(c);
      is_number[c] = true;
      integral[c] = m.all_integral && missing + strays < n_rows;
    } else if (first_present[c] == 1) {
      date_check.push_back(c);
    }
    if (other) other_parts[k++] = {};
  }
  // Stray cells read as missing: the warning shows the column's first few, each at
  // its place in the file; each rank names its own first ones, taken in rank order.
  std::vector<std::string> stray_warnings(n_cols);
  if (!with_strays.empty()) {
    std::string shown_bytes;
    for (std::size_t c : with_strays) {
      const auto& rows = numeric[c].stray_rows;
      put(shown_bytes, rows.size());
      for (std::size_t row : rows) {
        std::size_t find_row = row, found = 0;
        io_detail::CsvSlice find = slice;
        find.find_row = &find_row;
        find.found = &found;
        find.find_field = selected[c];
        io_detail::parse_csv_slice(part, path, local, find);
        const auto [line, column] = io_detail::line_column(part, found, line_base);
        put(shown_bytes, io_detail::stray_cell_shown(strings.columns[c].cell(row), fmt::format("{}:{}:{}", path, line, column)));
      }
    }
    const std::vector<std::string> all_shown = comm.allgather_bytes(shown_bytes);
    std::vector<Reader> shown_in;
    for (const auto& bytes : all_shown) shown_in.push_back(Reader{bytes, path});
    for (std::size_t c : with_strays) {
      std::vector<std::string> shown;
      for (int r = 0; r < size; ++r) {
        Reader& in = shown_in[static_cast<std::size_t>(r)];
        const std::size_t count = static_cast<std::size_t>(in.u64());
        for (std::size_t k = 0; k < count; ++k) {
          const std::string_view item = in.str();
          if (shown.size() < io_detail::kStrayShown) shown.emplace_back(item);
        }
      }
      stray_warnings[c] = io_detail::non_numeric_cells_message(strings.columns[c].name(), stray_counts[c], shown);
    }
  }

  // A numeric column named like an identifier is one when its numbers are distinct
  // over all the rows (numbers_distinct_on_ranks: no rank receives them all).
  for (std::size_t c : id_check) {
    if (io_detail::numbers_distinct_on_ranks(numeric[c].numbers, comm)) {
      is_number[c] = false;
      is_id[c] = true;
    }
  }
  // infer_types' notes after announce_type's, in its order: the number format, the
  // strays (a date column's note, below, takes announce_type's place).
  std::vector<std::vector<Diagnostic>> notes(n_cols);
  std::vector<std::optional<DateReading>> date_readings(n_cols);
  for (std::size_t c = 0; c < n_cols; ++c) {
    if (!is_number[c]) continue;
    if (format[c] != io_detail::NumberFormat::plain)
      notes[c].push_back(
          io_detail::number_format_note(strings.columns[c].name(), format[c], format_ambiguous[c], first_comma[c]));
    if (!stray_warnings[c].empty())
      notes[c].push_back({Diagnostic::Level::warning, "load", "non_numeric_cells", std::move(stray_warnings[c])});
  }

  // Dates: each rank gathers the evidence of its cells (is every present cell a date
  // written one way, is some first or second field above 12, a time); merged in rank
  // order it decides the order as one process decides it on the whole column. Each
  // rank then reads its cells in that order; the column holds dates when every rank's
  // do, counted from the earliest date of all.
  std::vector<bool> is_date(n_cols);
  std::vector<std::vector<double>> days(n_cols);
  if (!date_check.empty()) {
    std::string bytes;
    for (std::size_t c : date_check) {
      const io_detail::DateEvidence e = io_detail::date_evidence(strings.columns[c], options.na_values);
      for (bool flag : {e.any, e.consistent, e.year_first, e.day_first, e.month_first, e.has_time}) put(bytes, flag ? 1 : 0);
      put(bytes, static_cast<unsigned char>(e.separator));
      put(bytes, e.example);
    }
    const std::vector<std::string> all = comm.allgather_bytes(bytes);
    std::vector<io_detail::DateEvidence> evidence(date_check.size());
    for (int r = 0; r < size; ++r) {
      Reader in{all[static_cast<std::size_t>(r)], path};
      for (auto& merged : evidence) {
        io_detail::DateEvidence e;
        for (bool* flag : {&e.any, &e.consistent, &e.year_first, &e.day_first, &e.month_first, &e.has_time})
          *flag = in.u64() != 0;
        e.separator = static_cast<char>(in.u64());
        e.example = std::string(in.str());
        if (r == 0) merged = std::move(e);
        else merged.merge(e);
      }
    }
    std::vector<std::size_t> dated;
    std::vector<DateReading> readings_of;
    std::vector<bool> ambiguous_order;
    std::vector<double> mine;  // per column read in an order: 1 if every cell is a date, and the earliest
    for (std::size_t k = 0; k < date_check.size(); ++k) {
      const std::size_t c = date_check[k];
      bool ambiguous = false;
      const std::optional<DateOrder> order = io_detail::date_order(evidence[k], ambiguous);
      if (!order) continue;
      dated.push_back(k);
      readings_of.push_back({*order, 0});
      ambiguous_order.push_back(ambiguous);
      const bool ok = io_detail::read_days(strings.columns[c], options.na_values, *order, days[c]);
      double lowest = std::numeric_limits<double>::infinity();
      for (double d : days[c])
        if (!std::isnan(d)) lowest = std::min(lowest, d);
      mine.push_back(ok ? 1.0 : 0.0);
      mine.push_back(lowest);
    }
    const std::vector<double> all_days = dated.empty() ? std::vector<double>() : comm.allgather(std::span<const double>(mine));
    for (std::size_t i = 0; i < dated.size(); ++i) {
      const std::size_t k = dated[i], c = date_check[k];
      bool ok = true;
      double lowest = std::numeric_limits<double>::infinity();
      for (int r = 0; r < size; ++r) {
        const double* v = all_days.data() + (static_cast<std::size_t>(r) * dated.size() + i) * 2;
        ok = ok && v[0] != 0.0;
        lowest = std::min(lowest, v[1]);
      }
      if (!ok) {
        std::vector<double>().swap(days[c]);
        continue;
      }
      const auto reference = static_cast<std::int64_t>(std::floor(lowest));
      for (double& d : days[c])
        if (!std::isnan(d)) d -= static_cast<double>(reference);
      is_date[c] = true;
      integral[c] = !evidence[k].has_time;  // every present cell a date, and one at least
      date_readings[c] = DateReading{readings_of[i].order, reference};
      notes[c].push_back(io_detail::date_note(strings.columns[c].name(), readings_of[i].order, ambiguous_order[i],
                                              evidence[k].has_time, evidence[k].example, reference));
    }
  }

  // Text columns (and identifiers): each rank codes its cells into its levels; the levels are merged in
  // rank order (the one-process order of first appearance) and the codes remapped.
  // With them go, for an integral numeric column of enough rows, the rank's first
  // distinct numbers (at most 11), for the warning about integer codes.
  std::vector<io_detail::TypeFacts> facts(n_cols);
  std::vector<io_detail::TextPart> texts(n_cols);
  std::string text_bytes;
  bool any_text = false;
  for (std::size_t c = 0; c < n_cols; ++c) {
    io_detail::TypeFacts& f = facts[c];
    f.name = strings.columns[c].name();
    if (is_date[c]) continue;  // its note replaces announce_type's warning
    if (is_number[c]) {
      f.type = ColumnType::numeric;
      f.integral = integral[c];
      f.present = n_rows - missing_counts[c] - stray_counts[c];
      if (!io_detail::wants_few_integers(f)) continue;
      any_text = true;
      std::vector<double> few;
      io_detail::add_few_distinct(numeric[c].numbers, few);
      put(text_bytes, few.size());
      for (double v : few) put(text_bytes, std::bit_cast<std::uint64_t>(v));
      continue;
    }
    any_text = true;
    texts[c] = io_detail::code_text(strings.columns[c], options.na_values);
    put(text_bytes, texts[c].missing);
    put(text_bytes, texts[c].total_length);
    put(text_bytes, texts[c].blanks);
    put(text_bytes, texts[c].levels.size());
    for (const auto& level : texts[c].levels) put(text_bytes, level);
  }
  std::vector<std::string> all_text;
  if (any_text) all_text = comm.allgather_bytes(text_bytes);
  std::string().swap(text_bytes);
  std::vector<Reader> readers;
  for (const auto& bytes : all_text) readers.push_back(Reader{bytes, path});
  columns.clear();
  columns.reserve(n_cols);
  for (std::size_t c = 0; c < n_cols; ++c) {
    Column col;
    col.name = strings.columns[c].name();
    io_detail::TypeFacts& f = facts[c];
    if (is_number[c]) {
      if (io_detail::wants_few_integers(f))
        for (int r = 0; r < size; ++r) {
          Reader& in = readers[static_cast<std::size_t>(r)];
          const std::size_t count = static_cast<std::size_t>(in.u64());
          std::vector<double> few(std::min<std::size_t>(count, 64));
          if (few.size() != count) throw Error(path + ": the ranks' summaries of its columns differ");
          for (double& v : few) v = std::bit_cast<double>(in.u64());
          io_detail::add_few_distinct(few, f.few);
        }
      col.type = ColumnType::numeric;
      col.numbers = std::move(numeric[c].numbers);
      col.integral = integral[c];
      col.missing = numeric[c].missing + numeric[c].strays;
      col.decimal = format[c] == io_detail::NumberFormat::decimal_comma ? ',' : '.';
    } else if (is_date[c]) {
      col.type = ColumnType::numeric;
      col.numbers = std::move(days[c]);
      col.integral = integral[c];
      col.missing = static_cast<std::size_t>(
          std::count_if(col.numbers.begin(), col.numbers.end(), [](double v) { return std::isnan(v); }));
    } else {
      std::unordered_map<std::string_view, std::int32_t> index;
      std::vector<std::int32_t> remap;
      std::size_t missing = 0, total_length = 0, blanks = 0, longest = 0;
      for (int r = 0; r < size; ++r) {
        Reader& in = readers[static_cast<std::size_t>(r)];
        missing += static_cast<std::size_t>(in.u64());
        total_length += static_cast<std::size_t>(in.u64());
        blanks += static_cast<std::size_t>(in.u64());
        const std::size_t n_levels = static_cast<std::size_t>(in.u64());
        for (std::size_t l = 0; l < n_levels; ++l) {
          const std::string_view level = in.str();
          const auto [it, added] = index.emplace(level, static_cast<std::int32_t>(col.levels.size()));
          if (added) {
            col.levels.emplace_back(level);
            longest = std::max(longest, level.size());
          }
          if (r == rank) remap.push_back(it->second);
        }
      }
      col.type = is_id[c] ? ColumnType::id
                          : classify_text_column(col.name, n_rows, missing, col.levels.size(), total_length, blanks,
                                                 longest);
      col.codes = std::move(texts[c].codes);
      for (std::int32_t& code : col.codes)
        if (code >= 0) code = remap[static_cast<std::size_t>(code)];
      col.missing = texts[c].missing;
      col.integral = is_id[c] && integral[c];  // one process keeps the numeric pass's flag on an identifier
      f.type = col.type;
      f.integral = col.integral;
      f.present = n_rows - missing;
      f.levels = col.levels.size();
      f.longest = longest;
    }
    columns.push_back(std::move(col));
    numeric[c] = {};
    texts[c] = {};
  }
  // infer_types' warnings and notes, column after column, as one process gives them
  // about the whole columns (every fact they read is merged above): announce_type's
  // warning about the type (a date column's note instead), then the number format's
  // note and the stray cells' warning; and the columns read from dates, as it records them.
  for (std::size_t c = 0; c < n_cols; ++c) {
    if (!is_date[c]) io_detail::announce_inferred(facts[c], warnings);
    for (const Diagnostic& note : notes[c]) warnings.add(note);
    if (date_readings[c]) dates.emplace_back(strings.columns[c].name(), *date_readings[c]);
  }
  return true;
}

io_detail::RanksReadCount g_last_read;

}  // namespace

namespace io_detail {

RanksReadCount last_read_on_ranks() noexcept { return g_last_read; }

bool numbers_distinct_on_ranks(std::span<const double> mine, const Communicator& comm) {
  std::vector<double> sorted(mine.begin(), mine.end());
  std::sort(sorted.begin(), sorted.end());
  const bool repeat_here = std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
  const int size = comm.size();
  if (size == 1) return !repeat_here;
  // Each rank's repeat, count, smallest and largest number: a repeat anywhere decides,
  // and so do ranges that do not touch (an identifier numbered in file order).
  const double here[] = {repeat_here ? 1.0 : 0.0, static_cast<double>(sorted.size()),
                         sorted.empty() ? 0.0 : sorted.front(), sorted.empty() ? 0.0 : sorted.back()};
  const std::vector<double> all = comm.allgather(std::span<const double>(here, 4));
  std::vector<std::pair<double, double>> ranges;
  for (int r = 0; r < size; ++r) {
    const double* x = all.data() + 4 * static_cast<std::size_t>(r);
    if (x[0] != 0.0) return false;
    if (x[1] > 0.0) ranges.emplace_back(x[2], x[3]);
  }
  std::sort(ranges.begin(), ranges.end());
  bool apart = true;
  for (std::size_t i = 1; i < ranges.size(); ++i) apart = apart && ranges[i - 1].second < ranges[i].first;
  if (apart) return true;
  // Otherwise every number goes to the rank its value hashes to (+0.0 and -0.0, which
  // are equal, to the same one), each rank looks for a repeat among those it
  // received, and the answers are shared: a rank receives about 1/N of the numbers.
  std::vector<std::string> dealt(static_cast<std::size_t>(size));
  for (double v : sorted) {
    const double value = v == 0.0 ? 0.0 : v;
    std::uint64_t h;
    std::memcpy(&h, &value, sizeof h);
    h ^= h >> 33;  // splitmix64's finaliser
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    dealt[h % static_cast<std::uint64_t>(size)].append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  bool repeat = false;
  for (int root = 0; root < size; ++root) {
    const std::vector<std::string> got = comm.gather_bytes(dealt[static_cast<std::size_t>(root)], root);
    if (root != comm.rank()) continue;
    std::vector<double> received;
    for (const std::string& part : got) {
      const std::size_t first = received.size();
      received.resize(first + part.size() / sizeof(double));
      std::memcpy(received.data() + first, part.data(), part.size());
    }
    std::sort(received.begin(), received.end());
    repeat = std::adjacent_find(received.begin(), received.end()) != received.end();
  }
  const std::int64_t flag = repeat ? 1 : 0;
  for (std::int64_t f : comm.allgather(std::span<const std::int64_t>(&flag, 1)))
    if (f != 0) return false;
  return true;
}

RankRows read_csv_rows_on_ranks(const std::string& path, const CsvOptions& options, const Communicator& comm) {
  const int rank = comm.rank(), size = comm.size();
  g_last_read = {};
  RankRows out;
  std::string part;
  bool whole = false;  // a gzip file: every rank reads all of it
  std::uint64_t n = 0, begin = 0, end = 0;
  agree_on_failure(comm, [&] {
    RangeFile file(path);
    n = file.size();
    whole = is_gzip(file.read(0, 2));
    if (whole) return;
    begin = file.line_start_from(n * static_cast<std::uint64_t>(rank) / size, n);
    end = file.line_start_from(n * static_cast<std::uint64_t>(rank + 1) / size, n);
    if (end - begin > std::numeric_limits<std::size_t>::max() / 2) throw InvalidArgument(path + ": part too large");
    part = file.read(begin, static_cast<std::size_t>(end - begin));
    if (part.size() != end - begin) throw IoError(fmt::format("{}: cannot read: the file changed while read", path));
  });
  if (whole) {
    agree_on_failure(comm, [&] { out.data = CsvFileSource(path, options).read(); });
    out.whole = true;
    return out;
  }
  if (size > 1) cut_outside_quotes(path, n, begin, end, part, comm);
  // Where each part's lines start in the file, for messages about a part's bytes.
  const std::int64_t newlines = static_cast<std::int64_t>(std::count(part.begin(), part.end(), '\n'));
  const std::vector<std::int64_t> counts = comm.allgather(std::span<const std::int64_t>(&newlines, 1));
  std::size_t line_base = 0;
  for (int r = 0; r < rank; ++r) line_base += static_cast<std::size_t>(counts[static_cast<std::size_t>(r)]);
  agree_on_failure(comm, [&] {
    // The checks parse_csv makes first, each on its part (UTF-16 at the start of the file).
    if (rank == 0 && io_detail::looks_utf16(part))
      throw ParseError(path, 1, 1, "the file is UTF-16; save it as UTF-8 (segmenta reads UTF-8 text)");
    const std::size_t bad = io_detail::find_invalid_utf8(part);
    if (bad != std::string_view::npos) {
      const auto [line, column] = place_in_part(part, bad, line_base);
      throw ParseError(path, line, column, "invalid UTF-8 byte sequence");
    }
  });
  // FNV-1a runs through the bytes in order: rank 0 hashes its part now and passes its
  // state on; each other rank continues from its predecessor's state after its typing.
  std::uint64_t hash = fnv1a64("");
  const auto pass_on = [&] {
    if (rank + 1 < size) {
      const double state = std::bit_cast<double>(hash);
      comm.send(std::span<const double>(&state, 1), rank + 1);
    }
  };
  if (rank == 0) {
    hash = fnv1a64(part);
    pass_on();
  }
  // The fast path: each rank splits and types its records; cases it does not merge
  // exactly (declared types and dates, a row limit, a decimal mark, files of 4 GiB)
  // go the whole way.
  const bool mergeable = options.types.empty() && options.dates.empty() && options.max_rows == 0 &&
                         options.decimal == 0 && options.column_decimal.empty() && n < 0xFFFFFFF0ULL;
  std::vector<Column> columns;
  // On the fast path infer_types' warnings and notes and the columns read from dates
  // are given here, from the ranks' merged summaries, before any row is gathered.
  Diagnostics warnings;
  DateReadings dates;
  const bool fast = mergeable && type_rows(part, end == n, line_base, path, options, comm, columns, out.rows_per_rank,
                                           warnings, dates);
  if (fast && options.diagnostics) options.diagnostics->append(warnings);
  if (fast && options.dates_read)
    for (auto& date : dates) options.dates_read->push_back(std::move(date));
  if (rank > 0) {
    double state = 0;
    comm.receive(std::span<double>(&state, 1), rank - 1);
    hash = fnv1a64(part, std::bit_cast<std::uint64_t>(state));
    pass_on();
  }
  if (size > 1) {
    double state = std::bit_cast<double>(hash);
    comm.broadcast_values(std::span<double>(&state, 1), size - 1);
    hash = std::bit_cast<std::uint64_t>(state);
  }
  out.data.provenance.kind = "file";
  out.data.provenance.name = path;
  out.data.provenance.bytes = n;
  out.data.provenance.fnv1a64 = hash;
  out.data.provenance.extra.emplace_back("ranks", std::to_string(size));
  if (fast) {
    g_last_read = {true, columns.empty() ? 0 : columns.front().size()};
    std::string().swap(part);
    out.data.table = Table(path, std::move(columns));
    return out;
  }
  // The whole text: the parts in rank order are the file's bytes.
  out.whole = true;
  out.rows_per_rank.clear();
  std::vector<std::string> parts = comm.allgather_bytes(part);
  std::string().swap(part);
  std::string text;
  {
    std::size_t total = 0;
    for (const auto& p : parts) total += p.size();
    text.reserve(total);
    for (auto& p : parts) {
      text += p;
      std::string().swap(p);
    }
  }
  agree_on_failure(comm, [&] { out.data.table = parse_csv(text, path, options); });
  return out;
}

SourceData gather_rank_rows(RankRows rows, const Communicator& comm) {
  if (rows.whole) return std::move(rows.data);
  Table& local = rows.data.table;
  std::vector<Column> columns;
  columns.reserve(local.cols());
  for (std::size_t j = 0; j < local.cols(); ++j) {
    Column& mine = local.column(j);
    Column col;
    col.name = mine.name;
    col.type = mine.type;
    col.integral = mine.integral;
    col.decimal = mine.decimal;
    col.levels = std::move(mine.levels);
    if (mine.is_numeric()) {
      col.numbers = comm.allgather(std::span<const double>(mine.numbers));
      std::vector<double>().swap(mine.numbers);
      col.missing = static_cast<std::size_t>(
          std::count_if(col.numbers.begin(), col.numbers.end(), [](double v) { return std::isnan(v); }));
    } else {
      // The codes travel in the fewest bytes their levels need (1, 2 or 4; -1 is missing).
      const std::size_t width = col.levels.size() < 128 ? 1 : col.levels.size() < 32768 ? 2 : 4;
      std::string packed;
      io_detail::append_codes(packed, mine.codes, width);
      std::vector<std::int32_t>().swap(mine.codes);
      const std::vector<std::string> parts = comm.allgather_bytes(packed);
      std::string().swap(packed);
      std::size_t total = 0;
      for (const auto& p : parts) total += p.size() / width;
      col.codes.resize(total);
      std::size_t at = 0;
      for (const auto& p : parts) {
        io_detail::read_codes(p, width, col.codes.data() + at);
        at += p.size() / width;
      }
      col.missing = static_cast<std::size_t>(std::count(col.codes.begin(), col.codes.end(), -1));
    }
    columns.push_back(std::move(col));
  }
  SourceData out;
  out.table = Table(local.source(), std::move(columns));
  out.provenance = std::move(rows.data.provenance);
  return out;
}

}  // namespace io_detail

SourceData read_csv_on_ranks(const std::string& path, const CsvOptions& options, const Communicator& comm) {
  return io_detail::gather_rank_rows(io_detail::read_csv_rows_on_ranks(path, options, comm), comm);
}

}  // namespace segmenta
