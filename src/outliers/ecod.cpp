// ECOD (pyod 1.1.0 semantics) with frozen-ECDF scoring of new rows.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "segmenta/kernels.hpp"
#include "segmenta/outliers.hpp"

namespace segmenta {
namespace {

/// numpy.linspace(1/n, 1, n)[k]: k * ((1 - 1/n) / (n - 1)) + 1/n, the last entry
/// exactly 1. pyod's ECDF reads its probabilities from this ladder, so an ECDF value
/// #{...}/n is taken as ladder(count - 1), which can differ from count/n in the last bit.
class Ladder {
 public:
  explicit Ladder(std::size_t n)
      : n_(n), start_(1.0 / static_cast<double>(n)), step_((1.0 - start_) / static_cast<double>(n - 1)) {}
  double operator()(std::size_t k) const noexcept {
    return k + 1 == n_ ? 1.0 : static_cast<double>(k) * step_ + start_;
  }

 private:
  std::size_t n_;
  double start_, step_;
};

/// Sign of scipy.stats.skew (bias=True) of a column, with sums in row order as numpy
/// reduces axis 0 of a C-ordered array. scipy returns NaN where the second moment is
/// negligible (m2 <= (1e-15 mean)^2, e.g. a constant column) and pyod's scores would
/// then all be NaN; such a column gets sign 0 here.
int skew_sign_of(const double* v, std::size_t n) {
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += v[i];
  const double mean = sum / static_cast<double>(n);
  double s2 = 0.0, s3 = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = v[i] - mean;
    const double d2 = d * d;
    s2 += d2;
    s3 += d2 * d;
  }
  const double m2 = s2 / static_cast<double>(n), m3 = s3 / static_cast<double>(n);
  const double resolution_mean = 1e-15 * mean;
  if (m2 <= resolution_mean * resolution_mean) return 0;
  const double skew = m3 / std::pow(m2, 1.5);
  return (skew > 0) - (skew < 0);
}

/// O = max(U_l, U_r, U_skew) for tail scores U_l, U_r >= 0: the skewness-selected
/// score equals U_l or U_r unless the sign is 0, where it is their sum.
inline double combine(double ul, double ur, int sign) noexcept { return sign == 0 ? ul + ur : std::max(ul, ur); }

/// -log of every rung of the ladder: the tail scores of a column only ever take
/// these n values, so one table serves every feature (no log per element).
std::vector<double> neg_log_ladder(std::size_t n) {
  const Ladder ladder(n);
  std::vector<double> t(n);
  for (std::size_t k = 0; k < n; ++k) t[k] = -std::log(ladder(k));
  return t;
}

/// The distinct values of a sorted column (values equal under == merged, as the
/// searches of std::lower_bound/upper_bound see them), each with the number of
/// values below it and its own count.
struct DistinctCounts {
  std::vector<double> values;
  std::vector<std::size_t> below, count;
};

DistinctCounts distinct_counts(const double* s, std::size_t n) {
  DistinctCounts c;
  for (std::size_t i = 0; i < n;) {
    std::size_t e = i + 1;
    while (e < n && s[e] == s[i]) ++e;
    c.values.push_back(s[i]);
    c.below.push_back(i);
    c.count.push_back(e - i);
    i = e;
  }
  return c;
}

/// Maps a double to an unsigned key with the same order (-0.0 just below +0.0,
/// which compare equal and end up adjacent).
inline std::uint64_t order_key(double v) noexcept {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  return (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
}

/// Sorts a column's values with their row indices: LSD radix sort on 11-bit digits
/// of the order-preserving keys, skipping digits that all keys share. O(n) per pass,
/// at most 6 passes.
class ColumnSorter {
 public:
  explicit ColumnSorter(std::size_t n) : key_(n), key_tmp_(n), row_(n), row_tmp_(n) {}

  /// After the call, row(k) is the row of the k-th smallest value of v[0..n).
  void sort(const double* v) {
    const std::size_t n = key_.size();
    constexpr int kBits = 11, kPasses = 6;
    constexpr std::size_t kRadix = std::size_t{1} << kBits;
    std::vector<std::uint32_t> count(kPasses * kRadix, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = order_key(v[i]);
      key_[i] = k;
      row_[i] = static_cast<std::uint32_t>(i);
      for (int d = 0; d < kPasses; ++d) ++count[d * kRadix + ((k >> (d * kBits)) & (kRadix - 1))];
    }
    for (int d = 0; d < kPasses; ++d) {
      std::uint32_t* c = count.data() + d * kRadix;
      const std::uint64_t first_digit = (key_[0] >> (d * kBits)) & (kRadix - 1);
      if (c[first_digit] == n) continue;  // every key has this digit: the pass changes nothing
      std::uint32_t offset = 0;
      for (std::size_t b = 0; b < kRadix; ++b) {
        const std::uint32_t here = c[b];
        c[b] = offset;
        offset += here;
      }
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t k = key_[i];
        const std::uint32_t dst = c[(k >> (d * kBits)) & (kRadix - 1)]++;
        key_tmp_[dst] = k;
        row_tmp_[dst] = row_[i];
      }
      key_.swap(key_tmp_);
      row_.swap(row_tmp_);
    }
  }
  std::uint32_t row(std::size_t k) const noexcept { return row_[k]; }
  /// The k-th smallest value itself, decoded from its key.
  double value(std::size_t k) const noexcept {
    const std::uint64_t u = key_[k];
    const std::uint64_t bits = (u >> 63) ? (u & 0x7FFFFFFFFFFFFFFFULL) : ~u;
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }

 private:
  std::vector<std::uint64_t> key_, key_tmp_;
  std::vector<std::uint32_t> row_, row_tmp_;
};

/// Scratch memory of one running task. Tasks borrow a slot from a pool sized by the
/// thread count, so large buffers are allocated (and page-faulted) once per fit,
/// not once per task; which slot a task gets has no effect on its results.
struct Scratch {
  Scratch(std::size_t n, std::size_t width) : sorter(n), scores(width * n) {}
  ColumnSorter sorter;
  std::vector<double> scores;
};

class ScratchPool {
 public:
  ScratchPool(std::size_t slots, std::size_t n, std::size_t width) {
    for (std::size_t s = 0; s < slots; ++s) {
      slots_.push_back(std::make_unique<Scratch>(n, width));
      free_.push_back(s);
    }
  }
  std::size_t acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::size_t s = free_.back();
    free_.pop_back();
    return s;
  }
  void release(std::size_t s) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(s);
  }
  Scratch& operator[](std::size_t s) { return *slots_[s]; }

 private:
  std::vector<std::unique_ptr<Scratch>> slots_;
  std::vector<std::size_t> free_;
  std::mutex mutex_;
};

