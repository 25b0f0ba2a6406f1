#include "metrics/silhouette_engine.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <thread>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "core/block_share.hpp"
#include "kernels/dispatch.hpp"
#include "segmenta/kernels.hpp"

namespace segmenta::detail {
namespace {

// Units per SIMD vector: every cell is padded to a multiple of this, so a cell's
// distance sum is a sum over whole vectors.
constexpr std::size_t lanes = 8;
constexpr std::size_t no_index = std::numeric_limits<std::size_t>::max();
constexpr std::uint32_t no_cell = std::numeric_limits<std::uint32_t>::max();

// Tile edges (units). Direct tiles keep a 256-column panel (16 KiB at p = 8) in L1;
// GEMM tiles are larger so that BLAS runs near its peak.
constexpr std::size_t direct_tile = 256;
constexpr std::size_t gemm_tile = 512;

// ---------------------------------------------------------------------------
// Layout: rows sorted by label tuple, merged duplicates, padded cells
// ---------------------------------------------------------------------------

struct Layout {
  std::size_t n = 0, units = 0, m = 0;
  std::vector<std::uint32_t> cell_of_unit;                       // (units)
  std::vector<std::size_t> cell_begin, cell_end, cell_real_end;  // (cells), unit ranges
  std::vector<std::size_t> unit_row;                             // (units), no_index = padding
  AlignedVector<double> weight;                                  // (units), rows merged; 0 = padding
  std::vector<std::uint32_t> row_unit;                           // (n)
  std::vector<std::int32_t> cell_code;                           // (cells, m)
  std::size_t cells() const noexcept { return cell_begin.size(); }
};

template <class T>
Layout build_layout(MatrixView<T> x, const std::vector<const EncodedLabels*>& labs, bool merge) {
  Layout L;
  L.n = x.rows();
  L.m = labs.size();
  const std::size_t n = L.n, m = L.m, row_bytes = x.cols() * sizeof(T);
  auto same_key = [&](std::size_t a, std::size_t b) {
    for (std::size_t l = 0; l < m; ++l)
      if (labs[l]->codes[a] != labs[l]->codes[b]) return false;
    return true;
  };
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    for (std::size_t l = 0; l < m; ++l) {
      const std::int32_t ca = labs[l]->codes[a], cb = labs[l]->codes[b];
      if (ca != cb) return ca < cb;
    }
    if (merge) {
      const int c = std::memcmp(x.row(a), x.row(b), row_bytes);
      if (c != 0) return c < 0;
    }
    return a < b;
  });

  L.row_unit.resize(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && same_key(order[i], order[j])) ++j;
    const auto cell = static_cast<std::uint32_t>(L.cell_begin.size());
    for (std::size_t l = 0; l < m; ++l) L.cell_code.push_back(labs[l]->codes[order[i]]);
    L.cell_begin.push_back(L.unit_row.size());
    for (std::size_t a = i; a < j;) {
      std::size_t b = a + 1;
      if (merge)
        while (b < j && std::memcmp(x.row(order[a]), x.row(order[b]), row_bytes) == 0) ++b;
      const auto unit = static_cast<std::uint32_t>(L.unit_row.size());
      L.unit_row.push_back(order[a]);
      L.weight.push_back(static_cast<double>(b - a));
      L.cell_of_unit.push_back(cell);
      for (std::size_t t = a; t < b; ++t) L.row_unit[order[t]] = unit;
      a = b;
    }
    L.cell_real_end.push_back(L.unit_row.size());
    while (L.unit_row.size() % lanes != 0) {
      L.unit_row.push_back(no_index);
      L.weight.push_back(0.0);
      L.cell_of_unit.push_back(cell);
    }
    L.cell_end.push_back(L.unit_row.size());
    i = j;
  }
  L.units = L.unit_row.size();
  return L;
}

// ---------------------------------------------------------------------------
// Kernel data
// ---------------------------------------------------------------------------

template <class T>
struct Ctx {
  const Layout* L = nullptr;
  std::size_t p = 0;
  const double* w = nullptr;  // (units)
  // Direct differences: unit rows in double and the same data lane-interleaved,
  // panel[(u / 8) * p * 8 + f * 8 + u % 8].
  const double* drows = nullptr;  // (units, p)
  const double* panel = nullptr;  // (units * p)
  // GEMM: centred unit rows in T and their squared norms in double.
  const T* trows = nullptr;       // (units, p)
  const double* norms = nullptr;  // (units)
  Progress* progress = nullptr;   // advanced by the row pairs of every tile
};

