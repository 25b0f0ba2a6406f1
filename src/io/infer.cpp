// Type inference: string columns (from the CSV reader or any other source) to typed
// columns. The numeric pass stops at the first cell that is neither a number nor a
// missing marker; the column is then coded as strings and classified.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "io/internal.hpp"
#include "segmenta/io.hpp"

namespace segmenta {
namespace {

using io_detail::trim;

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

}  // namespace

// A string column whose values are nearly all distinct (more than this share of its
// present cells, with at least this many) is an identifier, or free text when its
// values have three words or more on average.
constexpr std::size_t kNearlyUniqueRows = 50;
constexpr double kNearlyUniqueShare = 0.95;

bool named_like_identifier(std::string_view name) {
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

ColumnType classify_text_column(std::string_view name, std::size_t rows, std::size_t missing, std::size_t distinct,
                                std::size_t total_length, std::size_t blanks, std::size_t longest) {
  if (longest > kLongestCategory) return ColumnType::text;
  const std::size_t present = rows - missing;
  const double mean_length = present ? static_cast<double>(total_length) / static_cast<double>(present) : 0.0;
  const bool unique = distinct == present && present > 0;
  // Nearly all values distinct among enough rows: no category to learn from.
  const bool nearly_unique =
      present >= kNearlyUniqueRows && static_cast<double>(distinct) > kNearlyUniqueShare * static_cast<double>(present);
  const double mean_words = present ? 1.0 + static_cast<double>(blanks) / static_cast<double>(present) : 0.0;
  if ((mean_length > 40.0 && static_cast<double>(distinct) > 0.5 * static_cast<double>(present)) ||
      (nearly_unique && mean_words >= 3.0))
    return ColumnType::text;
  if ((unique && present == rows && (named_like_identifier(name) || rows >= 20)) || nearly_unique) return ColumnType::id;
  if (distinct == 2) return ColumnType::binary;
  return ColumnType::categorical;
}

namespace {

/// Matches missing-value markers after trimming blanks, with cheap pre-filters.
class NaMatcher {
 public:
  explicit NaMatcher(const std::vector<std::string>& values) : na_(values.begin(), values.end()) {
    for (const auto& v : values) max_length_ = std::max(max_length_, v.size());
    // Markers match after trimming surrounding blanks; allow for a few of them.
    max_length_ += 8;
    // Per first character, a bit mask of the markers' lengths.
    for (const auto& v : values) {
      if (v.empty())
        empty_ = true;
      else if (v.size() < 64)
        lengths_[static_cast<unsigned char>(v.front())] |= std::uint64_t{1} << v.size();
    }
  }
  bool operator()(std::string_view v) const {
    if (v.size() > max_length_) return false;
    const std::string_view t = trim(v);
    if (t.empty()) return empty_;
    if (t.size() >= 64 || !(lengths_[static_cast<unsigned char>(t.front())] >> t.size() & 1)) return false;
    return na_.count(t) > 0;
  }

 private:
  std::unordered_set<std::string_view> na_;  // views the caller's strings
  std::size_t max_length_ = 0;
  std::uint64_t lengths_[256] = {};
  bool empty_ = false;
};

// An integer column with this few distinct values among at least kNearlyUniqueRows
// rows may hold codes (1/2/3 regions) rather than amounts: a warning names --types.
constexpr std::size_t kFewCodesMin = 3, kFewCodesMax = 10;

// A column stays numeric with a few non-numbers (read as missing, with a warning):
// at most 5 % of its non-missing cells and at most this many.
using io_detail::kMaxStrayCells;
using io_detail::kStrayShown;

/// The stray cells of a numeric column: how many, and the first few rows.
struct Strays {
  std::size_t count = 0;
  std::vector<std::size_t> rows;
};

using io_detail::NumberFormat;

std::string_view format_name(NumberFormat f) {
  switch (f) {
    case NumberFormat::grouped:
      return "a comma as thousands separator";
    case NumberFormat::decimal_comma:
      return "a decimal comma";
    default:
      return "a decimal point";
  }
}

/// True if s is digits in groups of three after a first group of one to three,
/// separated by `sep` (at least one separator).
bool grouped_digits(std::string_view s, char sep) {
  const std::size_t first = s.find(sep);
  if (first == std::string_view::npos || first == 0 || first > 3) return false;
  for (std::size_t i = 0; i < first; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  std::size_t i = first;
  while (i < s.size()) {
    if (s[i] != sep || i + 4 > s.size()) return false;
    for (std::size_t k = 1; k <= 3; ++k)
      if (s[i + k] < '0' || s[i + k] > '9') return false;
    i += 4;
  }
  return true;
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Parses a number written in `format`; false if it is not one. A grouped or
/// decimal-comma number is rewritten as a plain one first (no exponent allowed).
bool parse_number_as(std::string_view s, NumberFormat format, double& value, bool& integral) {
  if (format == NumberFormat::plain) return parse_number(s, value, integral);
  s = trim(s);
  std::string_view body = s;
  std::string plain;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) {
    if (body.front() == '-') plain.push_back('-');
    body.remove_prefix(1);
  }
  const char group = format == NumberFormat::grouped ? ',' : '.';
  const char point = format == NumberFormat::grouped ? '.' : ',';
  const std::size_t at = body.find(point);
  const std::string_view whole = body.substr(0, at);
  const std::string_view fraction = at == std::string_view::npos ? std::string_view() : body.substr(at + 1);
  if (whole.empty() && fraction.empty()) return false;
  if (at != std::string_view::npos && (fraction.empty() || !all_digits(fraction))) return false;
  if (all_digits(whole)) {
    plain.append(whole);
  } else if (grouped_digits(whole, group)) {
    for (char c : whole)
      if (c != group) plain.push_back(c);
  } else {
    return false;
  }
  if (whole.empty()) plain.push_back('0');
  if (!fraction.empty()) {
    plain.push_back('.');
    plain.append(fraction);
  }
  return parse_number(plain, value, integral);
}

/// One pass over a column's cells reading numbers in one format: the values (NaN for
/// missing and stray cells), how many cells are missing, the strays and the first
/// infinite value. Stops once the strays exceed `max_strays`.
struct NumericPass {
  NumberFormat format = NumberFormat::plain;
  std::vector<double> numbers;
  bool all_integral = true;
  std::size_t missing = 0;
  Strays strays;
  std::optional<std::size_t> first_infinite;
  std::size_t separated = 0;  // cells whose text uses the format's separators
  bool complete = true;       // false: stopped early
};

template <class IsNa>
NumericPass numeric_pass(const StringColumn& cells, NumberFormat format, const IsNa& is_na, std::size_t max_strays) {
  NumericPass p;
  p.format = format;
  const std::size_t n_rows = cells.size();
  p.numbers.resize(n_rows);
  for (std::size_t r = 0; r < n_rows; ++r) {
    const std::string_view v = cells.cell(r);
    bool integral = false;
    double x = 0.0;
    // Numbers first (the common case); missing markers either fail to parse or give NaN.
    if (!cells.is_missing(r) && parse_number_as(v, format, x, integral) && !std::isnan(x)) {
      p.numbers[r] = x;
      p.all_integral = p.all_integral && integral;
      if (std::isinf(x) && !p.first_infinite) p.first_infinite = r;
      if (format != NumberFormat::plain && v.find(',') != std::string_view::npos) ++p.separated;
      continue;
    }
    p.numbers[r] = std::nan("");
    if (is_na(r, v)) {
      ++p.missing;
      continue;
    }
    if (p.strays.rows.size() < kStrayShown) p.strays.rows.push_back(r);
    if (++p.strays.count > max_strays) {
      p.complete = false;
      break;
    }
  }
  return p;
}

/// The best reading of a column as numbers: plain numbers first; if some cells are
/// not, and a cell has a comma, the other ways of writing numbers that `decimal`
/// allows (0: any) are tried, and the one that reads the most cells wins, plain
/// before grouped before decimal comma on a tie. A column is read one way
/// throughout: a cell written otherwise is a stray. `ambiguous` is set when grouped
/// and decimal-comma readings read the same cells (every comma has three digits
/// after it and no cell has a point: 1,234).
io_detail::ReadingCounts counts_of(const NumericPass& p) {
  return {p.format, p.complete, p.strays.count, p.strays.rows.empty() ? 0 : p.strays.rows.front(), p.separated};
}

template <class IsNa>
NumericPass read_numbers(const StringColumn& cells, bool forced, char decimal, const IsNa& is_na, bool& ambiguous) {
  const std::size_t limit = forced ? 0 : kMaxStrayCells;
  bool any_comma = false;
  for (std::size_t r = 0; r < cells.size() && !any_comma; ++r)
    any_comma = !cells.is_missing(r) && cells.cell(r).find(',') != std::string_view::npos;
  std::vector<NumberFormat> formats;
  if (decimal != ',') formats.push_back(NumberFormat::plain);
  if (decimal != ',' && (any_comma || decimal == '.')) formats.push_back(NumberFormat::grouped);
  if (decimal == ',' || (decimal == 0 && any_comma)) formats.push_back(NumberFormat::decimal_comma);
  ambiguous = false;
  std::optional<NumericPass> best;
  for (NumberFormat f : formats) {
    // A clean plain reading is final; a clean grouped one is checked against the
    // decimal-comma reading, to tell an ambiguous column.
    if (best && best->complete && best->strays.count == 0 && best->format == NumberFormat::plain) break;
    NumericPass p = numeric_pass(cells, f, is_na, limit);
    const io_detail::ReadingCounts best_counts = best ? counts_of(*best) : io_detail::ReadingCounts{};
    if (io_detail::better_reading(counts_of(p), best ? &best_counts : nullptr, ambiguous)) best = std::move(p);
  }
  if (best->format != NumberFormat::grouped) ambiguous = false;
  return std::move(*best);
}

/// The first cell of a column with a comma, trimmed and shortened, for messages.
std::string first_with_comma(const StringColumn& cells) {
  for (std::size_t r = 0; r < cells.size(); ++r) {
    const std::string_view v = trim(cells.cell(r));
    if (!cells.is_missing(r) && v.find(',') != std::string_view::npos) return std::string(v.substr(0, 40));
  }
  return "";
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

/// One cell read as a date: its three number fields in the order written, whether it
/// is written year first (ISO 8601), and the time of day in seconds (UTC when a zone
/// offset is given).
struct DateFields {
  unsigned first = 0, second = 0, third = 0;
  bool year_first = false;
  bool has_time = false;
  double seconds = 0;
  char separator = 0;
};

/// Reads `n` digits at `at`; false if there are fewer.
bool take_digits(std::string_view s, std::size_t& at, std::size_t min_n, std::size_t max_n, unsigned& v) {
  v = 0;
  std::size_t n = 0;
  while (at < s.size() && n < max_n && s[at] >= '0' && s[at] <= '9') {
    v = v * 10 + static_cast<unsigned>(s[at] - '0');
    ++at;
    ++n;
  }
  return n >= min_n;
}

/// hh:mm[:ss[.fff]] with an optional Z or +hh[:mm] / -hh[:mm]; seconds since midnight UTC.
bool parse_time(std::string_view s, double& seconds) {
  std::size_t at = 0;
  unsigned h = 0, m = 0, sec = 0;
  if (!take_digits(s, at, 1, 2, h) || at >= s.size() || s[at] != ':') return false;
  ++at;
  if (!take_digits(s, at, 2, 2, m)) return false;
  double fraction = 0;
  if (at < s.size() && s[at] == ':') {
    ++at;
    if (!take_digits(s, at, 2, 2, sec)) return false;
    if (at < s.size() && (s[at] == '.' || s[at] == ',')) {
      ++at;
      double scale = 0.1;
      const std::size_t start = at;
      while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
        fraction += scale * (s[at] - '0');
        scale /= 10;
        ++at;
      }
      if (at == start) return false;
    }
  }
  if (h > 23 || m > 59 || sec > 60) return false;
  seconds = h * 3600.0 + m * 60.0 + sec + fraction;
  if (at < s.size() && s[at] == ' ') ++at;
  if (at == s.size()) return true;
  if (s[at] == 'Z' && at + 1 == s.size()) return true;
  if (s[at] != '+' && s[at] != '-') return false;
  const double sign = s[at] == '+' ? 1.0 : -1.0;
  ++at;
  unsigned oh = 0, om = 0;
  if (!take_digits(s, at, 2, 2, oh)) return false;
  if (at < s.size() && s[at] == ':') ++at;
  if (at < s.size() && !take_digits(s, at, 2, 2, om)) return false;
  if (at != s.size() || oh > 23 || om > 59) return false;
  seconds -= sign * (oh * 3600.0 + om * 60.0);
  return true;
}

/// A cell written as a date: yyyy-mm-dd or yyyy/mm/dd, or a/b/yyyy with '/', '.' or
/// '-' between day and month in either order; optionally followed by 'T' or a blank
/// and a time of day.
std::optional<DateFields> split_date(std::string_view v) {
  v = trim(v);
  DateFields f;
  std::size_t at = 0;
  unsigned a = 0, b = 0, c = 0;
  if (!take_digits(v, at, 1, 4, a) || at >= v.size()) return std::nullopt;
  f.year_first = at == 4;
  if (!f.year_first && at > 2) return std::nullopt;
  f.separator = v[at];
  if (f.separator != '-' && f.separator != '/' && f.separator != '.') return std::nullopt;
  if (f.year_first && f.separator == '.') return std::nullopt;
  ++at;
  if (!take_digits(v, at, 1, 2, b) || at >= v.size() || v[at] != f.separator) return std::nullopt;
  ++at;
  const std::size_t year_start = at;
  if (!take_digits(v, at, f.year_first ? 1 : 4, f.year_first ? 2 : 4, c)) return std::nullopt;
  if (!f.year_first && at - year_start != 4) return std::nullopt;
  f.first = a;
  f.second = b;
  f.third = c;
  if (at < v.size()) {
    if (v[at] != 'T' && v[at] != ' ') return std::nullopt;
    ++at;
    while (at < v.size() && v[at] == ' ') ++at;
    if (!parse_time(v.substr(at), f.seconds)) return std::nullopt;
    f.has_time = true;
  }
  return f;
}

/// Days since 1970-01-01 of a date's fields in `order`; nullopt if it is no calendar date.
std::optional<double> date_value(const DateFields& f, DateOrder order) {
  unsigned y = 0, m = 0, d = 0;
  if (f.year_first) {
    if (order != DateOrder::ymd) return std::nullopt;
    y = f.first, m = f.second, d = f.third;
  } else if (order == DateOrder::dmy) {
    d = f.first, m = f.second, y = f.third;
  } else if (order == DateOrder::mdy) {
    m = f.first, d = f.second, y = f.third;
  } else {
    return std::nullopt;
  }
  const auto day = parse_day(fmt::format("{:04}-{:02}-{:02}", y, m, d));
  if (!day || y < 1000) return std::nullopt;
  return static_cast<double>(*day) + f.seconds / 86400.0;
}

/// A column read as dates.
struct DatePass {
  DateOrder order = DateOrder::ymd;
  bool ambiguous = false;  // day/month order not decided by the values
  bool has_time = false;
  std::vector<double> days;  // days since 1970-01-01, NaN = missing
  std::string example;       // a cell as written, for messages
  std::int64_t reference = 0;  // days since 1970-01-01 the values count from
};

/// Adds a present cell (`fields`: its reading as a date, `v` its text) to a column's
/// evidence; false (and the evidence inconsistent) when it is no date written as the
/// column's first present cell is.
bool add_date(io_detail::DateEvidence& e, const std::optional<DateFields>& f, std::string_view v) {
  if (!f || (e.any && (f->year_first != e.year_first || f->separator != e.separator))) {
    e.consistent = false;
    return false;
  }
  if (!e.any) e.example = std::string(trim(v));
  e.any = true;
  e.year_first = f->year_first;
  e.separator = f->separator;
  e.day_first |= !e.year_first && f->first > 12;
  e.month_first |= !e.year_first && f->second > 12;
  e.has_time |= f->has_time;
  return true;
}

/// The column's cells read as dates, or nullopt when some present cell is not one (a
/// declared column: `fail` at that cell). `order`: the declared order, else decided
/// from the values (a first field above 12 means day first, a second field above 12
/// month first; neither: ambiguous, read day first).
template <class IsNa>
std::optional<DatePass> read_dates(const StringColumn& cells, const IsNa& is_na, std::optional<DateOrder> order,
                                   const std::function<void(std::size_t, const std::string&)>* fail) {
  DatePass p;
  const std::size_t n = cells.size();
  // Most columns are no dates: their first present cell says so before any allocation.
  if (!fail)
    for (std::size_t r = 0; r < n; ++r) {
      const std::string_view v = cells.cell(r);
      if (is_na(r, v)) continue;
      if (!split_date(v)) return std::nullopt;
      break;
    }
  std::vector<std::optional<DateFields>> fields(n);
  io_detail::DateEvidence evidence;
  for (std::size_t r = 0; r < n; ++r) {
    const std::string_view v = cells.cell(r);
    if (is_na(r, v)) continue;
    fields[r] = split_date(v);
    if (!add_date(evidence, fields[r], v)) {
      if (fail)
        (*fail)(r, fmt::format("column '{}' is declared a date but '{}' is not one (yyyy-mm-dd, dd/mm/yyyy or "
                               "mm/dd/yyyy, optionally with a time, written one way throughout)",
                               cells.name(), std::string(trim(v))));
      return std::nullopt;
    }
  }
  if (!evidence.any) return std::nullopt;
  p.example = evidence.example;
  p.has_time = evidence.has_time;
  if (order) {
    p.order = *order;
  } else {
    const std::optional<DateOrder> decided = io_detail::date_order(evidence, p.ambiguous);
    if (!decided) return std::nullopt;
    p.order = *decided;
  }
  p.days.assign(n, std::nan(""));
  for (std::size_t r = 0; r < n; ++r) {
    if (!fields[r]) continue;
    const std::optional<double> d = date_value(*fields[r], p.order);
    if (!d) {
      if (fail)
        (*fail)(r, fmt::format("column '{}': '{}' is not a date in the {} order", cells.name(),
                               std::string(trim(cells.cell(r))), to_string(p.order)));
      return std::nullopt;
    }
    p.days[r] = *d;
  }
  return p;
}

/// What coding a text column's cells counts (classify_text_column's inputs).
struct TextCounts {
  std::size_t missing = 0, total_length = 0, blanks = 0;
};

/// Codes a column's cells into levels in order of first appearance (-1: missing).
template <class IsNa>
TextCounts code_text_cells(const StringColumn& cells, const IsNa& is_na, std::vector<std::int32_t>& codes,
                           std::vector<std::string>& levels) {
  const std::size_t n_rows = cells.size();
  codes.resize(n_rows);
  // Keys view `owned`, copies of the levels.
  std::unordered_map<std::string_view, std::int32_t> index;
  std::deque<std::string> owned;
  std::size_t missing = 0, total_length = 0, blanks = 0;
  for (std::size_t r = 0; r < n_rows; ++r) {
    const std::string_view v = cells.cell(r);
    if (is_na(r, v)) {
      codes[r] = -1;
      ++missing;
      continue;
    }
    total_length += v.size();
    blanks += static_cast<std::size_t>(std::count(v.begin(), v.end(), ' '));
    // Few levels (the usual case): a linear scan beats hashing.
    std::int32_t code = -1;
    if (levels.size() <= 16) {
      for (std::size_t l = 0; l < levels.size(); ++l)
        if (levels[l].size() == v.size() && std::memcmp(levels[l].data(), v.data(), v.size()) == 0) {
          code = static_cast<std::int32_t>(l);
          break;
        }
      if (code < 0 && levels.size() == 16)
        for (std::size_t l = 0; l < levels.size(); ++l)
          index.emplace(owned.emplace_back(levels[l]), static_cast<std::int32_t>(l));
    } else {
      auto it = index.find(v);
      if (it != index.end()) code = it->second;
    }
    if (code < 0) {
      code = static_cast<std::int32_t>(levels.size());
      levels.emplace_back(v);
      if (levels.size() > 16) index.emplace(owned.emplace_back(v), code);
    }
    codes[r] = code;
  }
  return {missing, total_length, blanks};
}

Column infer_column(const StringColumn& cells, std::optional<ColumnType> forced, const DateSpec* date_spec,
                    const NaMatcher& is_marker, char decimal,
                    const std::function<void(std::size_t row, const std::string& message)>& fail, Strays& strays,
                    NumberFormat& format, bool& format_ambiguous, std::optional<DatePass>& dates) {
  const std::size_t n_rows = cells.size();
  Column col;
  col.name = cells.name();
  auto is_na = [&](std::size_t r, std::string_view v) { return cells.is_missing(r) || is_marker(v); };

  // Numeric pass (unless forced to a non-numeric type).
  bool numeric = (!forced || *forced == ColumnType::numeric) && !date_spec;
  if (numeric) {
    bool ambiguous = false;
    std::optional<NumericPass> pass = read_numbers(cells, forced.has_value(), decimal, is_na, ambiguous);
    if (forced && pass->strays.count > 0) {
      const std::size_t r = pass->strays.rows.front();
      fail(r, fmt::format("column '{}' is declared numeric but '{}' is not a number", col.name, cells.cell(r)));
    }
    const std::size_t present = n_rows - pass->missing;  // non-missing cells, strays included
    numeric = pass->complete && (pass->strays.count == 0 || pass->strays.count * 20 <= present);
    if (numeric) {
      format_ambiguous = ambiguous;
      if (pass->first_infinite)
        fail(*pass->first_infinite, fmt::format("column '{}': '{}' is not a finite number", col.name,
                                                std::string(trim(cells.cell(*pass->first_infinite)))));
      strays = pass->strays;
      format = pass->format;
      const std::size_t missing = pass->missing + strays.count;
      col.numbers = std::move(pass->numbers);
      col.type = ColumnType::numeric;
      col.integral = pass->all_integral && missing < n_rows;
      col.missing = missing;
      if (named_like_identifier(col.name) && missing == 0 && !forced) {
        std::vector<double> sorted = col.numbers;
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()) {
          // An identifier: keep it as text so that it is never used as a feature.
          numeric = false;
          forced = ColumnType::id;
          strays = {};
          format = NumberFormat::plain;
          format_ambiguous = false;
        }
      }
    }
    if (!numeric) col.numbers.clear();
  }
  // Dates (declared, or every present cell one): days since the reference date.
  if (!numeric && (date_spec || !forced)) {
    dates = read_dates(cells, is_na, date_spec ? date_spec->order : std::nullopt, date_spec ? &fail : nullptr);
    if (dates) {
      double lowest = std::numeric_limits<double>::infinity();
      for (double d : dates->days)
        if (!std::isnan(d)) lowest = std::min(lowest, d);
      const auto reference = date_spec && date_spec->reference ? *date_spec->reference
                                                               : static_cast<std::int64_t>(std::floor(lowest));
      col.type = ColumnType::numeric;
      col.numbers = std::move(dates->days);
      col.missing = 0;
      for (double& d : col.numbers) {
        if (std::isnan(d))
          ++col.missing;
        else
          d -= static_cast<double>(reference);
      }
      col.integral = !dates->has_time && col.missing < n_rows;
      dates->reference = reference;
      return col;
    }
  }
  if (!numeric) {
    const TextCounts counts = code_text_cells(cells, is_na, col.codes, col.levels);
    const std::size_t missing = counts.missing, total_length = counts.total_length, blanks = counts.blanks;
    col.missing = missing;
    if (forced) {
      col.type = *forced;
    } else {
      std::size_t longest = 0;
      for (const auto& level : col.levels) longest = std::max(longest, level.size());
      col.type = classify_text_column(col.name, n_rows, missing, col.levels.size(), total_length, blanks, longest);
    }
  }
  return col;
}

/// One warning for a column whose type is not what its cells look like at first
/// sight: dates read as numbers, integer codes kept as numbers, identifiers and free
/// text left out of the features. Silent for every other column.
void announce_type(const Column& col, const std::optional<DatePass>& dates, Diagnostics& diag) {
  const std::size_t present = col.size() - col.missing;
  if (dates) {
    diag.add(io_detail::date_note(col.name, dates->order, dates->ambiguous, dates->has_time, dates->example,
                                  dates->reference));
    return;
  }
  io_detail::TypeFacts facts;
  facts.name = col.name;
  facts.type = col.type;
  facts.integral = col.integral;
  facts.present = present;
  facts.levels = col.levels.size();
  for (const auto& level : col.levels) facts.longest = std::max(facts.longest, level.size());
  if (io_detail::wants_few_integers(facts)) io_detail::add_few_distinct(col.numbers, facts.few);
  io_detail::announce_inferred(facts, diag);
}

}  // namespace

std::string_view to_string(DateOrder o) noexcept {
  return o == DateOrder::dmy ? "dmy" : o == DateOrder::mdy ? "mdy" : "ymd";
}

// Howard Hinnant's days-from-civil algorithm (public domain description of the
// proleptic Gregorian calendar in 400-year eras).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string format_day(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
  return fmt::format("{:04}-{:02}-{:02}", y, m, d);
}

std::optional<std::int64_t> parse_day(std::string_view s) noexcept {
  auto digits = [&](std::size_t at, std::size_t n, unsigned& v) {
    v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
  };
  unsigned y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(0, 4, y) || !digits(5, 2, m) || !digits(8, 2, d))
    return std::nullopt;
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1] + (m == 2 && leap)) return std::nullopt;
  return days_from_civil(y, m, d);
}

