// Ordinal and one-hot encoders (scikit-learn OrdinalEncoder / pandas get_dummies semantics).
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "prep/numeric.hpp"
#include "segmenta/prep.hpp"

namespace segmenta {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Sorted distinct levels that at least one row uses (a table taken from a larger
/// one keeps levels no row refers to any more).
std::vector<std::string> present_levels(const Column& col) {
  std::vector<char> used(col.levels.size(), 0);
  for (std::int32_t c : col.codes)
    if (c >= 0) used[static_cast<std::size_t>(c)] = 1;
  std::vector<std::string> out;
  for (std::size_t k = 0; k < col.levels.size(); ++k)
    if (used[k]) out.push_back(col.levels[k]);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// For each level of `col`, its index in the sorted `categories`, or -1 when unseen.
std::vector<std::int64_t> level_index(const Column& col, const std::vector<std::string>& categories) {
  std::vector<std::int64_t> idx(col.levels.size(), -1);
  for (std::size_t k = 0; k < col.levels.size(); ++k) {
    auto it = std::lower_bound(categories.begin(), categories.end(), col.levels[k]);
    if (it != categories.end() && *it == col.levels[k]) idx[k] = it - categories.begin();
  }
  return idx;
}

void check_column(const Column& col, const std::string& expected, bool numeric) {
  if (col.name != expected)
    throw InvalidArgument(fmt::format("column '{}': the encoding was fitted on column '{}'", col.name, expected));
  if (col.is_numeric() != numeric)
    throw InvalidArgument(fmt::format("column '{}' was {} when the encoding was fitted, now {}", expected,
                                      numeric ? "numeric" : "categorical", to_string(col.type)));
}

[[noreturn]] void throw_unknown(const Column& col, std::size_t row) {
  throw InvalidArgument(fmt::format("column '{}': value '{}' at row {} was not seen at fit (unknown category)",
                                    col.name, col.text(row), row));
}

}  // namespace

OrdinalEncoding fit_ordinal(const Column& col) {
  OrdinalEncoding e;
  e.column = col.name;
  e.numeric = col.is_numeric();
  if (e.numeric) {
    double lo = 0, hi = 0;
    const auto& x = col.numbers;
    if (detail::small_integer_range(x.data(), x.size(), 1, detail::counting_limit(x.size()), &lo, &hi)) {
      std::vector<char> seen(static_cast<std::size_t>(hi - lo) + 1, 0);
      for (double v : x)
        if (!std::isnan(v)) seen[static_cast<std::size_t>(v - lo)] = 1;
      for (std::size_t k = 0; k < seen.size(); ++k)
        if (seen[k]) e.number_categories.push_back(lo + static_cast<double>(k));
      return e;
    }
    std::vector<double> v;
    v.reserve(col.numbers.size());
    for (double x : col.numbers)
      if (!std::isnan(x)) v.push_back(x);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    e.number_categories = std::move(v);
  } else {
    e.categories = present_levels(col);
  }
  return e;
}

std::vector<double> OrdinalEncoding::transform(const Column& col, UnknownPolicy unknown) const {
  check_column(col, column, numeric);
  const std::size_t n = col.size();
  std::vector<double> out(n);
  if (numeric) {
    const auto& cats = number_categories;
    double lo = 0, hi = 0;
    if (detail::small_integer_range(cats.data(), cats.size(), 1, detail::counting_limit(n), &lo, &hi)) {
      // Integer categories: a direct code table instead of a binary search per row.
      std::vector<std::int32_t> code(static_cast<std::size_t>(hi - lo) + 1, -1);
      for (std::size_t k = 0; k < cats.size(); ++k) code[static_cast<std::size_t>(cats[k] - lo)] = static_cast<std::int32_t>(k);
      for (std::size_t i = 0; i < n; ++i) {
        const double x = col.numbers[i];
        if (std::isnan(x)) {
          out[i] = kNaN;
          continue;
        }
        const std::int32_t k = x >= lo && x <= hi && x == std::floor(x) ? code[static_cast<std::size_t>(x - lo)] : -1;
        if (k < 0) {
          if (unknown == UnknownPolicy::error) throw_unknown(col, i);
          out[i] = kNaN;
        } else {
          out[i] = static_cast<double>(k);
        }
      }
      return out;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const double x = col.numbers[i];
      if (std::isnan(x)) {
        out[i] = kNaN;
        continue;
      }
      auto it = std::lower_bound(cats.begin(), cats.end(), x);
      if (it != cats.end() && *it == x) {
        out[i] = static_cast<double>(it - cats.begin());
      } else {
        if (unknown == UnknownPolicy::error) throw_unknown(col, i);
        out[i] = kNaN;
      }
    }
    return out;
  }
  const std::vector<std::int64_t> idx = level_index(col, categories);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t c = col.codes[i];
    if (c < 0) {
      out[i] = kNaN;
      continue;
    }
    const std::int64_t k = idx[static_cast<std::size_t>(c)];
    if (k < 0) {
      if (unknown == UnknownPolicy::error) throw_unknown(col, i);
      out[i] = kNaN;
    } else {
      out[i] = static_cast<double>(k);
    }
  }
  return out;
}

OneHotEncoding fit_onehot(const Column& col) {
  if (col.is_numeric())
    throw InvalidArgument(fmt::format("column '{}' is numeric; one-hot encoding needs a categorical column",
                                      col.name));
  OneHotEncoding e;
  e.column = col.name;
  e.categories = present_levels(col);
  return e;
}

void OneHotEncoding::transform(const Column& col, double* out, std::size_t ldo, UnknownPolicy unknown) const {
  detail::onehot_rows(*this, col, out, ldo, 0, col.size(), unknown);
}

void detail::onehot_rows(const OneHotEncoding& e, const Column& col, double* out, std::size_t ldo, std::size_t begin,
                         std::size_t end, UnknownPolicy unknown) {
  const std::string& column = e.column;
  const std::vector<std::string>& categories = e.categories;
  const bool missing_indicator = e.missing_indicator;
  check_column(col, column, false);
  const std::size_t width = e.size();
  if (ldo < width)
    throw InvalidArgument(fmt::format("column '{}': a row stride of {} is below its {} indicators", column, ldo, width));
  const std::vector<std::int64_t> idx = level_index(col, categories);
  const std::int64_t shift = e.drop_first && !categories.empty() ? 1 : 0;
  for (std::size_t i = begin; i < end; ++i) {
    double* o = out + i * ldo;
    std::fill(o, o + width, 0.0);
    const std::int32_t c = col.codes[i];
    std::int64_t k = c < 0 ? -1 : idx[static_cast<std::size_t>(c)];
    if (c >= 0 && k < 0 && unknown == UnknownPolicy::error) throw_unknown(col, i);
    if (k < 0) {
      if (missing_indicator) o[width - 1] = 1.0;
      continue;
    }
    k -= shift;
    if (k >= 0) o[k] = 1.0;
  }
}

std::vector<std::string> OneHotEncoding::feature_names() const {
  std::vector<std::string> names;
  names.reserve(size());
  for (std::size_t k = drop_first && !categories.empty() ? 1 : 0; k < categories.size(); ++k)
    names.push_back(column + "_" + categories[k]);
  if (missing_indicator) names.push_back(column + "_nan");
  return names;
}

}  // namespace segmenta
