// k-means: greedy k-means++ seeding and Lloyd iterations after scikit-learn 1.3
// (../shared/ANCHORS.md §1.4), restarts run in lockstep over shared passes.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "cluster/rank_share.hpp"
#include "segmenta/cluster.hpp"
#include "kernels/dispatch.hpp"
#include "segmenta/kernels.hpp"

namespace segmenta {
namespace {

constexpr const char* kStage = "kmeans";

// ---------------------------------------------------------------------------
// Distance kernels
//
// The SIMD kernels live in src/kernels (kernels/distance_kernels.hpp), compiled once
// per instruction set and chosen at run time (kernels::table()); all of them give the
// same results bit for bit, so labels and centres do not depend on the CPU.
//
// Dot-tile kernel (float or double, many columns): out(i, j) = cn[j] - 2 x_i . c_j,
// each dot product in 64-byte lanes of fused multiply-adds (16 floats or 8 doubles)
// folded in a fixed halving tree. The value of a pair does not depend on the tile it
// was computed in, on the other centres or rows. Tiles of 4 rows x up to 6 centres
// keep their accumulators in registers, so each loaded vector feeds several FMAs as in
// a GEMM micro-kernel, without BLAS's packing and per-call overhead, which dominate
// with few centres. Measured (one thread, E-step with argmin, 45211 x 384 float rows,
// 5 centres): 7.8 ms against 14.0 ms for one sgemm per 256-row block as scikit-learn
// does. With 50 centres (10 restarts together) sgemm is ~25% faster in cache, but its
// summation order then depends on which centres share a call.
//
// Panel kernel (double, few columns): the rows transposed in panels of 8 rows; each
// distance is one fused multiply-add chain over f in its own lane (so the scalar
// `d = 0; for f: d = fma(x_f, c_f, d)` reproduces it bit for bit), the argmin a vector
// compare-and-select in index order, and the centre sums kept in 8 sets, row 8 t + l
// adding into set l, folded in a fixed tree at the end of the block. Measured (one
// thread, E-step with labels, 40691 x 8, 5 centres): 0.07 ms, against 0.40 ms for one
// dgemm per 256-row block and 0.56 ms for the dot-tile kernel.
// ---------------------------------------------------------------------------

/// Elements of T per 64-byte vector of the dot-tile kernel.
template <class T>
constexpr std::size_t v64_lanes() {
  return 64 / sizeof(T);
}

constexpr std::size_t kPanel = 8;

inline std::size_t round_up(std::size_t v, std::size_t m) { return (v + m - 1) / m * m; }

template <class T>
void dot_distances(const T* x, std::size_t m, std::size_t ldx, std::size_t p, const T* c, std::size_t ldc,
                   const T* cn, std::size_t q, T* out) noexcept {
  if constexpr (std::is_same_v<T, double>)
    kernels::table().dot_distances_d(x, m, ldx, p, c, ldc, cn, q, out);
  else
    kernels::table().dot_distances_f(x, m, ldx, p, c, ldc, cn, q, out);
}

/// ||a||^2 with the same lanes and tree as the dot-tile kernel.
template <class T>
T dot_sq_norm(const T* a, std::size_t p) noexcept {
  if constexpr (std::is_same_v<T, double>)
    return kernels::table().dot_sq_norm_d(a, p);
  else
    return kernels::table().dot_sq_norm_f(a, p);
}

/// Squared norm as one fma chain in T (the same rounding as the panel kernel's dots).
template <class T>
T fma_sq_norm(const T* a, std::size_t p) noexcept {
  T s = 0;
  for (std::size_t f = 0; f < p; ++f) s = std::fma(a[f], a[f], s);
  return s;
}

/// Squared Euclidean distance by direct differences in double, with eight
/// interleaved accumulators combined in a fixed tree.
template <class T>
double sq_dist_direct(const T* a, const T* b, std::size_t p) noexcept {
  if constexpr (std::is_same_v<T, double>)
    return kernels::table().sq_dist_direct_d(a, b, p);
  else
    return kernels::table().sq_dist_direct_f(a, b, p);
}

/// Index of the smallest of d[0..k), the lowest one on ties (strict <). Written
/// with selects rather than branches: labels of neighbouring rows are unrelated,
/// so a branch would be mispredicted about once per row.
template <class T>
inline std::int32_t argmin_strict(const T* d, std::size_t k) noexcept {
  T best = d[0];
  std::int32_t label = 0;
  for (std::size_t j = 1; j < k; ++j) {
    const T v = d[j];
    const bool lower = v < best;
    best = lower ? v : best;
    label = lower ? static_cast<std::int32_t>(j) : label;
  }
  return label;
}

/// Rows, in the two layouts the panel kernel reads: transposed panels for the
/// distances, and row-major rows padded to whole vectors for the centre sums.
struct PanelData {
  std::size_t p = 0, pp = 0;     // columns, columns padded to a multiple of 8
  AlignedVector<double> panels;  // (ceil(n / 8), p, 8)
  AlignedVector<double> rows;    // (n, pp)
  AlignedVector<double> xn;      // (ceil(n / 8) * 8) squared norms, zero padded

  kernels::PanelRows view() const noexcept { return {panels.data(), rows.data(), xn.data(), p, pp}; }
};

/// The panel layouts of x (n, p) with squared norms xn.
template <class T>
PanelData make_panels(MatrixView<T> x, const std::vector<double>& xn) {
  const std::size_t n = x.rows(), p = x.cols();
  const std::size_t np = (n + kPanel - 1) / kPanel;
  PanelData d;
  d.p = p;
  d.pp = round_up(p, kPanel);
  d.panels.assign(np * p * kPanel, 0.0);
  d.rows.assign(n * d.pp, 0.0);
  d.xn.assign(np * kPanel, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const T* r = x.row(i);
    const std::size_t t = i / kPanel, l = i % kPanel;
    for (std::size_t f = 0; f < p; ++f) {
      d.panels[(t * p + f) * kPanel + l] = static_cast<double>(r[f]);
      d.rows[i * d.pp + f] = static_cast<double>(r[f]);
    }
    d.xn[i] = xn[i];
  }
  return d;
}

/// The panel kernel serves tabular data (double, few columns); with many columns
/// (embeddings are float) the dot-tile kernel is as fast and needs no transposed
/// copy of the rows.
template <class T>
bool use_panels(std::size_t p) {
  return std::is_same_v<T, double> && p <= 32;
}
// ---------------------------------------------------------------------------
// Row blocks
// ---------------------------------------------------------------------------

/// Rows per reduction block: at least 1024, at most ~64 blocks. Depends on n only,
/// so every partial sum has the same boundaries whatever the thread count.
std::size_t reduction_block_rows(std::size_t n) {
  const std::size_t target = round_up((n + 63) / 64, 256);
  return std::max<std::size_t>(1024, target);
}

/// Rows per kernel call inside a block: small enough for the rows and the output
/// tile to stay in L1/L2 while every restart of the pass reads them.
constexpr std::size_t kSubRows = 64;

/// Passes with less work than this (multiply-adds) run on the calling thread: a
/// parallel region costs tens of microseconds on a quiet machine and much more
/// when the cores are oversubscribed, and the blocks (so the results) are the same.
constexpr double kParallelWork = 4e6;

/// parallel_blocks, or the same blocks in order on this thread when `work` is small.
void blocks_for(std::size_t n, std::size_t block, double work,
                const std::function<void(std::size_t, std::size_t, std::size_t)>& fn) {
  if (work >= kParallelWork) {
    parallel_blocks(n, block, fn);
    return;
  }
  const Blocks b{n, block};
  for (std::size_t i = 0; i < b.count(); ++i) fn(b.begin(i), b.end(i), i);
}

/// The row blocks this process computes: all of them alone; with several ranks its
/// share (rank_blocks), the other blocks' results arriving by exchange.
using Share = cluster_detail::RankShare;

/// blocks_for over the blocks of `share` only (all of them for one process).
void share_blocks_for(std::size_t n, std::size_t block, double work, const Share& share,
                      const std::function<void(std::size_t, std::size_t, std::size_t)>& fn) {
  if (!share.distributed()) {
    blocks_for(n, block, work, fn);
    return;
  }
  const Blocks b{n, block};
  const std::size_t first = share.begin_block(b.count()), last = share.end_block(b.count());
  if (work * static_cast<double>(last - first) >= kParallelWork * static_cast<double>(std::max<std::size_t>(b.count(), 1))) {
    parallel_for(last - first, [&](std::size_t t) { fn(b.begin(first + t), b.end(first + t), first + t); });
    return;
  }
  for (std::size_t i = first; i < last; ++i) fn(b.begin(i), b.end(i), i);
}

/// Every row's label from the rank that computed it.
void exchange_labels(const Share& share, const Blocks& blocks, std::vector<std::int32_t>& labels) {
  cluster_detail::exchange_block_rows<std::int32_t>(share, blocks, 1, labels.data(), "k-means");
}

/// Centres for the kernels: rows zero-padded to ldc, norms in the summation order
/// of the dot-tile kernel (cn) and of the panel kernel (cn_chain).
template <class T>
struct KernelCentres {
  std::size_t q = 0, ldc = 0;
  AlignedVector<T> c, cn, cn_chain;

