// The table of SIMD kernels of one instruction set, and the choice made at run time.
//
// Every entry is compiled three times (isa_portable.cpp, isa_avx2.cpp,
// isa_avx512.cpp, each with its own target flags) from the one template source in
// kernels/distance_kernels.hpp; kernels::table() returns the widest set the CPU runs
// (CPUID, read once), capped by SEGMENTA_KERNEL=portable|avx2|avx512. All three give
// bit-identical results; the tests compare them (tests/unit/kernels_*_test.cpp).
//
// Kernels trust their inputs (shapes are the caller's contract) and are single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>

#include "segmenta/kernels.hpp"

namespace segmenta::kernels {

// ---------------------------------------------------------------------------
// k-means
// ---------------------------------------------------------------------------

/// The panel layout of the rows for the panel kernel (double, few columns):
/// panels[(t * p + f) * 8 + l] = x(8 t + l, f), rows (n, pp) zero-padded to pp = p
/// rounded up to 8, xn (ceil(n / 8) * 8) squared norms, zero-padded.
struct PanelRows {
  const double* panels = nullptr;
  const double* rows = nullptr;
  const double* xn = nullptr;
  std::size_t p = 0, pp = 0;
};

struct LloydTotals {
  double objective = 0.0;  // sum of ||x||^2 + (||c||^2 - 2 x.c) of the winners
  std::size_t changed = 0;  // labels that differ from what labels held before
};

// ---------------------------------------------------------------------------
// Silhouette (direct differences or a GEMM tile): the sums over columns
// [begin, end) (whole 8-unit vectors of one cell) of w_j d(i, j) for rows i, and
// optionally the column sums w_i d(i, j).
// ---------------------------------------------------------------------------

struct SilhouetteSegment {
  std::size_t begin, end;  // unit range, multiples of 8
  std::uint32_t cell;
};

struct SilhouetteTile {
  std::size_t p = 0;
  const double* w = nullptr;  // (units) weights; 0 = padding
  // Direct differences: unit rows in double and the same lane-interleaved,
  // panel[(u / 8) * p * 8 + f * 8 + u % 8].
  const double* drows = nullptr;
  const double* panel = nullptr;
  // GEMM: the product tile g (rows from r0, columns from c0, leading dimension ld)
  // of centred rows `trows` (float or double as the kernel's type) with squared norms;
  // pairs with d^2 < near_fraction (|x|^2 + |y|^2) are recomputed by direct differences.
  const void* gtile = nullptr;
  std::size_t r0 = 0, c0 = 0, ld = 0;
  const void* trows = nullptr;
  const double* norms = nullptr;
  double near_fraction = 0.0;
  // Column segments of the tile, and the column sums (indexed from column c0).
  const SilhouetteSegment* segs = nullptr;
  std::size_t nsegs = 0;
  double* cacc = nullptr;
};

// ---------------------------------------------------------------------------
// t-SNE, Barnes-Hut: an interaction list (structure of arrays, coordinates relative
// to the group's centre, `size` a multiple of 16, padded with zero counts).
// ---------------------------------------------------------------------------

inline constexpr std::size_t kTsnePoints = 4;  // points evaluated together

struct TsneList {
  const float* x = nullptr;
  const float* y = nullptr;
  const float* z = nullptr;  // 3D only
  const float* count = nullptr;
  std::size_t size = 0;
};

// ---------------------------------------------------------------------------
// k-prototypes, fewer than 8 numeric columns: the nearest prototype of groups of 8 rows
// (rows as columns: column j of rows [0, stride) at j * stride, padded).
// ---------------------------------------------------------------------------

struct KprotoData {
  std::size_t p = 0, q = 0, stride = 0;  // numeric, categorical columns; rows per column copy
  std::size_t k = 0, kp = 0;             // prototypes, padded count (row length of c and m)
  const double* num_cols = nullptr;      // (p, stride)
  const std::int32_t* cat_cols = nullptr;  // (q, stride), without the table
  const double* c = nullptr;             // (p, kp) numeric centroids
  const std::int32_t* m = nullptr;       // (q, kp) modes
  bool use_table = false;                // categorical costs from gt by combo
  const std::int32_t* combo_of_row = nullptr;
  const double* gt = nullptr;            // (k, n_combos) gamma * mismatches
  std::size_t n_combos = 0;
  double gamma = 0.0;
};

struct KernelTable {
  Isa isa;

