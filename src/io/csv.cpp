// CSV reading: one pass over the bytes to split records and fields (recording
// each field's byte range), then the selected columns as strings, typed by
// infer_types (infer.cpp).
#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "io/internal.hpp"
#include "segmenta/io.hpp"
#include "segmenta/streams.hpp"

namespace segmenta {
namespace {

using io_detail::trim;

struct Field {
  std::uint32_t begin;  // byte offset of the content (after an opening quote)
  std::uint32_t length;
  bool quoted;
  bool escaped;  // contains doubled quotes that must be collapsed
};

/// Locates byte offsets as 1-based line and column (column counted in code points).
class Locator {
 public:
  Locator(std::string_view text, const std::string& name, std::size_t line_base = 0)
      : text_(text), name_(name), line_base_(line_base) {}
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    const auto [line, column] = line_column(offset);
    throw ParseError(name_, line, column, message);
  }
  /// "name:line:column" of a byte offset.
  std::string place(std::size_t offset) const {
    const auto [line, column] = line_column(offset);
    return fmt::format("{}:{}:{}", name_, line, column);
  }

 private:
  std::pair<std::size_t, std::size_t> line_column(std::size_t offset) const {
    return io_detail::line_column(text_, offset, line_base_);
  }

  std::string_view text_;
  const std::string& name_;
  std::size_t line_base_;
};

}  // namespace

/// Returns the offset of the first invalid UTF-8 byte, or npos.
std::size_t io_detail::find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += len;
  }
  return std::string_view::npos;
}

namespace {

using io_detail::find_invalid_utf8;

/// The offset of the next '"' at or after `i`, or text.size(). Quoted fields are
/// mostly short: a plain loop first, memchr for the rest of a long one.
inline std::size_t find_quote(std::string_view text, std::size_t i) {
  const std::size_t n = text.size(), stop = std::min(n, i + 32);
  for (; i < stop; ++i)
    if (text[i] == '"') return i;
  if (i >= n) return n;
  const void* hit = std::memchr(text.data() + i, '"', n - i);
  return hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - text.data()) : n;
}

bool is_blank_line(std::string_view text, std::size_t pos) {
  return pos < text.size() && (text[pos] == '\n' || (text[pos] == '\r' && (pos + 1 == text.size() || text[pos + 1] == '\n')));
}

struct Records {
  std::vector<Field> fields;                // all fields of all records, row-major
  std::vector<std::uint32_t> record_start;  // index into fields of each record's first field
  std::vector<std::uint32_t> record_offset; // byte offset where each record starts
  std::size_t end = 0;                      // where splitting stopped
};

/// Splits text into records and fields. Checks quoting; record lengths are checked by the caller.
Records split_records(std::string_view text, std::size_t start, char delim, const Locator& loc,
                      std::size_t max_records, bool partial = false) {
  Records out;
  const std::size_t n = text.size();
  out.fields.reserve(max_records ? std::min(n / 6, max_records * 24) : n / 6);
  std::size_t pos = start;
  // partial: the text is a prefix of more to come; a record not known to be complete
  // (no line end after it yet) is left out, and `end` says where it starts.
  const auto cut_last = [&] {
    out.fields.resize(out.record_start.back());
    out.end = out.record_offset.back();
    out.record_start.pop_back();
    out.record_offset.pop_back();
    return out;
  };
  while (pos < n) {
    if (is_blank_line(text, pos)) {  // pandas skips blank lines
      pos += text[pos] == '\r' ? 2 : 1;
      continue;
    }
    if (max_records && out.record_start.size() >= max_records) break;
    out.record_start.push_back(static_cast<std::uint32_t>(out.fields.size()));
    out.record_offset.push_back(static_cast<std::uint32_t>(pos));
    while (true) {  // one field per iteration
      std::size_t q = pos;
      while (q < n && text[q] == ' ') ++q;
      if (q < n && text[q] == '"') {
        const std::size_t open = q;
        const std::size_t begin = q + 1;
        std::size_t i = begin;
        bool escaped = false;
        while (true) {
          i = find_quote(text, i);
          if (i >= n) {
            if (partial) return cut_last();
            loc.fail(open, "unterminated quoted field (the quote opened here is never closed)");
          }
          if (i + 1 < n && text[i + 1] == '"') {
            escaped = true;
            i += 2;
            continue;
          }
          break;
        }
        out.fields.push_back({static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(i - begin), true, escaped});
        pos = i + 1;
        while (pos < n && text[pos] == ' ') ++pos;
        if (pos < n && text[pos] != delim && text[pos] != '\n' && text[pos] != '\r')
          loc.fail(pos, fmt::format("unexpected character '{}' after a closing quote (expected the delimiter or "
                                    "the end of the line)",
                                    text[pos]));
      } else {
        const std::size_t begin = pos;
        std::size_t i = pos;
        while (i < n && text[i] != delim && text[i] != '\n' && text[i] != '\r') ++i;
        out.fields.push_back({static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(i - begin), false, false});
        pos = i;
      }
      if (pos >= n) {
        if (partial) return cut_last();
        break;
      }
      if (text[pos] == delim) {
        ++pos;
        if (pos >= n) {  // trailing delimiter at end of file: one more empty field
          if (partial) return cut_last();
          out.fields.push_back({static_cast<std::uint32_t>(pos), 0, false, false});
          break;
        }
        continue;
      }
      // End of line: \n, \r\n or a lone \r.
      if (text[pos] == '\r') {
        if (partial && pos + 1 >= n) return cut_last();
        ++pos;
      }
      if (pos < n && text[pos] == '\n') ++pos;
      break;
    }
  }
  out.end = pos;
  return out;
}

