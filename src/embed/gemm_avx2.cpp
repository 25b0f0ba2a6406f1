// AVX2 + FMA kernels for the bf16 and int8 linear layers, for x86-64 CPUs without the
// AVX-512 dot-product instructions (AMD Zen 1-3, Intel before Cooper Lake / Ice Lake).
//
// They read the same packed weights as every other kernel (panels of 48 output features;
// bf16 pairs and int8 quadruples of k form 192-byte panel rows) and compute exactly what
// the portable kernels compute, bit for bit:
//   bf16  each bf16 becomes its fp32 value (a 16-bit shift, or a mask for the odd element
//         of a pair), and each pair goes into the accumulator as two fused multiply-adds,
//         odd element first: the portable kernel's order (and VDPBF16PS's).
//   int8  the weights' unsigned codes and the activations' signed codes are widened to
//         16 bits and multiplied in pairs by VPMADDWD into 32-bit sums: every product and
//         sum is exact (|w a| <= 255 * 128), so the integer totals, and the one rounding of
//         the epilogue, are the portable kernel's.
// A block is up to four rows by 16 columns (bf16) or five rows by 8 columns (int8), so the
// accumulators, the weight vectors of one k step and one broadcast stay within the 16
// vector registers.
// The activations of a block of rows are first expanded into a small thread-local
// buffer (fp32 for bf16, int16 for int8), from which the kernel broadcasts.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "embed/internal.hpp"
#include "embed/ops.hpp"

namespace segmenta::embed_detail {

#define SEGMENTA_TARGET_AVX2 __attribute__((target("avx2,fma")))

bool cpu_has_avx2_fma() noexcept {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && kernel_cap() >= 1;
  return has;
}

namespace {

constexpr std::size_t kRows = 4;          // bf16: rows per block
constexpr std::size_t kS8Rows = 5;        // int8: rows per block (10 accumulators)
constexpr std::size_t kBf16Cols = 16;     // bf16: columns per block (two 8-float vectors)
constexpr std::size_t kS8Cols = 8;        // int8: columns per block (two vectors of 4 x 2 pairs)
constexpr std::size_t kPanelRowBf16 = kPanel * 2;  // uint16 values per bf16 panel row (one k pair)
constexpr std::size_t kPanelRowS8 = kPanel * 4;    // bytes per int8 panel row (one k quadruple)

// R rows x 16 columns of a bf16 panel: a[r] are the rows' fp32 activations, b the panel
// at the block's first column; out receives R x 16 sums.
template <int R>
SEGMENTA_TARGET_AVX2 void bf16_block(const float* const* a, const std::uint16_t* b, std::size_t pairs,
                                     float* out) noexcept {
  __m256 c0[R], c1[R];
  for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
  const __m256i high = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  for (std::size_t g = 0; g < pairs; ++g) {
    const std::uint16_t* bg = b + g * kPanelRowBf16;
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bg));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bg + 16));
    const __m256 odd0 = _mm256_castsi256_ps(_mm256_and_si256(w0, high));
    const __m256 odd1 = _mm256_castsi256_ps(_mm256_and_si256(w1, high));
    const __m256 even0 = _mm256_castsi256_ps(_mm256_slli_epi32(w0, 16));
    const __m256 even1 = _mm256_castsi256_ps(_mm256_slli_epi32(w1, 16));
    for (int r = 0; r < R; ++r) {
      const __m256 x1 = _mm256_broadcast_ss(a[r] + 2 * g + 1);
      c0[r] = _mm256_fmadd_ps(x1, odd0, c0[r]);
      c1[r] = _mm256_fmadd_ps(x1, odd1, c1[r]);
      const __m256 x0 = _mm256_broadcast_ss(a[r] + 2 * g);
      c0[r] = _mm256_fmadd_ps(x0, even0, c0[r]);
      c1[r] = _mm256_fmadd_ps(x0, even1, c1[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(out + r * kBf16Cols, c0[r]);
    _mm256_storeu_ps(out + r * kBf16Cols + 8, c1[r]);
  }
}

// R rows x 8 columns of an int8 panel: a[r] are the rows' codes widened to int16, b the
// panel at the block's first column; out receives, per row, 16 partial sums (two per
// column, adjacent).
template <int R>
SEGMENTA_TARGET_AVX2 void s8_block(const std::int16_t* const* a, const std::uint8_t* b, std::size_t quads,
                                   std::int32_t* out) noexcept {
  __m256i c0[R], c1[R];
  for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm256_setzero_si256();
  for (std::size_t g = 0; g < quads; ++g) {
    const std::uint8_t* bg = b + g * kPanelRowS8;
    // Columns 0-3 and 4-7, each as four int16 values of k.
    const __m256i w0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bg)));
    const __m256i w1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bg + 16)));
    for (int r = 0; r < R; ++r) {
      long long quad;
      std::memcpy(&quad, a[r] + 4 * g, sizeof quad);
      const __m256i x = _mm256_set1_epi64x(quad);
      c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(w0, x));
      c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(w1, x));
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r * 16), c0[r]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r * 16 + 8), c1[r]);
  }
}

