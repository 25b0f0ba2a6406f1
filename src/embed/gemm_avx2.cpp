// AVX2 + FMA kernels for the bf16 and int8 linear layers, for x86-64 CPUs without the
// AVX-512 dot-product instructions (AMD Zen 1-3, Intel before Cooper Lake / Ice Lake), and
// the int8 kernel on AVX-VNNI (the 256-bit VPDPBUSD of Intel Alder Lake and later, AMD Zen 5).
//
// They read the same packed weights as every other kernel (panels of 48 output features;
// bf16 pairs and int8 quadruples of k form 192-byte panel rows) and compute exactly what
// the portable kernels compute, bit for bit:
//   bf16  each bf16 becomes its fp32 value (a 16-bit shift, or a mask for the odd element
//         of a pair), and each pair goes into the accumulator as two fused multiply-adds,
//         odd element first: the portable kernel's order (and VDPBF16PS's).
//   int8  VPMADDUBSW multiplies 32 unsigned by 32 signed bytes and adds adjacent products
//         into 16-bit lanes with saturation. The activation codes a (-128..127) go in as
//         |a| (unsigned, up to 128) and their signs onto the weights' signed codes w
//         (-127..127, VPSIGNB), so each pair sum is at most 2 * 128 * 127 = 32,512 and
//         never saturates; VPMADDWD by ones then adds the two pairs of each column into
//         32 bits. The integer totals are the portable kernel's, and so is the one
//         rounding of the epilogue. The AVX-VNNI kernel multiplies the stored (w + 128)
//         bytes with a directly, four products per lane, as the AVX-512 kernel does.
// A bf16 block is up to four rows by 16 columns, from activations expanded into a small
// thread-local fp32 buffer. An int8 block is up to four (VPMADDUBSW) or six (VPDPBUSD)
// rows by 16 columns read straight from the int8 rows; the 16 columns' weights (k_pad / 4
// x 64 bytes) stay in L1 while every row block of the call passes.
#include <cpuid.h>
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
#define SEGMENTA_TARGET_AVXVNNI __attribute__((target("avx2,fma,avxvnni")))

bool cpu_has_avx2_fma() noexcept {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && kernel_cap() >= 1;
  return has;
}

// AVX-VNNI (the VEX-encoded 256-bit VPDPBUSD): CPUID leaf 7, sub-leaf 1, EAX bit 4. GCC 12's
// __builtin_cpu_supports("avxvnni") answers false on CPUs that have it, so ask CPUID.
bool cpu_has_avx_vnni() noexcept {
  static const bool has = [] {
    if (!cpu_has_avx2_fma() || kernel_cap() < 2) return false;
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_max(0, nullptr) < 7) return false;
    __cpuid_count(7, 1, a, b, c, d);
    return ((a >> 4) & 1u) != 0;
  }();
  return has;
}

namespace {

constexpr std::size_t kRows = 4;          // bf16: rows per block
constexpr std::size_t kS8Rows = 6;        // int8: most rows per block (VNNI: 12 accumulators)
constexpr std::size_t kUbsRows = 4;       // int8 VPMADDUBSW: rows per block (8 accumulators)
constexpr std::size_t kBf16Cols = 16;     // bf16: columns per block (two 8-float vectors)
constexpr std::size_t kS8Cols = 16;       // int8: columns per block (two vectors of 8 x 4 bytes)
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

// R rows x 16 columns of an int8 panel with VPMADDUBSW, exactly: the sign of each activation
// code a moves onto the weight code w (VPSIGNB), so the unsigned operand is |a| <= 128 and
// the signed one is +-w with |w| <= 127; a pair of products is then at most
// 2 * 128 * 127 = 32,512 in magnitude and the 16-bit saturation of VPMADDUBSW never
// happens. VPMADDWD with ones widens each column's two pairs to one 32-bit sum, so `out`
// receives sum_k a w (the weights' signed codes, without the +128 of the stored bytes).
// a[r] are the rows' codes, b the panel at the block's first column.
template <int R>
SEGMENTA_TARGET_AVX2 __attribute__((noinline)) void s8_block_ubs(const std::int8_t* const* a, const std::uint8_t* b, std::size_t quads,
                                       __m256i (&out)[kS8Rows][2]) noexcept {
  __m256i c0[R], c1[R];
  for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm256_setzero_si256();
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i ones = _mm256_set1_epi16(1);
  for (std::size_t g = 0; g < quads; ++g) {
    const std::uint8_t* bg = b + g * kPanelRowS8;
    // Columns 0-7 and 8-15, four k each: the signed codes (stored byte - 128).
    const __m256i w0 = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bg)), flip);
    const __m256i w1 = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bg + 32)), flip);
    for (int r = 0; r < R; ++r) {
      std::int32_t quad;
      std::memcpy(&quad, a[r] + 4 * g, sizeof quad);
      const __m256i x = _mm256_set1_epi32(quad);
      const __m256i ax = _mm256_abs_epi8(x);  // -128 becomes the unsigned byte 128
      c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w0, x)), ones));
      c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w1, x)), ones));
    }
  }
  for (int r = 0; r < R; ++r) {
    out[r][0] = c0[r];
    out[r][1] = c1[r];
  }
}