std::string field_text(std::string_view text, const Field& f) {
  std::string_view raw = text.substr(f.begin, f.length);
  if (!f.escaped) return std::string(raw);
  std::string s;
  s.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    s.push_back(raw[i]);
    if (raw[i] == '"' && i + 1 < raw.size() && raw[i + 1] == '"') ++i;
  }
  return s;
}

/// The column names of the first record: its fields (empty ones named colJ,
/// duplicates renamed ".1", ".2"... as pandas does), or col0, col1... without a header.
std::vector<std::string> header_names(std::string_view text, const Records& rec, std::size_t width, bool header) {
  std::vector<std::string> names(width);
  if (header) {
    std::unordered_map<std::string, int> seen;
    for (std::size_t j = 0; j < width; ++j) {
      std::string h = field_text(text, rec.fields[j]);
      if (h.empty()) h = fmt::format("col{}", j);
      int& count = seen[h];
      if (count > 0) h = fmt::format("{}.{}", h, count);
      ++count;
      names[j] = std::move(h);
    }
  } else {
    for (std::size_t j = 0; j < width; ++j) names[j] = fmt::format("col{}", j);
  }
  return names;
}

}  // namespace

std::vector<std::string> CsvOptions::default_na_values() { return segmenta::default_na_values(); }

char sniff_delimiter(std::string_view text) {
  const char candidates[] = {',', ';', '\t', '|'};
  // Field counts of up to 20 non-blank lines per candidate, quotes respected.
  char best = ',';
  std::size_t best_fields = 1;
  for (char d : candidates) {
    std::vector<std::size_t> counts;
    std::size_t pos = 0, fields = 1;
    bool in_quotes = false, consistent = true;
    while (pos < text.size() && counts.size() < 20) {
      const char c = text[pos];
      if (c == '"') {
        in_quotes = !in_quotes;
      } else if (!in_quotes && c == d) {
        ++fields;
      } else if (!in_quotes && (c == '\n' || c == '\r')) {
        if (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
        counts.push_back(fields);
        fields = 1;
      }
      ++pos;
    }
    if (pos >= text.size() && !(text.empty() || text.back() == '\n' || text.back() == '\r')) counts.push_back(fields);
    if (counts.empty()) continue;
    for (std::size_t c : counts)
      if (c != counts[0]) consistent = false;
    const std::size_t f = counts[0];
    if (consistent && f > best_fields) {
      best = d;
      best_fields = f;
    }
  }
  return best;
}

Table read_csv(const std::string& path, const CsvOptions& options) {
  // A file is read a block at a time (csv_stream.cpp); standard input, pipes and a
  // first few rows from the whole text.
  if (options.max_rows == 0 && io_detail::is_regular_file(path)) return io_detail::read_csv_blocks(path, options);
  return parse_csv(read_data(path), path, options);
}

Table parse_csv(std::string_view text, const std::string& name, const CsvOptions& options) {
  if (text.size() >= 0xFFFFFFF0ULL) throw InvalidArgument(name + ": files over 4 GiB are not supported yet");
  std::size_t bom = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") bom = 3;
  const Locator loc(text, name);
  // UTF-16 (with a byte-order mark, or ASCII text with every other byte zero) is not
  // read: say so, rather than report its first byte as invalid UTF-8.
  if (io_detail::looks_utf16(text))
    throw ParseError(name, 1, 1, "the file is UTF-16; save it as UTF-8 (segmenta reads UTF-8 text)");
  {
    const std::string_view body = text.substr(bom);
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) throw ParseError(name, 1, 1, "the file is empty");
    const std::size_t bad = find_invalid_utf8(body);
    if (bad != std::string_view::npos) loc.fail(bom + bad, "invalid UTF-8 byte sequence");
  }
  io_detail::CsvSlice slice;
  slice.delimiter = options.delimiter ? options.delimiter : sniff_delimiter(text.substr(bom));
  slice.start = bom;
  return io_detail::parse_csv_slice(text, name, options, slice);
}

