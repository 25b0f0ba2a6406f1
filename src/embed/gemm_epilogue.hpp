// The output side shared by the AVX-512 and AMX GEMM kernels: column masks, the optional
// erf-GELU activation with each row's running range for the int8 quantiser, and the
// reduction of those ranges. One definition, so that every kernel produces the same
// values from the same accumulators. Private to the embed module.
#pragma once

#include <immintrin.h>

#include <cstddef>

#include "embed/simd.hpp"

namespace segmenta::embed_detail {

// The features every kernel's epilogue needs, so that any of them can inline these.
#define SEGMENTA_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

/// Lanes of the 16 columns from `col` that exist in an output of n columns.
SEGMENTA_TARGET_AVX512 inline __mmask16 col_mask(std::size_t col, std::size_t n) noexcept {
  if (col >= n) return 0;
  const std::size_t left = n - col;
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
}

/// The optional activation of a tile's outputs: erf-GELU (the same inline code as the
/// elementwise pass, so the values are identical), and the row's running lane-wise
/// minimum and maximum (over the lanes in m, starting at 0) from which the caller takes
/// the row's range for the int8 quantiser.
template <bool GELU>
SEGMENTA_TARGET_AVX512 inline __m512 activate(__m512 v, __mmask16 m, __m512& lo, __m512& hi) noexcept {
  if constexpr (GELU) {
    v = (__m512)simd::gelu16((simd::v16f)v);
    // (GCC 12's _mm512_min_ps warns falsely about an uninitialised operand; the vector
    // extension compiles to the same instruction.)
    const simd::v16f kept = (simd::v16f)_mm512_maskz_mov_ps(m, v);
    lo = (__m512)simd::vmin((simd::v16f)lo, kept);
    hi = (__m512)simd::vmax((simd::v16f)hi, kept);
  }
  return v;
}

/// Folds MR rows' lane-wise extremes into `lanes` (rows x 32 floats: 16 minima, then 16
/// maxima per row).
template <bool GELU, int MR>
SEGMENTA_TARGET_AVX512 inline void merge_lanes(float* lanes, const __m512 (&lo)[MR], const __m512 (&hi)[MR]) noexcept {
  if constexpr (GELU) {
    for (int r = 0; r < MR; ++r) {
      float* l = lanes + 32 * r;
      simd::store16(l, simd::vmin(simd::load16(l), (simd::v16f)lo[r]));
      simd::store16(l + 16, simd::vmax(simd::load16(l + 16), (simd::v16f)hi[r]));
    }
  }
}

/// range[2r], range[2r + 1] = row r's {min, max} from the lane buffer of `rows` rows.
inline void reduce_lanes(const float* lanes, std::size_t rows, float* range) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    range[2 * r] = simd::hmin(simd::load16(lanes + r * 32));
    range[2 * r + 1] = simd::hmax(simd::load16(lanes + r * 32 + 16));
  }
}

/// Calls f with std::true_type when the GELU epilogue is asked for (a range buffer given).
template <class F>
void with_gelu(const float* range, F&& f) {
  if (range)
    f(std::true_type{});
  else
    f(std::false_type{});
}

}  // namespace segmenta::embed_detail
