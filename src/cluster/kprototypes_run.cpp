// k-prototypes: one restart, online (kmodes 0.12.2) or batch (Lloyd-style).
//
// Compiled with -ffp-contract=off (see CMakeLists.txt): labels and cost must match
// kmodes bit for bit, and numpy rounds (c - x)^2 and the sum separately, which a
// fused multiply-add would not.
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <fmt/format.h>

#include "cluster/kprototypes_internal.hpp"
#include "cluster/rank_share.hpp"
#include "kernels/dispatch.hpp"

namespace segmenta::kproto {
namespace {

// Eight lanes of the per-cluster arithmetic (GCC/Clang vector extensions: AVX-512
// registers where available, pairs or quads of narrower ones elsewhere).
typedef double v8d __attribute__((vector_size(64)));

constexpr double kInf = std::numeric_limits<double>::infinity();

// Index of the first smallest of acc[0..8 * nv) (the lowest index on ties, as a
// running "strictly smaller" scan gives), its value in m. No NaN can occur.
inline std::size_t first_min(const double* acc, std::size_t nv, double& m) noexcept {
#if defined(__AVX512F__)
  // Minimum with vector extensions and a halving reduction: GCC 12's min, reduce
  // and extract intrinsics trip -Wuninitialized on their undefined pass-through operand.
  const v8d* vacc = reinterpret_cast<const v8d*>(acc);
  v8d a = vacc[0];
  for (std::size_t v = 1; v < nv; ++v) a = vacc[v] < a ? vacc[v] : a;
  v8d h = __builtin_shufflevector(a, a, 4, 5, 6, 7, 0, 1, 2, 3);
  a = a < h ? a : h;
  h = __builtin_shufflevector(a, a, 2, 3, 0, 1, 6, 7, 4, 5);
  a = a < h ? a : h;
  h = __builtin_shufflevector(a, a, 1, 0, 3, 2, 5, 4, 7, 6);
  a = a < h ? a : h;
  m = a[0];
  const __m512d b = _mm512_set1_pd(m);
  for (std::size_t v = 0;; ++v) {
    const __mmask8 eq = _mm512_cmp_pd_mask(_mm512_load_pd(acc + 8 * v), b, _CMP_EQ_OQ);
    if (eq) return 8 * v + static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(eq)));
  }
#else
  double lane[8];
  for (std::size_t t = 0; t < 8; ++t) lane[t] = acc[t];
  for (std::size_t v = 1; v < nv; ++v)
    for (std::size_t t = 0; t < 8; ++t) lane[t] = std::min(lane[t], acc[8 * v + t]);
  m = std::min(std::min(std::min(lane[0], lane[1]), std::min(lane[2], lane[3])),
               std::min(std::min(lane[4], lane[5]), std::min(lane[6], lane[7])));
  std::size_t l = 0;
  while (acc[l] != m) ++l;
  return l;
#endif
}

}  // namespace

// ---------------------------------------------------------------------------
// Prototypes
// ---------------------------------------------------------------------------

Prototypes::Prototypes(const Data& d, std::size_t k, double gamma)
    : d_(d),
      k_(k),
      kp_(padded(k)),
      gamma_(gamma),
      c_(d.p * kp_, 0.0),
      m_(d.q * kp_, 0),
      pad_(kp_, 0.0),
      own_(scratch()) {
  for (std::size_t l = k; l < kp_; ++l) pad_[l] = kInf;
  if (d.use_table) {
    mism_.assign(d.n_combos * kp_, 0);
    if (d.p < 8) {
      gt_.assign(k * d.n_combos, 0.0);
    } else {
      g_.assign(d.n_combos * kp_, 0.0);
      for (std::size_t u = 0; u < d.n_combos; ++u)
        for (std::size_t l = k; l < kp_; ++l) g_[u * kp_ + l] = kInf;
    }
  }
}

Prototypes::Scratch Prototypes::scratch() const {
  Scratch s;
  s.acc.assign(kp_, 0.0);
  s.cnt.assign(kp_, 0);
  if (d_.p >= 8) s.sq.assign(d_.p * kp_, 0.0);
  return s;
}

