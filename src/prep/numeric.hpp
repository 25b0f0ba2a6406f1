// Internal helpers of the prep module.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/prep.hpp"

namespace segmenta::detail {

/// True when every present (non-NaN) value of values[0], values[stride], ... is an
/// integer and they span at most `limit` consecutive integers (at least one value
/// present); *lo and *hi receive the smallest and largest. Integer columns (ages,
/// balances, ordinal codes) are then counted in O(n + range) instead of sorted.
inline bool small_integer_range(const double* values, std::size_t n, std::size_t stride, std::size_t limit,
                                double* lo, double* hi) {
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = values[i * stride];
    if (std::isnan(v)) continue;
    if (!(std::abs(v) < 4503599627370496.0) || v != std::floor(v)) return false;  // |v| < 2^52, integral
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  if (mn > mx || mx - mn >= static_cast<double>(limit)) return false;
  *lo = mn;
  *hi = mx;
  return true;
}

/// The range limit used with small_integer_range for n values: counting beats
/// sorting while the range stays within a few times n.
inline std::size_t counting_limit(std::size_t n) { return std::min<std::size_t>(std::max<std::size_t>(4 * n, 4096), 1u << 24); }

/// Fits a power transformer on x (n, p): lambdas for the columns with fit_lambda[j]
/// set (lambda 1 for the others and for constant columns), then the scaler on the
/// transformed columns. output, when given, receives transform(x) (bit for bit)
/// without transforming twice; it may be x's own matrix (transformed in place). Inputs are trusted (validated by the callers).
PowerTransformerModel fit_power_columns(ViewD x, const std::vector<char>& fit_lambda, bool standardize,
                                        Diagnostics* diag, const std::vector<std::string>& names, MatrixD* output);

}  // namespace segmenta::detail