template <class T>
struct Scratch {
  using Segment = kernels::SilhouetteSegment;  // unit range (multiples of lanes) and cell
  std::vector<Segment> segs;
  AlignedVector<double> cacc;          // column sums of the current row cell
  std::vector<double> rowsum;          // the dispatched kernels' row sums (rows, segments)
  std::unique_ptr<T[]> gbuf;           // GEMM tile (tile, tile); fully written by each GEMM
  std::size_t r0 = 0, c0 = 0, ld = 0;  // GEMM tile origin and leading dimension
  explicit Scratch(std::size_t tile, bool gemm)
      : cacc(tile, 0.0), gbuf(gemm ? std::make_unique_for_overwrite<T[]>(tile * tile) : nullptr) {}
};

// ---------------------------------------------------------------------------
// Segment kernels: sum over the columns [ua, ub) (whole vectors, one cell) of
// w_j d(i, j), and with Cols also cacc[j] += w_i d(i, j).
// ---------------------------------------------------------------------------

struct DirectPortable {
  static constexpr bool gemm = false;
  static constexpr bool dispatched = false;
  template <bool Cols, class T>
  static double seg(const Ctx<T>& c, const Scratch<T>&, std::size_t i, std::size_t ua, std::size_t ub,
                    double* cacc) noexcept {
    const std::size_t p = c.p;
    const double* xi = c.drows + i * p;
    const double wi = c.w[i];
    double r[lanes] = {};
    for (std::size_t u = ua; u < ub; u += lanes) {
      const double* a = c.panel + u * p;
      double s[lanes] = {};
      for (std::size_t f = 0; f < p; ++f) {
        const double xf = xi[f];
        for (std::size_t k = 0; k < lanes; ++k) {
          const double t = a[f * lanes + k] - xf;
          s[k] += t * t;
        }
      }
      for (std::size_t k = 0; k < lanes; ++k) {
        const double d = std::sqrt(s[k]);
        r[k] += c.w[u + k] * d;
        if constexpr (Cols) cacc[u - ua + k] += wi * d;
      }
    }
    return ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  }
};

// The GEMM identity as scikit-learn evaluates it, (-2 x.y + |x|^2) + |y|^2 clipped at
// 0, loses the relative precision of d^2 when d^2 is small against the norms (its
// error is ~p eps (|x|^2 + |y|^2)). Such pairs (near-duplicates, the self-distance)
// are recomputed by direct differences, so twins are exactly 0 apart and every
// distance keeps a relative error below ~p eps / near_fraction.
template <class T>
constexpr double near_fraction = std::is_same_v<T, float> ? 0x1p-5 : 0x1p-13;

template <class T>
double direct_sq(const T* a, const T* b, std::size_t p) noexcept {
  double s = 0.0;
  for (std::size_t f = 0; f < p; ++f) {
    const double d = static_cast<double>(a[f]) - static_cast<double>(b[f]);
    s += d * d;
  }
  return s;
}

struct GemmPortable {
  static constexpr bool gemm = true;
  static constexpr bool dispatched = false;
  template <bool Cols, class T>
  static double seg(const Ctx<T>& c, const Scratch<T>& s, std::size_t i, std::size_t ua, std::size_t ub,
                    double* cacc) noexcept {
    const T* grow = s.gbuf.get() + (i - s.r0) * s.ld;  // columns from s.c0
    const double ni = c.norms[i], wi = c.w[i];
    double r[lanes] = {};
    for (std::size_t u = ua; u < ub; u += lanes) {
      for (std::size_t k = 0; k < lanes; ++k) {
        const std::size_t j = u + k;
        double d2 = (-2.0 * static_cast<double>(grow[j - s.c0]) + ni) + c.norms[j];
        if (d2 < near_fraction<T> * (ni + c.norms[j])) d2 = direct_sq(c.trows + i * c.p, c.trows + j * c.p, c.p);
        const double d = std::sqrt(std::max(0.0, d2));
        r[k] += c.w[j] * d;
        if constexpr (Cols) cacc[j - ua] += wi * d;
      }
    }
    return ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  }
};

// The SIMD kernels (src/kernels, chosen at run time for the CPU): one call per row
// cell of a tile computes every row's sums over the tile's column segments.
template <bool Gemm>
struct Dispatched {
  static constexpr bool gemm = Gemm;
  static constexpr bool dispatched = true;
};