// The same block with AVX-VNNI's 256-bit VPDPBUSD (unsigned stored weight bytes times
// signed activation codes, four products per 32-bit lane, no intermediate rounding or
// saturation): `out` receives sum_k a (w + 128), as the portable kernel sums.
template <int R>
SEGMENTA_TARGET_AVXVNNI __attribute__((noinline)) void s8_block_vnni(const std::int8_t* const* a, const std::uint8_t* b,
                                                                     std::size_t quads,
                                                                     __m256i (&out)[kS8Rows][2]) noexcept {
  __m256i c0[R], c1[R];
  for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm256_setzero_si256();
  for (std::size_t g = 0; g < quads; ++g) {
    const std::uint8_t* bg = b + g * kPanelRowS8;
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bg));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bg + 32));
    for (int r = 0; r < R; ++r) {
      std::int32_t quad;
      std::memcpy(&quad, a[r] + 4 * g, sizeof quad);
      const __m256i x = _mm256_set1_epi32(quad);
      c0[r] = _mm256_dpbusd_avx_epi32(c0[r], w0, x);
      c1[r] = _mm256_dpbusd_avx_epi32(c1[r], w1, x);
    }
  }
  for (int r = 0; r < R; ++r) {
    out[r][0] = c0[r];
    out[r][1] = c1[r];
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

namespace {

// The int8 products of rows x n, 16 columns of a panel at a time: that slice of the weights
// (k_pad / 4 x 64 bytes, 6-24 KB for MiniLM) stays in L1 while blocks of up to MaxR rows
// pass, each through `block` (which leaves R x 16 sums in acc). `offset_qsum`: the sums
// include the weights' +128 (subtract the row's 128 sum(q)); without it they are over the
// signed weight codes already. The epilogue is the portable kernel's, lane by lane:
// v = sum - zero wsum in integers, then fma(v, scale * wscale, bias).
template <std::size_t MaxR, class Block>
SEGMENTA_TARGET_AVX2 void s8_slices(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y,
                                    std::size_t ldy, bool offset_qsum, Block&& block) noexcept {
  const std::size_t quads = lin.k_pad / 4, panels = lin.n_pad / kPanel;
  __m256i acc[kS8Rows][2];
  for (std::size_t pi = 0; pi < panels; ++pi) {
    const std::uint8_t* bp = lin.wq.data() + pi * quads * kPanelRowS8;
    for (std::size_t c0 = 0; c0 < kPanel; c0 += kS8Cols) {
      const std::size_t col0 = pi * kPanel + c0;
      if (col0 >= lin.n) break;
      const std::size_t nc = std::min(kS8Cols, lin.n - col0);
      const __m256i ws0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lin.wsum.data() + col0));
      const __m256i ws1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lin.wsum.data() + col0 + 8));
      const __m256 sc0 = _mm256_loadu_ps(lin.wscale.data() + col0), sc1 = _mm256_loadu_ps(lin.wscale.data() + col0 + 8);
      const __m256 b0 = _mm256_loadu_ps(lin.bias.data() + col0), b1 = _mm256_loadu_ps(lin.bias.data() + col0 + 8);
      for (std::size_t r0 = 0; r0 < rows; r0 += MaxR) {
        const std::size_t nr = std::min(MaxR, rows - r0);
        const std::int8_t* ar[MaxR];
        for (std::size_t r = 0; r < nr; ++r) ar[r] = x.q + (r0 + r) * x.ld;
        by_rows<MaxR>(nr, [&](auto R) { block(R, ar, bp + 4 * c0, quads, acc); });
        for (std::size_t r = 0; r < nr; ++r) {
          const std::size_t row = r0 + r;
          const __m256i z = _mm256_set1_epi32(x.zero[row]);
          const __m256i q = _mm256_set1_epi32(offset_qsum ? x.qsum128[row] : 0);
          const __m256i v0 = _mm256_sub_epi32(_mm256_sub_epi32(acc[r][0], q), _mm256_mullo_epi32(z, ws0));
          const __m256i v1 = _mm256_sub_epi32(_mm256_sub_epi32(acc[r][1], q), _mm256_mullo_epi32(z, ws1));
          const __m256 s = _mm256_set1_ps(x.scale[row]);
          const __m256 f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v0), _mm256_mul_ps(s, sc0), b0);
          const __m256 f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v1), _mm256_mul_ps(s, sc1), b1);
          float* dst = y + row * ldy + col0;
          if (nc == kS8Cols) {
            _mm256_storeu_ps(dst, f0);
            _mm256_storeu_ps(dst + 8, f1);
          } else {
            alignas(32) float tmp[kS8Cols];
            _mm256_store_ps(tmp, f0);
            _mm256_store_ps(tmp + 8, f1);
            for (std::size_t c = 0; c < nc; ++c) dst[c] = tmp[c];
          }
        }
      }
    }
  }
}

}  // namespace

SEGMENTA_TARGET_AVX2 void gemm_s8_avx2(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y,
                                       std::size_t ldy) noexcept {
  s8_slices<kUbsRows>(lin, x, rows, y, ldy, false, [](auto R, const std::int8_t* const* a, const std::uint8_t* b,
                                                      std::size_t quads, __m256i(&acc)[kS8Rows][2]) {
    s8_block_ubs<R()>(a, b, quads, acc);
  });
}

SEGMENTA_TARGET_AVX2 void gemm_s8_avxvnni(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y,
                                          std::size_t ldy) noexcept {
  s8_slices<kS8Rows>(lin, x, rows, y, ldy, true, [](auto R, const std::int8_t* const* a, const std::uint8_t* b,
                                                    std::size_t quads, __m256i(&acc)[kS8Rows][2]) {
    s8_block_vnni<R()>(a, b, quads, acc);
  });
}

}  // namespace segmenta::embed_detail
