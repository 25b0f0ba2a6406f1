#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "metrics/labels.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta {

namespace {

struct Contingency {
  std::int64_t n = 0;
  std::vector<std::int64_t> a, b;  // row and column totals
  struct Cell {
    std::size_t i, j;
    std::int64_t count;
  };
  std::vector<Cell> cells;  // non-zero cells only: O(n) memory whatever the label counts
  // The partitions are equal up to renaming: one non-zero cell per row and column.
  bool identical() const noexcept { return cells.size() == a.size() && cells.size() == b.size(); }
};

Contingency contingency(Labels a, Labels b, const char* /*metric*/) {
  // Messages name the parameters (labels_true, labels_pred), not the metric.
  if (a.size() != b.size())
    throw InvalidArgument("labels_pred: " + std::to_string(b.size()) + " entries, labels_true has " +
                          std::to_string(a.size()));
  if (a.empty()) throw InvalidArgument("labels_true: no labels");
  if (a.size() >= (std::size_t{1} << 31)) throw InvalidArgument("labels_true: at most 2^31 - 1 labels are supported");
  const detail::EncodedLabels ea = detail::encode_labels(a), eb = detail::encode_labels(b);
  Contingency c;
  c.n = static_cast<std::int64_t>(a.size());
  for (auto v : ea.counts) c.a.push_back(static_cast<std::int64_t>(v));
  for (auto v : eb.counts) c.b.push_back(static_cast<std::int64_t>(v));
  const std::uint64_t kb = eb.k();
  std::vector<std::uint64_t> keys(a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    keys[i] = static_cast<std::uint64_t>(ea.codes[i]) * kb + static_cast<std::uint64_t>(eb.codes[i]);
  std::sort(keys.begin(), keys.end());
  for (std::size_t s = 0; s < keys.size();) {
    std::size_t e = s + 1;
    while (e < keys.size() && keys[e] == keys[s]) ++e;
    c.cells.push_back({static_cast<std::size_t>(keys[s] / kb), static_cast<std::size_t>(keys[s] % kb),
                       static_cast<std::int64_t>(e - s)});
    s = e;
  }
  return c;
}

// log(num / den) for positive integers below 2^62, as log1p of the exact difference
// so that ratios close to 1 keep their relative precision.
double log_ratio(std::int64_t num, std::int64_t den) {
  return std::log1p(static_cast<double>(num - den) / static_cast<double>(den));
}

double entropy(const std::vector<std::int64_t>& counts, std::int64_t n) {
  if (counts.size() == 1) return 0.0;
  const double log_n = std::log(static_cast<double>(n));
  double h = 0.0;
  for (std::int64_t c : counts) {
    const double pc = static_cast<double>(c) / static_cast<double>(n);
    h += pc * (std::log(static_cast<double>(c)) - log_n);
  }
  return -h;
}

// E[(n_ij / N) log(N n_ij / (a b))] over the hypergeometric law of n_ij (N rows,
// a of them in the row cluster, b drawn). The probabilities come from the ratio
// recurrence walked outwards from the mode and normalised by their sum, instead of
// exp() of differences of large lgamma values: no cancellation, and the walk stops
// once the terms are below 1e-30 of the mode (log-concavity bounds the rest).
double expected_cell_mi(std::int64_t N, std::int64_t a, std::int64_t b) {
  const std::int64_t lo = std::max<std::int64_t>(0, a + b - N), hi = std::min(a, b);
  const std::int64_t mode = std::clamp<std::int64_t>((a + 1) * (b + 1) / (N + 2), lo, hi);
  const double dn = static_cast<double>(N);
  auto value = [&](std::int64_t t) { return t == 0 ? 0.0 : static_cast<double>(t) / dn * log_ratio(N * t, a * b); };
  constexpr double tiny = 1e-30;
  double z = 1.0, e = value(mode), u = 1.0;
  for (std::int64_t t = mode; t < hi; ++t) {
    u *= (static_cast<double>(a - t) * static_cast<double>(b - t)) /
         (static_cast<double>(t + 1) * static_cast<double>(N - a - b + t + 1));
    z += u;
    e += u * value(t + 1);
    if (u < tiny * z) break;
  }
  u = 1.0;
  for (std::int64_t t = mode; t > lo; --t) {
    u *= (static_cast<double>(t) * static_cast<double>(N - a - b + t)) /
         (static_cast<double>(a - t + 1) * static_cast<double>(b - t + 1));
    z += u;
    e += u * value(t - 1);
    if (u < tiny * z) break;
  }
  return e / z;
}

// Sum over all (row, column) cluster pairs; pairs with equal totals share one term.
double expected_mutual_information(const Contingency& c) {
  std::map<std::int64_t, std::int64_t> ma, mb;
  for (auto v : c.a) ++ma[v];
  for (auto v : c.b) ++mb[v];
  double emi = 0.0;
  for (const auto& [a, ca] : ma)
    for (const auto& [b, cb] : mb)
      emi += static_cast<double>(ca) * static_cast<double>(cb) * expected_cell_mi(c.n, a, b);
  return emi;
}

}  // namespace

double adjusted_rand_score(Labels a, Labels b) {
  const Contingency c = contingency(a, b, "adjusted_rand_score");
  __extension__ typedef __int128 i128;  // exact pair counts up to n = 2^31
  i128 sum_squares = 0, dot_b = 0, dot_a = 0;
  for (const auto& cell : c.cells) {
    const i128 v = cell.count;
    sum_squares += v * v;
    dot_b += v * c.b[cell.j];
    dot_a += v * c.a[cell.i];
  }
  // The pair confusion matrix (ordered pairs), as scikit-learn's pair_confusion_matrix.
  const i128 n = c.n;
  const i128 tp = sum_squares - n;
  const i128 fp = dot_b - sum_squares;
  const i128 fn = dot_a - sum_squares;
  const i128 tn = n * n - fp - fn - sum_squares;
  if (fn == 0 && fp == 0) return 1.0;
  const i128 num = tp * tn - fn * fp;
  const i128 den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return 2.0 * static_cast<double>(num) / static_cast<double>(den);
}

double adjusted_mutual_info_score(Labels a, Labels b) {
  const Contingency c = contingency(a, b, "adjusted_mutual_info_score");
  // Identical partitions score 1. scikit-learn gets 1 up to rounding, except when
  // every partition with these cluster sizes has the same MI (e.g. all singletons):
  // then its formula is 0/0 and returns rounding noise (0.0 for n = 4, 1.0 for n = 7).
  if (c.identical()) return 1.0;
  double mi = 0.0;
  if (c.a.size() > 1 && c.b.size() > 1) {
    const double dn = static_cast<double>(c.n);
    for (const auto& cell : c.cells)
      mi += static_cast<double>(cell.count) / dn * log_ratio(c.n * cell.count, c.a[cell.i] * c.b[cell.j]);
    mi = std::max(mi, 0.0);
  }
  const double emi = expected_mutual_information(c);
  const double normalizer = 0.5 * (entropy(c.a, c.n) + entropy(c.b, c.n));
  // As scikit-learn: keep the sign of normalizer - emi but never divide by less than eps.
  constexpr double eps = std::numeric_limits<double>::epsilon();
  double den = normalizer - emi;
  den = den < 0 ? std::min(den, -eps) : std::max(den, eps);
  return (mi - emi) / den;
}

}  // namespace segmenta
