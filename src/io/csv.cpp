// CSV reading: one pass over the bytes to split records and fields (recording
// each field's byte range), then a typed conversion of only the selected columns.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "segmenta/io.hpp"

namespace segmenta {
namespace {

struct Field {
  std::uint32_t begin;  // byte offset of the content (after an opening quote)
  std::uint32_t length;
  bool quoted;
  bool escaped;  // contains doubled quotes that must be collapsed
};

/// Locates byte offsets as 1-based line and column (column counted in code points).
class Locator {
 public:
  Locator(std::string_view text, const std::string& name) : text_(text), name_(name) {}
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    std::size_t column = 1;
    for (std::size_t i = line_start; i < offset && i < text_.size(); ++i)
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
    throw ParseError(name_, line, column, message);
  }

 private:
  std::string_view text_;
  const std::string& name_;
};

/// Returns the offset of the first invalid UTF-8 byte, or npos.
std::size_t find_invalid_utf8(std::string_view s) {
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

bool is_blank_line(std::string_view text, std::size_t pos) {
  return pos < text.size() && (text[pos] == '\n' || (text[pos] == '\r' && (pos + 1 == text.size() || text[pos + 1] == '\n')));
}

struct Records {
  std::vector<Field> fields;                // all fields of all records, row-major
  std::vector<std::uint32_t> record_start;  // index into fields of each record's first field
  std::vector<std::uint32_t> record_offset; // byte offset where each record starts
};

/// Splits text into records and fields. Checks quoting; record lengths are checked by the caller.
Records split_records(std::string_view text, std::size_t start, char delim, const Locator& loc,
                      std::size_t max_records) {
  Records out;
  const std::size_t n = text.size();
  out.fields.reserve(n / 6);
  std::size_t pos = start;
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
          const void* hit = std::memchr(text.data() + i, '"', n - i);
          if (!hit) loc.fail(open, "unterminated quoted field (the quote opened here is never closed)");
          i = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
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
      if (pos >= n) break;
      if (text[pos] == delim) {
        ++pos;
        if (pos >= n) {  // trailing delimiter at end of file: one more empty field
          out.fields.push_back({static_cast<std::uint32_t>(pos), 0, false, false});
          break;
        }
        continue;
      }
      // End of line: \n, \r\n or a lone \r.
      if (text[pos] == '\r') ++pos;
      if (pos < n && text[pos] == '\n') ++pos;
      break;
    }
  }
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

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Parses a number as pandas' C parser would accept it; false if it is not one.
bool parse_number(std::string_view s, double& value, bool& integral) {
  s = trim(s);
  if (s.empty()) return false;
  std::string_view body = s;
  if (body.front() == '+') body.remove_prefix(1);
  if (body.empty()) return false;
  const char* first = body.data();
  const char* last = body.data() + body.size();
  auto res = std::from_chars(first, last, value);
  if (res.ec == std::errc::result_out_of_range) {
    // Over/underflow: from_chars leaves value untouched; use strtod's inf / 0 instead.
    value = std::strtod(std::string(body).c_str(), nullptr);
  } else if (res.ec != std::errc()) {
    return false;
  }
  if (res.ptr != last) return false;
  integral = true;
  for (char c : body)
    if (!(c >= '0' && c <= '9') && c != '-') {
      integral = false;
      break;
    }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool named_like_id(std::string_view name) {
  const std::string l = lower(trim(name));
  if (l == "id" || l == "uuid" || l == "guid" || l == "key" || l == "index") return true;
  for (std::string_view suffix : {"_id", " id", "-id", ".id", "_uuid", "_key", "_no", "_number"})
    if (l.size() > suffix.size() && l.ends_with(suffix)) return true;
  // camelCase / PascalCase: customerId, CustomerID
  if (name.size() > 2 && (name.ends_with("ID") || name.ends_with("Id"))) {
    const char before = name[name.size() - 3];
    if (std::islower(static_cast<unsigned char>(before))) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> CsvOptions::default_na_values() {
  // pandas' default missing-value markers.
  return {"",     "#N/A", "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
          "<NA>", "N/A",  "NA",       "NULL", "NaN",     "None",     "n/a",  "nan",  "null"};
}

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
  return parse_csv(read_file(path), path, options);
}

Table parse_csv(std::string_view text, const std::string& name, const CsvOptions& options) {
  if (text.size() >= 0xFFFFFFF0ULL) throw InvalidArgument(name + ": files over 4 GiB are not supported yet");
  std::size_t bom = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") bom = 3;
  const Locator loc(text, name);
  {
    const std::string_view body = text.substr(bom);
    if (trim(body).find_first_not_of("\r\n") == std::string_view::npos) throw ParseError(name, 1, 1, "the file is empty");
    const std::size_t bad = find_invalid_utf8(body);
    if (bad != std::string_view::npos) loc.fail(bom + bad, "invalid UTF-8 byte sequence");
  }
  const char delim = options.delimiter ? options.delimiter : sniff_delimiter(text.substr(bom));

  // Offsets index the original bytes; splitting starts after the BOM.
  const std::size_t max_records = options.max_rows ? options.max_rows + (options.header ? 1 : 0) : 0;
  Records rec = split_records(text, bom, delim, loc, max_records);
  const std::size_t n_records = rec.record_start.size();
  auto record_size = [&](std::size_t r) {
    const std::size_t end = r + 1 < n_records ? rec.record_start[r + 1] : rec.fields.size();
    return end - rec.record_start[r];
  };
  const std::size_t width = record_size(0);
  std::vector<std::string> header(width);
  if (options.header) {
    std::unordered_map<std::string, int> seen;
    for (std::size_t j = 0; j < width; ++j) {
      std::string h = field_text(text, rec.fields[j]);
      if (h.empty()) h = fmt::format("col{}", j);
      // Duplicate names get ".1", ".2"... as pandas does.
      int& count = seen[h];
      if (count > 0) h = fmt::format("{}.{}", h, count);
      ++count;
      header[j] = std::move(h);
    }
  } else {
    for (std::size_t j = 0; j < width; ++j) header[j] = fmt::format("col{}", j);
  }
  const std::size_t first_data = options.header ? 1 : 0;
  std::size_t n_rows = n_records - first_data;
  if (options.max_rows && n_rows > options.max_rows) n_rows = options.max_rows;
  if (n_rows == 0) {
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
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

  const std::vector<std::size_t> selected = options.columns.empty()
                                                ? [&] {
                                                    std::vector<std::size_t> all(width);
                                                    for (std::size_t j = 0; j < width; ++j) all[j] = j;
                                                    return all;
                                                  }()
                                                : resolve_columns(options.columns, header);
  for (const auto& [col, type] : options.types)
    if (std::find(header.begin(), header.end(), col) == header.end())
      throw InvalidArgument(fmt::format("--types: no column named '{}' in {}", col, name));

  std::unordered_set<std::string_view> na(options.na_values.begin(), options.na_values.end());
  std::size_t max_na_length = 0;
  for (const auto& v : options.na_values) max_na_length = std::max(max_na_length, v.size());
  // Markers match after trimming surrounding blanks; allow for a few of them.
  max_na_length += 8;
  // Cheap pre-filter: per first character, a bit mask of the markers' lengths.
  std::uint64_t na_lengths[256] = {};
  bool na_empty = false;
  for (const auto& v : options.na_values) {
    if (v.empty())
      na_empty = true;
    else if (v.size() < 64)
      na_lengths[static_cast<unsigned char>(v.front())] |= std::uint64_t{1} << v.size();
  }
  std::vector<Column> columns;
  columns.reserve(selected.size());
  std::string scratch;
  for (std::size_t j : selected) {
    Column col;
    col.name = header[j];
    std::optional<ColumnType> forced;
    for (const auto& [cname, type] : options.types)
      if (cname == col.name) forced = type;

    auto value_of = [&](std::size_t row) -> std::string_view {
      const Field& f = rec.fields[rec.record_start[first_data + row] + j];
      if (!f.escaped) return text.substr(f.begin, f.length);
      scratch = field_text(text, f);
      return scratch;
    };
    auto is_na = [&](std::string_view v) {
      if (v.size() > max_na_length) return false;
      const std::string_view t = trim(v);
      if (t.empty()) return na_empty;
      if (t.size() >= 64 || !(na_lengths[static_cast<unsigned char>(t.front())] >> t.size() & 1)) return false;
      return na.count(t) > 0;
    };

    // Numeric pass (unless forced to a non-numeric type).
    bool numeric = !forced || *forced == ColumnType::numeric;
    if (numeric) {
      col.numbers.resize(n_rows);
      bool all_integral = true;
      std::size_t missing = 0;
      for (std::size_t r = 0; r < n_rows; ++r) {
        std::string_view v = value_of(r);
        bool integral = false;
        double x = 0.0;
        // Numbers first (the common case); missing markers either fail to parse or give NaN.
        if (parse_number(v, x, integral) && !std::isnan(x)) {
          col.numbers[r] = x;
          all_integral = all_integral && integral;
          continue;
        }
        if (is_na(v)) {
          col.numbers[r] = std::nan("");
          ++missing;
          continue;
        }
        if (forced) {
          const Field& f = rec.fields[rec.record_start[first_data + r] + j];
          loc.fail(f.begin, fmt::format("column '{}' is declared numeric but '{}' is not a number", col.name, v));
        }
        numeric = false;
        break;
      }
      if (numeric) {
        col.type = ColumnType::numeric;
        col.integral = all_integral && missing < n_rows;
        col.missing = missing;
        if (named_like_id(col.name) && missing == 0) {
          std::vector<double> sorted = col.numbers;
          std::sort(sorted.begin(), sorted.end());
          if (std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end() && !forced) {
            // An identifier: keep it as text so that it is never used as a feature.
            numeric = false;
            forced = ColumnType::id;
          }
        }
      }
      if (!numeric) col.numbers.clear();
    }
    if (!numeric) {
      col.codes.resize(n_rows);
      // Keys view the input bytes, or `owned` for fields with collapsed quotes.
      std::unordered_map<std::string_view, std::int32_t> index;
      std::deque<std::string> owned;
      std::size_t missing = 0, total_length = 0;
      for (std::size_t r = 0; r < n_rows; ++r) {
        std::string_view v = value_of(r);
        if (is_na(v)) {
          col.codes[r] = -1;
          ++missing;
          continue;
        }
        total_length += v.size();
        // Few levels (the usual case): a linear scan beats hashing.
        std::int32_t code = -1;
        if (col.levels.size() <= 16) {
          for (std::size_t l = 0; l < col.levels.size(); ++l)
            if (col.levels[l].size() == v.size() && std::memcmp(col.levels[l].data(), v.data(), v.size()) == 0) {
              code = static_cast<std::int32_t>(l);
              break;
            }
          if (code < 0 && col.levels.size() == 16)
            for (std::size_t l = 0; l < col.levels.size(); ++l) index.emplace(owned.emplace_back(col.levels[l]), static_cast<std::int32_t>(l));
        } else {
          auto it = index.find(v);
          if (it != index.end()) code = it->second;
        }
        if (code < 0) {
          code = static_cast<std::int32_t>(col.levels.size());
          col.levels.emplace_back(v);
          if (col.levels.size() > 16) index.emplace(owned.emplace_back(v), code);
        }
        col.codes[r] = code;
      }
      col.missing = missing;
      if (forced) {
        col.type = *forced;
      } else {
        const std::size_t present = n_rows - missing;
        const double mean_length = present ? static_cast<double>(total_length) / static_cast<double>(present) : 0.0;
        const bool unique = col.levels.size() == present && present > 0;
        if (mean_length > 40.0 && static_cast<double>(col.levels.size()) > 0.5 * static_cast<double>(present))
          col.type = ColumnType::text;
        else if (unique && present == n_rows && (named_like_id(col.name) || n_rows >= 20))
          col.type = ColumnType::id;
        else if (col.levels.size() == 2)
          col.type = ColumnType::binary;
        else
          col.type = ColumnType::categorical;
      }
    }
    columns.push_back(std::move(col));
  }
  return Table(name, std::move(columns));
}

}  // namespace segmenta