// ---------------------------------------------------------------------------
// Sinks: where row and column sums of a (row unit, column cell) pair go
// ---------------------------------------------------------------------------

// Symmetric evaluation: per-unit sums for every cluster of every labeling of the
// group ("slots"); a cell contributes to one slot per labeling.
struct AccSink {
  double* acc;  // (units, slots)
  std::size_t slots;
  const std::uint32_t* cell_slot;  // (cells, m)
  std::size_t m;
  void add(std::size_t unit, std::uint32_t cell, double v) const noexcept {
    double* a = acc + unit * slots;
    const std::uint32_t* sl = cell_slot + static_cast<std::size_t>(cell) * m;
    for (std::size_t l = 0; l < m; ++l) a[sl[l]] += v;
  }
  void row(std::size_t unit, std::uint32_t cell, double v) const noexcept { add(unit, cell, v); }
  void col(std::size_t unit, std::uint32_t cell, double v) const noexcept { add(unit, cell, v); }
};

// Streaming evaluation of one labeling (cells are its clusters, in increasing
// order): a row's sum for a cluster is complete when the sweep leaves the cluster.
struct StreamSink {
  struct State {
    double own = 0.0, best = std::numeric_limits<double>::infinity(), cur = 0.0;
    std::uint32_t cur_cell = no_cell;
  };
  State* states;
  std::size_t base;
  const Layout* L;
  const std::size_t* counts;
  void finish(std::size_t unit, State& st) const noexcept {
    if (st.cur_cell == no_cell) return;
    if (st.cur_cell == L->cell_of_unit[unit])
      st.own = st.cur;
    else
      st.best = std::min(st.best, st.cur / static_cast<double>(counts[st.cur_cell]));
  }
  void row(std::size_t unit, std::uint32_t cell, double v) const noexcept {
    State& st = states[unit - base];
    if (cell == st.cur_cell) {
      st.cur += v;
    } else {
      finish(unit, st);
      st.cur_cell = cell;
      st.cur = v;
    }
  }
  void col(std::size_t, std::uint32_t, double) const noexcept {}
};

// ---------------------------------------------------------------------------
// One tile: rows [r0, r1) x columns [c0, c1) of the unit order (multiples of 8).
// With `cols` the column sums are produced too (symmetric evaluation); without, only
// row sums (the diagonal tiles r0 == c0, whose both halves are computed, and the
// streaming evaluation).
// ---------------------------------------------------------------------------

/// The rest of run_tile with the dispatched kernels (segments listed, GEMM tile and
/// column sums ready): the same sums in the same order as the loop of run_tile.
template <class K, class T, class Sink>
void run_tile_dispatched(const Ctx<T>& c, Scratch<T>& s, const Sink& sink, std::size_t r0, std::size_t r1,
                         std::size_t c0, bool cols) {
  const Layout& L = *c.L;
  const kernels::KernelTable& kt = kernels::table();
  kernels::SilhouetteTile t;
  t.p = c.p;
  t.w = c.w;
  t.drows = c.drows;
  t.panel = c.panel;
  t.gtile = s.gbuf.get();
  t.r0 = r0;
  t.c0 = c0;
  t.ld = s.ld;
  t.trows = c.trows;
  t.norms = c.norms;
  t.near_fraction = near_fraction<T>;
  t.segs = s.segs.data();
  t.nsegs = s.segs.size();
  t.cacc = s.cacc.data();
  auto* kernel = !K::gemm ? kt.silhouette_direct
                 : std::is_same_v<T, float> ? kt.silhouette_gemm_f
                                            : kt.silhouette_gemm_d;
  const std::size_t ns = t.nsegs;
  for (std::size_t i = r0; i < r1;) {
    const std::uint32_t cell = L.cell_of_unit[i];
    const std::size_t e = std::min(r1, L.cell_end[cell]);
    const std::size_t re = std::min(e, L.cell_real_end[cell]);
    if (i < re) {
      s.rowsum.resize((re - i) * ns);
      kernel(t, i, re, cols, s.rowsum.data());
      for (std::size_t r = i; r < re; ++r)
        for (std::size_t g = 0; g < ns; ++g) sink.row(r, s.segs[g].cell, s.rowsum[(r - i) * ns + g]);
      if (cols) {
        for (const auto& g : s.segs) {
          const std::size_t je = std::min(g.end, L.cell_real_end[g.cell]);
          for (std::size_t j = g.begin; j < je; ++j) {
            sink.col(j, cell, s.cacc[j - c0]);
            s.cacc[j - c0] = 0.0;
          }
        }
      }
    }
    i = e;
  }
}

