// AVX-512 BF16 and VNNI GEMM kernels for the reduced-precision encoder paths.
//
// Both compute y (rows, n) = x W^T + b from W packed in panels of 48 output features
// (three 16-lane registers), k grouped by 2 (bf16 pairs) or 4 (int8 quadruples) so that
// one 32-bit broadcast of x meets one 64-byte load of W per register. A register tile of
// 8 rows x 48 columns keeps 24 accumulators live; x is read row by row from a block of
// 64 rows that stays in L2 while the panels stream through L1.
//
// The functions carry target attributes, so this file builds without -march flags and
// the encoder calls them only after checking the CPU (cpu_has_avx512_*).
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "embed/gemm_epilogue.hpp"
#include "embed/ops.hpp"
#include "embed/simd.hpp"

namespace segmenta::embed_detail {

#define SEGMENTA_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define SEGMENTA_TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

bool cpu_has_avx512_bf16() noexcept {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512bf16") && kernel_cap() >= 3;
  return has;
}

bool cpu_has_avx512_vnni() noexcept {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni") && kernel_cap() >= 3;
  return has;
}

namespace {

constexpr std::size_t kRowBlock = 64;

inline std::int32_t load_i32(const void* p) noexcept {
  std::int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

template <bool GELU, int MR>
SEGMENTA_TARGET_VNNI __attribute__((noinline)) void s8_tile(const std::uint8_t* __restrict bp, std::size_t groups, const std::int8_t* __restrict a,
                                  std::size_t lda, const PackedLinear& lin, const Activations& x, std::size_t r0,
                                  std::size_t col0, float* __restrict y, std::size_t ldy, float* lanes) noexcept {
  // The accumulators start at -128 sum(q), the correction for the weights' +128 offset.
  __m512i acc[MR][3];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = _mm512_set1_epi32(-x.qsum128[r0 + static_cast<std::size_t>(r)]);
  for (std::size_t g = 0; g < groups; ++g) {
    const __m512i b0 = _mm512_load_si512(bp);
    const __m512i b1 = _mm512_load_si512(bp + 64);
    const __m512i b2 = _mm512_load_si512(bp + 128);
    bp += 192;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(load_i32(a + static_cast<std::size_t>(r) * lda + 4 * g));
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], b0, av);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], b1, av);
      acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], b2, av);
    }
  }
  // y = (acc - zero * sum(w)) * scale_x * scale_w + bias, all integer up to the
  // conversion (wrap-around included), so the result equals the portable kernel's exactly.
  __m512 lo[MR], hi[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
#pragma GCC unroll 3
  for (int j = 0; j < 3; ++j) {
    const std::size_t col = col0 + 16 * static_cast<std::size_t>(j);
    const __mmask16 m = col_mask(col, lin.n);
    if (!m) break;
    const __m512i wsum = _mm512_load_si512(lin.wsum.data() + col);
    const __m512 wscale = _mm512_load_ps(lin.wscale.data() + col);
    const __m512 bias = _mm512_load_ps(lin.bias.data() + col);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const std::size_t row = r0 + static_cast<std::size_t>(r);
      const __m512i corr = _mm512_mullo_epi32(_mm512_set1_epi32(x.zero[row]), wsum);
      // The zero-masked form avoids a false -Wmaybe-uninitialized in GCC 12's header.
      const __m512 v = _mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xffff), _mm512_sub_epi32(acc[r][j], corr));
      const __m512 s = _mm512_mul_ps(_mm512_set1_ps(x.scale[row]), wscale);
      _mm512_mask_storeu_ps(y + row * ldy + col, m, activate<GELU>(_mm512_fmadd_ps(v, s, bias), m, lo[r], hi[r]));
    }
  }
  merge_lanes<GELU, MR>(lanes, lo, hi);
}

