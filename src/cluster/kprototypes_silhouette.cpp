// Silhouette on the mixed distance sqrt(squared Euclidean + gamma * mismatches).
//
// Rows are reordered so that every cluster is a contiguous range; the distances from
// one row to a whole cluster are then computed in vectorisable blocks (numeric
// columns stored column-wise, the categorical part read from a table of gamma *
// mismatches between distinct categorical rows when those are few). Each row's sums
// are its own, added in a fixed order, so the result does not depend on threads.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "cluster/kprototypes_internal.hpp"

namespace segmenta {
namespace {

constexpr std::size_t kBlock = 256;       // distances computed per inner block
constexpr std::size_t kMaxTableCombos = 2048;  // U x U table of at most 32 MiB

struct Layout {
  std::size_t m = 0, p = 0, q = 0;
  std::vector<double> x;             // (p, m): numeric column j of row at position t
  std::vector<std::int32_t> codes;   // (q, m) when no table
  std::vector<std::int32_t> combo;   // (m) when table
  std::vector<double> table;         // (U, U): gamma * mismatches
  std::size_t n_combos = 0;
  bool use_table = false;
  double gamma = 0.0;
};

// Sum over positions [b, e) of D(row at position i, row at position t).
double sum_distances(const Layout& L, std::size_t i, std::size_t b, std::size_t e, double* tmp,
                     std::int32_t* cnt) noexcept {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t s = b; s < e; s += kBlock) {
    const std::size_t len = std::min(kBlock, e - s);
    for (std::size_t t = 0; t < len; ++t) tmp[t] = 0.0;
    for (std::size_t j = 0; j < L.p; ++j) {
      const double* col = L.x.data() + j * L.m;
      const double xi = col[i];
      const double* xs = col + s;
      for (std::size_t t = 0; t < len; ++t) {
        const double diff = xi - xs[t];
        tmp[t] += diff * diff;
      }
    }
    if (L.use_table) {
      const double* row = L.table.data() + static_cast<std::size_t>(L.combo[i]) * L.n_combos;
      const std::int32_t* cs = L.combo.data() + s;
      for (std::size_t t = 0; t < len; ++t) tmp[t] += row[cs[t]];
    } else {
      for (std::size_t t = 0; t < len; ++t) cnt[t] = 0;
      for (std::size_t j = 0; j < L.q; ++j) {
        const std::int32_t* col = L.codes.data() + j * L.m;
        const std::int32_t ci = col[i];
        const std::int32_t* cs = col + s;
        for (std::size_t t = 0; t < len; ++t) cnt[t] += cs[t] != ci;
      }
      for (std::size_t t = 0; t < len; ++t) tmp[t] += L.gamma * static_cast<double>(cnt[t]);
    }
    for (std::size_t t = 0; t < len; ++t) tmp[t] = std::sqrt(tmp[t]);
    std::size_t t = 0;
    for (; t + 8 <= len; t += 8)
      for (std::size_t l = 0; l < 8; ++l) acc[l] += tmp[t + l];
    for (std::size_t l = 0; t < len; ++t, ++l) acc[l] += tmp[t];
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace

MixedSilhouette kprototypes_silhouette(ViewD numeric, MatrixView<std::int32_t> categorical,
                                       std::span<const std::int32_t> labels, double gamma, std::size_t sample_size,
                                       std::uint64_t random_state) {
  const std::size_t n = numeric.rows();
  if (categorical.rows() != n)
    throw InvalidArgument(fmt::format("categorical: {} rows, but numeric has {}", categorical.rows(), n));
  if (labels.size() != n) throw InvalidArgument(fmt::format("labels: {} values for {} rows", labels.size(), n));
  if (!std::isfinite(gamma) || gamma < 0.0)
    throw InvalidArgument(fmt::format("gamma: must be finite and >= 0, got {}", gamma));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < numeric.cols(); ++j)
      if (!std::isfinite(numeric(i, j)))
        throw InvalidArgument(fmt::format("numeric: value at row {}, column {} is not finite", i, j));

  MixedSilhouette out;
  if (sample_size == 0 || sample_size >= n) {
    out.rows.resize(n);
    for (std::size_t i = 0; i < n; ++i) out.rows[i] = i;
  } else {
    Rng rng = Rng::stream(random_state, 0);
    out.rows = rng.sample_without_replacement(n, sample_size);
    std::sort(out.rows.begin(), out.rows.end());
  }
  const std::size_t m = out.rows.size();

  // Label-encode the labels of the rows used.
  std::map<std::int32_t, std::size_t> ids;
  for (std::size_t r : out.rows) ids.emplace(labels[r], 0);
  const std::size_t n_labels = ids.size();
  if (n_labels < 2 || n_labels > m - 1)
    throw InvalidArgument(fmt::format(
        "labels: the silhouette needs 2 <= number of clusters <= rows - 1, got {} clusters for {} rows", n_labels, m));
  {
    std::size_t next = 0;
    for (auto& [label, id] : ids) id = next++;
  }
  std::vector<std::size_t> cluster(m), size(n_labels, 0);
  for (std::size_t t = 0; t < m; ++t) {
    cluster[t] = ids[labels[out.rows[t]]];
    ++size[cluster[t]];
  }
  std::vector<std::size_t> begin(n_labels + 1, 0);
  for (std::size_t c = 0; c < n_labels; ++c) begin[c + 1] = begin[c] + size[c];
  std::vector<std::size_t> pos_of(m), fill(begin.begin(), begin.end() - 1);
  for (std::size_t t = 0; t < m; ++t) pos_of[t] = fill[cluster[t]]++;

  Layout L;
  L.m = m;
  L.p = numeric.cols();
  L.q = categorical.cols();
  L.gamma = gamma;
  L.x.resize(L.p * m);
  for (std::size_t t = 0; t < m; ++t)
    for (std::size_t j = 0; j < L.p; ++j) L.x[j * m + pos_of[t]] = numeric(out.rows[t], j);
  // Distinct categorical rows of the sample, for the table.
  if (L.q > 0) {
    std::map<std::vector<std::int32_t>, std::int32_t> combos;
    std::vector<std::int32_t> combo_of(m);
    for (std::size_t t = 0; t < m && combos.size() <= kMaxTableCombos; ++t) {
      const std::int32_t* c = categorical.row(out.rows[t]);
      combo_of[t] = combos.emplace(std::vector<std::int32_t>(c, c + L.q), static_cast<std::int32_t>(combos.size()))
                        .first->second;
    }
    L.use_table = combos.size() <= kMaxTableCombos;
    if (L.use_table) {
      L.n_combos = combos.size();
      std::vector<const std::vector<std::int32_t>*> by_id(L.n_combos);
      for (const auto& [codes, id] : combos) by_id[static_cast<std::size_t>(id)] = &codes;
      L.table.resize(L.n_combos * L.n_combos);
      for (std::size_t a = 0; a < L.n_combos; ++a)
        for (std::size_t b = 0; b < L.n_combos; ++b) {
          std::int64_t mm = 0;
          for (std::size_t j = 0; j < L.q; ++j) mm += (*by_id[a])[j] != (*by_id[b])[j];
          L.table[a * L.n_combos + b] = gamma * static_cast<double>(mm);
        }
      L.combo.resize(m);
      for (std::size_t t = 0; t < m; ++t) L.combo[pos_of[t]] = combo_of[t];
    } else {
      L.codes.resize(L.q * m);
      for (std::size_t t = 0; t < m; ++t)
        for (std::size_t j = 0; j < L.q; ++j) L.codes[j * m + pos_of[t]] = categorical(out.rows[t], j);
    }
  } else {
    L.use_table = false;
  }

  out.samples.assign(m, 0.0);
  parallel_blocks(m, 64, [&](std::size_t b, std::size_t e, std::size_t) {
    std::vector<double> tmp(kBlock);
    std::vector<std::int32_t> cnt(kBlock);
    for (std::size_t t = b; t < e; ++t) {
      const std::size_t own = cluster[t], i = pos_of[t];
      if (size[own] == 1) continue;  // scikit-learn: 0 for singleton clusters
      double a = 0.0, bmin = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < n_labels; ++c) {
        const double s = sum_distances(L, i, begin[c], begin[c + 1], tmp.data(), cnt.data());
        if (c == own)
          a = s / static_cast<double>(size[c] - 1);
        else
          bmin = std::min(bmin, s / static_cast<double>(size[c]));
      }
      const double denom = std::max(a, bmin);
      out.samples[t] = denom > 0.0 ? (bmin - a) / denom : 0.0;
    }
  });
  out.score = kproto::pairwise_sum(out.samples.data(), m) / static_cast<double>(m);
  return out;
}

}  // namespace segmenta