void Prototypes::set_all(const MatrixD& centroids, const Matrix<std::int32_t>& modes) {
  for (std::size_t l = 0; l < k_; ++l) {
    for (std::size_t j = 0; j < d_.p; ++j) c_[j * kp_ + l] = centroids(l, j);
    for (std::size_t j = 0; j < d_.q; ++j) m_[j * kp_ + l] = modes(l, j);
  }
  if (!d_.use_table) return;
  for (std::size_t u = 0; u < d_.n_combos; ++u) {
    const std::int32_t* cu = d_.combo(u);
    for (std::size_t l = 0; l < k_; ++l) {
      std::int32_t mm = 0;
      for (std::size_t j = 0; j < d_.q; ++j) mm += cu[j] != modes(l, j);
      mism_[u * kp_ + l] = mm;
      const double g = gamma_ * static_cast<double>(mm);
      if (gt_.empty())
        g_[u * kp_ + l] = g;
      else
        gt_[l * d_.n_combos + u] = g;
    }
  }
}

void Prototypes::set_mode(std::size_t l, std::size_t j, std::int32_t v) noexcept {
  std::int32_t& slot = m_[j * kp_ + l];
  const std::int32_t old = slot;
  if (old == v) return;
  slot = v;
  if (!d_.use_table) return;
  const auto adjust = [&](std::int32_t level, std::int32_t delta) {
    const std::size_t o = d_.offset[j] + static_cast<std::size_t>(level);
    for (std::size_t s = d_.level_start[o]; s < d_.level_start[o + 1]; ++s) {
      const std::size_t u = static_cast<std::size_t>(d_.level_combos[s]);
      const std::int32_t mm = mism_[u * kp_ + l] += delta;
      const double g = gamma_ * static_cast<double>(mm);
      if (gt_.empty())
        g_[u * kp_ + l] = g;
      else
        gt_[l * d_.n_combos + u] = g;
    }
  };
  adjust(old, +1);
  adjust(v, -1);
}

void Prototypes::numeric_part(const double* x, double* acc, double* sq) const noexcept {
  const std::size_t p = d_.p, kp = kp_;
  if (p < 8) {
    // numpy sums fewer than 8 terms left to right (from 0).
    for (std::size_t l = 0; l < kp; ++l) acc[l] = 0.0;
    for (std::size_t j = 0; j < p; ++j) {
      const double xj = x[j];
      const double* c = c_.data() + j * kp;
      for (std::size_t l = 0; l < kp; ++l) {
        const double t = c[l] - xj;
        acc[l] += t * t;
      }
    }
    return;
  }
  for (std::size_t j = 0; j < p; ++j) {
    const double xj = x[j];
    const double* c = c_.data() + j * kp;
    double* s = sq + j * kp;
    for (std::size_t l = 0; l < kp; ++l) {
      const double t = c[l] - xj;
      s[l] = t * t;
    }
  }
  for (std::size_t l = 0; l < k_; ++l) acc[l] = pairwise_sum(sq + l, p, kp);
  for (std::size_t l = k_; l < kp; ++l) acc[l] = 0.0;
}

std::size_t Prototypes::nearest(std::size_t i, double& dmin, Scratch& scr) const noexcept {
  if (d_.p < 8) {
    std::int32_t lab[8];
    double dm[8];
    nearest_block<1>(i, lab, dm);
    dmin = dm[0];
    return static_cast<std::size_t>(lab[0]);
  }
  double* acc = scr.acc.data();
  const std::size_t kp = kp_;
  numeric_part(d_.num.row(i), acc, scr.sq.data());
  if (d_.use_table) {
    const double* g = g_.data() + static_cast<std::size_t>(d_.combo_of_row[i]) * kp;
    for (std::size_t l = 0; l < kp; ++l) acc[l] += g[l];
  } else {
    std::int32_t* cnt = scr.cnt.data();
    for (std::size_t l = 0; l < kp; ++l) cnt[l] = 0;
    const std::int32_t* codes = d_.cat.row(i);
    for (std::size_t j = 0; j < d_.q; ++j) {
      const std::int32_t v = codes[j];
      const std::int32_t* m = m_.data() + j * kp;
      for (std::size_t l = 0; l < kp; ++l) cnt[l] += m[l] != v;
    }
    for (std::size_t l = 0; l < kp; ++l) {
      acc[l] += gamma_ * static_cast<double>(cnt[l]);
      acc[l] += pad_[l];
    }
  }
  return first_min(acc, kp / kLanes, dmin);
}