  void reset(std::size_t p, std::size_t count) {
    q = count;
    ldc = round_up(std::max<std::size_t>(p, 1), v64_lanes<T>());
    c.assign(count * ldc, T(0));
    cn.assign(count, T(0));
    cn_chain.assign(count, T(0));
  }
  /// Puts centre rows src (k, p) at positions [offset, offset + k).
  void put(std::size_t offset, const T* src, std::size_t k, std::size_t p) {
    for (std::size_t j = 0; j < k; ++j) {
      std::memcpy(c.data() + (offset + j) * ldc, src + j * p, p * sizeof(T));
      cn[offset + j] = dot_sq_norm(src + j * p, p);
      cn_chain[offset + j] = fma_sq_norm(src + j * p, p);
    }
  }
};

/// Runs fn(block, begin, end, out) over every sub-block of rows of x, where out
/// (end - begin, centres.q) holds the distance terms ||c||^2 - 2 x.c, from the
/// panel kernel when `panels` (the panel layout of x) is given, else from the
/// dot-tile kernel; blocks run in parallel and each block's sub-blocks in row
/// order. begin_block(b) runs first in each block, end_block(b) last.
template <class T, class Begin, class Fn, class End>
void for_each_subblock(MatrixView<T> x, const PanelData* panels, std::size_t block_rows,
                       const KernelCentres<T>& centres, Begin&& begin_block, Fn&& fn, End&& end_block,
                       const Share& share = Share{}) {
  const std::size_t p = x.cols(), q = centres.q;
  const double work = static_cast<double>(x.rows()) * static_cast<double>(p) * static_cast<double>(q + 1);
  share_blocks_for(x.rows(), block_rows, work, share, [&](std::size_t b0, std::size_t b1, std::size_t bi) {
    AlignedVector<T> out(kSubRows * std::max<std::size_t>(q, 1));
    begin_block(bi);
    for (std::size_t s = b0; s < b1; s += kSubRows) {
      const std::size_t e = std::min(b1, s + kSubRows);
      if (q > 0) {
        if constexpr (std::is_same_v<T, double>) {
          if (panels) {
            // Sub-blocks start at multiples of 64 rows, so panels never straddle them.
            kernels::table().panel_terms(panels->view(), centres.c.data(), centres.ldc, centres.cn_chain.data(), q,
                                         s, e, out.data(), q);
            fn(bi, s, e, out.data());
            continue;
          }
        }
        dot_distances(x.row(s), e - s, x.stride(), p, centres.c.data(), centres.ldc, centres.cn.data(), q, out.data());
      }
      fn(bi, s, e, out.data());
    }
    end_block(bi);
  });
}

/// Eight doubles as one vector (GCC vector extension; only additions are done on
/// it, so fused multiply-adds cannot creep in). Passed by reference: by value its
/// ABI would depend on AVX-512.
typedef double D8 __attribute__((vector_size(64)));
typedef float F8 __attribute__((vector_size(32)));

inline void load_d8(D8& out, const double* p) noexcept { std::memcpy(&out, p, sizeof out); }
inline void load_d8(D8& out, const float* p) noexcept {
  F8 v;
  std::memcpy(&v, p, sizeof v);
  out = __builtin_convertvector(v, D8);
}
template <class T>
inline void add_d8(D8& acc, const T* p) noexcept {
  D8 v;
  load_d8(v, p);
  acc += v;
}
inline void add_store_d8(double* p, const D8& v) noexcept {
  D8 sum;
  load_d8(sum, p);
  sum += v;
  std::memcpy(p, &sum, sizeof sum);
}

/// Adds rows [s, e) of x (at most kSubRows of them) to sums (k, p) by label: the
/// rows of one label are summed among themselves first, in row order, in
/// registers, and only then added to the cluster's sums. With many
/// columns and several restarts in a pass the sums (restarts x k x p doubles) live
/// in L2, and one read-modify-write of them per row was what bounded this step.
/// The grouping is by sub-block of kSubRows rows, a constant, so the order of the
/// additions does not depend on threads.
template <class T>
void add_rows_by_label(MatrixView<T> x, std::size_t s, std::size_t e, const std::int32_t* labels, std::size_t k,
                       std::size_t p, double* sums) noexcept {
  const std::size_t m = e - s;
  std::uint32_t order[kSubRows];
  if (k <= kSubRows) {
    std::uint32_t start[kSubRows + 1] = {};
    for (std::size_t i = 0; i < m; ++i) ++start[labels[s + i] + 1];
    for (std::size_t j = 0; j < k; ++j) start[j + 1] += start[j];
    for (std::size_t i = 0; i < m; ++i) order[start[labels[s + i]]++] = static_cast<std::uint32_t>(i);
  } else {
    for (std::size_t i = 0; i < m; ++i) order[i] = static_cast<std::uint32_t>(i);
    std::stable_sort(order, order + m, [&](std::uint32_t a, std::uint32_t b) { return labels[s + a] < labels[s + b]; });
  }
  for (std::size_t g0 = 0; g0 < m;) {
    const std::int32_t j = labels[s + order[g0]];
    std::size_t g1 = g0 + 1;
    while (g1 < m && labels[s + order[g1]] == j) ++g1;
    double* sj = sums + static_cast<std::size_t>(j) * p;
    // 64 columns per sweep over the group: 8 independent accumulators hide the
    // latency of the additions.
    std::size_t f = 0;
    for (; f + 64 <= p; f += 64) {
      D8 acc[8];
      const T* x0 = x.row(s + order[g0]) + f;
      for (int v = 0; v < 8; ++v) load_d8(acc[v], x0 + 8 * v);
      for (std::size_t g = g0 + 1; g < g1; ++g) {
        const T* xr = x.row(s + order[g]) + f;
        for (int v = 0; v < 8; ++v) add_d8(acc[v], xr + 8 * v);
      }
      for (int v = 0; v < 8; ++v) add_store_d8(sj + f + 8 * v, acc[v]);
    }
    for (; f + 8 <= p; f += 8) {
      D8 acc;
      load_d8(acc, x.row(s + order[g0]) + f);
      for (std::size_t g = g0 + 1; g < g1; ++g) add_d8(acc, x.row(s + order[g]) + f);
      add_store_d8(sj + f, acc);
    }
    for (; f < p; ++f) {
      double acc = static_cast<double>(x(s + order[g0], f));
      for (std::size_t g = g0 + 1; g < g1; ++g) acc += static_cast<double>(x(s + order[g], f));
      sj[f] += acc;
    }
    g0 = g1;
  }
}

// ---------------------------------------------------------------------------
// Validation and preparation
// ---------------------------------------------------------------------------

template <class T>
void check_finite(MatrixView<T> x, const char* name) {
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const T* r = x.row(i);
    // v - v is 0 for a finite v and NaN otherwise: a branch-free test per row.
    T probe = 0;
    for (std::size_t j = 0; j < x.cols(); ++j) probe += r[j] - r[j];
    if (probe == T(0)) continue;
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (!std::isfinite(r[j]))
        throw InvalidArgument(fmt::format("{}: non-finite value at row {}, column {}", name, i, j));
  }
}

template <class T>
void check_data(MatrixView<T> x) {
  if (x.rows() == 0) throw InvalidArgument("x: has no rows");
  if (x.cols() == 0) throw InvalidArgument("x: has no columns");
  check_finite(x, "x");
}

void check_params(const KMeansParams& params, std::size_t n, bool need_n_init) {
  if (params.n_clusters < 1 || params.n_clusters > n)
    throw InvalidArgument(fmt::format("n_clusters: must be between 1 and the number of rows ({}), got {}", n,
                                      params.n_clusters));
  if (need_n_init && params.n_init < 1) throw InvalidArgument("n_init: must be at least 1, got 0");
  if (params.max_iter < 1) throw InvalidArgument("max_iter: must be at least 1, got 0");
  if (!(params.tol >= 0.0) || !std::isfinite(params.tol))
    throw InvalidArgument(fmt::format("tol: must be a finite number >= 0, got {}", params.tol));
}

/// The rows as the algorithm sees them: centred by the column means (scikit-learn
/// subtracts them in place before seeding), with squared norms in double. Either a
/// centred copy (xc, and panels for the panel kernel), or, `blockwise`, none: the
/// rows are centred block by block when a pass reads them (RowSource).
template <class T>
struct Prepared {
  MatrixView<T> x;           // (n, p) the rows as given
  Matrix<T> xc;              // (n, p) centred copy; empty when blockwise
  std::vector<double> mean;  // (p)
  std::vector<double> xn;    // (n, zero-padded to a multiple of 8 when blockwise) squared norms of the centred rows
  double tol_eff = 0.0;      // tol * mean column variance
  std::size_t block_rows = 0;
  bool blockwise = false;
  bool panel_kernel = false; // the panel kernel serves these rows
  PanelData panels;          // panel layout of xc when the panel kernel serves it (not blockwise)

