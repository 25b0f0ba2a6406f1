// Internal helpers of the prep module.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "segmenta/comm.hpp"
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

/// The distinct present values of some rows of a numeric column, as the ordinal
/// encoding's categories need them: the nonzero values (sorted, distinct), whether
/// -0.0 and +0.0 occur, and whether every present value is an integer of magnitude
/// below 2^52 (small_integer_range's test). Sets of disjoint rows merge exactly
/// (merge_number_sets), so ranks that each count their own rows get the set of all.
struct NumberSet {
  std::vector<double> nonzero;
  bool negative_zero = false, positive_zero = false;
  bool small_integers = true;
  bool any() const noexcept { return !nonzero.empty() || negative_zero || positive_zero; }
};
/// The set of values[0 .. n) (NaN skipped).
NumberSet number_set(const double* values, std::size_t n);
/// into := the set of both (the union of the values, the flags combined).
void merge_number_sets(NumberSet& into, const NumberSet& other);
/// fit_ordinal's number_categories for a column of `rows` rows whose present values
/// form `set`: the distinct values in increasing order. A zero is +0.0 when the column
/// is counted (small integers in a range below counting_limit(rows): lo + k), else the
/// zero the column holds, -0.0 when it holds both.
std::vector<double> ordinal_number_categories(const NumberSet& set, std::size_t rows);

/// OneHotEncoding::transform of the rows [begin, end) of col: row i's indicators at
/// out + i * ldo.
void onehot_rows(const OneHotEncoding& e, const Column& col, double* out, std::size_t ldo, std::size_t begin,
                 std::size_t end, UnknownPolicy unknown);

/// The rows of a preparation split into the nodes of the scaler's pairwise sums:
/// numpy's tree over n rows (halves rounded down to a multiple of 8, leaves of at
/// most 128 rows) cut at depth kPrepCutDepth, at most 64 nodes, a function of n
/// alone. Each node's column sums are the one-process subtree's bits, so adding the
/// nodes' sums up the same tree gives the one-process sums whoever computed each
/// node. Rank r of a communicator takes the nodes rank_blocks(count, r, size) (its
/// rows are contiguous); without a communicator (or with one rank) every node is
/// this process's.
struct PrepShare {
  const Communicator* comm = nullptr;  // null: every node here, nothing exchanged
  std::size_t n = 0;
  std::vector<std::size_t> bounds;     // node k holds rows [bounds[k], bounds[k + 1])
  std::size_t first = 0, last = 0;     // this rank's nodes [first, last)
  bool every_row = false;              // transform all rows here, gather none
  static PrepShare of(std::size_t n, const Communicator* comm);
  bool distributed() const noexcept { return comm != nullptr; }
  std::size_t nodes() const noexcept { return bounds.size() - 1; }
  std::size_t begin_row() const noexcept { return bounds[first]; }
  std::size_t end_row() const noexcept { return bounds[last]; }
  /// The rows this rank encodes and transforms: its own, or all with every_row.
  std::size_t begin_transform() const noexcept { return every_row ? 0 : begin_row(); }
  std::size_t end_transform() const noexcept { return every_row ? n : end_row(); }
};
inline constexpr int kPrepCutDepth = 6;

/// Fits a power transformer on x (n, p): lambdas for the columns with fit_lambda[j]
/// set (lambda 1 for the others and for constant columns), then the scaler on the
/// transformed columns. output, when given, receives transform(x) (bit for bit)
/// without transforming twice; it may be x's own matrix (transformed in place). Inputs are trusted (validated by the callers).
/// With a distributed share, only the rows [begin_transform, end_transform) of x are
/// read, output must be x's own matrix, and (unless every_row) its other rows are
/// filled by the gather of every rank's transformed rows: each rank returns the
/// one-process model and output.
PowerTransformerModel fit_power_columns(ViewD x, const std::vector<char>& fit_lambda, bool standardize,
                                        Diagnostics* diag, const std::vector<std::string>& names, MatrixD* output,
                                        const PrepShare* share = nullptr);

}  // namespace segmenta::detail