// R groups of 8 rows at once, prototype after prototype: per row and prototype the
// same operations as numpy (c - x squared, summed over columns from 0, then + gamma *
// mismatches) and a strictly-smaller running minimum, i.e. the lowest index on ties.
// The R groups are independent chains, which keeps the pipelines busy.
template <std::size_t R>
void Prototypes::nearest_block(std::size_t i0, std::int32_t* lab, double* dmin) const noexcept {
  // The lane code is a dispatched kernel (src/kernels): the same operations on every
  // instruction set, at full width in builds without -march=native too.
  kernels::KprotoData k;
  k.p = d_.p;
  k.q = d_.q;
  k.stride = d_.stride;
  k.k = k_;
  k.kp = kp_;
  k.num_cols = d_.num_cols.data();
  k.cat_cols = d_.cat_cols.data();
  k.c = c_.data();
  k.m = m_.data();
  k.use_table = d_.use_table;
  k.combo_of_row = d_.combo_of_row.data();
  k.gt = gt_.data();
  k.n_combos = d_.n_combos;
  k.gamma = gamma_;
  kernels::table().kproto_nearest(k, R, i0, lab, dmin);
}

void Prototypes::nearest_rows(std::size_t b, std::size_t e, std::int32_t* lab, double* dmin,
                              Scratch& scr) const noexcept {
  if (d_.p < 8) {
    std::size_t i = b;
    for (; i + 32 <= e; i += 32) nearest_block<4>(i, lab + (i - b), dmin + (i - b));
    for (; i + 16 <= e; i += 16) nearest_block<2>(i, lab + (i - b), dmin + (i - b));
    if (i < e) {
      // The padded column copies make a whole group of 8 safe to compute.
      std::int32_t l8[8];
      double d8[8];
      for (; i < e; i += 8) {
        const std::size_t len = std::min<std::size_t>(8, e - i);
        nearest_block<1>(i, l8, d8);
        std::copy(l8, l8 + len, lab + (i - b));
        std::copy(d8, d8 + len, dmin + (i - b));
      }
    }
    return;
  }
  for (std::size_t i = b; i < e; ++i) {
    double dv;
    lab[i - b] = static_cast<std::int32_t>(nearest(i, dv, scr));
    dmin[i - b] = dv;
  }
}

MatrixD Prototypes::centroids() const {
  MatrixD c(k_, d_.p);
  for (std::size_t l = 0; l < k_; ++l)
    for (std::size_t j = 0; j < d_.p; ++j) c(l, j) = c_[j * kp_ + l];
  return c;
}

Matrix<std::int32_t> Prototypes::modes() const {
  Matrix<std::int32_t> m(k_, d_.q);
  for (std::size_t l = 0; l < k_; ++l)
    for (std::size_t j = 0; j < d_.q; ++j) m(l, j) = m_[j * kp_ + l];
  return m;
}

