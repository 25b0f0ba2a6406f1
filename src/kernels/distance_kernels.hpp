// The distance, pairwise-sum and reduction kernels of k-means and the silhouette,
// written once against kernels/simd.hpp and instantiated per instruction set by
// isa_portable.cpp, isa_avx2.cpp and isa_avx512.cpp (make_table<Isa>()).
//
// Include only from those files: the templates are instantiated with the target flags
// of the including file. Everything here takes the ISA tag as a template parameter,
// so the instantiations of different files never share a symbol.
//
// Summation orders are part of the contract (see dispatch.hpp): a 64-byte vector is
// 8 doubles or 16 floats whatever the register width, and each reduction is a fixed
// tree, so the three instantiations agree bit for bit. The files are compiled with
// -ffp-contract=off; every fused multiply-add is written out.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/dispatch.hpp"
#include "kernels/simd.hpp"

namespace segmenta::kernels::impl {

using simd::D8;
using simd::V64;

// ---------------------------------------------------------------------------
// Dot-tile kernel (k-means with many columns, float or double)
//
// A (row, centre) pair owns a 64-byte accumulator whose lane l sums x_f c_f for
// f = l, l + L, l + 2L, ... with fused multiply-adds; the lanes are then folded in
// the halving tree. Tiles of up to 4 rows x 6 centres keep their accumulators in
// registers, so each loaded vector feeds several FMAs as in a GEMM micro-kernel.
// ---------------------------------------------------------------------------

template <class Isa, class T, int RT, int CT>
SEGMENTA_INLINE void dot_tile(const T* x, std::size_t ldx, std::size_t p, const T* c, std::size_t ldc, const T* cn,
                              T* out, std::size_t ldo) noexcept {
  using V = V64<T, Isa>;
  constexpr std::size_t L = V::lanes;
  V acc[RT][CT];
  for (int r = 0; r < RT; ++r)
    for (int j = 0; j < CT; ++j) acc[r][j] = V::zero();
  std::size_t f = 0;
  for (; f + L <= p; f += L) {
    V xv[RT];
    for (int r = 0; r < RT; ++r) {
      xv[r] = V::load(x + r * ldx + f);
      // The next tile's rows, one line per line consumed: with many columns the
      // kernel streams from memory, and the hardware prefetcher alone falls behind.
      __builtin_prefetch(x + (RT + r) * ldx + f);
    }
    for (int j = 0; j < CT; ++j) {
      const V cv = V::load(c + j * ldc + f);
      for (int r = 0; r < RT; ++r) acc[r][j] = V::fma(xv[r], cv, acc[r][j]);
    }
  }
  if (f < p) {
    // Centre rows are zero-padded to whole vectors; the rows are loaded partially.
    V xv[RT];
    for (int r = 0; r < RT; ++r) xv[r] = V::load_n(x + r * ldx + f, p - f);
    for (int j = 0; j < CT; ++j) {
      const V cv = V::load(c + j * ldc + f);
      for (int r = 0; r < RT; ++r) acc[r][j] = V::fma(xv[r], cv, acc[r][j]);
    }
  }
  for (int r = 0; r < RT; ++r)
    for (int j = 0; j < CT; ++j) out[r * ldo + j] = cn[j] - T(2) * V::fold(acc[r][j]);
}

/// All q centres against RT rows, in balanced tiles of at most 6 centres.
template <class Isa, class T, int RT>
SEGMENTA_INLINE void dot_row_tile(std::size_t q, const T* x, std::size_t ldx, std::size_t p, const T* c,
                                  std::size_t ldc, const T* cn, T* out, std::size_t ldo) noexcept {
  const std::size_t tiles = (q + 5) / 6;
  std::size_t j = 0;
  for (std::size_t t = 0; t < tiles; ++t) {
    const std::size_t m = (q - j) / (tiles - t) + ((q - j) % (tiles - t) != 0);
    const T* ct = c + j * ldc;
    switch (m) {
      case 6: dot_tile<Isa, T, RT, 6>(x, ldx, p, ct, ldc, cn + j, out + j, ldo); break;
      case 5: dot_tile<Isa, T, RT, 5>(x, ldx, p, ct, ldc, cn + j, out + j, ldo); break;
      case 4: dot_tile<Isa, T, RT, 4>(x, ldx, p, ct, ldc, cn + j, out + j, ldo); break;
      case 3: dot_tile<Isa, T, RT, 3>(x, ldx, p, ct, ldc, cn + j, out + j, ldo); break;
      case 2: dot_tile<Isa, T, RT, 2>(x, ldx, p, ct, ldc, cn + j, out + j, ldo); break;
      default: dot_tile<Isa, T, RT, 1>(x, ldx, p, ct, ldc, cn + j, out + j, ldo); break;
    }
    j += m;
  }
}

template <class Isa, class T>
void dot_distances(const T* x, std::size_t m, std::size_t ldx, std::size_t p, const T* c, std::size_t ldc,
                   const T* cn, std::size_t q, T* out) noexcept {
  std::size_t i = 0;
  for (; i + 4 <= m; i += 4) dot_row_tile<Isa, T, 4>(q, x + i * ldx, ldx, p, c, ldc, cn, out + i * q, q);
  switch (m - i) {
    case 3: dot_row_tile<Isa, T, 3>(q, x + i * ldx, ldx, p, c, ldc, cn, out + i * q, q); break;
    case 2: dot_row_tile<Isa, T, 2>(q, x + i * ldx, ldx, p, c, ldc, cn, out + i * q, q); break;
    case 1: dot_row_tile<Isa, T, 1>(q, x + i * ldx, ldx, p, c, ldc, cn, out + i * q, q); break;
    default: break;
  }
}

template <class Isa, class T>
T dot_sq_norm(const T* a, std::size_t p) noexcept {
  using V = V64<T, Isa>;
  V acc = V::zero();
  std::size_t f = 0;
  for (; f + V::lanes <= p; f += V::lanes) {
    const V v = V::load(a + f);
    acc = V::fma(v, v, acc);
  }
  if (f < p) {
    const V v = V::load_n(a + f, p - f);
    acc = V::fma(v, v, acc);
  }
  return V::fold(acc);
}

template <class Isa>
SEGMENTA_INLINE D8<Isa> load_as_double(const double* p) noexcept {
  return D8<Isa>::load(p);
}
template <class Isa>
SEGMENTA_INLINE D8<Isa> load_as_double(const float* p) noexcept {
  return D8<Isa>::load_widen(p);
}

/// Sum of the 8 lanes as ((0+1)+(2+3))+((4+5)+(6+7)).
template <class Isa>
SEGMENTA_INLINE double fold_pairs(D8<Isa> a) noexcept {
  alignas(64) double v[8];
  a.store(v);
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

template <class Isa, class T>
double sq_dist_direct(const T* a, const T* b, std::size_t p) noexcept {
  using V = D8<Isa>;
  V acc = V::zero();
  std::size_t f = 0;
  for (; f + 8 <= p; f += 8) {
    const V d = load_as_double<Isa>(a + f) - load_as_double<Isa>(b + f);
    acc = V::fma(d, d, acc);
  }
  double s = fold_pairs<Isa>(acc);
  for (; f < p; ++f) {
    const double d = static_cast<double>(a[f]) - static_cast<double>(b[f]);
    s = std::fma(d, d, s);
  }
  return s;
}

// ---------------------------------------------------------------------------
// Panel kernel (k-means, double, few columns)
//
// Rows transposed in panels of 8: each distance is one fused multiply-add chain over
// f in its own lane, the argmin a vector compare-and-select in index order, and the
// centre sums kept in 8 sets (row 8 t + l adds into set l). The panel is 8 rows
// whatever the register width, so every sum has the same order on every ISA.
// ---------------------------------------------------------------------------

constexpr std::size_t kPanel = 8;

/// Distances of the 8 rows of a panel to NC consecutive centres (rows ldc apart): NC
/// independent fma chains advance together so that the FMA latency is hidden.
template <class Isa, int NC>
SEGMENTA_INLINE void panel_distances(const double* panel, std::size_t p, const double* c, std::size_t ldc,
                                     const double* cn, D8<Isa>* d) noexcept {
  using V = D8<Isa>;
  V acc[NC];
  for (int j = 0; j < NC; ++j) acc[j] = V::zero();
  for (std::size_t f = 0; f < p; ++f) {
    const V x = V::load(panel + f * kPanel);
    for (int j = 0; j < NC; ++j) acc[j] = V::fma(x, V::splat(c[j * ldc + f]), acc[j]);
  }
  const V two = V::splat(2.0);
  for (int j = 0; j < NC; ++j) d[j] = V::fnma(acc[j], two, V::splat(cn[j]));
}

/// Distances to centres [j0, j0 + m) (m <= 8) into d.
template <class Isa>
SEGMENTA_INLINE void panel_group(const double* panel, std::size_t p, const double* cg, std::size_t ldc,
                                 const double* cn, std::size_t m, D8<Isa>* d) noexcept {
  switch (m) {
    case 8: panel_distances<Isa, 8>(panel, p, cg, ldc, cn, d); break;
    case 7: panel_distances<Isa, 7>(panel, p, cg, ldc, cn, d); break;
    case 6: panel_distances<Isa, 6>(panel, p, cg, ldc, cn, d); break;
    case 5: panel_distances<Isa, 5>(panel, p, cg, ldc, cn, d); break;
    case 4: panel_distances<Isa, 4>(panel, p, cg, ldc, cn, d); break;
    case 3: panel_distances<Isa, 3>(panel, p, cg, ldc, cn, d); break;
    case 2: panel_distances<Isa, 2>(panel, p, cg, ldc, cn, d); break;
    default: panel_distances<Isa, 1>(panel, p, cg, ldc, cn, d); break;
  }
}

template <class Isa>
struct PanelNearest {
  D8<Isa> best, label;
};

/// Nearest of the k centres (k, p) for the 8 rows of a panel, lowest index on ties
/// (candidates compared in index order with a strict <). Centres go in balanced groups
/// of at most 8 so that enough independent chains are in flight.
template <class Isa>
SEGMENTA_INLINE PanelNearest<Isa> panel_estep(const double* panel, std::size_t p, const double* c, const double* cn,
                                              std::size_t k) noexcept {
  using V = D8<Isa>;
  V d[8];
  V best = V::zero(), label = V::zero();
  const std::size_t groups = (k + 7) / 8;
  std::size_t j0 = 0;
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t m = (k - j0) / (groups - g) + ((k - j0) % (groups - g) != 0);
    panel_group<Isa>(panel, p, c + j0 * p, p, cn + j0, m, d);
    std::size_t t = 0;
    if (j0 == 0) {
      best = d[0];
      t = 1;
    }
    for (; t < m; ++t) {
      const auto lower = V::lt(d[t], best);
      best = V::select(lower, d[t], best);
      label = V::select(lower, V::splat(static_cast<double>(j0 + t)), label);
    }
    j0 += m;
  }
  return {best, label};
}

template <class Isa>
void panel_terms(const PanelRows& dr, const double* c, std::size_t ldc, const double* cn, std::size_t q,
                 std::size_t s, std::size_t e, double* out, std::size_t ldo) noexcept {
  using V = D8<Isa>;
  const std::size_t p = dr.p;
  V d[8];
  alignas(64) double lanes[kPanel];
  for (std::size_t i0 = s; i0 < e; i0 += kPanel) {
    const double* panel = dr.panels + (i0 / kPanel) * p * kPanel;
    const std::size_t valid = std::min(kPanel, e - i0);
    double* o = out + (i0 - s) * ldo;
    const std::size_t groups = (q + 7) / 8;
    std::size_t j0 = 0;
    for (std::size_t g = 0; g < groups; ++g) {
      const std::size_t m = (q - j0) / (groups - g) + ((q - j0) % (groups - g) != 0);
      panel_group<Isa>(panel, p, c + j0 * ldc, ldc, cn + j0, m, d);
      for (std::size_t t = 0; t < m; ++t) {
        d[t].store(lanes);
        for (std::size_t l = 0; l < valid; ++l) o[l * ldo + j0 + t] = lanes[l];
      }
      j0 += m;
    }
  }
}

template <class Isa>
void panel_nearest(const PanelRows& dr, std::size_t k, const double* c, const double* cn, std::size_t b0,
                   std::size_t b1, std::int32_t* labels) noexcept {
  alignas(64) double lab[kPanel];
  for (std::size_t i0 = b0; i0 < b1; i0 += kPanel) {
    const std::size_t valid = std::min(kPanel, b1 - i0);
    const PanelNearest<Isa> near = panel_estep<Isa>(dr.panels + (i0 / kPanel) * dr.p * kPanel, dr.p, c, cn, k);
    near.label.store(lab);
    for (std::size_t l = 0; l < valid; ++l) labels[i0 + l] = static_cast<std::int32_t>(lab[l]);
  }
}

template <class Isa, bool OneVector>
SEGMENTA_INLINE LloydTotals lloyd_block(const PanelRows& dr, std::size_t k, const double* c, const double* cn,
                                        std::size_t b0, std::size_t b1, std::int32_t* __restrict labels,
                                        double* __restrict sets, std::size_t* __restrict counts) noexcept {
  using V = D8<Isa>;
  const std::size_t p = dr.p, pp = dr.pp;
  const double* __restrict rows = dr.rows;
  alignas(64) double labd[kPanel];
  alignas(64) static constexpr double iota[kPanel] = {0, 1, 2, 3, 4, 5, 6, 7};
  const V lane_index = V::load(iota);
  V objective = V::zero();
  std::size_t changed = 0;
  for (std::size_t i0 = b0; i0 < b1; i0 += kPanel) {
    const std::size_t valid = std::min(kPanel, b1 - i0);
    const PanelNearest<Isa> near = panel_estep<Isa>(dr.panels + (i0 / kPanel) * p * kPanel, p, c, cn, k);
    near.label.store(labd);
    std::int32_t lab[kPanel];
    for (std::size_t l = 0; l < kPanel; ++l) lab[l] = static_cast<std::int32_t>(labd[l]);
    for (std::size_t l = 0; l < valid; ++l) {
      changed += labels[i0 + l] != lab[l];
      labels[i0 + l] = lab[l];
    }
    const auto in_range = V::lt(lane_index, V::splat(static_cast<double>(valid)));
    objective = V::select(in_range, objective + (V::load(dr.xn + i0) + near.best), objective);
    for (std::size_t l = 0; l < valid; ++l) {
      const auto j = static_cast<std::size_t>(lab[l]);
      ++counts[l * k + j];
      double* sj = sets + (l * k + j) * pp;
      const double* xi = rows + (i0 + l) * pp;
      if constexpr (OneVector) {
        (V::load(sj) + V::load(xi)).store(sj);
      } else {
        for (std::size_t f = 0; f < pp; f += kPanel) (V::load(sj + f) + V::load(xi + f)).store(sj + f);
      }
    }
  }
  return {fold_pairs<Isa>(objective), changed};
}

template <class Isa>
LloydTotals lloyd_panel_block(const PanelRows& dr, std::size_t k, const double* c, const double* cn, std::size_t b0,
                              std::size_t b1, std::int32_t* labels, double* sets, std::size_t* counts) noexcept {
  return dr.pp == kPanel ? lloyd_block<Isa, true>(dr, k, c, cn, b0, b1, labels, sets, counts)
                         : lloyd_block<Isa, false>(dr, k, c, cn, b0, b1, labels, sets, counts);
}

// ---------------------------------------------------------------------------
// Silhouette: direct differences, one vector = the distances from row i to 8
// consecutive units; P > 0 fixes p at compile time (the row stays in registers).
// Sums: per vector s = fma(t, t, s) over f from 0, d = sqrt(s); row sums alternate
// two accumulators (even / odd vectors) folded as fold(r0 + r1); column sums
// cacc = fma(w_i, d, cacc). Row pairs (p <= 8) share the panel loads: one
// accumulator per row, cacc = fma(w_i1, d1, fma(w_i0, d0, cacc)).
// ---------------------------------------------------------------------------

template <class Isa, std::size_t P, bool Cols>
SEGMENTA_INLINE double sil_seg(const SilhouetteTile& t, std::size_t i, std::size_t ua, std::size_t ub,
                               double* cacc) noexcept {
  using V = D8<Isa>;
  const std::size_t p = P ? P : t.p;
  const double* xi = t.drows + i * p;
  const double* panel = t.panel + ua * p;
  const double* w = t.w + ua;
  const std::size_t nvec = (ub - ua) / 8;
  V xb[P ? P : 1];
  if constexpr (P > 0)
    for (std::size_t f = 0; f < P; ++f) xb[f] = V::splat(xi[f]);
  auto dist = [&](const double* a) {
    V s = V::zero();
    if constexpr (P > 0) {
      for (std::size_t f = 0; f < P; ++f) {
        const V d = V::load(a + f * 8) - xb[f];
        s = V::fma(d, d, s);
      }
    } else {
      for (std::size_t f = 0; f < p; ++f) {
        const V d = V::load(a + f * 8) - V::splat(xi[f]);
        s = V::fma(d, d, s);
      }
    }
    return V::sqrt(s);
  };
  const V vwi = V::splat(t.w[i]);
  V r0 = V::zero(), r1 = V::zero();
  std::size_t v = 0;
  for (; v + 2 <= nvec; v += 2) {
    const V d0 = dist(panel + v * p * 8);
    const V d1 = dist(panel + (v + 1) * p * 8);
    r0 = V::fma(V::load(w + v * 8), d0, r0);
    r1 = V::fma(V::load(w + (v + 1) * 8), d1, r1);
    if constexpr (Cols) {
      double* ca = cacc + v * 8;
      V::fma(vwi, d0, V::load(ca)).store(ca);
      V::fma(vwi, d1, V::load(ca + 8)).store(ca + 8);
    }
  }
  if (v < nvec) {
    const V d0 = dist(panel + v * p * 8);
    r0 = V::fma(V::load(w + v * 8), d0, r0);
    if constexpr (Cols) {
      double* ca = cacc + v * 8;
      V::fma(vwi, d0, V::load(ca)).store(ca);
    }
  }
  return V::fold(r0 + r1);
}

template <class Isa, std::size_t P, bool Cols>
SEGMENTA_INLINE void sil_seg2(const SilhouetteTile& t, std::size_t i, std::size_t ua, std::size_t ub, double* cacc,
                              double& out0, double& out1) noexcept {
  using V = D8<Isa>;
  constexpr std::size_t p = P;
  const double* x0 = t.drows + i * p;
  const double* x1 = x0 + p;
  const double* panel = t.panel + ua * p;
  const double* w = t.w + ua;
  const std::size_t nvec = (ub - ua) / 8;
  V xb0[p], xb1[p];
  for (std::size_t f = 0; f < p; ++f) {
    xb0[f] = V::splat(x0[f]);
    xb1[f] = V::splat(x1[f]);
  }
  const V vw0 = V::splat(t.w[i]), vw1 = V::splat(t.w[i + 1]);
  V r0 = V::zero(), r1 = V::zero();
  for (std::size_t v = 0; v < nvec; ++v) {
    const double* a = panel + v * p * 8;
    V s0 = V::zero(), s1 = V::zero();
    for (std::size_t f = 0; f < p; ++f) {
      const V col = V::load(a + f * 8);
      const V t0 = col - xb0[f];
      const V t1 = col - xb1[f];
      s0 = V::fma(t0, t0, s0);
      s1 = V::fma(t1, t1, s1);
    }
    const V d0 = V::sqrt(s0), d1 = V::sqrt(s1);
    const V wv = V::load(w + v * 8);
    r0 = V::fma(wv, d0, r0);
    r1 = V::fma(wv, d1, r1);
    if constexpr (Cols) {
      double* ca = cacc + v * 8;
      V::fma(vw1, d1, V::fma(vw0, d0, V::load(ca))).store(ca);
    }
  }
  out0 = V::fold(r0);
  out1 = V::fold(r1);
}

template <class Isa, std::size_t P, bool Cols>
void sil_direct_rows(const SilhouetteTile& t, std::size_t i0, std::size_t i1, double* out) noexcept {
  const std::size_t ns = t.nsegs;
  std::size_t i = i0;
  if constexpr (P >= 1 && P <= 8) {
    for (; i + 1 < i1; i += 2) {
      double* o = out + (i - i0) * ns;
      for (std::size_t g = 0; g < ns; ++g) {
        const SilhouetteSegment& sg = t.segs[g];
        sil_seg2<Isa, P, Cols>(t, i, sg.begin, sg.end, t.cacc + (sg.begin - t.c0), o[g], o[ns + g]);
      }
    }
  }
  for (; i < i1; ++i) {
    double* o = out + (i - i0) * ns;
    for (std::size_t g = 0; g < ns; ++g) {
      const SilhouetteSegment& sg = t.segs[g];
      o[g] = sil_seg<Isa, P, Cols>(t, i, sg.begin, sg.end, t.cacc + (sg.begin - t.c0));
    }
  }
}

template <class Isa, std::size_t P>
void sil_direct_p(const SilhouetteTile& t, std::size_t i0, std::size_t i1, bool cols, double* out) noexcept {
  if (cols)
    sil_direct_rows<Isa, P, true>(t, i0, i1, out);
  else
    sil_direct_rows<Isa, P, false>(t, i0, i1, out);
}

/// p = 1..16 get a kernel with p fixed at compile time, larger p the runtime-p one.
template <class Isa>
void silhouette_direct(const SilhouetteTile& t, std::size_t i0, std::size_t i1, bool cols, double* out) noexcept {
  switch (t.p) {
    case 1: return sil_direct_p<Isa, 1>(t, i0, i1, cols, out);
    case 2: return sil_direct_p<Isa, 2>(t, i0, i1, cols, out);
    case 3: return sil_direct_p<Isa, 3>(t, i0, i1, cols, out);
    case 4: return sil_direct_p<Isa, 4>(t, i0, i1, cols, out);
    case 5: return sil_direct_p<Isa, 5>(t, i0, i1, cols, out);
    case 6: return sil_direct_p<Isa, 6>(t, i0, i1, cols, out);
    case 7: return sil_direct_p<Isa, 7>(t, i0, i1, cols, out);
    case 8: return sil_direct_p<Isa, 8>(t, i0, i1, cols, out);
    case 9: return sil_direct_p<Isa, 9>(t, i0, i1, cols, out);
    case 10: return sil_direct_p<Isa, 10>(t, i0, i1, cols, out);
    case 11: return sil_direct_p<Isa, 11>(t, i0, i1, cols, out);
    case 12: return sil_direct_p<Isa, 12>(t, i0, i1, cols, out);
    case 13: return sil_direct_p<Isa, 13>(t, i0, i1, cols, out);
    case 14: return sil_direct_p<Isa, 14>(t, i0, i1, cols, out);
    case 15: return sil_direct_p<Isa, 15>(t, i0, i1, cols, out);
    case 16: return sil_direct_p<Isa, 16>(t, i0, i1, cols, out);
    default: return sil_direct_p<Isa, 0>(t, i0, i1, cols, out);
  }
}

// ---------------------------------------------------------------------------
// Silhouette from a GEMM tile: d^2 = (-2 g + |x_i|^2) + |x_j|^2 (one fma, one add);
// pairs with d^2 < near_fraction (|x_i|^2 + |x_j|^2) are recomputed by direct
// differences (one fma chain in double); d = sqrt(max(d^2, 0)).
// ---------------------------------------------------------------------------

template <class T>
double direct_sq_chain(const T* a, const T* b, std::size_t p) noexcept {
  double s = 0.0;
  for (std::size_t f = 0; f < p; ++f) {
    const double d = static_cast<double>(a[f]) - static_cast<double>(b[f]);
    s = std::fma(d, d, s);
  }
  return s;
}

template <class Isa, class T>
[[gnu::noinline]] D8<Isa> refine_near(const SilhouetteTile& t, std::size_t i, std::size_t u, unsigned near,
                                      D8<Isa> d2) noexcept {
  alignas(64) double v[8];
  d2.store(v);
  const T* rows = static_cast<const T*>(t.trows);
  for (std::size_t k = 0; k < 8; ++k)
    if (near & (1u << k)) v[k] = direct_sq_chain(rows + i * t.p, rows + (u + k) * t.p, t.p);
  return D8<Isa>::load(v);
}

template <class Isa, class T, bool Cols>
void sil_gemm_rows(const SilhouetteTile& t, std::size_t i0, std::size_t i1, double* out) noexcept {
  using V = D8<Isa>;
  const T* g = static_cast<const T*>(t.gtile);
  const V minus2 = V::splat(-2.0), zero = V::zero(), frac = V::splat(t.near_fraction);
  for (std::size_t i = i0; i < i1; ++i) {
    const T* grow = g + (i - t.r0) * t.ld;  // columns from c0
    const V ni = V::splat(t.norms[i]), vwi = V::splat(t.w[i]);
    for (std::size_t s = 0; s < t.nsegs; ++s) {
      const std::size_t ua = t.segs[s].begin, ub = t.segs[s].end;
      double* cacc = t.cacc + (ua - t.c0);
      V r = zero;
      for (std::size_t u = ua; u < ub; u += 8) {
        const V nj = V::load(t.norms + u);
        V d2 = V::fma(minus2, load_as_double<Isa>(grow + (u - t.c0)), ni) + nj;
        const unsigned near = V::bits(V::lt(d2, frac * (ni + nj)));
        if (near) d2 = refine_near<Isa, T>(t, i, u, near, d2);
        const V d = V::sqrt(V::max(d2, zero));
        r = V::fma(V::load(t.w + u), d, r);
        if constexpr (Cols) {
          double* ca = cacc + (u - ua);
          V::fma(vwi, d, V::load(ca)).store(ca);
        }
      }
      out[(i - i0) * t.nsegs + s] = V::fold(r);
    }
  }
}

template <class Isa, class T>
void silhouette_gemm(const SilhouetteTile& t, std::size_t i0, std::size_t i1, bool cols, double* out) noexcept {
  if (cols)
    sil_gemm_rows<Isa, T, true>(t, i0, i1, out);
  else
    sil_gemm_rows<Isa, T, false>(t, i0, i1, out);
}

// ---------------------------------------------------------------------------
// t-SNE (Barnes-Hut): Student-t kernel sums of 4 points over an interaction list,
// 16 entries per step. Every product and sum rounded separately (no fused
// multiply-adds), lane by lane, then the 16 lanes of each sum added in lane order.
// ---------------------------------------------------------------------------

template <class Isa, std::size_t D>
void tsne_interact(const TsneList& list, const float (*p)[3], float* z, float* f) noexcept {
  using V = simd::F16<Isa>;
  constexpr std::size_t Q = kTsnePoints;
  V az[Q], af[Q][D];
  for (std::size_t q = 0; q < Q; ++q) {
    az[q] = V::zero();
    for (std::size_t a = 0; a < D; ++a) af[q][a] = V::zero();
  }
  const V one = V::splat(1.0f), half = V::splat(0.5f);
  for (std::size_t s = 0; s < list.size; s += 16) {
    const V cx = V::load(list.x + s), cy = V::load(list.y + s), cn = V::load(list.count + s);
    V cz = V::zero();
    if constexpr (D == 3) cz = V::load(list.z + s);
    for (std::size_t q = 0; q < Q; ++q) {
      const V dx = V::splat(p[q][0]) - cx, dy = V::splat(p[q][1]) - cy;
      V w, dz = V::zero();
      if constexpr (D == 2) {
        w = one / ((one + dx * dx) + dy * dy);
      } else {
        dz = V::splat(p[q][2]) - cz;
        const V u = one + half * ((dx * dx + dy * dy) + dz * dz);
        w = one / (u * V::sqrt(u));  // Student-t with 2 degrees of freedom
      }
      const V cw = cn * w;
      az[q] = az[q] + cw;
      const V cw2 = cw * w;
      af[q][0] = af[q][0] + cw2 * dx;
      af[q][1] = af[q][1] + cw2 * dy;
      if constexpr (D == 3) af[q][2] = af[q][2] + cw2 * dz;
    }
  }
  alignas(64) float lanes[16];
  for (std::size_t q = 0; q < Q; ++q) {
    az[q].store(lanes);
    float sz = 0.0f;
    for (float v : lanes) sz += v;
    z[q] = sz;
    for (std::size_t a = 0; a < D; ++a) {
      af[q][a].store(lanes);
      float sf = 0.0f;
      for (float v : lanes) sf += v;
      f[q * D + a] = sf;
    }
  }
}

// ---------------------------------------------------------------------------
// k-prototypes, fewer than 8 numeric columns: R groups of 8 rows at once, prototype
// after prototype. Lanes are 8 rows, so the per-row operations (c - x squared and
// summed over the columns from 0, then + gamma * mismatches, a strictly smaller
// running minimum) are kmodes' whatever the register width. Written with GCC vector
// types (8 doubles, 8 int32): the integer lanes have no counterpart in simd.hpp; the
// Isa parameter keeps each file's instantiation apart.
// ---------------------------------------------------------------------------

typedef double kp_v8d __attribute__((vector_size(64)));
typedef std::int32_t kp_v8i __attribute__((vector_size(32)));

template <class Isa, std::size_t R>
SEGMENTA_INLINE void kproto_block(const KprotoData& d, std::size_t i0, std::int32_t* lab, double* dmin) noexcept {
  constexpr double inf = __builtin_inf();
  const std::size_t p = d.p, q = d.q, stride = d.stride, kp = d.kp;
  kp_v8d x[R][8];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < p; ++j) std::memcpy(&x[r][j], d.num_cols + j * stride + i0 + 8 * r, sizeof(kp_v8d));
  kp_v8d best[R];
  kp_v8i best_l[R];
  for (std::size_t r = 0; r < R; ++r) {
    best[r] = kp_v8d{} + inf;
    best_l[r] = kp_v8i{};
  }
  const auto numeric = [&](std::size_t l, kp_v8d* acc) {
    for (std::size_t r = 0; r < R; ++r) acc[r] = kp_v8d{};
    for (std::size_t j = 0; j < p; ++j) {
      const kp_v8d c = kp_v8d{} + d.c[j * kp + l];
      for (std::size_t r = 0; r < R; ++r) {
        const kp_v8d t = c - x[r][j];
        acc[r] += t * t;
      }
    }
  };
  const auto keep = [&](std::size_t l, const kp_v8d* acc) {
    const kp_v8i lv = kp_v8i{} + static_cast<std::int32_t>(l);
    for (std::size_t r = 0; r < R; ++r) {
      const auto lt = acc[r] < best[r];
      best[r] = lt ? acc[r] : best[r];
      best_l[r] = __builtin_convertvector(lt, kp_v8i) ? lv : best_l[r];
    }
  };
  if (d.use_table) {
    const std::int32_t* u = d.combo_of_row + i0;
    for (std::size_t l = 0; l < d.k; ++l) {
      kp_v8d acc[R];
      numeric(l, acc);
      const double* g = d.gt + l * d.n_combos;
      for (std::size_t r = 0; r < R; ++r) {
        const std::int32_t* ur = u + 8 * r;
        acc[r] += kp_v8d{g[ur[0]], g[ur[1]], g[ur[2]], g[ur[3]], g[ur[4]], g[ur[5]], g[ur[6]], g[ur[7]]};
      }
      keep(l, acc);
    }
  } else {
    for (std::size_t l = 0; l < d.k; ++l) {
      kp_v8d acc[R];
      numeric(l, acc);
      kp_v8i cnt[R];
      for (std::size_t r = 0; r < R; ++r) cnt[r] = kp_v8i{};
      for (std::size_t j = 0; j < q; ++j) {
        const kp_v8i m = kp_v8i{} + d.m[j * kp + l];
        for (std::size_t r = 0; r < R; ++r) {
          kp_v8i c;
          std::memcpy(&c, d.cat_cols + j * stride + i0 + 8 * r, sizeof(kp_v8i));
          cnt[r] -= (c != m);  // a true lane compares as -1
        }
      }
      for (std::size_t r = 0; r < R; ++r) acc[r] += d.gamma * __builtin_convertvector(cnt[r], kp_v8d);
      keep(l, acc);
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    std::memcpy(dmin + 8 * r, &best[r], sizeof(kp_v8d));
    std::memcpy(lab + 8 * r, &best_l[r], sizeof(kp_v8i));
  }
}

template <class Isa>
void kproto_nearest(const KprotoData& d, std::size_t groups, std::size_t i0, std::int32_t* lab, double* dmin) noexcept {
  switch (groups) {
    case 4: return kproto_block<Isa, 4>(d, i0, lab, dmin);
    case 2: return kproto_block<Isa, 2>(d, i0, lab, dmin);
    default: return kproto_block<Isa, 1>(d, i0, lab, dmin);
  }
}

// ---------------------------------------------------------------------------

/// The table of instruction set Tag (reported as id).
template <class Tag>
KernelTable make_table(Isa id) noexcept {
  KernelTable t{};
  t.isa = id;
  t.dot_distances_d = &dot_distances<Tag, double>;
  t.dot_distances_f = &dot_distances<Tag, float>;
  t.dot_sq_norm_d = &dot_sq_norm<Tag, double>;
  t.dot_sq_norm_f = &dot_sq_norm<Tag, float>;
  t.sq_dist_direct_d = &sq_dist_direct<Tag, double>;
  t.sq_dist_direct_f = &sq_dist_direct<Tag, float>;
  t.panel_terms = &panel_terms<Tag>;
  t.panel_nearest = &panel_nearest<Tag>;
  t.lloyd_panel_block = &lloyd_panel_block<Tag>;
  t.silhouette_direct = &silhouette_direct<Tag>;
  t.silhouette_gemm_d = &silhouette_gemm<Tag, double>;
  t.silhouette_gemm_f = &silhouette_gemm<Tag, float>;
  t.tsne_interact_2d = &tsne_interact<Tag, 2>;
  t.tsne_interact_3d = &tsne_interact<Tag, 3>;
  t.kproto_nearest = &kproto_nearest<Tag>;
  return t;
}

}  // namespace segmenta::kernels::impl
