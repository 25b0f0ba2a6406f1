// Reading a CSV file a block at a time: the records of each block are split by
// csv.cpp's slice parser and their selected cells appended to string columns, the
// block's text is then dropped; the columns are typed one at a time, each freed once
// typed. Peak memory is the cells' text and offsets plus one typed column, instead of
// the whole file, every field's position and every cell (docs/PERFORMANCE.md,
// "Memory"). The table, warnings and errors are those of parse_csv on the whole text.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "io/internal.hpp"
#include "segmenta/io.hpp"
#include "segmenta/streams.hpp"

namespace segmenta {
namespace {

constexpr std::size_t kDefaultBlockBytes = std::size_t{8} << 20;

std::size_t block_size(std::size_t asked) {
  if (asked > 0) return asked;
  if (const char* e = std::getenv("SEGMENTA_CSV_BLOCK_BYTES")) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(e, &end, 10);
    if (end != e && *end == '\0' && v > 0) return static_cast<std::size_t>(v);
  }
  return kDefaultBlockBytes;
}

/// The data records of one CSV input, a block at a time.
class BlockWalk {
 public:
  BlockWalk(const std::string& path, const CsvOptions& options, std::size_t block)
      : in_(path), options_(options), block_(block) {
    const std::string& name = in_.name();
    const io_detail::CsvHead head =
        io_detail::read_csv_head(buffer_, eof_, [this](std::size_t n) { fill(n); }, options_.delimiter, block_, name);
    const std::size_t bom = head.bom, end = head.header_end;
    delimiter_ = head.delimiter;
    const std::string_view header_text = std::string_view(buffer_).substr(0, end);
    // Invalid UTF-8 in the header (or first in the file): reported at its place.
    if (const std::size_t bad = io_detail::find_invalid_utf8(header_text.substr(bom)); bad != std::string_view::npos)
      fail_utf8(bom + bad);
    try {
      header_ = io_detail::csv_header(header_text, bom, name, delimiter_, options_.header, 0);
    } catch (const ParseError&) {
      check_rest_utf8();
      throw;
    }
    if (options_.header) {
      pos_ = end;
      line_base_ = static_cast<std::size_t>(std::count(header_text.begin(), header_text.end(), '\n'));
    } else {
      pos_ = bom;
    }
  }

  const std::vector<std::string>& header() const noexcept { return header_; }
  const std::string& name() const noexcept { return in_.name(); }

  /// Calls parse_csv_slice on each block of data rows with `slice` (its delimiter,
  /// header, line base, partial and consumed set here). `stop(text, line_base)` of the
  /// block just parsed: true ends the walk early. A parse error is replaced by the first invalid UTF-8 in the input when
  /// there is one (parse_csv checks the whole text before splitting it).
  template <class Stop>
  void walk(io_detail::CsvSlice slice, const Stop& stop) {
    CsvOptions options = options_;
    options.header = false;
    options.max_rows = 0;
    slice.delimiter = delimiter_;
    slice.header = &header_;
    std::size_t consumed = 0;
    slice.consumed = &consumed;
    bool any = false;
    try {
      while (true) {
        while (!eof_ && buffer_.size() - pos_ < block_) fill(block_ - (buffer_.size() - pos_));
        const std::string_view text = std::string_view(buffer_).substr(pos_);
        if (eof_ && text.find_first_not_of("\r\n") == std::string_view::npos) {
          if (!any) {
            // The UTF-8 of the rest is checked first, as parse_csv does.
            if (const std::size_t bad = io_detail::find_invalid_utf8(text); bad != std::string_view::npos)
              fail_utf8(pos_ + bad);
            const std::size_t line = line_base_ + 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
            throw ParseError(in_.name(), line, 1, "no data rows after the header");
          }
          return;
        }
        slice.partial = !eof_;
        slice.line_base = line_base_;
        consumed = 0;
        io_detail::parse_csv_slice(text, in_.name(), options, slice);
        if (consumed == 0) {  // no record complete yet: a longer one, read more
          fill(std::max(block_, buffer_.size() - pos_));
          continue;
        }
        any = true;
        if (stop(text, line_base_)) return;
        const std::string_view done = text.substr(0, consumed);
        line_base_ += static_cast<std::size_t>(std::count(done.begin(), done.end(), '\n'));
        pos_ += consumed;
      }
    } catch (const ParseError&) {
      check_rest_utf8();
      throw;
    }
  }