namespace {

// Most frequent level (smallest code on ties) of counts[0..m).
std::int32_t argmax_level(const std::int32_t* counts, std::int32_t m) noexcept {
  std::int32_t best = 0;
  for (std::int32_t v = 1; v < m; ++v)
    if (counts[v] > counts[best]) best = v;
  return best;
}

// Labels of every row for fixed prototypes; false if a cluster got no row.
/// Rows per block of the batch passes (the blocks its sums are folded over, and the
/// blocks the ranks share).
constexpr std::size_t kBatchBlock = 4096;

// With a share of several ranks each rank computes the rows of its blocks and the
// labels are gathered (a row's nearest prototype depends on that row alone).
bool assign_all(const Data& d, const Prototypes& P, std::vector<std::int32_t>& labels,
                const cluster_detail::RankShare& share = {}) {
  std::vector<std::size_t> size(P.k(), 0);
  std::vector<double> dmin(d.n);
  const Blocks blocks{d.n, kBatchBlock};
  const std::size_t b = share.begin_row(blocks), e = share.end_row(blocks);  // all rows for one process
  if (b < e) P.nearest_rows(b, e, labels.data() + b, dmin.data() + b);
  cluster_detail::exchange_block_rows<std::int32_t>(share, blocks, 1, labels.data(), "kprototypes");
  for (std::size_t i = 0; i < d.n; ++i) ++size[static_cast<std::size_t>(labels[i])];
  for (std::size_t s : size)
    if (s == 0) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Online k-prototypes (kmodes 0.12.2)
// ---------------------------------------------------------------------------

class Online {
 public:
  Online(const Data& d, Prototypes& P) : d_(d), P_(P), k_(P.k()) {}

  // kmodes' initial pass: accumulate sums, sizes and level counts of the rows in
  // order, then centroids = means and modes = most frequent level.
  void start(const std::vector<std::int32_t>& labels) {
    const std::size_t p = d_.p, q = d_.q, M = d_.offset[q];
    label_ = labels;
    sums_.assign(k_ * p, 0.0);
    size_.assign(k_, 0);
    counts_.assign(k_ * M, 0);
    for (std::size_t i = 0; i < d_.n; ++i) {
      const std::size_t l = static_cast<std::size_t>(label_[i]);
      ++size_[l];
      const double* x = d_.num.row(i);
      for (std::size_t j = 0; j < p; ++j) sums_[l * p + j] += x[j];
      const std::int32_t* c = d_.cat.row(i);
      for (std::size_t j = 0; j < q; ++j) ++counts_[l * M + d_.offset[j] + static_cast<std::size_t>(c[j])];
    }
    MatrixD cen(k_, p);
    Matrix<std::int32_t> modes(k_, q);
    for (std::size_t l = 0; l < k_; ++l) {
      for (std::size_t j = 0; j < p; ++j) cen(l, j) = sums_[l * p + j] / static_cast<double>(size_[l]);
      for (std::size_t j = 0; j < q; ++j) modes(l, j) = argmax_level(&counts_[l * M + d_.offset[j]], d_.levels[j]);
    }
    P_.set_all(cen, modes);
  }

  RunResult run(std::size_t max_iter, Rng& rng) {
    RunResult res;
    std::vector<std::int32_t> L(d_.n);
    double cost = labels_cost(L);
    res.epoch_costs.push_back(cost);
    while (res.n_iter < max_iter && !res.converged) {
      ++res.n_iter;
      const std::size_t moves = pass(L, rng, res.reseeds);
      const double ncost = labels_cost(L);
      res.converged = moves == 0 || ncost >= cost;
      res.epoch_costs.push_back(ncost);
      Progress::iteration(res.n_iter, fmt::format("{} rows moved, cost {:.8g}", moves, ncost));
      cost = ncost;
    }
    res.cost = cost;
    res.labels = std::move(L);
    res.centroids = P_.centroids();
    res.modes = P_.modes();
    return res;
  }

 private:
  // kmodes' labels_cost: nearest prototype of every row and the sum of the
  // dissimilarities, added in row order.
  double labels_cost(std::vector<std::int32_t>& L) {
    dmin_.resize(d_.n);
    P_.nearest_rows(0, d_.n, L.data(), dmin_.data());
    double cost = 0.0;
    for (std::size_t i = 0; i < d_.n; ++i) cost += dmin_[i];
    return cost;
  }

  void move_num(std::size_t i, std::size_t to, std::size_t from) {
    const std::size_t p = d_.p;
    const double* x = d_.num.row(i);
    for (std::size_t j = 0; j < p; ++j) {
      sums_[to * p + j] += x[j];
      sums_[from * p + j] -= x[j];
    }
    ++size_[to];
    --size_[from];
  }

  void move_cat(std::size_t i, std::size_t to, std::size_t from) {
    const std::size_t q = d_.q, M = d_.offset[q];
    label_[i] = static_cast<std::int32_t>(to);
    const std::int32_t* c = d_.cat.row(i);
    for (std::size_t j = 0; j < q; ++j) {
      const std::int32_t v = c[j];
      std::int32_t* to_counts = &counts_[to * M + d_.offset[j]];
      std::int32_t* from_counts = &counts_[from * M + d_.offset[j]];
      ++to_counts[v];
      if (to_counts[P_.mode(to, j)] < to_counts[v]) P_.set_mode(to, j, v);
      --from_counts[v];
      // An emptied cluster gets level 0 here where kmodes takes the smallest level it
      // ever counted; the refill that follows sets the row's level in both cases.
      if (P_.mode(from, j) == v) P_.set_mode(from, j, argmax_level(from_counts, d_.levels[j]));
    }
  }

  // One online pass. L holds the labels of the last labels_cost pass, computed with
  // the current prototypes: until the first move the nearest prototype of row i is
  // L[i], so the pass starts at the first row whose label differs.
  //
  // Nearest prototypes are computed kAhead rows ahead; a move changes the
  // prototypes, so the look-ahead restarts at the next row after every move.
  static constexpr std::size_t kAhead = 16;
  std::size_t pass(const std::vector<std::int32_t>& L, Rng& rng, std::size_t& reseeds) {
    std::size_t i = 0;
    while (i < d_.n && L[i] == label_[i]) ++i;
    std::size_t moves = 0;
    std::int32_t ahead[kAhead];
    double dv[kAhead];
    std::size_t ahead_begin = 0, ahead_end = 0;
    for (; i < d_.n; ++i) {
      if (i >= ahead_end) {
        ahead_begin = i;
        ahead_end = std::min(d_.n, i + kAhead);
        P_.nearest_rows(ahead_begin, ahead_end, ahead, dv);
      }
      const std::size_t to = static_cast<std::size_t>(ahead[i - ahead_begin]);
      const std::size_t from = static_cast<std::size_t>(label_[i]);
      if (to == from) continue;
      ahead_end = 0;
      ++moves;
      move_num(i, to, from);
      move_cat(i, to, from);
      for (std::size_t j = 0; j < d_.p; ++j)
        for (const std::size_t c : {to, from})
          P_.set_centroid(c, j, size_[c] ? sums_[c * d_.p + j] / static_cast<double>(size_[c]) : 0.0);
      if (size_[from] == 0) {
        // kmodes refills the emptied cluster with a random member of the largest
        // cluster (first on ties), members taken in row order, and does not update
        // either numeric centroid.
        std::size_t donor = 0;
        for (std::size_t c = 1; c < k_; ++c)
          if (size_[c] > size_[donor]) donor = c;
        std::size_t r = rng.below(static_cast<std::uint64_t>(size_[donor]));
        std::size_t pick = 0;
        for (; pick < d_.n; ++pick)
          if (static_cast<std::size_t>(label_[pick]) == donor && r-- == 0) break;
        move_num(pick, from, donor);
        move_cat(pick, from, donor);
        ++reseeds;
      }
    }
    return moves;
  }

  const Data& d_;
  Prototypes& P_;
  std::size_t k_;
  std::vector<std::int32_t> label_;
  std::vector<double> dmin_;
  std::vector<double> sums_;
  std::vector<std::int64_t> size_;
  std::vector<std::int32_t> counts_;
};

// ---------------------------------------------------------------------------
// Batch k-prototypes (Lloyd-style)
// ---------------------------------------------------------------------------

class Batch {
 public:
  // `share`: the ranks' share of the row blocks (every block for one process). With
  // several ranks a rank reads only its blocks' rows: the labels are gathered after
  // each assignment, the cost, the sums and the level counts are folded along the
  // ranks in block order, so every rank returns one process's bits.
  Batch(const Data& d, Prototypes& P, const cluster_detail::RankShare& share = {})
      : d_(d), P_(P), k_(P.k()), blocks_{d.n, kBatchBlock}, share_(share) {}

  RunResult run(std::vector<std::int32_t> M, std::size_t max_iter) {
    RunResult res;
    dmin_.assign(d_.n, 0.0);
    update(M, res.reseeds, /*relocate=*/false);
    std::vector<std::int32_t> L(d_.n);
    double cost = assign(L);
    res.epoch_costs.push_back(cost);
    while (res.n_iter < max_iter) {
      if (L == M) {
        res.converged = true;
        break;
      }
      ++res.n_iter;
      M = L;
      update(M, res.reseeds, /*relocate=*/true);
      cost = assign(L);
      res.epoch_costs.push_back(cost);
      Progress::iteration(res.n_iter, fmt::format("cost {:.8g}", cost));
    }
    res.converged = res.converged || L == M;
    res.cost = cost;
    res.labels = std::move(L);
    res.centroids = P_.centroids();
    res.modes = P_.modes();
    return res;
  }

 private:
  // Nearest prototypes of all rows over fixed row blocks; the cost is summed within
  // each block in row order, then over blocks in order.
  double assign(std::vector<std::int32_t>& L) {
    std::vector<double> partial(blocks_.count(), 0.0);
    cluster_detail::share_parallel_blocks(d_.n, kBatchBlock, share_, [&](std::size_t b, std::size_t e, std::size_t blk) {
      Prototypes::Scratch scr = P_.scratch();
      P_.nearest_rows(b, e, L.data() + b, dmin_.data() + b, scr);
      double s = 0.0;
      for (std::size_t i = b; i < e; ++i) s += dmin_[i];
      partial[blk] = s;
    });
    double cost = 0.0;
    cluster_detail::fold_blocks(share_, blocks_.count(), std::span<double>(&cost, 1),
                                [&](std::size_t blk, std::span<double> total) { total[0] += partial[blk]; });
    cluster_detail::exchange_block_rows<std::int32_t>(share_, blocks_, 1, L.data(), "kprototypes");
    return cost;
  }

  // Means and modes of the clusters of M. With relocate, an empty cluster takes the
  // row farthest from its prototype (dmin of the last assignment; lowest index on
  // ties) among clusters that keep at least one row.
  void update(std::vector<std::int32_t>& M, std::size_t& reseeds, bool relocate) {
    const std::size_t p = d_.p, q = d_.q, Mt = d_.offset[q];
    std::vector<std::int64_t> size(k_, 0);
    for (std::int32_t l : M) ++size[static_cast<std::size_t>(l)];
    if (relocate && std::find(size.begin(), size.end(), 0) != size.end()) {
      // Every rank sees the same sizes, so all of them gather the distances here.
      cluster_detail::exchange_block_rows<double>(share_, blocks_, 1, dmin_.data(), "kprototypes");
      std::vector<std::size_t> order(d_.n);
      for (std::size_t i = 0; i < d_.n; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return dmin_[a] > dmin_[b]; });
      std::size_t next = 0;
      for (std::size_t l = 0; l < k_; ++l) {
        if (size[l] != 0) continue;
        while (next < d_.n && size[static_cast<std::size_t>(M[order[next]])] <= 1) ++next;
        if (next == d_.n) break;
        const std::size_t i = order[next++];
        --size[static_cast<std::size_t>(M[i])];
        M[i] = static_cast<std::int32_t>(l);
        size[l] = 1;
        ++reseeds;
      }
    }
    std::vector<double> sums(blocks_.count() * k_ * p, 0.0);
    std::vector<std::int64_t> counts(k_ * Mt, 0);
    cluster_detail::share_parallel_blocks(d_.n, kBatchBlock, share_, [&](std::size_t b, std::size_t e, std::size_t blk) {
      double* s = sums.data() + blk * k_ * p;
      for (std::size_t i = b; i < e; ++i) {
        const double* x = d_.num.row(i);
        double* t = s + static_cast<std::size_t>(M[i]) * p;
        for (std::size_t j = 0; j < p; ++j) t[j] += x[j];
      }
    });
    // Each (cluster, column) sum adds the blocks' sums in block order.
    std::vector<double> total(k_ * p, 0.0);
    cluster_detail::fold_blocks(share_, blocks_.count(), total, [&](std::size_t blk, std::span<double> t) {
      const double* s = sums.data() + blk * k_ * p;
      for (std::size_t v = 0; v < k_ * p; ++v) t[v] += s[v];
    });
    // The level counts are integers: any order gives the same totals.
    const std::size_t r0 = share_.begin_row(blocks_), r1 = share_.end_row(blocks_);
    for (std::size_t i = r0; i < r1; ++i) {
      const std::int32_t* c = d_.cat.row(i);
      std::int64_t* t = counts.data() + static_cast<std::size_t>(M[i]) * Mt;
      for (std::size_t j = 0; j < q; ++j) ++t[d_.offset[j] + static_cast<std::size_t>(c[j])];
    }
    if (share_.distributed()) counts = share_.comm->allreduce_sum(counts);
    MatrixD cen = P_.centroids();
    Matrix<std::int32_t> modes = P_.modes();
    for (std::size_t l = 0; l < k_; ++l) {
      if (size[l] == 0) continue;
      for (std::size_t j = 0; j < p; ++j) cen(l, j) = total[l * p + j] / static_cast<double>(size[l]);
      for (std::size_t j = 0; j < q; ++j) {
        const std::int64_t* c = counts.data() + l * Mt + d_.offset[j];
        std::int32_t best = 0;
        for (std::int32_t v = 1; v < d_.levels[j]; ++v)
          if (c[v] > c[best]) best = v;
        modes(l, j) = best;
      }
    }
    P_.set_all(cen, modes);
  }

  const Data& d_;
  Prototypes& P_;
  std::size_t k_;
  Blocks blocks_;
  cluster_detail::RankShare share_;
  std::vector<double> dmin_;
};

RunResult finish(const Data& d, Prototypes& P, const std::vector<std::int32_t>& labels,
                 const KPrototypesParams& params, Rng& rng, const cluster_detail::RankShare& share = {}) {
  if (params.algorithm == KPrototypesAlgorithm::batch) return Batch(d, P, share).run(labels, params.max_iter);
  Online online(d, P);
  online.start(labels);
  return online.run(params.max_iter, rng);
}

}  // namespace