template <class K, class T, class Sink>
void run_tile(const Ctx<T>& c, Scratch<T>& s, const Sink& sink, std::size_t r0, std::size_t r1, std::size_t c0,
              std::size_t c1, bool cols) {
  const Layout& L = *c.L;
  s.segs.clear();
  for (std::size_t u = c0; u < c1;) {
    const std::uint32_t cell = L.cell_of_unit[u];
    const std::size_t e = std::min(c1, L.cell_end[cell]);
    if (u < L.cell_real_end[cell]) s.segs.push_back({u, e, cell});
    u = e;
  }
  if (s.segs.empty()) return;
  if constexpr (K::gemm) {
    s.r0 = r0;
    s.c0 = c0;
    s.ld = c1 - c0;
    kernels::gemm_nt(r1 - r0, c1 - c0, c.p, T(1), c.trows + r0 * c.p, c.p, c.trows + c0 * c.p, c.p, T(0), s.gbuf.get(),
                     s.ld);
  }
  if (cols) std::fill(s.cacc.begin(), s.cacc.begin() + static_cast<std::ptrdiff_t>(c1 - c0), 0.0);
  if constexpr (K::dispatched) {
    run_tile_dispatched<K>(c, s, sink, r0, r1, c0, cols);
  } else {
    for (std::size_t i = r0; i < r1;) {
      const std::uint32_t cell = L.cell_of_unit[i];
      const std::size_t e = std::min(r1, L.cell_end[cell]);
      const std::size_t re = std::min(e, L.cell_real_end[cell]);
      if (i < re) {
        for (; i < re; ++i) {
          for (const auto& g : s.segs) {
            double* ca = s.cacc.data() + (g.begin - c0);
            const double v = cols ? K::template seg<true>(c, s, i, g.begin, g.end, ca)
                                  : K::template seg<false>(c, s, i, g.begin, g.end, ca);
            sink.row(i, g.cell, v);
          }
        }
        if (cols) {
          for (const auto& g : s.segs) {
            const std::size_t je = std::min(g.end, L.cell_real_end[g.cell]);
            for (std::size_t j = g.begin; j < je; ++j) {
              sink.col(j, cell, s.cacc[j - c0]);
              s.cacc[j - c0] = 0.0;
            }
          }
        }
      }
      i = e;
    }
  }
}

// ---------------------------------------------------------------------------
// Evaluations
// ---------------------------------------------------------------------------

struct Plan {
  std::size_t tile, superblock;
};

Plan make_plan(std::size_t units, bool gemm) {
  const std::size_t tile = gemm ? gemm_tile : direct_tile;
  // Superblocks of 1 to 4 tiles, chosen from the size alone (never from the thread
  // count) so that a round has enough tasks for a few threads.
  const std::size_t per = std::clamp<std::size_t>((units + tile * 32 - 1) / (tile * 32), 1, 4);
  return {tile, tile * per};
}

// Pairs of superblocks in round-robin rounds (circle method): in each round every
// superblock appears at most once, so tasks of a round write disjoint rows.
std::vector<std::vector<std::pair<std::size_t, std::size_t>>> round_robin(std::size_t nsb) {
  std::vector<std::vector<std::pair<std::size_t, std::size_t>>> rounds;
  std::vector<std::pair<std::size_t, std::size_t>> diag;
  for (std::size_t u = 0; u < nsb; ++u) diag.emplace_back(u, u);
  rounds.push_back(std::move(diag));
  const std::size_t m = nsb + (nsb % 2);
  for (std::size_t r = 0; r + 1 < m; ++r) {
    std::vector<std::pair<std::size_t, std::size_t>> round;
    auto add = [&](std::size_t a, std::size_t b) {
      if (a < nsb && b < nsb) round.emplace_back(std::min(a, b), std::max(a, b));
    };
    add(m - 1, r);
    for (std::size_t k = 1; k < m / 2; ++k) add((r + k) % (m - 1), (r + m - 1 - k) % (m - 1));
    if (!round.empty()) rounds.push_back(std::move(round));
  }
  return rounds;
}