  /// out (m, q) = cn[j] - 2 x_i . c_j for rows x (m, p, stride ldx) and centres c (q
  /// rows, ldc apart, zero-padded to ldc = a whole number of 64-byte vectors): each
  /// dot product in 64-byte lanes of fused multiply-adds folded in a halving tree.
  void (*dot_distances_d)(const double* x, std::size_t m, std::size_t ldx, std::size_t p, const double* c,
                          std::size_t ldc, const double* cn, std::size_t q, double* out) noexcept;
  void (*dot_distances_f)(const float* x, std::size_t m, std::size_t ldx, std::size_t p, const float* c,
                          std::size_t ldc, const float* cn, std::size_t q, float* out) noexcept;
  /// ||a||^2 with the lanes and the tree of dot_distances.
  double (*dot_sq_norm_d)(const double* a, std::size_t p) noexcept;
  float (*dot_sq_norm_f)(const float* a, std::size_t p) noexcept;
  /// Squared distance by direct differences in double: eight interleaved fma chains
  /// combined ((0+1)+(2+3))+((4+5)+(6+7)), then the tail as one chain.
  double (*sq_dist_direct_d)(const double* a, const double* b, std::size_t p) noexcept;
  double (*sq_dist_direct_f)(const float* a, const float* b, std::size_t p) noexcept;

  /// Panel kernel: distance terms ||c||^2 - 2 x.c (one fma chain per pair, cn the
  /// norms of the same chain) of rows [s, e) (s a multiple of 8) to q centres c (rows
  /// ldc apart), row-major into out (e - s, ldo).
  void (*panel_terms)(const PanelRows& d, const double* c, std::size_t ldc, const double* cn, std::size_t q,
                      std::size_t s, std::size_t e, double* out, std::size_t ldo) noexcept;
  /// Nearest of k centres c (k, p) for rows [b0, b1) (b0 a multiple of 8), lowest index
  /// on ties, into labels.
  void (*panel_nearest)(const PanelRows& d, std::size_t k, const double* c, const double* cn, std::size_t b0,
                        std::size_t b1, std::int32_t* labels) noexcept;
  /// E-step and centre sums of rows [b0, b1) (b0 a multiple of 8): labels updated,
  /// sets (8, k, pp) and counts (8, k) receive the per-lane sums (row b0 + 8 t + l adds
  /// into set l).
  LloydTotals (*lloyd_panel_block)(const PanelRows& d, std::size_t k, const double* c, const double* cn,
                                   std::size_t b0, std::size_t b1, std::int32_t* labels, double* sets,
                                   std::size_t* counts) noexcept;

  /// Silhouette row sums of rows [i0, i1) of one cell against every segment of the
  /// tile: out[(i - i0) * nsegs + s]; with cols, the column sums are added to t.cacc
  /// (row i0 first). direct: differences; gemm_d / gemm_f: from the GEMM tile of
  /// double / float rows.
  void (*silhouette_direct)(const SilhouetteTile& t, std::size_t i0, std::size_t i1, bool cols,
                            double* out) noexcept;
  void (*silhouette_gemm_d)(const SilhouetteTile& t, std::size_t i0, std::size_t i1, bool cols,
                            double* out) noexcept;
  void (*silhouette_gemm_f)(const SilhouetteTile& t, std::size_t i0, std::size_t i1, bool cols,
                            double* out) noexcept;

  /// t-SNE repulsion of kTsnePoints points p (relative to the list's centre) over a
  /// list: z[q] = sum of count w, f[q * D + a] = sum of count w^2 d_a, with
  /// w = 1 / (1 + |d|^2) (2D) or (1 + |d|^2 / 2)^(-3/2) (3D), d = p_q - entry.
  void (*tsne_interact_2d)(const TsneList& list, const float (*p)[3], float* z, float* f) noexcept;
  void (*tsne_interact_3d)(const TsneList& list, const float (*p)[3], float* z, float* f) noexcept;

  /// Nearest prototype of rows [i0, i0 + groups * 8) (groups 1, 2 or 4): per row and
  /// prototype sum over columns j from 0 of (c - x)^2 (product and sum rounded
  /// separately), plus the categorical cost, and a strictly-smaller running minimum
  /// over prototypes in order (lowest index on ties), as kmodes computes it.
  void (*kproto_nearest)(const KprotoData& d, std::size_t groups, std::size_t i0, std::int32_t* lab,
                         double* dmin) noexcept;
};

/// The kernels of one instruction set; nullptr when this CPU (or this build) cannot run it.
const KernelTable* table_for(Isa isa) noexcept;

/// The kernels chosen for this process (active_isa()).
const KernelTable& table() noexcept;

// Defined by the per-ISA translation units; nullptr where the compiler lacks the flags.
const KernelTable* portable_table() noexcept;
const KernelTable* avx2_table() noexcept;
const KernelTable* avx512_table() noexcept;

}  // namespace segmenta::kernels