std::optional<DateSpec> parse_date_type(std::string_view name) {
  DateSpec spec;
  if (name == "date") return spec;
  for (DateOrder o : {DateOrder::ymd, DateOrder::dmy, DateOrder::mdy})
    if (name.size() == 8 && name.starts_with("date-") && name.substr(5) == to_string(o)) {
      spec.order = o;
      return spec;
    }
  return std::nullopt;
}

std::vector<std::string> default_na_values() {
  // pandas' default missing-value markers.
  return {"",     "#N/A", "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
          "<NA>", "N/A",  "NA",       "NULL", "NaN",     "None",     "n/a",  "nan",  "null"};
}

void StringColumn::reserve(std::size_t cells, std::size_t bytes) {
  ends_.reserve(cells);
  bytes_.reserve(bytes);
}

void StringColumn::push_back(std::string_view cell) {
  bytes_.append(cell);
  ends_.push_back(bytes_.size());
  if (!missing_.empty()) missing_.push_back(0);
}

void StringColumn::push_missing() {
  if (missing_.empty()) missing_.assign(ends_.size(), 0);
  ends_.push_back(bytes_.size());
  missing_.push_back(1);
}

Table infer_types(const StringTable& table, const InferOptions& options, const CellErrorHandler& on_error) {
  const std::size_t n_rows = table.rows();
  for (const auto& c : table.columns)
    if (c.size() != n_rows)
      throw InvalidArgument(
          fmt::format("{}: column '{}' has {} values, the first column {}", table.source, c.name(), c.size(), n_rows));
  for (const auto& override_ : options.types) {
    const std::string& name = override_.first;  // (a lambda may not capture a structured binding before C++20's DR in clang 16)
    if (std::none_of(table.columns.begin(), table.columns.end(),
                     [&](const StringColumn& c) { return c.name() == name; }))
      throw ParameterError("types", fmt::format("no column named '{}' in {}", name, table.source));
  }

  if (options.decimal != 0 && options.decimal != '.' && options.decimal != ',')
    throw InvalidArgument(fmt::format("--decimal: expected . or , (or nothing: per column), got '{}'", options.decimal));
  const NaMatcher is_marker(options.na_values);
  std::vector<Column> columns;
  columns.reserve(table.columns.size());
  for (std::size_t j = 0; j < table.columns.size(); ++j) {
    const StringColumn& cells = table.columns[j];
    std::optional<ColumnType> forced;
    for (const auto& [name, type] : options.types)
      if (name == cells.name()) forced = type;
    const DateSpec* date_spec = nullptr;
    for (const auto& [name, spec] : options.dates)
      if (name == cells.name()) date_spec = &spec;
    auto fail = [&](std::size_t row, const std::string& message) {
      if (on_error) on_error(j, row, message);
      throw ParseError(table.source, row + 1, j + 1, message);
    };
    Strays strays;
    NumberFormat format = NumberFormat::plain;
    bool ambiguous = false;
    char decimal = options.decimal;
    if (decimal == 0)
      for (const auto& [name, mark] : options.column_decimal)
        if (name == cells.name()) decimal = mark;
    if (decimal != 0 && decimal != '.' && decimal != ',')
      throw InvalidArgument(fmt::format("column '{}': the decimal mark must be . or , got '{}'", cells.name(), decimal));
    std::optional<DatePass> dates;
    columns.push_back(infer_column(cells, forced, date_spec, is_marker, decimal, fail, strays, format, ambiguous, dates));
    if (columns.back().is_numeric() && !dates) columns.back().decimal = format == NumberFormat::decimal_comma ? ',' : '.';
    if (dates && options.dates_read) options.dates_read->emplace_back(cells.name(), DateReading{dates->order, dates->reference});
    if (options.diagnostics && !forced && !(date_spec && date_spec->reference))
      announce_type(columns.back(), dates, *options.diagnostics);
    if (format != NumberFormat::plain && options.diagnostics)
      options.diagnostics->add(io_detail::number_format_note(cells.name(), format, ambiguous, first_with_comma(cells)));
    if (strays.count > 0 && options.diagnostics) {
      std::vector<std::string> shown;
      for (std::size_t r : strays.rows)
        shown.push_back(io_detail::stray_cell_shown(
            cells.cell(r), options.place ? options.place(j, r) : fmt::format("{}, data row {}", table.source, r + 1)));
      options.diagnostics->warn("load", "non_numeric_cells",
                                io_detail::non_numeric_cells_message(cells.name(), strays.count, shown));
    }
  }
  return Table(table.source, std::move(columns));
}

}  // namespace segmenta

