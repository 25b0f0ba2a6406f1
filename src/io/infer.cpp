// Type inference: string columns (from the CSV reader or any other source) to typed
// columns. The numeric pass stops at the first cell that is neither a number nor a
// missing marker; the column is then coded as strings and classified.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
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
                                std::size_t total_length) {
  const std::size_t present = rows - missing;
  const double mean_length = present ? static_cast<double>(total_length) / static_cast<double>(present) : 0.0;
  const bool unique = distinct == present && present > 0;
  if (mean_length > 40.0 && static_cast<double>(distinct) > 0.5 * static_cast<double>(present)) return ColumnType::text;
  if (unique && present == rows && (named_like_identifier(name) || rows >= 20)) return ColumnType::id;
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

// A column stays numeric with a few non-numbers (read as missing, with a warning):
// at most 5 % of its non-missing cells and at most this many.
constexpr std::size_t kMaxStrayCells = 100;
constexpr std::size_t kStrayShown = 3;

/// The stray cells of a numeric column: how many, and the first few rows.
struct Strays {
  std::size_t count = 0;
  std::vector<std::size_t> rows;
};

/// How the numbers of a column are written. `plain`: as pandas reads them (1234.5);
/// `grouped`: commas between groups of three digits, a point before the decimals
/// (1,234.5); `decimal_comma`: a comma before the decimals, optionally points
/// between groups of three digits (1.234,5 or 3,14).
enum class NumberFormat { plain, grouped, decimal_comma };

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
    if (best && p.complete && best->complete && p.strays.count == best->strays.count && p.separated > 0 &&
        f == NumberFormat::decimal_comma && best->format == NumberFormat::grouped)
      ambiguous = true;
    // Complete readings by their strays; readings that stopped early (a declared
    // column at its first stray) by how far they got, for the error's place.
    const bool better = !best || (p.complete != best->complete ? p.complete
                                  : p.complete                  ? p.strays.count < best->strays.count
                                                                : p.strays.rows.front() > best->strays.rows.front());
    if (better) best = std::move(p);
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

Column infer_column(const StringColumn& cells, std::optional<ColumnType> forced, const NaMatcher& is_marker,
                    char decimal, const std::function<void(std::size_t row, const std::string& message)>& fail,
                    Strays& strays, NumberFormat& format, bool& format_ambiguous) {
  const std::size_t n_rows = cells.size();
  Column col;
  col.name = cells.name();
  auto is_na = [&](std::size_t r, std::string_view v) { return cells.is_missing(r) || is_marker(v); };

  // Numeric pass (unless forced to a non-numeric type).
  bool numeric = !forced || *forced == ColumnType::numeric;
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
  if (!numeric) {
    col.codes.resize(n_rows);
    // Keys view `owned`, copies of the levels.
    std::unordered_map<std::string_view, std::int32_t> index;
    std::deque<std::string> owned;
    std::size_t missing = 0, total_length = 0;
    for (std::size_t r = 0; r < n_rows; ++r) {
      const std::string_view v = cells.cell(r);
      if (is_na(r, v)) {
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
          for (std::size_t l = 0; l < col.levels.size(); ++l)
            index.emplace(owned.emplace_back(col.levels[l]), static_cast<std::int32_t>(l));
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
      col.type = classify_text_column(col.name, n_rows, missing, col.levels.size(), total_length);
    }
  }
  return col;
}

}  // namespace

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
    columns.push_back(infer_column(cells, forced, is_marker, decimal, fail, strays, format, ambiguous));
    if (columns.back().is_numeric()) columns.back().decimal = format == NumberFormat::decimal_comma ? ',' : '.';
    if (format != NumberFormat::plain && options.diagnostics) {
      if (ambiguous)
        options.diagnostics->warn(
            "load", "thousands_separator",
            fmt::format("column '{}' is read with {} (every comma has three digits after it, as in '{}'); if the "
                        "comma is a decimal mark, pass --decimal ,",
                        cells.name(), format_name(format), first_with_comma(cells)));
      else
        options.diagnostics->info("load", "number_format",
                                  fmt::format("column '{}' is read with {} (as in '{}')", cells.name(),
                                              format_name(format), first_with_comma(cells)));
    }
    if (strays.count > 0 && options.diagnostics) {
      std::string shown;
      for (std::size_t r : strays.rows) {
        std::string v(trim(cells.cell(r)));
        if (v.size() > 40) v = v.substr(0, 40) + "...";
        shown += fmt::format("{}'{}' at {}", shown.empty() ? "" : ", ", v,
                             options.place ? options.place(j, r) : fmt::format("{}, data row {}", table.source, r + 1));
      }
      options.diagnostics->warn(
          "load", "non_numeric_cells",
          fmt::format("column '{}' is numeric but {} {} ({}{}); read as missing", cells.name(), strays.count,
                      strays.count == 1 ? "cell is not a number" : "cells are not numbers", shown,
                      strays.count > strays.rows.size() ? ", ..." : ""));
    }
  }
  return Table(table.source, std::move(columns));
}

}  // namespace segmenta