bool io_detail::looks_utf16(std::string_view text) {
  return text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF") ||
         (text.size() >= 4 && (text[0] == '\0') != (text[1] == '\0') && (text[2] == '\0') != (text[3] == '\0'));
}

std::vector<std::string> io_detail::csv_header(std::string_view text, std::size_t start, const std::string& name,
                                               char delim, bool header, std::size_t line_base) {
  const Locator loc(text, name, line_base);
  Records rec = split_records(text, start, delim, loc, 1);
  if (rec.record_start.empty()) throw ParseError(name, line_base + 1, 1, "the file is empty");
  return header_names(text, rec, rec.fields.size(), header);
}

std::size_t io_detail::scan_records(std::string_view text, std::size_t start, char delim, std::size_t max_records,
                                    std::size_t& records) {
  // The same reading of quotes as split_records: a field that starts (after spaces)
  // with a quote runs to its closing quote, newlines included; others end at the
  // delimiter or the end of the line.
  const std::size_t n = text.size();
  std::size_t pos = start, boundary = start;
  records = 0;
  while (pos < n && records < max_records) {
    if (text[pos] == '\n') {  // a blank line
      boundary = ++pos;
      continue;
    }
    if (text[pos] == '\r') {
      if (pos + 1 >= n) break;  // \r\n or a lone \r: not known yet
      pos += text[pos + 1] == '\n' ? 2 : 1;
      boundary = pos;
      continue;
    }
    // One record: fields until the end of the line.
    bool complete = false;
    while (pos < n) {
      std::size_t q = pos;
      while (q < n && text[q] == ' ') ++q;
      if (q < n && text[q] == '"') {
        std::size_t i = q + 1;
        bool closed = false;
        while (true) {
          i = find_quote(text, i);
          if (i >= n) break;
          if (i + 1 < n && text[i + 1] == '"') {
            i += 2;
            continue;
          }
          if (i + 1 >= n) break;  // a doubled quote may follow
          closed = true;
          break;
        }
        if (!closed) return boundary;
        pos = i + 1;
      }
      // The rest of the field (after a closing quote: what split_records checks).
      while (pos < n && text[pos] != delim && text[pos] != '\n' && text[pos] != '\r') ++pos;
      if (pos >= n) return boundary;
      if (text[pos] == delim) {
        ++pos;
        continue;
      }
      if (text[pos] == '\n') {
        ++pos;
      } else {  // \r
        if (pos + 1 >= n) return boundary;
        pos += text[pos + 1] == '\n' ? 2 : 1;
      }
      complete = true;
      break;
    }
    if (!complete) return boundary;
    boundary = pos;
    ++records;
  }
  return boundary;
}