// The tasks (pairs of superblocks) run in round-robin order per superblock: every
// row's sums receive their contributions in that fixed order, whatever the thread
// count. A task may start as soon as the previous tasks of both its superblocks are
// done (no barrier between rounds, so a slow or preempted thread does not stall the
// others); a single thread simply runs them in list order.
//
// On several ranks (`share`: the superblocks this rank owns), a rank runs only the
// tasks that touch one of its superblocks, in the same order: every row of its
// superblocks receives the contributions of one process in the same order. A task
// between an owned and another superblock is run by both owners (each keeps its own
// rows' sums), so two ranks each run 3/8 of the pairs instead of 1/2.
template <class K, class T>
void symmetric_sums(const Ctx<T>& c, const AccSink& sink, const BlockShare& share) {
  const Layout& L = *c.L;
  const Plan plan = make_plan(L.units, K::gemm);
  const Blocks sb{L.units, plan.superblock};
  const std::size_t nsb = sb.count();
  const std::size_t own0 = share.begin_block(sb), own1 = share.end_block(sb);
  auto owned = [&](std::size_t u) { return u >= own0 && u < own1; };
  std::vector<std::pair<std::size_t, std::size_t>> tasks;
  for (const auto& round : round_robin(nsb))
    for (const auto& task : round)
      if (owned(task.first) || owned(task.second)) tasks.push_back(task);
  const std::size_t nt = tasks.size();
  // Position of each task in the sequence of each of its superblocks.
  std::vector<std::size_t> seq_a(nt), seq_b(nt), count(nsb, 0);
  for (std::size_t t = 0; t < nt; ++t) {
    const auto [a, b] = tasks[t];
    seq_a[t] = count[a]++;
    seq_b[t] = a == b ? 0 : count[b]++;
  }
  std::unique_ptr<std::atomic<std::size_t>[]> done(new std::atomic<std::size_t>[nsb]);
  std::unique_ptr<std::atomic<bool>[]> claimed(new std::atomic<bool>[nt]);
  for (std::size_t u = 0; u < nsb; ++u) done[u].store(0, std::memory_order_relaxed);
  for (std::size_t t = 0; t < nt; ++t) claimed[t].store(false, std::memory_order_relaxed);
  std::atomic<std::size_t> first_open{0};

  auto run_task = [&](std::size_t a, std::size_t b, Scratch<T>& s) {
    for (std::size_t r0 = sb.begin(a); r0 < sb.end(a); r0 += plan.tile) {
      const std::size_t r1 = std::min(sb.end(a), r0 + plan.tile);
      for (std::size_t c0 = (a == b ? r0 : sb.begin(b)); c0 < sb.end(b); c0 += plan.tile) {
        const std::size_t c1 = std::min(sb.end(b), c0 + plan.tile);
        run_tile<K>(c, s, sink, r0, r1, c0, c1, !(a == b && c0 == r0));
        if (c.progress) c.progress->advance((r1 - r0) * (c1 - c0));
      }
    }
  };
  auto ready = [&](std::size_t t) {
    const auto [a, b] = tasks[t];
    return done[a].load(std::memory_order_acquire) == seq_a[t] &&
           (a == b || done[b].load(std::memory_order_acquire) == seq_b[t]);
  };
  const std::size_t workers = std::min<std::size_t>(static_cast<std::size_t>(num_threads()), nt);
  parallel_for(workers, [&](std::size_t) {
    Scratch<T> s(plan.tile, K::gemm);
    for (;;) {
      std::size_t t = first_open.load(std::memory_order_acquire);
      if (t >= nt) return;
      bool ran = false;
      for (; t < nt; ++t) {
        if (claimed[t].load(std::memory_order_acquire) || !ready(t)) continue;
        bool expected = false;
        if (!claimed[t].compare_exchange_strong(expected, true, std::memory_order_acq_rel)) continue;
        const auto [a, b] = tasks[t];
        run_task(a, b, s);
        done[a].fetch_add(1, std::memory_order_release);
        if (a != b) done[b].fetch_add(1, std::memory_order_release);
        ran = true;
        break;
      }
      std::size_t f = first_open.load(std::memory_order_acquire);
      while (f < nt && claimed[f].load(std::memory_order_acquire))
        if (first_open.compare_exchange_weak(f, f + 1, std::memory_order_acq_rel)) ++f;
      if (!ran) std::this_thread::yield();
    }
  });
}

