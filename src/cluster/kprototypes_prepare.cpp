// k-prototypes: data preparation (category levels, distinct rows, column
// statistics) and the initial prototypes (Huang, Cao, random rows, numeric draws).
//
// This file is compiled with -ffp-contract=off (see CMakeLists.txt): the column
// statistics must round exactly as numpy does, which a fused multiply-add breaks.
#include <bit>
#include <cmath>

#include "cluster/kprototypes_internal.hpp"

namespace segmenta::kproto {
namespace {

std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t hash_codes(const std::int32_t* c, std::size_t q) noexcept {
  std::uint64_t h = 0x2545f4914f6cdd1dULL;
  for (std::size_t j = 0; j < q; ++j) h = mix64(h ^ static_cast<std::uint32_t>(c[j]));
  return h;
}

std::size_t table_size(std::size_t n) {
  return std::bit_ceil(std::max<std::size_t>(16, 2 * n));
}

// Python compares floats by value, so kmodes' distinct-row test treats -0.0 and 0.0
// as one value; hash the bits of the value with the sign of zero dropped.
std::uint64_t value_bits(double v) noexcept { return std::bit_cast<std::uint64_t>(v == 0.0 ? 0.0 : v); }

}  // namespace

double pairwise_sum(const double* a, std::size_t n, std::size_t stride) noexcept {
  if (n < 8) {
    double res = 0.0;
    for (std::size_t i = 0; i < n; ++i) res += a[i * stride];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (std::size_t t = 0; t < 8; ++t) r[t] = a[t * stride];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (std::size_t t = 0; t < 8; ++t) r[t] += a[(i + t) * stride];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i * stride];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2, stride) + pairwise_sum(a + n2 * stride, n - n2, stride);
}

void column_mean_std(ViewD x, std::vector<double>& mean, std::vector<double>& std) {
  const std::size_t n = x.rows(), p = x.cols();
  mean.assign(p, 0.0);
  std.assign(p, 0.0);
  if (n == 0) return;
  const double dn = static_cast<double>(n);
  if (p == 1) {
    std::vector<double> col(n);
    for (std::size_t i = 0; i < n; ++i) col[i] = x(i, 0);
    mean[0] = pairwise_sum(col.data(), n) / dn;
    for (std::size_t i = 0; i < n; ++i) {
      const double d = col[i] - mean[0];
      col[i] = d * d;
    }
    std[0] = std::sqrt(pairwise_sum(col.data(), n) / dn);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double* r = x.row(i);
    for (std::size_t j = 0; j < p; ++j) mean[j] += r[j];
  }
  for (std::size_t j = 0; j < p; ++j) mean[j] /= dn;
  for (std::size_t i = 0; i < n; ++i) {
    const double* r = x.row(i);
    for (std::size_t j = 0; j < p; ++j) {
      const double d = r[j] - mean[j];
      std[j] += d * d;
    }
  }
  for (std::size_t j = 0; j < p; ++j) std[j] = std::sqrt(std[j] / dn);
}