/// Columns handled per task: one cache line of a row holds 8 doubles, so wide
/// matrices are gathered 8 columns at a time.
std::size_t column_tile(std::size_t p) { return p >= 64 ? 8 : 1; }

void check_finite(ViewD x) {
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const double* r = x.row(i);
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (!std::isfinite(r[j]))
        throw InvalidArgument(
            fmt::format("x: a non-finite value ({}) at row {}, feature {}", format_double(r[j]), i, j));
  }
}

void check_contamination(double c) {
  if (!(c > 0.0 && c <= 0.5))
    throw ParameterError("contamination", fmt::format("must be in (0, 0.5], got {}", format_double(c)));
}

/// Row sums of o (n, p) in numpy's pairwise order (pyod's O.sum(axis=1)).
std::vector<double> row_sums(const MatrixD& o) {
  std::vector<double> s(o.rows());
  parallel_blocks(o.rows(), 4096, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t i = begin; i < end; ++i) s[i] = kernels::pairwise_sum(o.row(i), o.cols());
  });
  return s;
}

}  // namespace

double percentile_linear(std::vector<double> values, double q) {
  if (values.empty()) throw InvalidArgument("values: no value to take a percentile of");
  if (!(q >= 0.0 && q <= 100.0)) throw ParameterError("q", fmt::format("must be in [0, 100], got {}", format_double(q)));
  for (double v : values)
    if (std::isnan(v)) throw InvalidArgument("values: NaN has no percentile rank");
  const std::size_t n = values.size();
  const double quantile = q / 100;
  const double virtual_index = static_cast<double>(n - 1) * quantile;
  std::size_t below, above;
  if (virtual_index >= static_cast<double>(n - 1)) {
    below = above = n - 1;
  } else {
    below = static_cast<std::size_t>(std::floor(virtual_index));
    above = below + 1;
  }
  const double t = virtual_index - static_cast<double>(below);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(below), values.end());
  const double a = values[below];
  const double b =
      above == below ? a : *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(below) + 1, values.end());
  // numpy's lerp: exact at both ends, symmetric rounding around t = 0.5.
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