  const PanelData* panel_data() const { return panels.panels.empty() ? nullptr : &panels; }

  /// Row i of x centred, into out (p): the values of xc.
  void centre_row(std::size_t i, T* out) const noexcept {
    const T* r = x.row(i);
    for (std::size_t j = 0; j < x.cols(); ++j) out[j] = static_cast<T>(static_cast<double>(r[j]) - mean[j]);
  }
};

/// Squared row norms in double (eight interleaved accumulators, a fixed tree).
template <class T>
std::vector<double> row_norms_double(MatrixView<T> x, std::size_t block_rows) {
  std::vector<double> xn(x.rows());
  const std::size_t p = x.cols();
  const std::vector<T> zero(p, T(0));
  blocks_for(x.rows(), block_rows, static_cast<double>(x.rows()) * static_cast<double>(p),
             [&](std::size_t b0, std::size_t b1, std::size_t) {
               for (std::size_t i = b0; i < b1; ++i) xn[i] = sq_dist_direct(x.row(i), zero.data(), p);
             });
  return xn;
}

/// copy: keep a centred copy of x (and its panel layout); else centre block-wise.
template <class T>
Prepared<T> prepare(MatrixView<T> x, double tol, bool copy = true) {
  const std::size_t n = x.rows(), p = x.cols();
  Prepared<T> d;
  d.x = x;
  d.block_rows = reduction_block_rows(n);
  d.panel_kernel = use_panels<T>(p);
  // numpy's mean and var along axis 0 add the rows one after the other; doing the
  // same keeps the centring (and so every later rounding) as close as possible.
  d.mean.assign(p, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const T* r = x.row(i);
    for (std::size_t j = 0; j < p; ++j) d.mean[j] += static_cast<double>(r[j]);
  }
  for (double& m : d.mean) m /= static_cast<double>(n);
  if (tol > 0.0) {
    std::vector<double> var(p, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      const T* r = x.row(i);
      for (std::size_t j = 0; j < p; ++j) {
        const double c = static_cast<double>(r[j]) - d.mean[j];
        var[j] += c * c;
      }
    }
    for (double& v : var) v /= static_cast<double>(n);
    d.tol_eff = kernels::pairwise_sum(var.data(), p) / static_cast<double>(p) * tol;
  }
  if (!copy) {
    // The norms of the centred rows, each row centred into a buffer as row_norms_double
    // would read it from xc; padded for the panel kernel's whole-panel loads.
    d.blockwise = true;
    d.xn.assign(round_up(n, kPanel), 0.0);
    const std::vector<T> zero(p, T(0));
    blocks_for(n, d.block_rows, static_cast<double>(n) * static_cast<double>(p),
               [&](std::size_t b0, std::size_t b1, std::size_t) {
                 std::vector<T> row(p);
                 for (std::size_t i = b0; i < b1; ++i) {
                   d.centre_row(i, row.data());
                   d.xn[i] = sq_dist_direct(row.data(), zero.data(), p);
                 }
               });
    return d;
  }
  d.xc.resize(n, p);
  parallel_blocks(n, d.block_rows, [&](std::size_t b0, std::size_t b1, std::size_t) {
    for (std::size_t i = b0; i < b1; ++i) d.centre_row(i, d.xc.row(i));
  });
  d.xn = row_norms_double(d.xc.view(), d.block_rows);
  if (d.panel_kernel) d.panels = make_panels(d.xc.view(), d.xn);
  return d;
}

/// The centred rows of one row block [b0, b1), indexed from b0, as the kernels read
/// them.
template <class T>
struct BlockRows {
  MatrixView<T> x;              // (b1 - b0, p) centred rows
  const double* xn = nullptr;   // (b1 - b0, padded to whole panels) their squared norms
  kernels::PanelRows panels;    // their panel layout (panel kernel only)
};

/// Hands out the centred rows of a block: views into the copy, or, block-wise, the
/// block centred into a buffer (one per thread at a time, kept for the next block)
/// with the same values, layout and panel boundaries (blocks start at multiples of 8).
template <class T>
class RowSource {
 public:
  explicit RowSource(const Prepared<T>& d) : d_(d) {}

  std::size_t rows() const noexcept { return d_.x.rows(); }
  std::size_t cols() const noexcept { return d_.x.cols(); }
  bool panel_kernel() const noexcept { return d_.panel_kernel; }

  /// fn(const BlockRows<T>&) on rows [b0, b1) (b0 a multiple of 8).
  template <class Fn>
  void with_block(std::size_t b0, std::size_t b1, Fn&& fn) const {
    BlockRows<T> br;
    if (!d_.blockwise) {
      br.x = d_.xc.view().rows_view(b0, b1 - b0);
      br.xn = d_.xn.data() + b0;
      if (const PanelData* pd = d_.panel_data())
        br.panels = {pd->panels.data() + (b0 / kPanel) * pd->p * kPanel, pd->rows.data() + b0 * pd->pp,
                     pd->xn.data() + b0, pd->p, pd->pp};
      fn(std::as_const(br));
      return;
    }
    Lease lease(*this);
    fill(*lease.buf, b0, b1, br);
    fn(std::as_const(br));
  }

  /// Row i centred, into out (p).
  void centred_row(std::size_t i, T* out) const noexcept { d_.centre_row(i, out); }

 private:
  struct Buffer {
    AlignedVector<T> xc;                       // (m, p) dot-tile kernel
    AlignedVector<double> panels, rows;        // panel kernel: as PanelData
  };
  struct Lease {
    const RowSource& src;
    std::unique_ptr<Buffer> buf;
    explicit Lease(const RowSource& s) : src(s) {
      std::lock_guard<std::mutex> lock(src.mu_);
      if (src.free_.empty()) {
        buf = std::make_unique<Buffer>();
      } else {
        buf = std::move(src.free_.back());
        src.free_.pop_back();
      }
    }
    ~Lease() {
      std::lock_guard<std::mutex> lock(src.mu_);
      src.free_.push_back(std::move(buf));
    }
  };

