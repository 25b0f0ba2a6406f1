// Ordinal and one-hot encoders (scikit-learn OrdinalEncoder / pandas get_dummies semantics).
#include <algorithm>
#include <cmath>
#include <iterator>
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
  if (e.numeric)
    e.number_categories = detail::ordinal_number_categories(detail::number_set(col.numbers.data(), col.numbers.size()),
                                                            col.numbers.size());
  else
    e.categories = present_levels(col);
  return e;
}

detail::NumberSet detail::number_set(const double* x, std::size_t n) {
  NumberSet s;
  double lo = 0, hi = 0;
  if (small_integer_range(x, n, 1, counting_limit(n), &lo, &hi)) {
    // Integers in a small range: counted instead of sorted.
    std::vector<char> seen(static_cast<std::size_t>(hi - lo) + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x[i];
      if (std::isnan(v)) continue;
      seen[static_cast<std::size_t>(v - lo)] = 1;
      if (v == 0) (std::signbit(v) ? s.negative_zero : s.positive_zero) = true;
    }
    for (std::size_t k = 0; k < seen.size(); ++k) {
      const double v = lo + static_cast<double>(k);
      if (seen[k] && v != 0) s.nonzero.push_back(v);
    }
    return s;
  }
  s.nonzero.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (std::isnan(v)) continue;
    if (!(std::abs(v) < 4503599627370496.0) || v != std::floor(v)) s.small_integers = false;
    if (v == 0)
      (std::signbit(v) ? s.negative_zero : s.positive_zero) = true;
    else
      s.nonzero.push_back(v);
  }
  std::sort(s.nonzero.begin(), s.nonzero.end());
  s.nonzero.erase(std::unique(s.nonzero.begin(), s.nonzero.end()), s.nonzero.end());
  s.nonzero.shrink_to_fit();
  return s;
}

void detail::merge_number_sets(NumberSet& into, const NumberSet& other) {
  std::vector<double> both;
  both.reserve(into.nonzero.size() + other.nonzero.size());
  std::set_union(into.nonzero.begin(), into.nonzero.end(), other.nonzero.begin(), other.nonzero.end(),
                 std::back_inserter(both));
  into.nonzero = std::move(both);
  into.negative_zero = into.negative_zero || other.negative_zero;
  into.positive_zero = into.positive_zero || other.positive_zero;
  into.small_integers = into.small_integers && other.small_integers;
}

std::vector<double> detail::ordinal_number_categories(const NumberSet& s, std::size_t rows) {
  if (!s.any()) return {};
  const bool zero = s.negative_zero || s.positive_zero;
  const double lo = s.nonzero.empty() ? 0.0 : zero ? std::min(0.0, s.nonzero.front()) : s.nonzero.front();
  const double hi = s.nonzero.empty() ? 0.0 : zero ? std::max(0.0, s.nonzero.back()) : s.nonzero.back();
  // small_integer_range's test on the whole column: counted, its zero is lo + k = +0.0.
  const bool counted = s.small_integers && hi - lo < static_cast<double>(counting_limit(rows));
  std::vector<double> out;
  out.reserve(s.nonzero.size() + 1);
  const auto positive = std::lower_bound(s.nonzero.begin(), s.nonzero.end(), 0.0);
  out.insert(out.end(), s.nonzero.begin(), positive);
  if (zero) out.push_back(counted || !s.negative_zero ? 0.0 : -0.0);
  out.insert(out.end(), positive, s.nonzero.end());
  return out;
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