// Calls f with the row count 1..Max as a compile-time constant.
template <std::size_t Max, class F>
void by_rows(std::size_t rows, F&& f) {
  if constexpr (Max > 1) {
    if (rows < Max) return by_rows<Max - 1>(rows, f);
  }
  f(std::integral_constant<int, static_cast<int>(Max)>{});
}

}  // namespace

SEGMENTA_TARGET_AVX2 void gemm_bf16_avx2(const PackedLinear& lin, const std::uint16_t* a, std::size_t lda,
                                         std::size_t rows, float* y, std::size_t ldy) noexcept {
  const std::size_t pairs = lin.k_pad / 2, panels = lin.n_pad / kPanel;
  thread_local std::vector<float> wide;
  wide.resize(kRows * lin.k_pad);
  alignas(32) float acc[kRows * kBf16Cols];
  for (std::size_t r0 = 0; r0 < rows; r0 += kRows) {
    const std::size_t nr = std::min(kRows, rows - r0);
    const float* ar[kRows];
    for (std::size_t r = 0; r < nr; ++r) {
      const std::uint16_t* src = a + (r0 + r) * lda;
      float* dst = wide.data() + r * lin.k_pad;
      for (std::size_t c = 0; c < lin.k_pad; ++c) dst[c] = bf16_to_float(src[c]);
      ar[r] = dst;
    }
    for (std::size_t pi = 0; pi < panels; ++pi) {
      const std::uint16_t* bp = lin.wbf.data() + pi * pairs * kPanelRowBf16;
      for (std::size_t c0 = 0; c0 < kPanel; c0 += kBf16Cols) {
        const std::size_t col0 = pi * kPanel + c0;
        if (col0 >= lin.n) break;
        by_rows<kRows>(nr, [&](auto R) { bf16_block<R()>(ar, bp + 2 * c0, pairs, acc); });
        const std::size_t nc = std::min(kBf16Cols, lin.n - col0);
        for (std::size_t r = 0; r < nr; ++r)
          for (std::size_t c = 0; c < nc; ++c)
            y[(r0 + r) * ldy + col0 + c] = acc[r * kBf16Cols + c] + lin.bias[col0 + c];
      }
    }
  }
}

SEGMENTA_TARGET_AVX2 void gemm_s8_avx2(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y,
                                       std::size_t ldy) noexcept {
  const std::size_t quads = lin.k_pad / 4, panels = lin.n_pad / kPanel;
  thread_local std::vector<std::int16_t> wide;
  wide.resize(kS8Rows * lin.k_pad);
  alignas(32) std::int32_t acc[kS8Rows * 16];
  for (std::size_t r0 = 0; r0 < rows; r0 += kS8Rows) {
    const std::size_t nr = std::min(kS8Rows, rows - r0);
    const std::int16_t* ar[kS8Rows];
    for (std::size_t r = 0; r < nr; ++r) {
      const std::int8_t* src = x.q + (r0 + r) * x.ld;
      std::int16_t* dst = wide.data() + r * lin.k_pad;
      for (std::size_t c = 0; c < lin.k_pad; ++c) dst[c] = src[c];
      ar[r] = dst;
    }
    for (std::size_t pi = 0; pi < panels; ++pi) {
      const std::uint8_t* bp = lin.wq.data() + pi * quads * kPanelRowS8;
      for (std::size_t c0 = 0; c0 < kPanel; c0 += kS8Cols) {
        const std::size_t col0 = pi * kPanel + c0;
        if (col0 >= lin.n) break;
        by_rows<kS8Rows>(nr, [&](auto R) { s8_block<R()>(ar, bp + 4 * c0, quads, acc); });
        const std::size_t nc = std::min(kS8Cols, lin.n - col0);
        for (std::size_t r = 0; r < nr; ++r) {
          const std::size_t row = r0 + r;
          for (std::size_t c = 0; c < nc; ++c) {
            const std::size_t col = col0 + c;
            const std::int32_t sum = acc[r * 16 + 2 * c] + acc[r * 16 + 2 * c + 1];
            const std::int32_t v = sum - x.qsum128[row] - x.zero[row] * lin.wsum[col];
            y[row * ldy + col] = std::fma(static_cast<float>(v), x.scale[row] * lin.wscale[col], lin.bias[col]);
          }
        }
      }
    }
  }
}

}  // namespace segmenta::embed_detail