double silhouette_value(double a_sum, std::size_t own_count, double b) {
  // scikit-learn: a = sum / (n_own - 1) (0/0 for singletons), s = (b - a) / max(a, b),
  // NaN -> 0 (singletons and a = b = 0).
  if (own_count <= 1) return 0.0;
  const double a = a_sum / static_cast<double>(own_count - 1);
  const double s = (b - a) / std::max(a, b);
  return std::isnan(s) ? 0.0 : s;
}

/// Real units (not padding) in units [u0, u1).
std::size_t real_units(const Layout& L, std::size_t u0, std::size_t u1) {
  std::size_t count = 0;
  for (std::size_t u = u0; u < u1; ++u) count += L.unit_row[u] != no_index;
  return count;
}


template <class K, class T>
void streaming_silhouette(const Ctx<T>& c, const EncodedLabels& lab, std::vector<double>& out,
                          const SilhouetteEngineOptions& o) {
  const Layout& L = *c.L;
  const std::size_t tile = K::gemm ? gemm_tile : direct_tile;
  const Blocks tiles{L.units, tile};
  const BlockShare share = BlockShare::of(o.comm, tiles.count());
  std::vector<double> unit_s(L.units, 0.0);
  // Each row tile sweeps every column on its own: the tiles of a rank are independent
  // of the others', and their silhouettes are gathered below.
  parallel_own_blocks(tiles, share, [&](std::size_t r0, std::size_t r1, std::size_t) {
    std::vector<StreamSink::State> states(r1 - r0);
    const StreamSink sink{states.data(), r0, &L, lab.counts.data()};
    Scratch<T> s(tile, K::gemm);
    for (std::size_t c0 = 0; c0 < L.units; c0 += tile) {
      run_tile<K>(c, s, sink, r0, r1, c0, std::min(L.units, c0 + tile), false);
      if (c.progress) c.progress->advance((r1 - r0) * (std::min(L.units, c0 + tile) - c0));
    }
    for (std::size_t i = r0; i < r1; ++i) {
      if (L.unit_row[i] == no_index) continue;
      auto& st = states[i - r0];
      sink.finish(i, st);
      const std::uint32_t own = L.cell_of_unit[i];
      unit_s[i] = silhouette_value(st.own, lab.counts[own], st.best);
    }
  });
  if (o.computed_units) *o.computed_units += real_units(L, share.begin_row(tiles), share.end_row(tiles));
  gather_block_rows(share, tiles, 1, unit_s.data(), "silhouette");
  out.resize(L.n);
  for (std::size_t r = 0; r < L.n; ++r) out[r] = unit_s[L.row_unit[r]];
}

template <class K, class T>
void symmetric_silhouette(const Ctx<T>& c, const std::vector<const EncodedLabels*>& labs,
                          const std::vector<std::vector<double>*>& outs, const SilhouetteEngineOptions& o) {
  const Layout& L = *c.L;
  const std::size_t m = labs.size();
  std::vector<std::size_t> offset(m + 1, 0);
  for (std::size_t l = 0; l < m; ++l) offset[l + 1] = offset[l] + labs[l]->k();
  const std::size_t slots = offset[m];
  std::vector<std::uint32_t> cell_slot(L.cells() * m);
  for (std::size_t cell = 0; cell < L.cells(); ++cell)
    for (std::size_t l = 0; l < m; ++l)
      cell_slot[cell * m + l] =
          static_cast<std::uint32_t>(offset[l] + static_cast<std::size_t>(L.cell_code[cell * m + l]));
  std::vector<double> acc(L.units * slots, 0.0);
  const Blocks sb{L.units, make_plan(L.units, K::gemm).superblock};
  const BlockShare share = BlockShare::of(o.comm, sb.count());
  symmetric_sums<K>(c, AccSink{acc.data(), slots, cell_slot.data(), m}, share);

  // The silhouettes of this rank's units (every unit for one process), m a unit; the
  // units of a cell share its labels (own = the cell's label in each labeling).
  const std::size_t u0 = share.begin_row(sb), u1 = share.end_row(sb);
  std::vector<double> unit_s(L.units * m, 0.0);
  parallel_blocks(u1 - u0, 4096, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t u = u0 + b; u < u0 + e; ++u) {
      if (L.unit_row[u] == no_index) continue;
      const double* a = acc.data() + u * slots;
      const std::size_t cell = L.cell_of_unit[u];
      for (std::size_t l = 0; l < m; ++l) {
        const EncodedLabels& lab = *labs[l];
        const auto own = static_cast<std::size_t>(L.cell_code[cell * m + l]);
        double best = std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < lab.k(); ++k)
          if (k != own) best = std::min(best, a[offset[l] + k] / static_cast<double>(lab.counts[k]));
        unit_s[u * m + l] = silhouette_value(a[offset[l] + own], lab.counts[own], best);
      }
    }
  });
  if (o.computed_units) *o.computed_units += real_units(L, u0, u1);
  gather_block_rows(share, sb, m, unit_s.data(), "silhouette");

  for (std::size_t l = 0; l < m; ++l) outs[l]->assign(L.n, 0.0);
  parallel_blocks(L.n, 4096, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t r = b; r < e; ++r) {
      const std::size_t unit = L.row_unit[r];
      for (std::size_t l = 0; l < m; ++l) (*outs[l])[r] = unit_s[unit * m + l];
    }
  });
}

