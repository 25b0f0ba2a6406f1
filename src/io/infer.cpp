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

Column infer_column(const StringColumn& cells, std::optional<ColumnType> forced, const NaMatcher& is_marker,
                    const std::function<void(std::size_t row, const std::string& message)>& fail, Strays& strays) {
  const std::size_t n_rows = cells.size();
  Column col;
  col.name = cells.name();
  auto is_na = [&](std::size_t r, std::string_view v) { return cells.is_missing(r) || is_marker(v); };

  // Numeric pass (unless forced to a non-numeric type).
  bool numeric = !forced || *forced == ColumnType::numeric;
  if (numeric) {
    col.numbers.resize(n_rows);
    bool all_integral = true;
    std::size_t missing = 0;
    std::optional<std::size_t> first_infinite;
    for (std::size_t r = 0; r < n_rows; ++r) {
      const std::string_view v = cells.cell(r);
      bool integral = false;
      double x = 0.0;
      // Numbers first (the common case); missing markers either fail to parse or give NaN.
      if (!cells.is_missing(r) && parse_number(v, x, integral) && !std::isnan(x)) {
        col.numbers[r] = x;
        all_integral = all_integral && integral;
        if (std::isinf(x) && !first_infinite) first_infinite = r;
        continue;
      }
      if (is_na(r, v)) {
        col.numbers[r] = std::nan("");
        ++missing;
        continue;
      }
      if (forced) fail(r, fmt::format("column '{}' is declared numeric but '{}' is not a number", col.name, v));
      // A stray non-number: read as missing if the column stays numeric.
      col.numbers[r] = std::nan("");
      if (strays.rows.size() < kStrayShown) strays.rows.push_back(r);
      if (++strays.count > kMaxStrayCells) break;
    }
    const std::size_t present = n_rows - missing;  // non-missing cells, strays included
    if (strays.count > 0 && (strays.count > kMaxStrayCells || strays.count * 20 > present)) {
      numeric = false;
      strays = {};
    }
    if (numeric && first_infinite)
      fail(*first_infinite, fmt::format("column '{}': '{}' is not a finite number", col.name,
                                        std::string(trim(cells.cell(*first_infinite)))));
    missing += strays.count;
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
  for (const auto& [name, type] : options.types)
    if (std::none_of(table.columns.begin(), table.columns.end(),
                     [&](const StringColumn& c) { return c.name() == name; }))
      throw ParameterError("types", fmt::format("no column named '{}' in {}", name, table.source));

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
    columns.push_back(infer_column(cells, forced, is_marker, fail, strays));
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