Data prepare(ViewD num, MatrixView<std::int32_t> cat) {
  Data d;
  d.n = num.rows();
  d.p = num.cols();
  d.q = cat.cols();
  d.num = num;
  d.cat = cat;
  const std::size_t n = d.n, q = d.q, p = d.p;

  d.levels.assign(q, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t* c = cat.row(i);
    for (std::size_t j = 0; j < q; ++j) d.levels[j] = std::max(d.levels[j], c[j] + 1);
  }
  d.offset.assign(q + 1, 0);
  for (std::size_t j = 0; j < q; ++j) d.offset[j + 1] = d.offset[j] + static_cast<std::size_t>(d.levels[j]);
  d.level_count.assign(d.offset[q], 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t* c = cat.row(i);
    for (std::size_t j = 0; j < q; ++j) ++d.level_count[d.offset[j] + static_cast<std::size_t>(c[j])];
  }
  column_mean_std(num, d.mean, d.std);

  // Combos, numbered by first appearance.
  d.combo_slots.assign(table_size(n), -1);
  const std::size_t cmask = d.combo_slots.size() - 1;
  d.combo_of_row.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t* c = cat.row(i);
    std::size_t s = hash_codes(c, q) & cmask;
    std::int32_t id = -1;
    while (d.combo_slots[s] >= 0) {
      const std::int32_t u = d.combo_slots[s];
      if (std::equal(c, c + q, d.combo_codes.data() + static_cast<std::size_t>(u) * q)) {
        id = u;
        break;
      }
      s = (s + 1) & cmask;
    }
    if (id < 0) {
      id = static_cast<std::int32_t>(d.n_combos++);
      d.combo_slots[s] = id;
      d.combo_codes.insert(d.combo_codes.end(), c, c + q);
      d.combo_last.push_back(i);
    }
    d.combo_of_row[i] = id;
    d.combo_last[static_cast<std::size_t>(id)] = i;
  }
  const std::size_t U = d.n_combos;
  d.use_table = U * 4 <= n;

  d.stride = (n + 7) / 8 * 8 + 8;  // a block of 8 may start at any row
  d.combo_of_row.resize(d.stride, d.combo_of_row[0]);
  d.num_cols.resize(p * d.stride);
  for (std::size_t j = 0; j < p; ++j)
    for (std::size_t i = 0; i < d.stride; ++i) d.num_cols[j * d.stride + i] = num(i < n ? i : 0, j);
  if (!d.use_table) {
    d.cat_cols.resize(q * d.stride);
    for (std::size_t j = 0; j < q; ++j)
      for (std::size_t i = 0; i < d.stride; ++i) d.cat_cols[j * d.stride + i] = cat(i < n ? i : 0, j);
  }

  d.level_start.assign(d.offset[q] + 1, 0);
  for (std::size_t u = 0; u < U; ++u)
    for (std::size_t j = 0; j < q; ++j) ++d.level_start[d.offset[j] + static_cast<std::size_t>(d.combo(u)[j]) + 1];
  for (std::size_t o = 0; o < d.offset[q]; ++o) d.level_start[o + 1] += d.level_start[o];
  d.level_combos.resize(U * q);
  {
    std::vector<std::size_t> fill(d.level_start.begin(), d.level_start.end() - 1);
    for (std::size_t u = 0; u < U; ++u)
      for (std::size_t j = 0; j < q; ++j)
        d.level_combos[fill[d.offset[j] + static_cast<std::size_t>(d.combo(u)[j])]++] = static_cast<std::int32_t>(u);
  }

  // Distinct full rows: the combo plus the numeric values.
  std::vector<std::int32_t> slots(table_size(n), -1);
  const std::size_t mask = slots.size() - 1;
  d.distinct_of_row.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double* x = num.row(i);
    std::uint64_t h = mix64(static_cast<std::uint64_t>(d.combo_of_row[i]));
    for (std::size_t j = 0; j < p; ++j) h = mix64(h ^ value_bits(x[j]));
    std::size_t s = h & mask;
    std::int32_t id = -1;
    while (slots[s] >= 0) {
      const std::size_t r = d.distinct_first[static_cast<std::size_t>(slots[s])];
      if (d.combo_of_row[r] == d.combo_of_row[i] && std::equal(x, x + p, num.row(r))) {
        id = slots[s];
        break;
      }
      s = (s + 1) & mask;
    }
    if (id < 0) {
      id = static_cast<std::int32_t>(d.n_distinct++);
      slots[s] = id;
      d.distinct_first.push_back(i);
    }
    d.distinct_of_row[i] = id;
  }
  return d;
}

std::int32_t find_combo(const Data& d, const std::int32_t* codes) {
  const std::size_t mask = d.combo_slots.size() - 1;
  std::size_t s = hash_codes(codes, d.q) & mask;
  while (d.combo_slots[s] >= 0) {
    const std::int32_t u = d.combo_slots[s];
    if (std::equal(codes, codes + d.q, d.combo(static_cast<std::size_t>(u)))) return u;
    s = (s + 1) & mask;
  }
  return -1;
}

namespace {

std::size_t mismatches(const std::int32_t* a, const std::int32_t* b, std::size_t q) noexcept {
  std::size_t m = 0;
  for (std::size_t j = 0; j < q; ++j) m += a[j] != b[j];
  return m;
}

}  // namespace