  void fill(Buffer& b, std::size_t b0, std::size_t b1, BlockRows<T>& br) const {
    const std::size_t m = b1 - b0, p = cols();
    br.xn = d_.xn.data() + b0;
    if constexpr (std::is_same_v<T, double>) {
      if (d_.panel_kernel) {
        // make_panels on the centred block: the same values in the same places.
        const std::size_t pp = round_up(p, kPanel), np = (m + kPanel - 1) / kPanel;
        b.panels.resize(np * p * kPanel);
        b.rows.resize(m * pp);
        for (std::size_t i = 0; i < m; ++i) {
          double* o = b.rows.data() + i * pp;
          d_.centre_row(b0 + i, o);
          for (std::size_t f = p; f < pp; ++f) o[f] = 0.0;
          double* panel = b.panels.data() + (i / kPanel) * p * kPanel + i % kPanel;
          for (std::size_t f = 0; f < p; ++f) panel[f * kPanel] = o[f];
        }
        for (std::size_t i = m; i < np * kPanel; ++i) {
          double* panel = b.panels.data() + (i / kPanel) * p * kPanel + i % kPanel;
          for (std::size_t f = 0; f < p; ++f) panel[f * kPanel] = 0.0;
        }
        br.x = MatrixView<T>(b.rows.data(), m, p, pp);
        br.panels = {b.panels.data(), b.rows.data(), br.xn, p, pp};
        return;
      }
    }
    b.xc.resize(m * p);
    for (std::size_t i = 0; i < m; ++i) d_.centre_row(b0 + i, b.xc.data() + i * p);
    br.x = MatrixView<T>(b.xc.data(), m, p);
  }

  const Prepared<T>& d_;
  mutable std::mutex mu_;
  mutable std::vector<std::unique_ptr<Buffer>> free_;
};

/// Number of distinct rows of x, counting no further than `limit`.
template <class T>
std::size_t distinct_rows_up_to(MatrixView<T> x, std::size_t limit) {
  const std::size_t p = x.cols();
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> seen;
  std::size_t distinct = 0;
  std::vector<T> key(p);
  for (std::size_t i = 0; i < x.rows() && distinct < limit; ++i) {
    const T* r = x.row(i);
    // +0.0 turns -0.0 into 0.0 so that equal values hash alike.
    for (std::size_t j = 0; j < p; ++j) key[j] = r[j] + T(0);
    const std::uint64_t h =
        fnv1a64(std::string_view(reinterpret_cast<const char*>(key.data()), p * sizeof(T)));
    auto& bucket = seen[h];
    bool found = false;
    for (std::size_t other : bucket)
      if (std::equal(r, r + p, x.row(other))) {
        found = true;
        break;
      }
    if (!found) {
      bucket.push_back(i);
      ++distinct;
    }
  }
  return distinct;
}

// ---------------------------------------------------------------------------
// k-means++ for a group of restarts at once
// ---------------------------------------------------------------------------

/// Greedy k-means++ for several independent random streams in lockstep: each step
/// is one pass over the rows that evaluates the candidates of every stream. The
/// cumulative potential is defined over the fixed row blocks (block prefix + the
/// running sum inside the block), so candidate search, potentials and choices do
/// not depend on the thread count or on the other streams.
template <class T>
std::vector<std::vector<std::size_t>> kmeans_pp_group(MatrixView<T> x, const std::vector<double>& xn,
                                                      const PanelData* panels, std::size_t k,
                                                      std::size_t block_rows, const std::vector<Rng*>& rngs,
                                                      const Share& share = Share{}) {
  // With several ranks each computes the rows of its blocks (closest, the
  // candidates' distances and the block potentials are valid there only); the
  // potentials are folded along the ranks, and a draw that lands in a block is
  // resolved by its rank.
  const std::size_t n = x.rows(), p = x.cols(), R = rngs.size();
  const Blocks blocks{n, block_rows};
  const std::size_t nb = blocks.count();
  const std::size_t trials = 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)));

  std::vector<std::vector<std::size_t>> chosen(R);
  std::vector<std::vector<double>> closest(R, std::vector<double>(n));
  std::vector<std::vector<double>> block_pot(R, std::vector<double>(nb));
  std::vector<double> pot(R, 0.0);
  constexpr std::size_t kNoPick = std::numeric_limits<std::size_t>::max();

  // Distances from every row to `cand` (R * t candidate rows, position r * t + j):
  // d = max(0, (||c||^2 - 2 x.c) + ||x||^2), scikit-learn's order of terms.
  KernelCentres<T> centres;
  auto load_candidates = [&](const std::vector<std::size_t>& cand) {
    centres.reset(p, cand.size());
    for (std::size_t q = 0; q < cand.size(); ++q) centres.put(q, x.row(cand[q]), 1, p);
  };

  // First centre: one uniform draw through the cumulative unit weights.
  std::vector<std::size_t> first(R);
  for (std::size_t r = 0; r < R; ++r) {
    const double u = rngs[r]->uniform();
    first[r] = std::min(n - 1, static_cast<std::size_t>(u * static_cast<double>(n)));
    chosen[r].push_back(first[r]);
  }
  load_candidates(first);
  for_each_subblock(
      x, panels, block_rows, centres,
      [&](std::size_t bi) { for (std::size_t r = 0; r < R; ++r) block_pot[r][bi] = 0.0; },
      [&](std::size_t bi, std::size_t s, std::size_t e, const T* out) {
        for (std::size_t r = 0; r < R; ++r) {
          double acc = block_pot[r][bi];
          for (std::size_t i = s; i < e; ++i) {
            const double d = std::max(0.0, static_cast<double>(out[(i - s) * centres.q + r]) + xn[i]);
            closest[r][i] = d;
            acc += d;
          }
          block_pot[r][bi] = acc;
        }
      },
      [](std::size_t) {}, share);
  // pot: every stream's potential, the block potentials added in block order from
  // zero (folded along the ranks); before: the sum of the blocks before this rank's
  // share (0 for one process), where its search for a draw starts.
  const std::size_t mine_first = share.distributed() ? std::min(share.first, nb) : 0;
  const std::size_t mine_last = share.distributed() ? std::min(share.last, nb) : nb;
  std::vector<double> before(R, 0.0);
  cluster_detail::fold_blocks(
      share, nb, pot,
      [&](std::size_t b, std::span<double> running) {
        for (std::size_t r = 0; r < R; ++r) running[r] += block_pot[r][b];
      },
      &before);
  std::vector<std::int64_t> picks(R * trials);
  std::vector<std::vector<double>> cand_dist(R * trials, std::vector<double>(n));
  std::vector<double> cand_block_pot(R * trials * nb);
  std::vector<std::size_t> cand(R * trials);
  for (std::size_t c = 1; c < k; ++c) {
    for (std::size_t r = 0; r < R; ++r) {
      for (std::size_t t = 0; t < trials; ++t) {
        const double target = rngs[r]->uniform() * pot[r];
        // First row whose cumulative potential reaches target (numpy searchsorted,
        // side='left'), clipped to the last row. With several ranks each searches its
        // own blocks from the sum of the blocks before them, and the lowest rank that
        // finds the block wins: the first such block overall.
        std::size_t pick = kNoPick;
        double prefix = before[r];
        for (std::size_t b = mine_first; b < mine_last; ++b) {
          const double end = prefix + block_pot[r][b];
          if (end >= target) {
            // The running sum repeats the block's own sum, so it reaches `end`
            // at the block's last row at the latest.
            double local = 0.0;
            pick = blocks.end(b) - 1;
            for (std::size_t i = blocks.begin(b); i < blocks.end(b); ++i) {
              local += closest[r][i];
              if (prefix + local >= target) {
                pick = i;
                break;
              }
            }
            break;
          }
          prefix = end;
        }
        cand[r * trials + t] = pick;
      }
    }
    if (share.distributed()) {
      // Each rank's pick or -1 (R * trials values a rank).
      for (std::size_t q = 0; q < R * trials; ++q)
        picks[q] = cand[q] == kNoPick ? -1 : static_cast<std::int64_t>(cand[q]);
      const std::vector<std::int64_t> all = share.comm->allgather(picks);
      for (std::size_t q = 0; q < R * trials; ++q) {
        cand[q] = kNoPick;
        for (std::size_t rank = 0; rank * R * trials < all.size(); ++rank)
          if (all[rank * R * trials + q] >= 0) {
            cand[q] = static_cast<std::size_t>(all[rank * R * trials + q]);
            break;
          }
      }
    }
    for (std::size_t& q : cand)
      if (q == kNoPick) q = n - 1;  // no block reaches the target
    load_candidates(cand);
    for_each_subblock(
        x, panels, block_rows, centres,
        [&](std::size_t bi) {
          for (std::size_t q = 0; q < R * trials; ++q) cand_block_pot[q * nb + bi] = 0.0;
        },
        [&](std::size_t bi, std::size_t s, std::size_t e, const T* out) {
          for (std::size_t q = 0; q < R * trials; ++q) {
            const std::vector<double>& cl = closest[q / trials];
            std::vector<double>& cd = cand_dist[q];
            double acc = cand_block_pot[q * nb + bi];
            for (std::size_t i = s; i < e; ++i) {
              const double d = std::max(0.0, static_cast<double>(out[(i - s) * centres.q + q]) + xn[i]);
              const double m = d < cl[i] ? d : cl[i];
              cd[i] = m;
              acc += m;
            }
            cand_block_pot[q * nb + bi] = acc;
          }
        },
        [](std::size_t) {}, share);
    // Every candidate's potential, folded as pot above; cand_before: the sum of the
    // blocks before this rank's share, for each candidate.
    std::vector<double> cand_pot(R * trials, 0.0), cand_before;
    cluster_detail::fold_blocks(
        share, nb, cand_pot,
        [&](std::size_t b, std::span<double> running) {
          for (std::size_t q = 0; q < R * trials; ++q) running[q] += cand_block_pot[q * nb + b];
        },
        &cand_before);
    for (std::size_t r = 0; r < R; ++r) {
      std::size_t best = 0;
      double best_pot = 0.0;
      for (std::size_t t = 0; t < trials; ++t) {
        const double s = cand_pot[r * trials + t];
        if (t == 0 || s < best_pot) {
          best_pot = s;
          best = t;
        }
      }
      const std::size_t q = r * trials + best;
      pot[r] = best_pot;
      before[r] = cand_before[q];
      std::swap(closest[r], cand_dist[q]);
      for (std::size_t b = mine_first; b < mine_last; ++b) block_pot[r][b] = cand_block_pot[q * nb + b];
      chosen[r].push_back(cand[q]);
    }
  }
  return chosen;
}