// Greedy grouping of labelings evaluated in one pass: a group stays small enough
// that its cells are not tiny (padding and per-cell overhead) and its per-unit sums
// fit the memory budget.
std::vector<std::vector<std::size_t>> group_labelings(const std::vector<const EncodedLabels*>& labs,
                                                      std::size_t budget) {
  std::vector<std::vector<std::size_t>> groups;
  if (labs.empty()) return groups;
  const std::size_t n = labs[0]->codes.size();
  const std::size_t max_cells = std::max<std::size_t>(64, n / 32);
  std::vector<std::uint64_t> cell(n, 0), key(n);
  std::size_t slots = 0;
  for (std::size_t l = 0; l < labs.size(); ++l) {
    const std::size_t k = labs[l]->k();
    std::size_t cells = 0;
    if (!groups.empty()) {
      for (std::size_t i = 0; i < n; ++i) key[i] = cell[i] * k + static_cast<std::uint64_t>(labs[l]->codes[i]);
      std::vector<std::uint64_t> sorted = key;
      std::sort(sorted.begin(), sorted.end());
      cells = static_cast<std::size_t>(std::unique(sorted.begin(), sorted.end()) - sorted.begin());
      const std::size_t units_bound = n + cells * (lanes - 1);
      if (cells <= max_cells && units_bound * (slots + k) * sizeof(double) <= budget) {
        groups.back().push_back(l);
        slots += k;
        for (std::size_t i = 0; i < n; ++i)
          cell[i] = static_cast<std::uint64_t>(
              std::lower_bound(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(cells), key[i]) -
              sorted.begin());
        continue;
      }
    }
    groups.push_back({l});
    slots = k;
    for (std::size_t i = 0; i < n; ++i) cell[i] = static_cast<std::uint64_t>(labs[l]->codes[i]);
  }
  return groups;
}

/// Row pairs the symmetric evaluation's tiles cover (its progress total).
std::size_t symmetric_pairs(std::size_t units, bool gemm) {
  const Plan plan = make_plan(units, gemm);
  const Blocks sb{units, plan.superblock};
  std::size_t total = 0;
  for (std::size_t a = 0; a < sb.count(); ++a)
    for (std::size_t b = a; b < sb.count(); ++b)
      for (std::size_t r0 = sb.begin(a); r0 < sb.end(a); r0 += plan.tile) {
        const std::size_t r1 = std::min(sb.end(a), r0 + plan.tile);
        for (std::size_t c0 = (a == b ? r0 : sb.begin(b)); c0 < sb.end(b); c0 += plan.tile)
          total += (r1 - r0) * (std::min(sb.end(b), c0 + plan.tile) - c0);
      }
  return total;
}

template <class K, class T>
void evaluate_group(Ctx<T>& c, const std::vector<const EncodedLabels*>& labs,
                    const std::vector<std::vector<double>*>& outs, const SilhouetteEngineOptions& o) {
  const Layout& L = *c.L;
  const std::size_t slots = labs.size() == 1 ? labs[0]->k() : 0;
  const bool streaming = labs.size() == 1 && (o.streaming || L.units * slots * sizeof(double) > o.accumulator_budget);
  // The distances of all row pairs: the stage a person waits for on a large table.
  Progress progress(fmt::format("silhouette (exact, {} labeling{})", labs.size(), labs.size() == 1 ? "" : "s"),
                    streaming ? L.units * L.units : symmetric_pairs(L.units, K::gemm), "pairs");
  progress.note(fmt::format("{} rows", L.n));
  c.progress = &progress;
  if (streaming)
    streaming_silhouette<K>(c, *labs[0], *outs[0], o);
  else
    symmetric_silhouette<K>(c, labs, outs, o);
  c.progress = nullptr;
}