// ---------------------------------------------------------------------------
// The steps of infer_column for cells split among the ranks of a run (ranks.cpp)
// ---------------------------------------------------------------------------

namespace segmenta::io_detail {

bool better_reading(const ReadingCounts& p, const ReadingCounts* best, bool& ambiguous) {
  if (!best) return true;
  if (p.complete && best->complete && p.strays == best->strays && p.separated > 0 &&
      p.format == NumberFormat::decimal_comma && best->format == NumberFormat::grouped)
    ambiguous = true;
  // Complete readings by their strays; readings that stopped early (a declared
  // column at its first stray) by how far they got, for the error's place.
  return p.complete != best->complete ? p.complete
         : p.complete                 ? p.strays < best->strays
                                      : p.first_stray > best->first_stray;
}

std::size_t choose_reading(const std::vector<ReadingCounts>& readings, bool& ambiguous) {
  ambiguous = false;
  std::size_t best = 0;
  for (std::size_t k = 0; k < readings.size(); ++k) {
    const ReadingCounts& b = readings[best];
    if (k > 0 && b.complete && b.strays == 0 && b.format == NumberFormat::plain) break;
    if (better_reading(readings[k], k > 0 ? &b : nullptr, ambiguous)) best = k;
  }
  if (readings[best].format != NumberFormat::grouped) ambiguous = false;
  return best;
}

NumericPart summarise_numbers(const StringColumn& cells, const std::vector<std::string>& na_values,
                              NumberFormat format) {
  const NaMatcher is_marker(na_values);
  auto is_na = [&](std::size_t r, std::string_view v) { return cells.is_missing(r) || is_marker(v); };
  NumericPart out;
  // read_numbers' reading in `format`, with its limit of strays.
  NumericPass p = numeric_pass(cells, format, is_na, kMaxStrayCells);
  out.format = format;
  out.missing = p.missing;
  out.strays = p.strays.count;
  out.complete = p.complete;
  out.all_integral = p.all_integral;
  out.infinite = p.first_infinite.has_value();
  out.separated = p.separated;
  out.stray_rows = p.strays.rows;
  out.numbers = std::move(p.numbers);
  if (format != NumberFormat::plain) return out;
  for (std::size_t r = 0; r < cells.size() && !out.any_comma; ++r)
    out.any_comma = !cells.is_missing(r) && cells.cell(r).find(',') != std::string_view::npos;
  if (out.any_comma) out.first_comma = first_with_comma(cells);
  // read_dates' first test: its first present cell.
  for (std::size_t r = 0; r < cells.size(); ++r) {
    const std::string_view v = cells.cell(r);
    if (is_na(r, v)) continue;
    out.first_present = split_date(v) ? 1 : 0;
    break;
  }
  return out;
}

Diagnostic number_format_note(std::string_view name, NumberFormat format, bool ambiguous, std::string_view example) {
  if (ambiguous)
    return {Diagnostic::Level::warning, "load", "thousands_separator",
            fmt::format("column '{}' is read with {} (every comma has three digits after it, as in '{}'); if the "
                        "comma is a decimal mark, pass --decimal ,",
                        name, format_name(format), example)};
  return {Diagnostic::Level::info, "load", "number_format",
          fmt::format("column '{}' is read with {} (as in '{}')", name, format_name(format), example)};
}

void DateEvidence::merge(const DateEvidence& later) {
  consistent = consistent && later.consistent;
  if (!later.any) return;
  if (!any) {
    any = true;
    year_first = later.year_first;
    separator = later.separator;
    example = later.example;
  } else if (later.year_first != year_first || later.separator != separator) {
    consistent = false;
  }
  day_first |= later.day_first;
  month_first |= later.month_first;
  has_time |= later.has_time;
}

DateEvidence date_evidence(const StringColumn& cells, const std::vector<std::string>& na_values) {
  const NaMatcher is_marker(na_values);
  DateEvidence e;
  for (std::size_t r = 0; r < cells.size(); ++r) {
    const std::string_view v = cells.cell(r);
    if (cells.is_missing(r) || is_marker(v)) continue;
    if (!add_date(e, split_date(v), v)) break;
  }
  return e;
}

std::optional<DateOrder> date_order(const DateEvidence& e, bool& ambiguous) {
  ambiguous = false;
  if (!e.any || !e.consistent) return std::nullopt;
  if (e.year_first) return DateOrder::ymd;
  if (e.day_first && e.month_first) return std::nullopt;
  ambiguous = !e.day_first && !e.month_first;
  return e.month_first ? DateOrder::mdy : DateOrder::dmy;
}

bool read_days(const StringColumn& cells, const std::vector<std::string>& na_values, DateOrder order,
               std::vector<double>& days) {
  const NaMatcher is_marker(na_values);
  days.assign(cells.size(), std::nan(""));
  for (std::size_t r = 0; r < cells.size(); ++r) {
    const std::string_view v = cells.cell(r);
    if (cells.is_missing(r) || is_marker(v)) continue;
    const std::optional<DateFields> f = split_date(v);
    const std::optional<double> d = f ? date_value(*f, order) : std::nullopt;
    if (!d) return false;
    days[r] = *d;
  }
  return true;
}

Diagnostic date_note(std::string_view name, DateOrder order, bool ambiguous, bool has_time, std::string_view example,
                     std::int64_t reference_day) {
  const std::string reference = format_day(reference_day);
  const std::string_view written = order == DateOrder::ymd   ? "yyyy-mm-dd"
                                   : order == DateOrder::dmy ? "day/month/year"
                                                             : "month/day/year";
  if (ambiguous)
    return {Diagnostic::Level::warning, "load", "date_order_ambiguous",
            fmt::format("column '{}' holds dates whose day and month could each come first (as in '{}'): read as "
                        "day/month/year, in days since {}; if the month comes first pass --types {}=date-mdy",
                        name, example, reference, name)};
  return {Diagnostic::Level::warning, "load", "date_column",
          fmt::format("column '{}' holds dates ({}{}, as in '{}'): used as the number of days since its earliest "
                      "date, {} (--types {}=categorical keeps the text)",
                      name, written, has_time ? " with a time" : "", example, reference, name)};
}

TextPart code_text(const StringColumn& cells, const std::vector<std::string>& na_values) {
  const NaMatcher is_marker(na_values);
  auto is_na = [&](std::size_t r, std::string_view v) { return cells.is_missing(r) || is_marker(v); };
  TextPart out;
  const TextCounts counts = code_text_cells(cells, is_na, out.codes, out.levels);
  out.missing = counts.missing;
  out.total_length = counts.total_length;
  out.blanks = counts.blanks;
  return out;
}

bool wants_few_integers(const TypeFacts& f) {
  return f.type == ColumnType::numeric && f.integral && f.present >= kNearlyUniqueRows;
}

void add_few_distinct(std::span<const double> values, std::vector<double>& few) {
  for (double v : values) {
    if (few.size() > kFewCodesMax) return;
    if (!std::isnan(v) && std::find(few.begin(), few.end(), v) == few.end()) few.push_back(v);
  }
}

void announce_inferred(const TypeFacts& f, Diagnostics& diag) {
  if (wants_few_integers(f)) {
    if (f.few.size() > kFewCodesMax || f.few.size() < kFewCodesMin) return;
    std::vector<double> values = f.few;
    std::sort(values.begin(), values.end());
    std::string shown;
    // Whole numbers beyond 2^53 are not all integers a long long holds (1e300 is
    // integral too): those are shown as the number they are.
    for (double v : values)
      shown += fmt::format("{}{}", shown.empty() ? "" : ", ",
                           std::abs(v) < 0x1p53 ? fmt::format("{}", static_cast<long long>(v)) : format_double(v));
    diag.warn("load", "integer_codes",
              fmt::format("column '{}' has only {} distinct integers ({}) in {} rows: it is used as a number; if they "
                          "are codes rather than amounts, pass --types {}=categorical",
                          f.name, values.size(), shown, f.present, f.name));
    return;
  }
  if (f.type == ColumnType::id)
    diag.warn("load", "identifier_column",
              fmt::format("column '{}' looks like an identifier ({} distinct values in {} rows): left out of the "
                          "segmentation (--types {}=categorical uses it; a --template can show it as {{{}}})",
                          f.name, f.levels, f.present, f.name, f.name));
  else if (f.type == ColumnType::text) {
    if (f.longest > kLongestCategory) {
      diag.warn("load", "long_value",
                fmt::format("column '{}' has a value of {} bytes, longer than a category can be ({}): the column is "
                            "read as free text and left out of the features (--types {}=categorical uses it as "
                            "categories)",
                            f.name, f.longest, kLongestCategory, f.name));
      return;
    }
    diag.warn("load", "text_column",
              fmt::format("column '{}' looks like free text ({} distinct values in {} rows): left out of the numeric "
                          "and categorical features; the embed method's default template includes it "
                          "(--types {}=categorical uses it as categories)",
                          f.name, f.levels, f.present, f.name));
  }
}

std::string stray_cell_shown(std::string_view cell, const std::string& place) {
  std::string v(trim(cell));
  if (v.size() > 40) v = v.substr(0, 40) + "...";
  return fmt::format("'{}' at {}", v, place);
}

std::string non_numeric_cells_message(std::string_view name, std::size_t count, const std::vector<std::string>& shown) {
  std::string list;
  for (const auto& item : shown) list += (list.empty() ? "" : ", ") + item;
  return fmt::format("column '{}' is numeric but {} {} ({}{}); read as missing", name, count,
                     count == 1 ? "cell is not a number" : "cells are not numbers", list,
                     count > shown.size() ? ", ..." : "");
}

}  // namespace segmenta::io_detail