RunResult run_restart(const Data& d, std::size_t k, double gamma, const KPrototypesParams& params,
                      std::size_t restart, const Matrix<std::int32_t>* cao) {
  constexpr std::size_t kMaxInitTries = 20, kRaiseInitTries = 100;
  Rng rng = Rng::stream(params.random_state, restart);
  Prototypes P(d, k, gamma);
  std::vector<std::int32_t> labels(d.n);
  for (std::size_t tries = 1;; ++tries) {
    Matrix<std::int32_t> modes;
    if (tries > kMaxInitTries) {
      modes = init_random_rows(d, k, rng);
    } else if (params.init == KPrototypesInit::huang) {
      modes = init_huang(d, k, rng);
    } else {
      modes = Matrix<std::int32_t>(k, d.q);
      for (std::size_t l = 0; l < k; ++l) std::copy(cao->row(l), cao->row(l) + d.q, modes.row(l));
    }
    const MatrixD centroids = init_numeric(d, k, rng);
    P.set_all(centroids, modes);
    if (assign_all(d, P, labels)) {
      RunResult res = finish(d, P, labels, params, rng);
      res.init_tries = tries;
      res.random_fallback = tries > kMaxInitTries;
      return res;
    }
    if (tries == kRaiseInitTries) {
      RunResult res;
      res.failed = true;
      res.init_tries = tries;
      res.random_fallback = true;
      return res;
    }
  }
}