template <bool GELU, int MR>
SEGMENTA_TARGET_BF16 __attribute__((noinline)) void bf16_tile(const std::uint16_t* __restrict bp, std::size_t groups,
                                    const std::uint16_t* __restrict a, std::size_t lda, const PackedLinear& lin,
                                    std::size_t col0, float* __restrict y, std::size_t ldy, float* lanes) noexcept {
  __m512 acc[MR][3];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = _mm512_setzero_ps();
  for (std::size_t g = 0; g < groups; ++g) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(bp);
    const __m512bh b1 = (__m512bh)_mm512_load_si512(bp + 32);
    const __m512bh b2 = (__m512bh)_mm512_load_si512(bp + 64);
    bp += 96;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(load_i32(a + static_cast<std::size_t>(r) * lda + 2 * g));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], av, b2);
    }
  }
  __m512 lo[MR], hi[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
#pragma GCC unroll 3
  for (int j = 0; j < 3; ++j) {
    const std::size_t col = col0 + 16 * static_cast<std::size_t>(j);
    if (col >= lin.n) break;
    const std::size_t left = lin.n - col;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
    const __m512 bias = _mm512_load_ps(lin.bias.data() + col);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
      _mm512_mask_storeu_ps(y + (static_cast<std::size_t>(r)) * ldy + col, m,
                            activate<GELU>(_mm512_add_ps(acc[r][j], bias), m, lo[r], hi[r]));
  }
  merge_lanes<GELU, MR>(lanes, lo, hi);
}

// Runs tile(MR, panel, row) over blocks of kRowBlock rows, every panel of a block before
// the next block. With `range` (GELU epilogue), each block's rows collect lane-wise
// extremes in a small buffer that is reduced to range[2r], range[2r + 1] at the block's end.
template <class Tile>
void for_tiles(std::size_t rows, std::size_t panels, float* range, Tile&& tile) {
  alignas(64) float lanes[kRowBlock * 32];
  for (std::size_t m0 = 0; m0 < rows; m0 += kRowBlock) {
    const std::size_t m1 = std::min(rows, m0 + kRowBlock);
    if (range) std::fill(lanes, lanes + (m1 - m0) * 32, 0.0f);
    for (std::size_t p = 0; p < panels; ++p) {
      std::size_t r = m0;
      for (; r + 8 <= m1; r += 8) tile(std::integral_constant<int, 8>{}, p, r, lanes + (r - m0) * 32);
      float* lr = lanes + (r - m0) * 32;
      switch (m1 - r) {
        case 7: tile(std::integral_constant<int, 7>{}, p, r, lr); break;
        case 6: tile(std::integral_constant<int, 6>{}, p, r, lr); break;
        case 5: tile(std::integral_constant<int, 5>{}, p, r, lr); break;
        case 4: tile(std::integral_constant<int, 4>{}, p, r, lr); break;
        case 3: tile(std::integral_constant<int, 3>{}, p, r, lr); break;
        case 2: tile(std::integral_constant<int, 2>{}, p, r, lr); break;
        case 1: tile(std::integral_constant<int, 1>{}, p, r, lr); break;
        default: break;
      }
    }
    if (range) reduce_lanes(lanes, m1 - m0, range + 2 * m0);
  }
}

}  // namespace

void gemm_s8_avx512(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy,
                    float* gelu_range) noexcept {
  const std::size_t groups = lin.k_pad / 4, panels = lin.n_pad / kPanel;
  with_gelu(gelu_range, [&](auto gelu) {
    for_tiles(rows, panels, gelu_range, [&](auto mr, std::size_t p, std::size_t r, float* lanes) {
      s8_tile<decltype(gelu)::value, decltype(mr)::value>(lin.wq.data() + p * groups * kPanel * 4, groups,
                                                           x.q + r * x.ld, x.ld, lin, x, r, p * kPanel, y, ldy, lanes);
    });
  });
}

void gemm_bf16_avx512(const PackedLinear& lin, const std::uint16_t* a, std::size_t lda, std::size_t rows, float* y,
                      std::size_t ldy, float* gelu_range) noexcept {
  const std::size_t groups = lin.k_pad / 2, panels = lin.n_pad / kPanel;
  with_gelu(gelu_range, [&](auto gelu) {
    for_tiles(rows, panels, gelu_range, [&](auto mr, std::size_t p, std::size_t r, float* lanes) {
      bf16_tile<decltype(gelu)::value, decltype(mr)::value>(lin.wbf.data() + p * groups * kPanel * 2, groups,
                                                             a + r * lda, lda, lin, p * kPanel, y + r * ldy, ldy, lanes);
    });
  });
}

}  // namespace segmenta::embed_detail