template <class T>
void run_group(MatrixView<T> x, const std::vector<const EncodedLabels*>& labs,
               const std::vector<std::vector<double>*>& outs, const SilhouetteEngineOptions& o) {
  const std::size_t p = x.cols();
  const bool gemm = o.path == DistancePath::gemm || (o.path == DistancePath::automatic && p > direct_max_features);
  const bool simd = !o.portable;
  const Layout L = build_layout(x, labs, o.merge_duplicates);
  Ctx<T> c;
  c.L = &L;
  c.p = p;
  c.w = L.weight.data();
  AlignedVector<double> drows, panel, norms;
  AlignedVector<T> trows;
  if (gemm) {
    // Distances do not change under translation, but the identity's rounding error
    // scales with |x|^2 + |y|^2: centred rows keep it near the scale of d^2 itself
    // (this matters most for single-precision input, where x.y comes from sgemm).
    std::vector<double> mean(p, 0.0);
    for (std::size_t u = 0; u < L.units; ++u) {
      if (L.unit_row[u] == no_index) continue;
      const T* src = x.row(L.unit_row[u]);
      for (std::size_t f = 0; f < p; ++f) mean[f] += L.weight[u] * static_cast<double>(src[f]);
    }
    for (double& v : mean) v /= static_cast<double>(L.n);
    trows.assign(L.units * p, T(0));
    norms.assign(L.units, 0.0);
    for (std::size_t u = 0; u < L.units; ++u) {
      if (L.unit_row[u] == no_index) continue;
      const T* src = x.row(L.unit_row[u]);
      T* dst = trows.data() + u * p;
      double s = 0.0;
      for (std::size_t f = 0; f < p; ++f) {
        dst[f] = static_cast<T>(static_cast<double>(src[f]) - mean[f]);
        s += static_cast<double>(dst[f]) * static_cast<double>(dst[f]);
      }
      norms[u] = s;
    }
    c.trows = trows.data();
    c.norms = norms.data();
  } else {
    drows.assign(L.units * p, 0.0);
    panel.assign(L.units * p, 0.0);
    for (std::size_t u = 0; u < L.units; ++u) {
      if (L.unit_row[u] == no_index) continue;
      const T* src = x.row(L.unit_row[u]);
      double* blk = panel.data() + (u / lanes) * p * lanes + u % lanes;
      for (std::size_t f = 0; f < p; ++f) {
        drows[u * p + f] = static_cast<double>(src[f]);
        blk[f * lanes] = static_cast<double>(src[f]);
      }
    }
    c.drows = drows.data();
    c.panel = panel.data();
  }

  if (gemm) {
    if (simd) return evaluate_group<Dispatched<true>>(c, labs, outs, o);
    return evaluate_group<GemmPortable>(c, labs, outs, o);
  }
  if (simd) return evaluate_group<Dispatched<false>>(c, labs, outs, o);
  evaluate_group<DirectPortable>(c, labs, outs, o);
}

}  // namespace

template <class T>
std::vector<std::vector<double>> silhouette_engine(MatrixView<T> x, const std::vector<const EncodedLabels*>& labelings,
                                                   const SilhouetteEngineOptions& options) {
  std::vector<std::vector<double>> out(labelings.size());
  for (const auto& group : group_labelings(labelings, options.accumulator_budget)) {
    std::vector<const EncodedLabels*> labs;
    std::vector<std::vector<double>*> outs;
    for (std::size_t l : group) {
      labs.push_back(labelings[l]);
      outs.push_back(&out[l]);
    }
    run_group(x, labs, outs, options);
  }
  return out;
}

template std::vector<std::vector<double>> silhouette_engine<double>(MatrixView<double>,
                                                                    const std::vector<const EncodedLabels*>&,
                                                                    const SilhouetteEngineOptions&);
template std::vector<std::vector<double>> silhouette_engine<float>(MatrixView<float>,
                                                                   const std::vector<const EncodedLabels*>&,
                                                                   const SilhouetteEngineOptions&);

}  // namespace segmenta::detail