Matrix<std::int32_t> init_cao(const Data& d, std::size_t k) {
  const std::size_t U = d.n_combos, q = d.q;
  const double dn = static_cast<double>(d.n), dq = static_cast<double>(q);
  // Density of a row = sum over columns of freq / n / q, accumulated column by column
  // as kmodes does; every row of a combo has the same density, and combos are
  // numbered by first row, so "first row on ties" is "lowest combo id on ties".
  std::vector<double> dens(U, 0.0);
  for (std::size_t j = 0; j < q; ++j)
    for (std::size_t u = 0; u < U; ++u)
      dens[u] += static_cast<double>(d.level_count[d.offset[j] + static_cast<std::size_t>(d.combo(u)[j])]) / dn / dq;

  Matrix<std::int32_t> modes(k, q);
  std::size_t first = 0;
  for (std::size_t u = 1; u < U; ++u)
    if (dens[u] > dens[first]) first = u;
  std::copy(d.combo(first), d.combo(first) + q, modes.row(0));
  std::vector<double> score(U, std::numeric_limits<double>::infinity());
  for (std::size_t ik = 1; ik < k; ++ik) {
    const std::int32_t* prev = modes.row(ik - 1);
    for (std::size_t u = 0; u < U; ++u)
      score[u] = std::min(score[u], static_cast<double>(mismatches(d.combo(u), prev, q)) * dens[u]);
    std::size_t best = 0;
    for (std::size_t u = 1; u < U; ++u)
      if (score[u] > score[best]) best = u;
    std::copy(d.combo(best), d.combo(best) + q, modes.row(ik));
  }
  return modes;
}

Matrix<std::int32_t> init_huang(const Data& d, std::size_t k, Rng& rng) {
  const std::size_t U = d.n_combos, q = d.q;
  Matrix<std::int32_t> modes(k, q);
  // Column by column, k values drawn uniformly from the sorted column (that is, with
  // probability proportional to their frequency).
  for (std::size_t j = 0; j < q; ++j) {
    const std::size_t* cnt = d.level_count.data() + d.offset[j];
    for (std::size_t l = 0; l < k; ++l) {
      std::size_t r = rng.below(d.n);
      std::int32_t v = 0;
      while (r >= cnt[v]) r -= cnt[v++];
      modes(l, j) = v;
    }
  }
  // Each drawn vector becomes the nearest row (matching distance; lowest row index on
  // ties) that equals none of the current prototype rows. Rows of one combo are
  // equal, so the search runs over combos; at most k combos are excluded.
  std::vector<std::int32_t> excluded;
  std::vector<std::size_t> dist(U);
  for (std::size_t ik = 0; ik < k; ++ik) {
    excluded.clear();
    for (std::size_t l = 0; l < k; ++l) {
      const std::int32_t u = find_combo(d, modes.row(l));
      if (u >= 0) excluded.push_back(u);
    }
    const auto is_excluded = [&](std::size_t u) {
      return std::find(excluded.begin(), excluded.end(), static_cast<std::int32_t>(u)) != excluded.end();
    };
    const std::int32_t* target = modes.row(ik);
    for (std::size_t u = 0; u < U; ++u) dist[u] = mismatches(d.combo(u), target, q);
    std::size_t best = U;
    for (std::size_t u = 0; u < U; ++u)
      if (!is_excluded(u) && (best == U || dist[u] < dist[best])) best = u;
    if (best == U) {
      // Every row equals a prototype: kmodes keeps the last row of its sorted order,
      // i.e. the highest-index row among the farthest ones.
      best = 0;
      for (std::size_t u = 1; u < U; ++u)
        if (dist[u] > dist[best] || (dist[u] == dist[best] && d.combo_last[u] > d.combo_last[best])) best = u;
    }
    std::copy(d.combo(best), d.combo(best) + q, modes.row(ik));
  }
  return modes;
}

Matrix<std::int32_t> init_random_rows(const Data& d, std::size_t k, Rng& rng) {
  Matrix<std::int32_t> modes(k, d.q);
  for (std::size_t l = 0; l < k; ++l) {
    const std::int32_t* c = d.cat.row(rng.below(d.n));
    std::copy(c, c + d.q, modes.row(l));
  }
  return modes;
}

MatrixD init_numeric(const Data& d, std::size_t k, Rng& rng) {
  MatrixD c(k, d.p);
  for (std::size_t l = 0; l < k; ++l)
    for (std::size_t j = 0; j < d.p; ++j) c(l, j) = d.mean[j] + rng.normal() * d.std[j];
  return c;
}

}  // namespace segmenta::kproto
