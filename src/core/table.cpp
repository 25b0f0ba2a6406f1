#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

#include "segmenta/table.hpp"

namespace segmenta {

std::string_view to_string(ColumnType t) noexcept {
  switch (t) {
    case ColumnType::numeric: return "numeric";
    case ColumnType::categorical: return "categorical";
    case ColumnType::binary: return "binary";
    case ColumnType::id: return "id";
    case ColumnType::text: return "text";
  }
  return "categorical";
}

ColumnType parse_column_type(std::string_view name, std::string_view what) {
  for (ColumnType t : {ColumnType::numeric, ColumnType::categorical, ColumnType::binary, ColumnType::id, ColumnType::text})
    if (to_string(t) == name) return t;
  throw InvalidArgument(fmt::format("{}: unknown column type '{}' (expected numeric, categorical, binary, id or text)",
                                    what, name));
}

bool Column::is_missing(std::size_t row) const noexcept {
  return is_numeric() ? std::isnan(numbers[row]) : codes[row] < 0;
}

std::string Column::text(std::size_t row) const {
  if (!is_numeric()) return codes[row] < 0 ? std::string() : levels[static_cast<std::size_t>(codes[row])];
  const double v = numbers[row];
  if (std::isnan(v)) return std::string();
  if (integral && std::abs(v) < 9.007199254740992e15) return fmt::format("{}", static_cast<long long>(v));
  return format_double(v);
}

std::vector<std::string> Column::sorted_levels() const {
  std::vector<std::string> s = levels;
  std::sort(s.begin(), s.end());
  return s;
}

Table::Table(std::string source, std::vector<Column> columns) : source_(std::move(source)), columns_(std::move(columns)) {
  rows_ = columns_.empty() ? 0 : columns_.front().size();
  for (const auto& c : columns_)
    if (c.size() != rows_) throw InvalidArgument(fmt::format("table: column '{}' has {} rows, expected {}", c.name, c.size(), rows_));
}

std::optional<std::size_t> Table::find(std::string_view name) const noexcept {
  for (std::size_t j = 0; j < columns_.size(); ++j)
    if (columns_[j].name == name) return j;
  return std::nullopt;
}

std::size_t Table::index_of(std::string_view name, std::string_view what) const {
  if (auto j = find(name)) return *j;
  std::string names;
  for (const auto& c : columns_) names += (names.empty() ? "" : ", ") + c.name;
  throw InvalidArgument(fmt::format("{}: no column named '{}' in {} (columns: {})", what, name, source_, names));
}

Table Table::select(const std::vector<std::size_t>& columns) const {
  std::vector<Column> out;
  out.reserve(columns.size());
  for (std::size_t j : columns) out.push_back(columns_.at(j));
  Table t(source_, std::move(out));
  t.rows_ = rows_;
  return t;
}

Table Table::take_rows(const std::vector<std::size_t>& rows) const {
  std::vector<Column> out;
  out.reserve(columns_.size());
  for (const auto& c : columns_) {
    Column d;
    d.name = c.name;
    d.type = c.type;
    d.integral = c.integral;
    d.levels = c.levels;
    if (c.is_numeric()) {
      d.numbers.resize(rows.size());
      for (std::size_t r = 0; r < rows.size(); ++r) {
        d.numbers[r] = c.numbers[rows[r]];
        d.missing += std::isnan(d.numbers[r]);
      }
    } else {
      d.codes.resize(rows.size());
      for (std::size_t r = 0; r < rows.size(); ++r) {
        d.codes[r] = c.codes[rows[r]];
        d.missing += d.codes[r] < 0;
      }
    }
    out.push_back(std::move(d));
  }
  Table t(source_, std::move(out));
  t.rows_ = rows.size();
  return t;
}

MatrixD Table::numeric_matrix(const std::vector<std::size_t>& columns) const {
  MatrixD m(rows_, columns.size());
  for (std::size_t k = 0; k < columns.size(); ++k) {
    const Column& c = columns_.at(columns[k]);
    if (!c.is_numeric()) throw InvalidArgument(fmt::format("column '{}' is {}, not numeric", c.name, to_string(c.type)));
    for (std::size_t i = 0; i < rows_; ++i) m(i, k) = c.numbers[i];
  }
  return m;
}

namespace {
std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}
bool parse_index(std::string_view s, long long& v) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
}  // namespace

std::vector<std::size_t> resolve_columns(std::string_view spec, const std::vector<std::string>& header,
                                         std::string_view what) {
  std::vector<std::size_t> out;
  const long long p = static_cast<long long>(header.size());
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string_view item = trim_spaces(spec.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) {
      if (comma == spec.size()) break;
      throw ParameterError(std::string(what), fmt::format("empty item in '{}'", spec));
    }
    auto exact = std::find(header.begin(), header.end(), item);
    if (exact != header.end()) {
      out.push_back(static_cast<std::size_t>(exact - header.begin()));
      continue;
    }
    const std::size_t colon = item.find(':');
    long long a = 0, b = 0;
    if (colon != std::string_view::npos) {
      const std::string_view lo = trim_spaces(item.substr(0, colon)), hi = trim_spaces(item.substr(colon + 1));
      a = 0;
      b = p;
      if ((!lo.empty() && !parse_index(lo, a)) || (!hi.empty() && !parse_index(hi, b)))
        throw ParameterError(std::string(what), fmt::format("'{}' is neither a column name nor a range like 0:8", item));
      if (a < 0) a += p;
      if (b < 0) b += p;
      if (a < 0 || b > p || a > b)
        throw ParameterError(std::string(what), fmt::format("range '{}' is outside the {} columns", item, p));
      for (long long j = a; j < b; ++j) out.push_back(static_cast<std::size_t>(j));
    } else if (parse_index(item, a)) {
      if (a < 0) a += p;
      if (a < 0 || a >= p) throw ParameterError(std::string(what), fmt::format("column index {} is outside the {} columns", item, p));
      out.push_back(static_cast<std::size_t>(a));
    } else {
      std::string names;
      for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
      throw ParameterError(std::string(what), fmt::format("no column named '{}' (columns: {})", item, names));
    }
  }
  if (out.empty()) throw ParameterError(std::string(what), "selects no column");
  std::unordered_set<std::size_t> seen;
  for (std::size_t j : out)
    if (!seen.insert(j).second) throw ParameterError(std::string(what), fmt::format("column '{}' is selected twice", header[j]));
  return out;
}

}  // namespace segmenta