// ---------------------------------------------------------------------------
// Lloyd iterations for a group of restarts in lockstep
// ---------------------------------------------------------------------------

enum class Phase {
  lloyd,        // E-step + centre sums
  final_estep,  // labels against the final centres, then the inertia
  inertia,      // inertia of the current labels (strict convergence)
  done
};

template <class T>
struct Run {
  Matrix<T> c, c_new;                 // (k, p) current centres, scratch for the next ones
  std::vector<T> cn;                  // (k) squared norms of c
  std::vector<std::int32_t> labels;   // (n), -1 before the first E-step
  std::vector<double> psum;           // (nb, k, p) centre sums per block
  std::vector<double> pcount;         // (nb, k) members per block
  std::vector<double> pscalar;        // (nb) E-step objective or inertia per block
  std::vector<std::size_t> pchanged;  // (nb) labels changed per block
  std::size_t slot = 0;               // first of its centres in the current pass
  Phase phase = Phase::lloyd;
  std::size_t n_iter = 0;
  bool strict = false, converged = false;
  double inertia = 0.0;
  std::vector<double> history;
  std::size_t relocated = 0;
};

template <class T>
class LloydGroup {
 public:
  /// src: the centred rows (the panel kernel when src.panel_kernel(), else the
  /// dot-tile kernel). share: the row blocks of this rank (all of them for one process).
  LloydGroup(const RowSource<T>& src, std::size_t k, std::size_t block_rows, std::size_t max_iter, double tol_eff,
             const Share& share = Share{})
      : src_(src), k_(k), p_(src.cols()), blocks_{src.rows(), block_rows}, max_iter_(max_iter), tol_(tol_eff),
        share_(share) {}

  /// Every row's labels of `r` (with several ranks each holds those of its blocks).
  void complete_labels(Run<T>& r) const { exchange_labels(share_, blocks_, r.labels); }

  /// scikit-learn's _is_same_clustering: the labels of b are a relabelling of those
  /// of a. With several ranks each checks the rows of its blocks and the ranks agree
  /// on the relabelling (k + 1 values a rank), so no labels travel.
  bool same_clustering(const Run<T>& a, const Run<T>& b) const {
    std::size_t r0 = 0, r1 = a.labels.size();
    if (share_.distributed()) {
      const std::size_t first = share_.begin_block(blocks_.count()), last = share_.end_block(blocks_.count());
      r0 = first < last ? blocks_.begin(first) : 0;
      r1 = first < last ? blocks_.end(last - 1) : 0;
    }
    std::vector<std::int64_t> map(k_ + 1, -1);  // map[k_]: 0 when this rank's rows contradict
    map[k_] = 1;
    for (std::size_t i = r0; i < r1 && map[k_] == 1; ++i) {
      std::int64_t& m = map[static_cast<std::size_t>(a.labels[i])];
      if (m == -1)
        m = b.labels[i];
      else if (m != b.labels[i])
        map[k_] = 0;
    }
    if (!share_.distributed()) return map[k_] == 1;
    const std::vector<std::int64_t> all = share_.comm->allgather(map);
    std::vector<std::int64_t> agreed(k_, -1);
    for (std::size_t at = 0; at + k_ < all.size(); at += k_ + 1) {
      if (all[at + k_] != 1) return false;
      for (std::size_t j = 0; j < k_; ++j) {
        const std::int64_t v = all[at + j];
        if (v == -1) continue;
        if (agreed[j] == -1)
          agreed[j] = v;
        else if (agreed[j] != v)
          return false;
      }
    }
    return true;
  }

  /// A run starting from centres init (k, p) in the working coordinates.
  Run<T> make_run(const T* init) const {
    Run<T> r;
    const std::size_t nb = blocks_.count();
    r.c.resize(k_, p_);
    std::memcpy(r.c.data(), init, k_ * p_ * sizeof(T));
    r.c_new.resize(k_, p_);
    r.cn.resize(k_);
    update_norms(r);
    r.labels.assign(src_.rows(), -1);
    r.psum.assign(nb * k_ * p_, 0.0);
    r.pcount.assign(nb * k_, 0.0);
    r.pscalar.assign(nb, 0.0);
    r.pchanged.assign(nb, 0);
    return r;
  }

  /// Advances the runs in lockstep until all are done: one pass over the rows per
  /// iteration serves every run (rows in parallel).
  void run(std::vector<Run<T>>& runs) {
    for (;;) {
      std::vector<Run<T>*> active;
      for (auto& r : runs)
        if (r.phase != Phase::done) active.push_back(&r);
      if (active.empty()) return;
      pass(active);
      std::vector<Totals> totals = sum_blocks(active);
      for (std::size_t a = 0; a < active.size(); ++a) finish_pass(*active[a], totals[a]);
    }
  }

  /// Runs one restart to the end. Safe to call concurrently for different runs
  /// (the group's state is read-only); inside a parallel task its passes are serial.
  void run_one(Run<T>& r) {
    const std::vector<Run<T>*> active{&r};
    while (r.phase != Phase::done) {
      pass(active);
      std::vector<Totals> totals = sum_blocks(active);
      finish_pass(r, totals[0]);
    }
  }

 private:
  void update_norms(Run<T>& r) const {
    for (std::size_t j = 0; j < k_; ++j) r.cn[j] = fma_sq_norm(r.c.row(j), p_);
  }

