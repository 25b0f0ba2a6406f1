// ECOD (pyod 1.1.0 semantics) with frozen-ECDF scoring of new rows.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <mutex>

#include <fmt/format.h>

#include "core/block_share.hpp"
#include "core/order_select.hpp"
#include "segmenta/kernels.hpp"
#include "segmenta/outliers.hpp"

namespace segmenta {
namespace {

using detail::key_value;
using detail::order_key;

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

/// Runs step(i, begin, end, acc) for the rows i of [r0, r1) in row order, for x's
/// columns in chunks of 8 on the threads; acc holds the chunk's slice of `running`
/// (`copies` slices of p values each: acc[c * 8 + k] is running[c * p + j0 + k]),
/// kept in a local array over the rows and written back at the end.
template <class Step>
void over_rows(ViewD x, std::size_t r0, std::size_t r1, std::span<double> running, std::size_t copies, Step&& step) {
  const std::size_t p = x.cols();
  const Blocks chunks{p, 8};
  parallel_for(chunks.count(), [&](std::size_t c) {
    const std::size_t j0 = chunks.begin(c), w = chunks.size(c);
    double acc[2 * 8];
    for (std::size_t s = 0; s < copies; ++s)
      for (std::size_t k = 0; k < w; ++k) acc[s * 8 + k] = running[s * p + j0 + k];
    for (std::size_t i = r0; i < r1; ++i) step(x.row(i) + j0, j0, w, acc);
    for (std::size_t s = 0; s < copies; ++s)
      for (std::size_t k = 0; k < w; ++k) running[s * p + j0 + k] = acc[s * 8 + k];
  });
}

/// Signs of scipy.stats.skew (bias=True) of x's columns, with the sums in row order
/// as numpy reduces axis 0 of a C-ordered array: each column's sum, then its sums of
/// squared and cubed deviations from the mean, each a running sum along the rows.
/// scipy returns NaN where the second moment is negligible (m2 <= (1e-15 mean)^2,
/// e.g. a constant column) and pyod's scores would then all be NaN; such a column
/// gets sign 0 here. On several ranks (a distributed share of row blocks) each sum is
/// an ordered fold (Communicator::fold_in_rank_order): a rank carries the running
/// sums on over its rows from where the rank before left them, so every sum takes
/// exactly the additions of one process (p, then 2 p doubles travel).
std::vector<int> skew_signs(ViewD x, const detail::BlockShare& share, const Blocks& row_blocks) {
  const std::size_t n = x.rows(), p = x.cols();
  const std::size_t r0 = share.distributed() ? share.begin_row(row_blocks) : 0;
  const std::size_t r1 = share.distributed() ? share.end_row(row_blocks) : n;
  auto fold = [&](std::span<double> running, const std::function<void(std::span<double>)>& add_mine) {
    if (share.distributed())
      share.comm->fold_in_rank_order(running, add_mine);
    else
      add_mine(running);
  };
  std::vector<double> sum(p, 0.0);
  fold(sum, [&](std::span<double> running) {
    over_rows(x, r0, r1, running, 1, [](const double* r, std::size_t, std::size_t w, double* acc) {
      for (std::size_t k = 0; k < w; ++k) acc[k] += r[k];
    });
  });
  std::vector<double> mean(p);
  for (std::size_t j = 0; j < p; ++j) mean[j] = sum[j] / static_cast<double>(n);
  std::vector<double> moments(2 * p, 0.0);  // the squared deviations' sums, then the cubed ones'
  fold(moments, [&](std::span<double> running) {
    over_rows(x, r0, r1, running, 2, [&](const double* r, std::size_t j0, std::size_t w, double* acc) {
      for (std::size_t k = 0; k < w; ++k) {
        const double d = r[k] - mean[j0 + k];
        const double d2 = d * d;
        acc[k] += d2;
        acc[8 + k] += d2 * d;
      }
    });
  });
  std::vector<int> sign(p);
  for (std::size_t j = 0; j < p; ++j) {
    const double m2 = moments[j] / static_cast<double>(n), m3 = moments[p + j] / static_cast<double>(n);
    const double resolution_mean = 1e-15 * mean[j];
    if (m2 <= resolution_mean * resolution_mean) {
      sign[j] = 0;
      continue;
    }
    const double skew = m3 / std::pow(m2, 1.5);
    sign[j] = (skew > 0) - (skew < 0);
  }
  return sign;
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

/// Sorts the order-preserving keys of a column: LSD radix sort on 11-bit digits,
/// skipping digits that all keys share. O(n) per pass, at most 6 passes; `key` holds
/// the sorted keys afterwards (`tmp` is scratch of the same size).
void radix_sort_keys(std::vector<std::uint64_t>& key, std::vector<std::uint64_t>& tmp) {
  const std::size_t n = key.size();
  if (n == 0) return;
  constexpr int kBits = 11, kPasses = 6;
  constexpr std::size_t kRadix = std::size_t{1} << kBits;
  std::vector<std::uint32_t> count(kPasses * kRadix, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = key[i];
    for (int d = 0; d < kPasses; ++d) ++count[d * kRadix + ((k >> (d * kBits)) & (kRadix - 1))];
  }
  for (int d = 0; d < kPasses; ++d) {
    std::uint32_t* c = count.data() + d * kRadix;
    const std::uint64_t first_digit = (key[0] >> (d * kBits)) & (kRadix - 1);
    if (c[first_digit] == n) continue;  // every key has this digit: the pass changes nothing
    std::uint32_t offset = 0;
    for (std::size_t b = 0; b < kRadix; ++b) {
      const std::uint32_t here = c[b];
      c[b] = offset;
      offset += here;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = key[i];
      tmp[c[(k >> (d * kBits)) & (kRadix - 1)]++] = k;
    }
    key.swap(tmp);
  }
}

/// The distinct values of sorted keys (values equal under == merged, as the
/// searches of std::lower_bound/upper_bound see them: -0.0 and +0.0 are one value,
/// kept as the first of them) with the cumulative counts.
EcodColumn column_of_sorted_keys(const std::vector<std::uint64_t>& key) {
  EcodColumn c;
  const std::size_t n = key.size();
  for (std::size_t i = 0; i < n;) {
    const double v = key_value(key[i]);
    std::size_t e = i + 1;
    while (e < n && key_value(key[e]) == v) ++e;
    c.values.push_back(v);
    c.upto.push_back(static_cast<std::uint32_t>(e));
    i = e;
  }
  c.values.shrink_to_fit();
  c.upto.shrink_to_fit();
  return c;
}

/// A rank's part of a column: its values' distinct order keys, ascending (-0.0 and
/// +0.0 kept apart: their order decides which one a merged column keeps), with how
/// many of its values have each.
struct KeyRuns {
  std::vector<std::uint64_t> keys;
  std::vector<std::uint32_t> counts;
};

KeyRuns runs_of_sorted_keys(const std::vector<std::uint64_t>& key) {
  KeyRuns r;
  const std::size_t n = key.size();
  for (std::size_t i = 0; i < n;) {
    std::size_t e = i + 1;
    while (e < n && key[e] == key[i]) ++e;
    r.keys.push_back(key[i]);
    r.counts.push_back(static_cast<std::uint32_t>(e - i));
    i = e;
  }
  return r;
}

/// The union of two ranks' runs, the counts of a key present in both added (exact:
/// whole numbers).
KeyRuns merge_runs(const KeyRuns& a, const KeyRuns& b) {
  KeyRuns m;
  m.keys.reserve(a.keys.size() + b.keys.size());
  m.counts.reserve(a.keys.size() + b.keys.size());
  std::size_t i = 0, k = 0;
  while (i < a.keys.size() || k < b.keys.size()) {
    if (k == b.keys.size() || (i < a.keys.size() && a.keys[i] < b.keys[k])) {
      m.keys.push_back(a.keys[i]);
      m.counts.push_back(a.counts[i++]);
    } else if (i == a.keys.size() || b.keys[k] < a.keys[i]) {
      m.keys.push_back(b.keys[k]);
      m.counts.push_back(b.counts[k++]);
    } else {
      m.keys.push_back(a.keys[i]);
      m.counts.push_back(a.counts[i++] + b.counts[k++]);
    }
  }
  return m;
}

/// The column of every rank's runs merged: the distinct values under == (-0.0 and
/// +0.0 one value, kept as the first: what column_of_sorted_keys makes of the sorted
/// keys of all the values) with the cumulative counts.
EcodColumn column_of_runs(const KeyRuns& r) {
  EcodColumn c;
  std::uint32_t upto = 0;
  for (std::size_t k = 0; k < r.keys.size(); ++k) {
    const double v = key_value(r.keys[k]);
    upto += r.counts[k];
    if (!c.values.empty() && c.values.back() == v) {
      c.upto.back() = upto;
    } else {
      c.values.push_back(v);
      c.upto.push_back(upto);
    }
  }
  c.values.shrink_to_fit();
  c.upto.shrink_to_fit();
  return c;
}

/// #{train < v} and #{train <= v} of a column, by a search among its distinct values.
struct Counts {
  std::size_t below, le;
};
inline Counts counts_of(const EcodColumn& c, double v, std::size_t n) noexcept {
  const std::size_t d = c.values.size();
  const std::size_t k = static_cast<std::size_t>(std::lower_bound(c.values.begin(), c.values.end(), v) - c.values.begin());
  const std::size_t below = k == 0 ? 0 : k < d ? c.upto[k - 1] : n;
  const std::size_t le = k < d && c.values[k] == v ? c.upto[k] : below;
  return {below, le};
}

/// Scratch memory of one running task: the tile's columns in row order and one
/// column's keys with the sort's buffer. Tasks borrow a slot from a pool sized by
/// the thread count, so the buffers are allocated (and page-faulted) once per fit,
/// not once per task; which slot a task gets has no effect on its results.
struct Scratch {
  Scratch(std::size_t n, std::size_t width) : columns(width * n), key(n), tmp(n) {}
  std::vector<double> columns;
  std::vector<std::uint64_t> key, tmp;
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
  m.n_train_ = n;
  m.columns_.resize(p);
  const std::size_t tile = column_tile(p);
  const Blocks tiles{p, tile};
  // The row blocks of the scores; on several ranks each rank's share of them is also
  // the rows whose values it sorts and sums.
  const Blocks row_blocks{n, 1024};
  const detail::BlockShare share = detail::BlockShare::of(params.comm, row_blocks.count());
  const std::size_t r0 = share.distributed() ? share.begin_row(row_blocks) : 0;
  const std::size_t r1 = share.distributed() ? share.end_row(row_blocks) : n, mine = r1 - r0;

  m.skew_sign_ = skew_signs(x, share, row_blocks);

  // Each column in turn: this rank's values of it sorted (all of them for one
  // process). One process keeps them as the distinct values with their cumulative
  // counts; on several ranks each rank keeps its distinct keys with their counts, the
  // ranks' lists are gathered and merged (counts added: exact), which gives every
  // rank the column of all the values, as one process has it.
  std::vector<KeyRuns> runs(share.distributed() ? p : 0);
  if (mine > 0) {
    ScratchPool pool(std::min<std::size_t>(static_cast<std::size_t>(std::max(1, num_threads())), tiles.count()),
                     mine, tile);
    parallel_for(tiles.count(), [&](std::size_t t) {
      const std::size_t j0 = tiles.begin(t), width = tiles.size(t);
      const std::size_t slot = pool.acquire();
      Scratch& scratch = pool[slot];
      // Gather the tile's columns, one pass over the rows.
      for (std::size_t i = r0; i < r1; ++i) {
        const double* r = x.row(i) + j0;
        for (std::size_t c = 0; c < width; ++c) scratch.columns[c * mine + (i - r0)] = r[c];
      }
      for (std::size_t c = 0; c < width; ++c) {
        const double* column = scratch.columns.data() + c * mine;
        for (std::size_t i = 0; i < mine; ++i) scratch.key[i] = order_key(column[i]);
        radix_sort_keys(scratch.key, scratch.tmp);
        if (share.distributed())
          runs[j0 + c] = runs_of_sorted_keys(scratch.key);
        else
          m.columns_[j0 + c] = column_of_sorted_keys(scratch.key);
      }
      pool.release(slot);
    });
  }
  if (params.sorted_values) *params.sorted_values += mine * p;
  if (share.distributed()) {
    // This rank's lists as bytes: per column its count of distinct keys, the keys and
    // the counts (12 bytes a distinct value); every rank receives every rank's.
    std::string bytes;
    auto put = [&](const void* data, std::size_t size) { bytes.append(static_cast<const char*>(data), size); };
    for (std::size_t j = 0; j < p; ++j) {
      const std::int64_t d = static_cast<std::int64_t>(runs[j].keys.size());
      put(&d, sizeof d);
      put(runs[j].keys.data(), runs[j].keys.size() * sizeof(std::uint64_t));
      put(runs[j].counts.data(), runs[j].counts.size() * sizeof(std::uint32_t));
    }
    std::vector<KeyRuns>().swap(runs);
    const std::vector<std::string> parts = params.comm->allgather_bytes(bytes);
    std::string().swap(bytes);
    // Where each rank's list of each column starts in its part.
    std::vector<std::vector<std::size_t>> at(parts.size(), std::vector<std::size_t>(p));
    for (std::size_t r = 0; r < parts.size(); ++r) {
      std::size_t pos = 0;
      for (std::size_t j = 0; j < p; ++j) {
        std::int64_t d = 0;
        if (pos + sizeof d > parts[r].size()) throw Error("outlier model: the ranks' columns differ");
        std::memcpy(&d, parts[r].data() + pos, sizeof d);
        at[r][j] = pos;
        pos += sizeof d + static_cast<std::size_t>(d) * (sizeof(std::uint64_t) + sizeof(std::uint32_t));
        if (d < 0 || pos > parts[r].size()) throw Error("outlier model: the ranks' columns differ");
      }
      if (pos != parts[r].size()) throw Error("outlier model: the ranks' columns differ");
    }
    parallel_for(p, [&](std::size_t j) {
      auto runs_of = [&](std::size_t r) {
        KeyRuns k;
        const char* q = parts[r].data() + at[r][j];
        std::int64_t d;
        std::memcpy(&d, q, sizeof d);
        k.keys.resize(static_cast<std::size_t>(d));
        k.counts.resize(static_cast<std::size_t>(d));
        std::memcpy(k.keys.data(), q + sizeof d, k.keys.size() * sizeof(std::uint64_t));
        std::memcpy(k.counts.data(), q + sizeof d + k.keys.size() * sizeof(std::uint64_t),
                    k.counts.size() * sizeof(std::uint32_t));
        return k;
      };
      KeyRuns merged = runs_of(0);
      for (std::size_t r = 1; r < parts.size(); ++r) merged = merge_runs(merged, runs_of(r));
      m.columns_[j] = column_of_runs(merged);
    });
    for (std::size_t j = 0; j < p; ++j)
      if (m.columns_[j].upto.empty() || m.columns_[j].upto.back() != n)
        throw Error("outlier model: the ranks' columns differ");
  }

  // Row scores: each row's tail scores looked up among the distinct values, a block
  // of rows at a time (a tie group [a, b) of a sorted column has #{<= x} = b and
  // #{>= x} = n - a, the counts the search gives).
  // On several ranks each rank scores the blocks of its share; the scores are
  // gathered in row order (a row's score depends on the row and the columns only).
  const std::vector<double> tail = neg_log_ladder(n);
  m.scores_.resize(n);
  detail::parallel_own_blocks(row_blocks, share, [&](std::size_t begin, std::size_t end, std::size_t) {
    std::vector<double> o((end - begin) * p);
    m.training_tail_scores(x, begin, end, tail, o.data());
    for (std::size_t i = begin; i < end; ++i) m.scores_[i] = kernels::pairwise_sum(o.data() + (i - begin) * p, p);
  });
  if (params.scored_rows) *params.scored_rows += share.end_row(row_blocks) - share.begin_row(row_blocks);
  detail::gather_block_rows(share, row_blocks, 1, m.scores_.data(), "outlier scores");
  m.threshold_ = percentile_linear(m.scores_, 100 * (1 - params.contamination));
  m.labels_.resize(n);
  std::vector<std::size_t> flagged;
  for (std::size_t i = 0; i < n; ++i) {
    m.labels_[i] = m.scores_[i] > m.threshold_ ? 1 : 0;
    if (m.labels_[i]) flagged.push_back(i);
  }

  // The flagged rows' mean tail score per feature, summed in row order.
  m.outlier_means_.assign(p, 0.0);
  parallel_for(p, [&](std::size_t j) {
    const EcodColumn& c = m.columns_[j];
    const int sign = m.skew_sign_[j];
    double sum = 0.0;
    for (std::size_t i : flagged) {
      const Counts k = counts_of(c, x(i, j), n);
      sum += combine(tail[k.le - 1], tail[n - k.below - 1], sign);
    }
    m.outlier_means_[j] = flagged.empty() ? 0.0 : sum / static_cast<double>(flagged.size());
  });
  return m;
}

void EcodModel::training_tail_scores(ViewD x, std::size_t begin, std::size_t end, const std::vector<double>& tail,
                                     double* o) const {
  const std::size_t n = n_train_, p = columns_.size();
  for (std::size_t i = begin; i < end; ++i) {
    const double* r = x.row(i);
    double* oi = o + (i - begin) * p;
    for (std::size_t j = 0; j < p; ++j) {
      // The row is one of the n: #{<= v} = le >= 1 and #{>= v} = ge >= 1.
      const Counts k = counts_of(columns_[j], r[j], n);
      oi[j] = combine(tail[k.le - 1], tail[n - k.below - 1], skew_sign_[j]);
    }
  }
}

std::vector<double> EcodModel::score(ViewD x, MatrixD* per_feature) const {
  if (columns_.empty()) throw NotFitted("the outlier model is not fitted");
  const std::size_t n = n_train_, p = columns_.size(), m = x.rows();
  if (x.cols() != p)
    throw InvalidArgument(fmt::format("x: {} features, the outlier model was fitted on {}", x.cols(), p));
  check_finite(x);
  // The ladder of the training set plus the one scored row; a table of its logs
  // pays off once the batch needs more logs than the table holds.
  const Ladder ladder(n + 1);
  const std::vector<double> tail = 2 * m * p > n + 1 ? neg_log_ladder(n + 1) : std::vector<double>();
  auto neg_log = [&](std::size_t k) { return tail.empty() ? -std::log(ladder(k)) : tail[k]; };
  MatrixD o(m, p);
  parallel_blocks(m, 256, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t i = begin; i < end; ++i) {
      const double* r = x.row(i);
      double* oi = o.row(i);
      for (std::size_t j = 0; j < p; ++j) {
        // With the row appended, #{<= v} = le + 1 and #{>= v} = ge + 1.
        const Counts k = counts_of(columns_[j], r[j], n);
        oi[j] = combine(neg_log(k.le), neg_log(n - k.below), skew_sign_[j]);
      }
    }
  });
  std::vector<double> scores = row_sums(o);
  if (per_feature) *per_feature = std::move(o);
  return scores;
}

bool EcodModel::is_training_set(ViewD x) const {
  const std::size_t n = n_train_, p = columns_.size();
  if (columns_.empty() || x.rows() != n || x.cols() != p) return false;
  std::vector<std::uint64_t> seen;
  for (std::size_t j = 0; j < p; ++j) {
    const EcodColumn& c = columns_[j];
    seen.assign(c.values.size(), 0);
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x(i, j);
      const auto it = std::lower_bound(c.values.begin(), c.values.end(), v);
      if (it == c.values.end() || !(*it == v)) return false;  // (NaN never equals)
      ++seen[static_cast<std::size_t>(it - c.values.begin())];
    }
    for (std::size_t k = 0; k < seen.size(); ++k)
      if (seen[k] != c.count(k)) return false;
  }
  return true;
}

