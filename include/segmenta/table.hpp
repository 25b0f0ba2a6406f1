// segmenta tables: typed columns of customer data (part of the core module).
//
// A Table is a set of equally long typed columns, usually read from a customer
// file by segmenta::read_csv (io module). Column types:
//   numeric      every non-missing value is a number (NaN = missing);
//   categorical  strings (codes into levels, -1 = missing);
//   binary       a categorical with exactly two distinct values;
//   id           an identifier, unique per row (never used as a feature);
//   text         long free text (never used as a feature; usable in templates).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/core.hpp"

namespace segmenta {

enum class ColumnType { numeric, categorical, binary, id, text };

/// "numeric", "categorical", "binary", "id", "text".
std::string_view to_string(ColumnType t) noexcept;
/// Inverse of to_string; throws InvalidArgument naming `what` on an unknown name.
ColumnType parse_column_type(std::string_view name, std::string_view what);

/// One typed column of n values.
struct Column {
  std::string name;
  ColumnType type = ColumnType::categorical;

  // numeric: one double per row, NaN = missing.
  std::vector<double> numbers;
  // numeric: every present value was written as an integer (no '.', no exponent),
  // so it prints without a decimal point (as pandas prints an int64 column).
  bool integral = false;

  // categorical / binary / id / text: one code per row into `levels`, -1 = missing.
  // Levels are kept in order of first appearance.
  std::vector<std::int32_t> codes;
  std::vector<std::string> levels;

  std::size_t missing = 0;

  // numeric, read from text: the decimal mark of its numbers, '.' (a point; commas
  // only as thousands separators) or ',' (a decimal comma); 0 when not read from text.
  // model.json marks the decimal-comma columns, so that scoring reads new rows as the
  // run read its own.
  char decimal = 0;

  bool is_numeric() const noexcept { return type == ColumnType::numeric; }
  std::size_t size() const noexcept { return is_numeric() ? numbers.size() : codes.size(); }
  bool is_missing(std::size_t row) const noexcept;
  /// The value of `row` as text: numbers as pandas prints them (integers without a
  /// decimal point, other values in shortest round-trip form), "" when missing.
  std::string text(std::size_t row) const;
  /// Levels sorted by code point (std::string order = OrdinalEncoder's order).
  std::vector<std::string> sorted_levels() const;
};

/// A table of typed columns, all with `rows()` entries.
class Table {
 public:
  Table() = default;
  Table(std::string source, std::vector<Column> columns);

  const std::string& source() const noexcept { return source_; }
  std::size_t rows() const noexcept { return rows_; }
  std::size_t cols() const noexcept { return columns_.size(); }
  const Column& column(std::size_t j) const { return columns_.at(j); }
  Column& column(std::size_t j) { return columns_.at(j); }
  const std::vector<Column>& columns() const noexcept { return columns_; }
  /// Index of the column called `name`, or nullopt.
  std::optional<std::size_t> find(std::string_view name) const noexcept;
  /// Index of `name`; throws InvalidArgument naming `what` when absent.
  std::size_t index_of(std::string_view name, std::string_view what = "column") const;

  /// A new table with the given columns, in that order.
  Table select(const std::vector<std::size_t>& columns) const;
  /// A new table with the given rows, in that order.
  Table take_rows(const std::vector<std::size_t>& rows) const;
  /// Numeric columns stacked into a (rows, columns.size()) matrix; throws InvalidArgument
  /// if one is not numeric.
  MatrixD numeric_matrix(const std::vector<std::size_t>& columns) const;

 private:
  std::string source_;
  std::vector<Column> columns_;
  std::size_t rows_ = 0;
};

/// Resolves a column selection against a header: comma-separated names and/or
/// Python-style ranges of 0-based positions ("0:8", "3:", ":2", "5"), e.g.
/// "age,job", "0:8", "0:3,balance". Duplicates are an error. Throws ParameterError
/// naming `what` (the parameter) for unknown names or ranges out of bounds.
std::vector<std::size_t> resolve_columns(std::string_view spec, const std::vector<std::string>& header,
                                         std::string_view what = "columns");

}  // namespace segmenta