Table io_detail::parse_csv_slice(std::string_view text, const std::string& name, const CsvOptions& options,
                                 const CsvSlice& slice) {
  if (text.size() >= 0xFFFFFFF0ULL) throw InvalidArgument(name + ": blocks over 4 GiB are not supported");
  const Locator loc(text, name, slice.line_base);
  const char delim = slice.delimiter;

  // Offsets index the original bytes; splitting starts after the BOM.
  const bool header_line = !slice.header && options.header;
  const std::size_t max_records = options.max_rows ? options.max_rows + (header_line ? 1 : 0) : 0;
  Records rec = split_records(text, slice.start, delim, loc, slice.header && slice.max_records ? slice.max_records : max_records,
                              slice.partial);
  if (slice.consumed) *slice.consumed = rec.end;
  const std::size_t n_records = rec.record_start.size();
  if (slice.partial && n_records == 0) return Table();
  if (slice.header) {  // a block of data rows: its text is checked here, up to where its records end
    const std::size_t bad = find_invalid_utf8(text.substr(0, rec.end));
    if (bad != std::string_view::npos) loc.fail(bad, "invalid UTF-8 byte sequence");
  }
  auto record_size = [&](std::size_t r) {
    const std::size_t end = r + 1 < n_records ? rec.record_start[r + 1] : rec.fields.size();
    return end - rec.record_start[r];
  };
  const std::vector<std::string> header =
      slice.header ? *slice.header : header_names(text, rec, n_records ? record_size(0) : 0, options.header);
  const std::size_t width = header.size();
  const std::size_t first_data = header_line ? 1 : 0;
  std::size_t n_rows = n_records - first_data;
  if (options.max_rows && n_rows > options.max_rows) n_rows = options.max_rows;
  if (n_rows == 0) {
    const std::size_t line = slice.line_base + 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    throw ParseError(name, line, 1, "no data rows after the header");
  }
  for (std::size_t r = first_data; r < first_data + n_rows; ++r) {
    const std::size_t sz = record_size(r);
    if (sz == width) continue;
    const Field& last = rec.fields[rec.record_start[r] + std::min(sz, width) - 1];
    const std::size_t where =
        sz > width ? rec.fields[rec.record_start[r] + width].begin - (rec.fields[rec.record_start[r] + width].quoted ? 1 : 0)
                   : last.begin + last.length + (last.quoted ? 1 : 0);
    loc.fail(where, fmt::format("expected {} fields (as in the header), found {}", width, sz));
  }

  if (slice.find_row) {  // finding a cell's place: nothing else is done
    if (*slice.find_row < n_rows)
      *slice.found = rec.fields[rec.record_start[first_data + *slice.find_row] + slice.find_field].begin;
    else
      *slice.find_row -= n_rows;
    return Table();
  }
  const std::vector<std::size_t> selected = options.columns.empty()
                                                ? [&] {
                                                    std::vector<std::size_t> all(width);
                                                    for (std::size_t j = 0; j < width; ++j) all[j] = j;
                                                    return all;
                                                  }()
                                                : resolve_columns(options.columns, header);
  for (const auto& [col, type] : options.types)
    if (std::find(header.begin(), header.end(), col) == header.end())
      throw ParameterError("types", fmt::format("no column named '{}' in {}", col, name));
  for (const auto& [col, spec] : options.dates)
    if (std::find(header.begin(), header.end(), col) == header.end())
      throw ParameterError("types", fmt::format("no column named '{}' in {}", col, name));

  // The selected columns as strings (doubled quotes collapsed), then typed. Overrides
  // of columns left out by the selection were checked above and do not apply.
  StringTable own;
  StringTable& strings = slice.cells ? *slice.cells : own;
  if (strings.columns.empty()) {
    strings.source = name;
    strings.columns.reserve(selected.size());
    for (std::size_t j : selected) strings.columns.emplace_back(header[j]);
  }
  for (std::size_t c = 0; c < selected.size(); ++c) {
    const std::size_t j = selected[c];
    StringColumn& cells = strings.columns[c];
    if (!slice.cells) cells.reserve(n_rows);
    for (std::size_t r = 0; r < n_rows; ++r) {
      const Field& f = rec.fields[rec.record_start[first_data + r] + j];
      if (f.escaped)
        cells.push_back(field_text(text, f));
      else
        cells.push_back(text.substr(f.begin, f.length));
    }
  }
  if (slice.cells) return Table();
  InferOptions infer = options.infer_options();
  std::erase_if(infer.types, [&](const auto& override_) {
    return std::none_of(selected.begin(), selected.end(), [&](std::size_t j) { return header[j] == override_.first; });
  });
  std::erase_if(infer.dates, [&](const auto& override_) {
    return std::none_of(selected.begin(), selected.end(), [&](std::size_t j) { return header[j] == override_.first; });
  });
  infer.place = [&](std::size_t column, std::size_t row) {
    return loc.place(rec.fields[rec.record_start[first_data + row] + selected[column]].begin);
  };
  // A cell that contradicts an override is reported at its place in the text.
  return infer_types(strings, infer, [&](std::size_t column, std::size_t row, const std::string& message) {
    loc.fail(rec.fields[rec.record_start[first_data + row] + selected[column]].begin, message);
  });
}

namespace io_detail {

std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset, std::size_t line_base) {
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  std::size_t column = 1;
  for (std::size_t i = line_start; i < offset && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  return {line_base + line, column};
}

CsvHead read_csv_head(std::string& buffer, const bool& eof, const std::function<void(std::size_t)>& fill,
                      char delimiter_option, std::size_t first_fill, const std::string& name) {
  fill(first_fill);
  while (!eof) {
    std::size_t records = 0;
    scan_records(buffer, 0, delimiter_option ? delimiter_option : ',', 22, records);
    if (records >= 22 || buffer.size() > (std::size_t{64} << 20)) break;
    fill(buffer.size());
  }
  if (looks_utf16(buffer))
    throw ParseError(name, 1, 1, "the file is UTF-16; save it as UTF-8 (segmenta reads UTF-8 text)");
  CsvHead head;
  head.bom = buffer.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  const std::string_view text = std::string_view(buffer).substr(head.bom);
  if (eof && text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw ParseError(name, 1, 1, "the file is empty");
  head.delimiter = delimiter_option ? delimiter_option : sniff_delimiter(text);
  // The header: its record must be whole (a quoted name may hold line ends).
  std::size_t records = 0;
  while (true) {
    head.header_end = scan_records(buffer, head.bom, head.delimiter, 1, records);
    if (records == 1 || eof) break;
    fill(buffer.size());
  }
  if (records == 0) head.header_end = buffer.size();
  return head;
}

}  // namespace io_detail

}  // namespace segmenta