EcodModel fit_ecod(ViewD x, const EcodParams& params) {
  check_contamination(params.contamination);
  if (x.rows() < 2)
    throw InvalidArgument(fmt::format("x: outlier detection needs at least 2 rows, got {}", x.rows()));
  if (x.cols() == 0) throw InvalidArgument("x: no feature column");
  if (x.rows() > UINT32_MAX) throw InvalidArgument(fmt::format("x: at most {} rows, got {}", UINT32_MAX, x.rows()));
  check_finite(x);

  const std::size_t n = x.rows(), p = x.cols();
  EcodModel m;
  m.contamination_ = params.contamination;
  m.sorted_ = MatrixD(p, n);
  m.feature_scores_ = MatrixD(n, p);
  m.skew_sign_.assign(p, 0);
  const std::vector<double> tail = neg_log_ladder(n);
  const std::size_t tile = column_tile(p);
  const Blocks tiles{p, tile};

  ScratchPool pool(std::min<std::size_t>(static_cast<std::size_t>(std::max(1, num_threads())), tiles.count()), n, tile);
  parallel_for(tiles.count(), [&](std::size_t t) {
    const std::size_t j0 = tiles.begin(t), width = tiles.size(t);
    const std::size_t slot = pool.acquire();
    Scratch& scratch = pool[slot];
    // Gather the tile's columns, one pass over the rows, into their rows of sorted_
    // (sorted in place below).
    for (std::size_t i = 0; i < n; ++i) {
      const double* r = x.row(i) + j0;
      for (std::size_t c = 0; c < width; ++c) m.sorted_(j0 + c, i) = r[c];
    }
    ColumnSorter& sorter = scratch.sorter;
    for (std::size_t c = 0; c < width; ++c) {
      double* sorted = m.sorted_.row(j0 + c);
      double* o = scratch.scores.data() + c * n;
      const int sign = skew_sign_of(sorted, n);
      m.skew_sign_[j0 + c] = sign;
      sorter.sort(sorted);
      for (std::size_t k = 0; k < n; ++k) sorted[k] = sorter.value(k);
      // A tie group [a, b) of the sorted column has #{<= x} = b and #{>= x} = n - a.
      for (std::size_t a = 0; a < n;) {
        std::size_t b = a + 1;
        while (b < n && sorted[b] == sorted[a]) ++b;
        const double score = combine(tail[b - 1], tail[n - a - 1], sign);
        for (std::size_t k = a; k < b; ++k) o[sorter.row(k)] = score;
        a = b;
      }
    }
    const double* scores = scratch.scores.data();
    for (std::size_t i = 0; i < n; ++i) {
      double* r = m.feature_scores_.row(i) + j0;
      for (std::size_t c = 0; c < width; ++c) r[c] = scores[c * n + i];
    }
    pool.release(slot);
  });

  m.scores_ = row_sums(m.feature_scores_);
  m.threshold_ = percentile_linear(m.scores_, 100 * (1 - params.contamination));
  m.labels_.resize(n);
  for (std::size_t i = 0; i < n; ++i) m.labels_[i] = m.scores_[i] > m.threshold_ ? 1 : 0;
  return m;
}

std::vector<double> EcodModel::score(ViewD x, MatrixD* per_feature) const {
  if (sorted_.empty()) throw NotFitted("the outlier model is not fitted");
  const std::size_t n = sorted_.cols(), p = sorted_.rows(), m = x.rows();
  if (x.cols() != p)
    throw InvalidArgument(fmt::format("x: {} features, the outlier model was fitted on {}", x.cols(), p));
  check_finite(x);
  // The ladder of the training set plus the one scored row; a table of its logs
  // pays off once the batch needs more logs than the table holds.
  const Ladder ladder(n + 1);
  const std::vector<double> tail = 2 * m * p > n + 1 ? neg_log_ladder(n + 1) : std::vector<double>();
  auto neg_log = [&](std::size_t k) { return tail.empty() ? -std::log(ladder(k)) : tail[k]; };
  // Each column's distinct training values with the counts below and up to each:
  // the counts a row needs come from a search among the distinct values, far fewer
  // than n for ordinal codes and indicators (and the same counts as searching the
  // n sorted values).
  std::vector<DistinctCounts> columns(p);
  for (std::size_t j = 0; j < p; ++j) columns[j] = distinct_counts(sorted_.row(j), n);
  MatrixD o(m, p);
  parallel_blocks(m, 256, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t i = begin; i < end; ++i) {
      const double* r = x.row(i);
      double* oi = o.row(i);
      for (std::size_t j = 0; j < p; ++j) {
        const DistinctCounts& c = columns[j];
        const double v = r[j];
        const std::size_t d = c.values.size();
        const std::size_t k = static_cast<std::size_t>(std::lower_bound(c.values.begin(), c.values.end(), v) - c.values.begin());
        const std::size_t below = k < d ? c.below[k] : n;  // #{train < v}
        // With the row appended, #{<= v} = le + 1 and #{>= v} = ge + 1.
        const std::size_t le = k < d && c.values[k] == v ? c.below[k] + c.count[k] : below;
        const std::size_t ge = n - below;
        oi[j] = combine(neg_log(le), neg_log(ge), skew_sign_[j]);
      }
    }
  });
  std::vector<double> scores = row_sums(o);
  if (per_feature) *per_feature = std::move(o);
  return scores;
}