  void pass(const std::vector<Run<T>*>& active) {
    if constexpr (std::is_same_v<T, double>) {
      if (src_.panel_kernel()) {
        pass_panels(active);
        return;
      }
    }
    std::size_t q = 0;
    for (Run<T>* r : active)
      if (r->phase == Phase::lloyd || r->phase == Phase::final_estep) {
        r->slot = q;
        q += k_;
      }
    KernelCentres<T> centres;
    centres.reset(p_, q);
    for (Run<T>* r : active)
      if (r->phase == Phase::lloyd || r->phase == Phase::final_estep)
        centres.put(r->slot, r->c.data(), k_, p_);

    // for_each_subblock's dot-tile path, on the rows of each block as src_ gives them.
    const std::size_t q_all = centres.q;
    const double work = static_cast<double>(src_.rows()) * static_cast<double>(p_) * static_cast<double>(q_all + 1);
    share_blocks_for(src_.rows(), blocks_.block, work, share_, [&](std::size_t b0, std::size_t b1, std::size_t bi) {
      src_.with_block(b0, b1, [&](const BlockRows<T>& br) {
        AlignedVector<T> out(kSubRows * std::max<std::size_t>(q_all, 1));
        for (Run<T>* r : active) {
          r->pscalar[bi] = 0.0;
          r->pchanged[bi] = 0;
          if (r->phase == Phase::lloyd) {
            std::fill_n(r->psum.data() + bi * k_ * p_, k_ * p_, 0.0);
            std::fill_n(r->pcount.data() + bi * k_, k_, 0.0);
          }
        }
        for (std::size_t s = b0; s < b1; s += kSubRows) {
          const std::size_t e = std::min(b1, s + kSubRows);
          if (q_all > 0)
            dot_distances(br.x.row(s - b0), e - s, br.x.stride(), p_, centres.c.data(), centres.ldc,
                          centres.cn.data(), q_all, out.data());
          for (Run<T>* r : active) {
            switch (r->phase) {
              case Phase::lloyd: lloyd_rows(*r, bi, br, b0, s, e, out.data() + r->slot, q_all); break;
              case Phase::final_estep: final_rows(*r, bi, br, b0, s, e, out.data() + r->slot, q_all); break;
              case Phase::inertia: inertia_rows(*r, bi, br, b0, s, e); break;
              case Phase::done: break;
            }
          }
        }
      });
    });
  }

  /// A pass's per-block results added over the blocks in block order: the E-step
  /// objective or inertia, and in a Lloyd pass the labels changed and the centre
  /// sums and counts.
  struct Totals {
    double scalar = 0.0;
    std::size_t changed = 0;
    std::vector<double> sums, counts;  // (k, p), (k): Lloyd passes only
  };

  /// The totals of the pass of every active run. One process adds all blocks; several
  /// ranks fold their blocks' values along the ranks (from the same zeros, the same
  /// additions in block order: the totals of one process), so only the running totals
  /// travel: 1 value per run, 2 + k + k p per run in a Lloyd pass, whatever n.
  std::vector<Totals> sum_blocks(const std::vector<Run<T>*>& active) const {
    const std::size_t nb = blocks_.count(), kp = k_ * p_;
    std::vector<Totals> totals(active.size());
    for (std::size_t a = 0; a < active.size(); ++a)
      if (active[a]->phase == Phase::lloyd) {
        totals[a].sums.assign(kp, 0.0);
        totals[a].counts.assign(k_, 0.0);
      }
    if (!share_.distributed()) {
      for (std::size_t a = 0; a < active.size(); ++a) {
        const Run<T>& r = *active[a];
        Totals& t = totals[a];
        for (std::size_t b = 0; b < nb; ++b) t.scalar += r.pscalar[b];
        if (r.phase != Phase::lloyd) continue;
        for (std::size_t b = 0; b < nb; ++b) t.changed += r.pchanged[b];
        for (std::size_t b = 0; b < nb; ++b) {
          const double* ps = r.psum.data() + b * kp;
          for (std::size_t i = 0; i < kp; ++i) t.sums[i] += ps[i];
          const double* pc = r.pcount.data() + b * k_;
          for (std::size_t j = 0; j < k_; ++j) t.counts[j] += pc[j];
        }
      }
      return totals;
    }
    // One flat array: per run the scalar, then in a Lloyd pass the labels changed (a
    // count below 2^53: exact as a double), the counts and the sums.
    std::size_t width = 0;
    for (const Run<T>* r : active) width += r->phase == Phase::lloyd ? 2 + k_ + kp : 1;
    std::vector<double> flat(width, 0.0);
    cluster_detail::fold_blocks(share_, nb, flat, [&](std::size_t b, std::span<double> running) {
      double* out = running.data();
      for (const Run<T>* r : active) {
        *out++ += r->pscalar[b];
        if (r->phase != Phase::lloyd) continue;
        *out++ += static_cast<double>(r->pchanged[b]);
        const double* pc = r->pcount.data() + b * k_;
        for (std::size_t j = 0; j < k_; ++j) *out++ += pc[j];
        const double* ps = r->psum.data() + b * kp;
        for (std::size_t i = 0; i < kp; ++i) *out++ += ps[i];
      }
    });
    const double* in = flat.data();
    for (std::size_t a = 0; a < active.size(); ++a) {
      Totals& t = totals[a];
      t.scalar = *in++;
      if (active[a]->phase != Phase::lloyd) continue;
      t.changed = static_cast<std::size_t>(*in++);
      std::copy_n(in, k_, t.counts.begin());
      in += k_;
      std::copy_n(in, kp, t.sums.begin());
      in += kp;
    }
    return totals;
  }

  void pass_panels(const std::vector<Run<T>*>& active) {
    const std::size_t n = src_.rows(), pp = round_up(p_, kPanel);
    const double work = static_cast<double>(n) * static_cast<double>(p_ * k_ * active.size());
    share_blocks_for(n, blocks_.block, work, share_, [&](std::size_t b0, std::size_t b1, std::size_t bi) {
     src_.with_block(b0, b1, [&](const BlockRows<T>& br) {
      // The kernels see the block's rows from 0 (b0 is a multiple of 8: the same panels).
      std::vector<double, AlignedAllocator<double>> sets(kPanel * k_ * pp);
      std::vector<std::size_t> counts(kPanel * k_);
      const kernels::KernelTable& kt = kernels::table();
      const kernels::PanelRows& rows = br.panels;
      const std::size_t m = b1 - b0;
      for (Run<T>* r : active) {
        const double* c = r->c.data();
        const double* cn = r->cn.data();
        std::int32_t* labels = r->labels.data() + b0;
        if (r->phase == Phase::lloyd) {
          std::fill(sets.begin(), sets.end(), 0.0);
          std::fill(counts.begin(), counts.end(), 0);
          const kernels::LloydTotals out =
              kt.lloyd_panel_block(rows, k_, c, cn, 0, m, labels, sets.data(), counts.data());
          double* sums = r->psum.data() + bi * k_ * p_;
          const std::size_t stride = k_ * pp;
          for (std::size_t j = 0; j < k_; ++j)
            for (std::size_t f = 0; f < p_; ++f) {
              const double* v = sets.data() + j * pp + f;
              sums[j * p_ + f] = ((v[0] + v[stride]) + (v[2 * stride] + v[3 * stride])) +
                                 ((v[4 * stride] + v[5 * stride]) + (v[6 * stride] + v[7 * stride]));
            }
          for (std::size_t j = 0; j < k_; ++j) {
            std::size_t total = 0;
            for (std::size_t l = 0; l < kPanel; ++l) total += counts[l * k_ + j];
            r->pcount[bi * k_ + j] = static_cast<double>(total);
          }
          r->pscalar[bi] = out.objective;
          r->pchanged[bi] = out.changed;
        } else if (r->phase == Phase::final_estep) {
          kt.panel_nearest(rows, k_, c, cn, 0, m, labels);
          double inertia = 0.0;
          for (std::size_t i = 0; i < m; ++i)
            inertia += sq_dist_direct(br.x.row(i), r->c.row(static_cast<std::size_t>(labels[i])), p_);
          r->pscalar[bi] = inertia;
        } else if (r->phase == Phase::inertia) {
          r->pscalar[bi] = 0.0;
          inertia_rows(*r, bi, br, b0, b0, b1);
        }
      }
     });
    });
  }

  /// Rows [s, e) of the block br that starts at row b0.
  void lloyd_rows(Run<T>& r, std::size_t bi, const BlockRows<T>& br, std::size_t b0, std::size_t s, std::size_t e,
                  const T* d, std::size_t ld) const {
    double* counts = r.pcount.data() + bi * k_;
    double objective = r.pscalar[bi];
    std::size_t changed = r.pchanged[bi];
    std::int32_t* labels = r.labels.data();
    for (std::size_t i = s; i < e; ++i, d += ld) {
      const std::int32_t j = argmin_strict(d, k_);
      changed += labels[i] != j;
      labels[i] = j;
      objective += br.xn[i - b0] + static_cast<double>(d[j]);
      counts[j] += 1.0;
    }
    add_rows_by_label(br.x, s - b0, e - b0, labels + b0, k_, p_, r.psum.data() + bi * k_ * p_);
    r.pscalar[bi] = objective;
    r.pchanged[bi] = changed;
  }