std::vector<double> EcodModel::score_training(ViewD x, MatrixD* per_feature) const {
  if (columns_.empty()) throw NotFitted("ECOD: the model is not fitted");
  if (!is_training_set(x)) throw InvalidArgument("ECOD: in-sample scoring needs exactly the training rows");
  const std::size_t n = n_train_, p = columns_.size();
  const std::vector<double> tail = neg_log_ladder(n);
  MatrixD o(n, p);
  parallel_blocks(n, 256, [&](std::size_t begin, std::size_t end, std::size_t) {
    training_tail_scores(x, begin, end, tail, o.row(begin));
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
  if (outlier_means_.empty())
    throw NotFitted("the outlier model keeps no training scores to average (it was not fitted here)");
  return outlier_means_;
}

std::vector<double> EcodModel::sorted_column(std::size_t j) const {
  const EcodColumn& c = columns_.at(j);
  std::vector<double> out;
  out.reserve(n_train_);
  for (std::size_t k = 0; k < c.values.size(); ++k) out.insert(out.end(), c.count(k), c.values[k]);
  return out;
}

namespace {

void check_common(std::size_t p, const std::vector<int>& skew_sign, double threshold, double contamination) {
  if (skew_sign.size() != p)
    throw ModelFormatError(fmt::format("ECOD model: {} skewness signs for {} features", skew_sign.size(), p));
  for (std::size_t j = 0; j < p; ++j)
    if (skew_sign[j] < -1 || skew_sign[j] > 1)
      throw ModelFormatError(fmt::format("ECOD model: skewness sign of feature {} is {}, not -1, 0 or 1", j, skew_sign[j]));
  if (!std::isfinite(threshold)) throw ModelFormatError("ECOD model: the threshold is not finite");
  if (!(contamination > 0.0 && contamination <= 0.5))
    throw ModelFormatError(
        fmt::format("ECOD model: contamination must be in (0, 0.5], got {}", format_double(contamination)));
}

}  // namespace

EcodModel EcodModel::from_parts(std::vector<std::vector<double>> values,
                                std::vector<std::vector<std::uint64_t>> counts, std::uint64_t n_train,
                                std::vector<int> skew_sign, double threshold, double contamination) {
  const std::size_t p = values.size();
  if (p == 0) throw ModelFormatError("ECOD model: no feature column");
  if (n_train < 2 || n_train > UINT32_MAX)
    throw ModelFormatError(fmt::format("ECOD model: {} training rows, expected 2 to {}", n_train, UINT32_MAX));
  if (counts.size() != p)
    throw ModelFormatError(fmt::format("ECOD model: {} count lists for {} features", counts.size(), p));
  check_common(p, skew_sign, threshold, contamination);
  EcodModel m;
  m.columns_.resize(p);
  for (std::size_t j = 0; j < p; ++j) {
    const std::vector<double>& v = values[j];
    const std::vector<std::uint64_t>& c = counts[j];
    if (v.empty()) throw ModelFormatError(fmt::format("ECOD model: feature {} has no training value", j));
    if (c.size() != v.size())
      throw ModelFormatError(fmt::format("ECOD model: feature {} has {} counts for {} values", j, c.size(), v.size()));
    EcodColumn& col = m.columns_[j];
    col.upto.resize(v.size());
    std::uint64_t total = 0;
    for (std::size_t k = 0; k < v.size(); ++k) {
      if (!std::isfinite(v[k])) throw ModelFormatError(fmt::format("ECOD model: non-finite training value in feature {}", j));
      if (k > 0 && !(v[k] > v[k - 1]))
        throw ModelFormatError(fmt::format("ECOD model: the values of feature {} are not strictly ascending", j));
      if (c[k] == 0) throw ModelFormatError(fmt::format("ECOD model: a count of 0 in feature {}", j));
      if (c[k] > n_train - total)
        throw ModelFormatError(fmt::format("ECOD model: the counts of feature {} add up to more than {} rows", j, n_train));
      total += c[k];
      col.upto[k] = static_cast<std::uint32_t>(total);
    }
    if (total != n_train)
      throw ModelFormatError(
          fmt::format("ECOD model: the counts of feature {} add up to {} rows, not {}", j, total, n_train));
    col.values = std::move(values[j]);
    std::vector<std::uint64_t>().swap(counts[j]);
  }
  m.n_train_ = n_train;
  m.skew_sign_ = std::move(skew_sign);
  m.threshold_ = threshold;
  m.contamination_ = contamination;
  return m;
}

EcodModel EcodModel::from_sorted_columns(ViewD sorted_columns, std::vector<int> skew_sign, double threshold,
                                         double contamination) {
  const std::size_t p = sorted_columns.rows(), n = sorted_columns.cols();
  if (p == 0 || n < 2 || n > UINT32_MAX)
    throw ModelFormatError(
        fmt::format("ECOD model: sorted columns must be (features >= 1, rows >= 2), got ({}, {})", p, n));
  check_common(p, skew_sign, threshold, contamination);
  EcodModel m;
  m.columns_.resize(p);
  for (std::size_t j = 0; j < p; ++j) {
    const double* s = sorted_columns.row(j);
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s[i]))
        throw ModelFormatError(fmt::format("ECOD model: non-finite training value in feature {}", j));
      if (i > 0 && s[i] < s[i - 1])
        throw ModelFormatError(fmt::format("ECOD model: training column {} is not sorted", j));
    }
    // Tie groups under ==, as the searches of the sorted values saw them.
    EcodColumn& c = m.columns_[j];
    for (std::size_t i = 0; i < n;) {
      std::size_t e = i + 1;
      while (e < n && s[e] == s[i]) ++e;
      c.values.push_back(s[i]);
      c.upto.push_back(static_cast<std::uint32_t>(e));
      i = e;
    }
  }
  m.n_train_ = n;
  m.skew_sign_ = std::move(skew_sign);
  m.threshold_ = threshold;
  m.contamination_ = contamination;
  return m;
}

}  // namespace segmenta