RunResult run_from(const Data& d, const MatrixD& centroids, const Matrix<std::int32_t>& modes, double gamma,
                   const KPrototypesParams& params) {
  Rng rng = Rng::stream(params.random_state, 0);
  Prototypes P(d, centroids.rows(), gamma);
  P.set_all(centroids, modes);
  std::vector<std::int32_t> labels(d.n);
  // The batch passes of one run can be shared by rows: with several ranks each
  // computes its blocks' rows (kmodes' online pass moves rows one at a time, so it
  // runs whole on every rank).
  const bool by_rows = params.algorithm == KPrototypesAlgorithm::batch && params.comm != nullptr &&
                       params.comm->size() > 1;
  const cluster_detail::RankShare share =
      by_rows ? cluster_detail::RankShare::of(params.comm, Blocks{d.n, kBatchBlock}.count())
              : cluster_detail::RankShare{};
  if (!assign_all(d, P, labels, share)) {
    RunResult res;
    res.failed = true;
    res.init_tries = 1;
    return res;
  }
  RunResult res = finish(d, P, labels, params, rng, share);
  res.init_tries = 1;
  return res;
}

void dissimilarities(ViewD num, MatrixView<std::int32_t> cat, const MatrixD& centroids,
                     const Matrix<std::int32_t>& modes, double gamma, double* out) {
  const std::size_t m = num.rows(), k = centroids.rows(), p = num.cols(), q = cat.cols();
  parallel_blocks(m, 1024, [&](std::size_t b, std::size_t e, std::size_t) {
    std::vector<double> sq(p);
    for (std::size_t i = b; i < e; ++i) {
      const double* x = num.row(i);
      const std::int32_t* c = cat.row(i);
      for (std::size_t l = 0; l < k; ++l) {
        for (std::size_t j = 0; j < p; ++j) {
          const double t = centroids(l, j) - x[j];
          sq[j] = t * t;
        }
        std::int64_t mm = 0;
        for (std::size_t j = 0; j < q; ++j) mm += c[j] != modes(l, j);
        out[i * k + l] = pairwise_sum(sq.data(), p) + gamma * static_cast<double>(mm);
      }
    }
  });
}

}  // namespace segmenta::kproto