  void final_rows(Run<T>& r, std::size_t bi, const BlockRows<T>& br, std::size_t b0, std::size_t s, std::size_t e,
                  const T* d, std::size_t ld) const {
    double inertia = r.pscalar[bi];
    for (std::size_t i = s; i < e; ++i, d += ld) {
      const std::int32_t j = argmin_strict(d, k_);
      r.labels[i] = j;
      inertia += sq_dist_direct(br.x.row(i - b0), r.c.row(static_cast<std::size_t>(j)), p_);
    }
    r.pscalar[bi] = inertia;
  }

  void inertia_rows(Run<T>& r, std::size_t bi, const BlockRows<T>& br, std::size_t b0, std::size_t s,
                    std::size_t e) const {
    double inertia = r.pscalar[bi];
    for (std::size_t i = s; i < e; ++i)
      inertia += sq_dist_direct(br.x.row(i - b0), r.c.row(static_cast<std::size_t>(r.labels[i])), p_);
    r.pscalar[bi] = inertia;
  }

  void finish_pass(Run<T>& r, Totals& totals) {
    const double scalar = totals.scalar;
    if (r.phase != Phase::lloyd) {
      r.inertia = scalar;
      r.phase = Phase::done;
      return;
    }
    r.history.push_back(scalar);
    const std::size_t changed = totals.changed;
    std::vector<double>& sums = totals.sums;
    std::vector<double>& counts = totals.counts;
    relocate_empty(r, sums, counts);

    // scikit-learn's _average_centers: multiply by the reciprocal of the weight.
    std::size_t heaviest = 0;
    for (std::size_t j = 1; j < k_; ++j)
      if (counts[j] > counts[heaviest]) heaviest = j;
    for (std::size_t j = 0; j < k_; ++j) {
      if (counts[j] > 0.0) {
        const double alpha = 1.0 / counts[j];
        T* cj = r.c_new.row(j);
        for (std::size_t f = 0; f < p_; ++f) cj[f] = static_cast<T>(sums[j * p_ + f] * alpha);
      }
    }
    // A cluster still empty (relocation impossible: every row sits on its centre)
    // takes the centre of the heaviest one.
    for (std::size_t j = 0; j < k_; ++j)
      if (!(counts[j] > 0.0)) std::memcpy(r.c_new.row(j), r.c_new.row(heaviest), p_ * sizeof(T));

    double shift = 0.0;
    for (std::size_t j = 0; j < k_; ++j) shift += sq_dist_direct(r.c_new.row(j), r.c.row(j), p_);
    std::swap(r.c, r.c_new);
    update_norms(r);
    ++r.n_iter;
    Progress::iteration(r.n_iter, fmt::format("{} rows moved, centre shift {:.2g} (tol {:.2g})", changed, shift, tol_));

    if (changed == 0) {
      r.strict = r.converged = true;
      r.phase = Phase::inertia;
    } else if (shift <= tol_) {
      r.converged = true;
      r.phase = Phase::final_estep;
    } else if (r.n_iter >= max_iter_) {
      r.phase = Phase::final_estep;
    }
  }

  /// scikit-learn's _relocate_empty_clusters_dense: each empty cluster takes one of
  /// the rows farthest from their (old) centres, largest distance first; the row is
  /// moved in the sums and counts, its label is left for the next E-step. Ties in
  /// distance go to the lowest row index (scikit-learn's argpartition leaves them
  /// unspecified).
  void relocate_empty(Run<T>& r, std::vector<double>& sums, std::vector<double>& counts) {
    std::vector<std::size_t> empty;
    for (std::size_t j = 0; j < k_; ++j)
      if (counts[j] == 0.0) empty.push_back(j);
    if (empty.empty()) return;
    complete_labels(r);  // the farthest rows are searched among all rows
    const std::size_t n = src_.rows();
    std::vector<double> dist(n);
    parallel_blocks(n, blocks_.block, [&](std::size_t b0, std::size_t b1, std::size_t) {
      src_.with_block(b0, b1, [&](const BlockRows<T>& br) {
        for (std::size_t i = b0; i < b1; ++i)
          dist[i] = sq_dist_direct(br.x.row(i - b0), r.c.row(static_cast<std::size_t>(r.labels[i])), p_);
      });
    });
    if (*std::max_element(dist.begin(), dist.end()) == 0.0) return;
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    const std::size_t m = std::min(empty.size(), n);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(m), order.end(),
                      [&](std::size_t a, std::size_t b) { return dist[a] > dist[b] || (dist[a] == dist[b] && a < b); });
    std::vector<T> xf(p_);
    for (std::size_t t = 0; t < m; ++t) {
      const std::size_t to = empty[t], far = order[t];
      const std::size_t from = static_cast<std::size_t>(r.labels[far]);
      src_.centred_row(far, xf.data());
      for (std::size_t f = 0; f < p_; ++f) {
        sums[from * p_ + f] -= static_cast<double>(xf[f]);
        sums[to * p_ + f] = static_cast<double>(xf[f]);
      }
      counts[to] = 1.0;
      counts[from] -= 1.0;
    }
    r.relocated += m;
  }

  const RowSource<T>& src_;
  std::size_t k_, p_;
  Blocks blocks_;
  std::size_t max_iter_;
  double tol_;
  Share share_;
};

/// Restarts that advance together: bounded so the lanes stay in cache and the
/// k-means++ candidate distances (restarts * trials * n doubles) stay moderate.
std::size_t group_size(std::size_t n_init, std::size_t k, std::size_t n) {
  const std::size_t trials = 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)));
  const std::size_t by_centres = std::max<std::size_t>(1, 256 / k);
  const std::size_t by_memory = std::max<std::size_t>(1, (std::size_t{64} << 20) / (trials * std::max<std::size_t>(n, 1)));
  return std::max<std::size_t>(1, std::min({n_init, by_centres, by_memory}));
}

template <class T>
KMeansModel<T> finish_model(const Prepared<T>& data, std::vector<Run<T>>& runs, std::size_t k,
                            const KMeansParams& params, Diagnostics* diag, const LloydGroup<T>& lloyd) {
  const std::size_t p = data.mean.size();
  // Every rank makes the same comparisons, from the same inertias; with several ranks
  // the winner's labels alone are gathered.
  std::size_t best = 0;
  for (std::size_t r = 1; r < runs.size(); ++r)
    if (runs[r].inertia < runs[best].inertia && !lloyd.same_clustering(runs[r], runs[best])) best = r;
  lloyd.complete_labels(runs[best]);

  KMeansModel<T> model;
  Run<T>& w = runs[best];
  model.centers.resize(k, p);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t f = 0; f < p; ++f)
      model.centers(j, f) = static_cast<T>(static_cast<double>(w.c(j, f)) + data.mean[f]);
  model.inertia = w.inertia;
  model.n_iter = w.n_iter;
  model.best_init = best;
  model.converged = w.converged;
  model.inertia_history = w.history;
  for (const auto& r : runs) model.init_inertias.push_back(r.inertia);
  model.labels = std::move(w.labels);

  if (diag) {
    std::vector<char> used(k, 0);
    for (std::int32_t l : model.labels) used[static_cast<std::size_t>(l)] = 1;
    const std::size_t distinct = static_cast<std::size_t>(std::count(used.begin(), used.end(), 1));
    if (distinct < k)
      diag->warn(kStage, "fewer_clusters",
                 fmt::format("k-means found {} distinct clusters, fewer than n_clusters = {} (duplicate rows?)",
                             distinct, k));
    std::size_t relocated = 0, not_converged = 0;
    for (const auto& r : runs) {
      relocated += r.relocated;
      not_converged += !r.converged;
    }
    if (relocated > 0)
      diag->info(kStage, "empty_cluster_relocated",
                 fmt::format("k-means relocated {} empty cluster(s) to the farthest rows ({} in the winning restart)",
                             relocated, runs[best].relocated));
    if (!model.converged)
      diag->warn(kStage, "not_converged",
                 fmt::format("k-means did not converge within max_iter = {} iterations (winning restart {}); "
                             "{} of {} restarts hit the limit",
                             params.max_iter, best, not_converged, runs.size()));
  }
  return model;
}