 private:
  bool fill(std::size_t at_least) {
    if (eof_) return false;
    if (pos_ > 0 && pos_ >= buffer_.size() / 2) {
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
    const std::size_t want = std::max<std::size_t>(at_least, 1);
    const std::size_t old = buffer_.size();
    buffer_.resize(old + want);
    std::size_t got = 0;
    while (got < want) {
      const std::size_t g = in_.read(buffer_.data() + old + got, want - got);
      if (g == 0) {
        eof_ = true;
        break;
      }
      got += g;
    }
    buffer_.resize(old + got);
    hash_ = fnv1a64(std::string_view(buffer_).substr(old), hash_);
    bytes_ += got;
    return got > 0;
  }

  /// Throws the invalid-UTF-8 error at buffer offset `at` (pos_ starts a line).
  [[noreturn]] void fail_utf8(std::size_t at) const {
    const std::size_t from = at >= pos_ ? pos_ : 0;
    const auto [line, column] = io_detail::line_column(std::string_view(buffer_).substr(from), at - from, at >= pos_ ? line_base_ : 0);
    throw ParseError(in_.name(), line, column, "invalid UTF-8 byte sequence");
  }

  /// Throws the first invalid UTF-8 byte from pos_ to the end of the input, if any.
  void check_rest_utf8() {
    // From pos_ (a line start): the text of the current line is kept across reads, so
    // that a column can be counted and a sequence cut by a read is seen whole.
    while (true) {
      const std::string_view text = std::string_view(buffer_).substr(pos_);
      const std::size_t bad = io_detail::find_invalid_utf8(text);
      const std::size_t last_line = text.rfind('\n');
      const bool open_end = bad != std::string_view::npos && !eof_ && bad + 4 > text.size() &&
                            (last_line == std::string_view::npos || last_line < bad);
      if (bad != std::string_view::npos && !open_end) fail_utf8(pos_ + bad);
      if (eof_) return;
      if (last_line != std::string_view::npos) {
        const std::string_view done = text.substr(0, last_line + 1);
        line_base_ += static_cast<std::size_t>(std::count(done.begin(), done.end(), '\n'));
        pos_ += last_line + 1;
      }
      fill(block_);
    }
  }

  InputStream in_;
  const CsvOptions& options_;
  std::size_t block_;
  std::vector<std::string> header_;
  char delimiter_ = ',';
  std::string buffer_;
  std::size_t pos_ = 0;        // start of the unread text in buffer_ (a line start)
  std::size_t line_base_ = 0;  // lines before buffer_[pos_]
  bool eof_ = false;
  std::size_t bytes_ = 0;  // text read so far: its size and FNV-1a hash
  std::uint64_t hash_ = fnv1a64("");

 public:
  std::size_t bytes() const noexcept { return bytes_; }
  std::uint64_t hash() const noexcept { return hash_; }
  std::size_t raw_bytes() const noexcept { return in_.raw_bytes(); }
  bool compressed() const noexcept { return in_.compressed(); }
};

}  // namespace

bool io_detail::is_regular_file(const std::string& path) {
  struct stat st {};
  return path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Table io_detail::read_csv_blocks(const std::string& path, const CsvOptions& options, std::size_t block_bytes,
                                 std::size_t* bytes, std::uint64_t* hash, std::size_t* compressed_bytes) {
  const std::size_t block = block_size(block_bytes);
  BlockWalk walk(path, options, block);
  const std::vector<std::string>& header = walk.header();
  const std::string& name = walk.name();
  const std::vector<std::size_t> selected = [&] {
    if (!options.columns.empty()) return resolve_columns(options.columns, header);
    std::vector<std::size_t> all(header.size());
    for (std::size_t j = 0; j < all.size(); ++j) all[j] = j;
    return all;
  }();
  for (const auto& [col, type] : options.types)
    if (std::find(header.begin(), header.end(), col) == header.end())
      throw ParameterError("types", fmt::format("no column named '{}' in {}", col, name));
  for (const auto& [col, spec] : options.dates)
    if (std::find(header.begin(), header.end(), col) == header.end())
      throw ParameterError("types", fmt::format("no column named '{}' in {}", col, name));

  StringTable strings;
  {
    CsvSlice slice;
    slice.cells = &strings;
    walk.walk(slice, [](std::string_view, std::size_t) { return false; });
  }
  if (bytes) *bytes = walk.bytes();
  if (hash) *hash = walk.hash();
  if (compressed_bytes) *compressed_bytes = walk.compressed() ? walk.raw_bytes() : 0;

  // Where a cell is: the input is read again up to its row (only for the few cells a
  // warning or an error names).
  const auto locate = [&](std::size_t column, std::size_t row) -> std::pair<std::size_t, std::size_t> {
    BlockWalk again(path, options, block);
    std::size_t left = row, found = std::string::npos;
    std::pair<std::size_t, std::size_t> at{0, 0};
    CsvSlice slice;
    slice.find_row = &left;
    slice.find_field = selected[column];
    slice.found = &found;
    again.walk(slice, [&](std::string_view text, std::size_t line_base) {
      if (found == std::string::npos) return false;
      at = io_detail::line_column(text, found, line_base);
      return true;
    });
    return at;
  };

  // Typed one column at a time, each column's text freed once typed.
  InferOptions infer = options.infer_options();
  const auto selected_name = [&](const std::string& n) {
    return std::any_of(selected.begin(), selected.end(), [&](std::size_t j) { return header[j] == n; });
  };
  std::erase_if(infer.types, [&](const auto& o) { return !selected_name(o.first); });
  std::erase_if(infer.dates, [&](const auto& o) { return !selected_name(o.first); });
  std::vector<Column> columns;
  columns.reserve(strings.columns.size());
  for (std::size_t c = 0; c < strings.columns.size(); ++c) {
    StringTable one;
    one.source = name;
    one.columns.push_back(std::move(strings.columns[c]));
    const std::string& col_name = one.columns.front().name();
    InferOptions o = infer;
    std::erase_if(o.types, [&](const auto& t) { return t.first != col_name; });
    std::erase_if(o.dates, [&](const auto& t) { return t.first != col_name; });
    o.place = [&](std::size_t, std::size_t row) {
      const auto [line, col] = locate(c, row);
      return fmt::format("{}:{}:{}", name, line, col);
    };
    Table typed = infer_types(one, o, [&](std::size_t, std::size_t row, const std::string& message) {
      const auto [line, col] = locate(c, row);
      throw ParseError(name, line, col, message);
    });
    one = StringTable();
    columns.push_back(std::move(typed.column(0)));
  }
  return Table(name, std::move(columns));
}

}  // namespace segmenta