bool EcodModel::is_training_set(ViewD x) const {
  const std::size_t n = sorted_.cols(), p = sorted_.rows();
  if (sorted_.empty() || x.rows() != n || x.cols() != p) return false;
  std::vector<double> column(n);
  for (std::size_t j = 0; j < p; ++j) {
    for (std::size_t i = 0; i < n; ++i) column[i] = x(i, j);
    if (!std::all_of(column.begin(), column.end(), [](double v) { return std::isfinite(v); })) return false;
    std::sort(column.begin(), column.end());
    if (!std::equal(column.begin(), column.end(), sorted_.row(j))) return false;
  }
  return true;
}

std::vector<double> EcodModel::score_training(ViewD x, MatrixD* per_feature) const {
  if (sorted_.empty()) throw NotFitted("ECOD: the model is not fitted");
  if (!is_training_set(x)) throw InvalidArgument("ECOD: in-sample scoring needs exactly the training rows");
  const std::size_t n = sorted_.cols(), p = sorted_.rows();
  const std::vector<double> tail = neg_log_ladder(n);
  MatrixD o(n, p);
  parallel_blocks(n, 256, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t i = begin; i < end; ++i) {
      const double* r = x.row(i);
      double* oi = o.row(i);
      for (std::size_t j = 0; j < p; ++j) {
        const double* s = sorted_.row(j);
        // The row is one of the n: #{<= v} = le >= 1 and #{>= v} = ge >= 1, as in fit_ecod's tie groups.
        const std::size_t le = static_cast<std::size_t>(std::upper_bound(s, s + n, r[j]) - s);
        const std::size_t ge = n - static_cast<std::size_t>(std::lower_bound(s, s + n, r[j]) - s);
        oi[j] = combine(tail[le - 1], tail[ge - 1], skew_sign_[j]);
      }
    }
  });
  std::vector<double> scores = row_sums(o);
  if (per_feature) *per_feature = std::move(o);
  return scores;
}

std::vector<std::uint8_t> EcodModel::predict(ViewD x) const {
  const std::vector<double> s = score(x);
  std::vector<std::uint8_t> labels(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) labels[i] = s[i] > threshold_ ? 1 : 0;
  return labels;
}

std::vector<double> EcodModel::outlier_feature_means() const {
  if (feature_scores_.empty())
    throw NotFitted("the outlier model keeps no training scores to average (it was not fitted here)");
  const std::size_t p = feature_scores_.cols();
  std::vector<double> sum(p, 0.0);
  std::size_t flagged = 0;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    if (!labels_[i]) continue;
    ++flagged;
    const double* r = feature_scores_.row(i);
    for (std::size_t j = 0; j < p; ++j) sum[j] += r[j];
  }
  if (flagged > 0)
    for (double& s : sum) s /= static_cast<double>(flagged);
  return sum;
}

EcodModel EcodModel::from_parts(MatrixD sorted_columns, std::vector<int> skew_sign, double threshold,
                                double contamination) {
  const std::size_t p = sorted_columns.rows(), n = sorted_columns.cols();
  if (p == 0 || n < 2)
    throw ModelFormatError(
        fmt::format("ECOD model: sorted columns must be (features >= 1, rows >= 2), got ({}, {})", p, n));
  if (skew_sign.size() != p)
    throw ModelFormatError(fmt::format("ECOD model: {} skewness signs for {} features", skew_sign.size(), p));
  for (std::size_t j = 0; j < p; ++j) {
    if (skew_sign[j] < -1 || skew_sign[j] > 1)
      throw ModelFormatError(fmt::format("ECOD model: skewness sign of feature {} is {}, not -1, 0 or 1", j, skew_sign[j]));
    const double* s = sorted_columns.row(j);
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s[i]))
        throw ModelFormatError(fmt::format("ECOD model: non-finite training value in feature {}", j));
      if (i > 0 && s[i] < s[i - 1])
        throw ModelFormatError(fmt::format("ECOD model: training column {} is not sorted", j));
    }
  }
  if (!std::isfinite(threshold)) throw ModelFormatError("ECOD model: the threshold is not finite");
  if (!(contamination > 0.0 && contamination <= 0.5))
    throw ModelFormatError(
        fmt::format("ECOD model: contamination must be in (0, 0.5], got {}", format_double(contamination)));
  EcodModel m;
  m.sorted_ = std::move(sorted_columns);
  m.skew_sign_ = std::move(skew_sign);
  m.threshold_ = threshold;
  m.contamination_ = contamination;
  return m;
}

}  // namespace segmenta