template <class T>
void warn_distinct(MatrixView<T> x, std::size_t k, Diagnostics* diag) {
  if (!diag) return;
  const std::size_t distinct = distinct_rows_up_to(x, k);
  if (distinct < k)
    diag->warn(kStage, "fewer_distinct_points",
               fmt::format("x has only {} distinct rows, fewer than n_clusters = {}", distinct, k));
}

template <class T>
std::vector<std::int32_t> assign_labels(MatrixView<T> x, const Matrix<T>& centers) {
  const std::size_t k = centers.rows(), p = centers.cols();
  KernelCentres<T> centres;
  centres.reset(p, k);
  centres.put(0, centers.data(), k, p);
  std::vector<std::int32_t> labels(x.rows());
  for_each_subblock(
      x, nullptr, 1024, centres, [](std::size_t) {},
      [&](std::size_t, std::size_t s, std::size_t e, const T* out) {
        for (std::size_t i = s; i < e; ++i) labels[i] = argmin_strict(out + (i - s) * centres.q, k);
      },
      [](std::size_t) {});
  return labels;
}

template <class T>
void check_model_input(const Matrix<T>& centers, MatrixView<T> x) {
  if (centers.empty()) throw NotFitted("k-means model has no centres");
  if (x.cols() != centers.cols())
    throw InvalidArgument(
        fmt::format("x: has {} columns, the model was fitted on {}", x.cols(), centers.cols()));
  check_finite(x, "x");
}

}  // namespace

// ---------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------

template <class T>
std::vector<std::size_t> kmeans_plus_plus(MatrixView<T> x, std::size_t k, Rng& rng) {
  check_data(x);
  if (k < 1 || k > x.rows())
    throw InvalidArgument(fmt::format("k: must be between 1 and the number of rows ({}), got {}", x.rows(), k));
  const std::size_t block_rows = reduction_block_rows(x.rows());
  const std::vector<double> xn = row_norms_double(x, block_rows);
  PanelData panels;
  if (use_panels<T>(x.cols())) panels = make_panels(x, xn);
  std::vector<Rng*> rngs{&rng};
  return kmeans_pp_group(x, xn, panels.panels.empty() ? nullptr : &panels, k, block_rows, rngs)[0];
}

template <class T>
KMeansModel<T> fit_kmeans(MatrixView<T> x, const KMeansParams& params, Diagnostics* diag) {
  check_data(x);
  check_params(params, x.rows(), true);
  const std::size_t k = params.n_clusters, n = x.rows(), p = x.cols();
  warn_distinct(x, k, diag);
  const Prepared<T> data = prepare(x, params.tol);
  const Share share = Share::of(params.comm, Blocks{n, data.block_rows}.count());

  const RowSource<T> src(data);
  LloydGroup<T> lloyd(src, k, data.block_rows, params.max_iter, data.tol_eff, share);
  auto seed_rows = [&](std::vector<Rng>& rngs) {
    if (params.init == KMeansInit::random) {
      std::vector<std::vector<std::size_t>> seeds;
      for (auto& g : rngs) seeds.push_back(g.sample_without_replacement(n, k));
      return seeds;
    }
    std::vector<Rng*> ptrs;
    for (auto& g : rngs) ptrs.push_back(&g);
    return kmeans_pp_group(data.xc.view(), data.xn, data.panel_data(), k, data.block_rows, ptrs, share);
  };
  auto start_run = [&](const std::vector<std::size_t>& seeds) {
    Matrix<T> init(k, p);
    for (std::size_t j = 0; j < k; ++j) std::memcpy(init.row(j), data.xc.row(seeds[j]), p * sizeof(T));
    return lloyd.make_run(init.data());
  };

  std::vector<Run<T>> runs(params.n_init);
  // Two schedules with identical results (every run is computed the same way
  // whichever runs share a pass): data that stays in cache is cheapest with whole
  // restarts per thread (no synchronisation per iteration); larger data is read
  // once per iteration for a whole group of restarts, rows split over threads.
  // Several ranks exchange after every pass, from this thread: the grouped schedule.
  const bool by_restart = !share.distributed() && params.n_init > 1 && num_threads() > 1 &&
                          n * p * sizeof(T) <= (std::size_t{16} << 20);
  if (by_restart) {
    parallel_for(params.n_init, [&](std::size_t r) {
      std::vector<Rng> rngs{Rng::stream(params.random_state, r)};
      runs[r] = start_run(seed_rows(rngs)[0]);
      lloyd.run_one(runs[r]);
      runs[r].psum = {};
      runs[r].pcount = {};
    });
  } else {
    const std::size_t group = group_size(params.n_init, k, n);
    for (std::size_t g0 = 0; g0 < params.n_init; g0 += group) {
      const std::size_t g1 = std::min(params.n_init, g0 + group);
      std::vector<Rng> rngs;
      for (std::size_t r = g0; r < g1; ++r) rngs.push_back(Rng::stream(params.random_state, r));
      const auto seeds = seed_rows(rngs);
      std::vector<Run<T>> group_runs;
      for (const auto& s : seeds) group_runs.push_back(start_run(s));
      lloyd.run(group_runs);
      for (std::size_t r = g0; r < g1; ++r) {
        runs[r] = std::move(group_runs[r - g0]);
        runs[r].psum = {};
        runs[r].pcount = {};
      }
    }
  }
  return finish_model(data, runs, k, params, diag, lloyd);
}

template <class T>
KMeansModel<T> fit_kmeans_from(MatrixView<T> x, MatrixView<T> init, const KMeansParams& params,
                               Diagnostics* diag) {
  check_data(x);
  check_params(params, x.rows(), false);
  const std::size_t k = params.n_clusters, p = x.cols();
  if (init.rows() != k || init.cols() != p)
    throw InvalidArgument(
        fmt::format("init: must be ({}, {}) = (n_clusters, columns of x), got ({}, {})", k, p, init.rows(), init.cols()));
  check_finite(init, "init");
  warn_distinct(x, k, diag);
  const Prepared<T> data = prepare(x, params.tol, x.rows() <= params.copy_max_rows);
  Matrix<T> start(k, p);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t f = 0; f < p; ++f) start(j, f) = static_cast<T>(static_cast<double>(init(j, f)) - data.mean[f]);
  const Share share = Share::of(params.comm, Blocks{x.rows(), data.block_rows}.count());
  const RowSource<T> src(data);
  LloydGroup<T> lloyd(src, k, data.block_rows, params.max_iter, data.tol_eff, share);
  std::vector<Run<T>> runs;
  runs.push_back(lloyd.make_run(start.data()));
  lloyd.run(runs);
  return finish_model(data, runs, k, params, diag, lloyd);
}

template <class T>
std::vector<std::int32_t> KMeansModel<T>::predict(MatrixView<T> x) const {
  check_model_input(centers, x);
  return assign_labels(x, centers);
}

template <class T>
Matrix<T> KMeansModel<T>::transform(MatrixView<T> x) const {
  check_model_input(centers, x);
  const std::size_t k = centers.rows(), p = centers.cols();
  Matrix<T> out(x.rows(), k);
  parallel_blocks(x.rows(), 1024, [&](std::size_t b0, std::size_t b1, std::size_t) {
    for (std::size_t i = b0; i < b1; ++i)
      for (std::size_t j = 0; j < k; ++j)
        out(i, j) = static_cast<T>(std::sqrt(sq_dist_direct(x.row(i), centers.row(j), p)));
  });
  return out;
}

template struct KMeansModel<double>;
template struct KMeansModel<float>;
template KMeansModel<double> fit_kmeans<double>(ViewD, const KMeansParams&, Diagnostics*);
template KMeansModel<float> fit_kmeans<float>(ViewF, const KMeansParams&, Diagnostics*);
template KMeansModel<double> fit_kmeans_from<double>(ViewD, ViewD, const KMeansParams&, Diagnostics*);
template KMeansModel<float> fit_kmeans_from<float>(ViewF, ViewF, const KMeansParams&, Diagnostics*);
template std::vector<std::size_t> kmeans_plus_plus<double>(ViewD, std::size_t, Rng&);
template std::vector<std::size_t> kmeans_plus_plus<float>(ViewF, std::size_t, Rng&);

}  // namespace segmenta
