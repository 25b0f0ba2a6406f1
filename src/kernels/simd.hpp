// The one SIMD abstraction of the kernels module: 64-byte vectors of 8 doubles (D8) and
// 16 floats (F16), templated on an instruction-set tag.
//
//   Portable  plain arrays and std::fma / std::sqrt per lane: any x86-64 (or other) CPU;
//   Avx2      two 256-bit registers per vector (AVX2 + FMA);
//   Avx512    one 512-bit register (AVX-512 F, VL, DQ, BW).
//
// Every operation is the same lane by lane on every tag: additions, subtractions,
// fused multiply-adds and square roots are each rounded once, and the reductions use
// fixed trees. A kernel written once against these types therefore gives bit-identical
// results whichever tag it is instantiated with; only the speed differs.
//
// A tag's specialisation exists only in a translation unit compiled for it (the
// per-file flags of src/kernels/CMakeLists.txt), so the kernels of one instruction set
// can never be instantiated, or linked, into another's.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#define SEGMENTA_INLINE __attribute__((always_inline)) inline

namespace segmenta::kernels::simd {

struct Portable {
  static constexpr const char* name = "portable";
};
struct Avx2 {
  static constexpr const char* name = "avx2";
};
struct Avx512 {
  static constexpr const char* name = "avx512";
};

template <class Isa>
struct D8;  // 8 doubles
template <class Isa>
struct F16;  // 16 floats

// ---------------------------------------------------------------------------
// Portable
// ---------------------------------------------------------------------------

template <>
struct D8<Portable> {
  static constexpr std::size_t lanes = 8;
  using Mask = unsigned;  // bit l = lane l
  double v[8];

  static SEGMENTA_INLINE D8 zero() noexcept { return D8{}; }
  static SEGMENTA_INLINE D8 splat(double x) noexcept {
    D8 r;
    for (double& e : r.v) e = x;
    return r;
  }
  static SEGMENTA_INLINE D8 load(const double* p) noexcept {
    D8 r;
    std::memcpy(r.v, p, sizeof r.v);
    return r;
  }
  /// Lanes [0, n) from p, the others 0 (n <= 8).
  static SEGMENTA_INLINE D8 load_n(const double* p, std::size_t n) noexcept {
    D8 r{};
    std::memcpy(r.v, p, n * sizeof(double));
    return r;
  }
  /// 8 floats widened to double.
  static SEGMENTA_INLINE D8 load_widen(const float* p) noexcept {
    D8 r;
    for (int l = 0; l < 8; ++l) r.v[l] = static_cast<double>(p[l]);
    return r;
  }
  SEGMENTA_INLINE void store(double* p) const noexcept { std::memcpy(p, v, sizeof v); }
  friend SEGMENTA_INLINE D8 operator+(D8 a, D8 b) noexcept {
    for (int l = 0; l < 8; ++l) a.v[l] += b.v[l];
    return a;
  }
  friend SEGMENTA_INLINE D8 operator-(D8 a, D8 b) noexcept {
    for (int l = 0; l < 8; ++l) a.v[l] -= b.v[l];
    return a;
  }
  friend SEGMENTA_INLINE D8 operator*(D8 a, D8 b) noexcept {
    for (int l = 0; l < 8; ++l) a.v[l] *= b.v[l];
    return a;
  }
  /// a * b + c, rounded once.
  static SEGMENTA_INLINE D8 fma(D8 a, D8 b, D8 c) noexcept {
    for (int l = 0; l < 8; ++l) c.v[l] = std::fma(a.v[l], b.v[l], c.v[l]);
    return c;
  }
  /// c - a * b, rounded once.
  static SEGMENTA_INLINE D8 fnma(D8 a, D8 b, D8 c) noexcept {
    for (int l = 0; l < 8; ++l) c.v[l] = std::fma(-a.v[l], b.v[l], c.v[l]);
    return c;
  }
  static SEGMENTA_INLINE D8 sqrt(D8 a) noexcept {
    for (double& e : a.v) e = std::sqrt(e);
    return a;
  }
  /// max(a, b) as MAXPD: b unless a > b.
  static SEGMENTA_INLINE D8 max(D8 a, D8 b) noexcept {
    for (int l = 0; l < 8; ++l) a.v[l] = a.v[l] > b.v[l] ? a.v[l] : b.v[l];
    return a;
  }
  static SEGMENTA_INLINE Mask lt(D8 a, D8 b) noexcept {
    Mask m = 0;
    for (int l = 0; l < 8; ++l) m |= static_cast<unsigned>(a.v[l] < b.v[l]) << l;
    return m;
  }
  static SEGMENTA_INLINE unsigned bits(Mask m) noexcept { return m; }
  /// Lane l of t where bit l of m is set, else of f.
  static SEGMENTA_INLINE D8 select(Mask m, D8 t, D8 f) noexcept {
    for (int l = 0; l < 8; ++l)
      if ((m >> l) & 1u) f.v[l] = t.v[l];
    return f;
  }
  /// Halving tree: (l + l+4), then (l + l+2), then lane 0 + lane 1.
  static SEGMENTA_INLINE double fold(D8 a) noexcept {
    for (int w = 4; w >= 1; w /= 2)
      for (int l = 0; l < w; ++l) a.v[l] += a.v[l + w];
    return a.v[0];
  }
};

template <>
struct F16<Portable> {
  static constexpr std::size_t lanes = 16;
  float v[16];
  static SEGMENTA_INLINE F16 zero() noexcept { return F16{}; }
  static SEGMENTA_INLINE F16 load(const float* p) noexcept {
    F16 r;
    std::memcpy(r.v, p, sizeof r.v);
    return r;
  }
  static SEGMENTA_INLINE F16 load_n(const float* p, std::size_t n) noexcept {
    F16 r{};
    std::memcpy(r.v, p, n * sizeof(float));
    return r;
  }
  static SEGMENTA_INLINE F16 fma(F16 a, F16 b, F16 c) noexcept {
    for (int l = 0; l < 16; ++l) c.v[l] = std::fma(a.v[l], b.v[l], c.v[l]);
    return c;
  }
  static SEGMENTA_INLINE F16 splat(float x) noexcept {
    F16 r;
    for (float& e : r.v) e = x;
    return r;
  }
  SEGMENTA_INLINE void store(float* p) const noexcept { std::memcpy(p, v, sizeof v); }
  friend SEGMENTA_INLINE F16 operator+(F16 a, F16 b) noexcept {
    for (int l = 0; l < 16; ++l) a.v[l] += b.v[l];
    return a;
  }
  friend SEGMENTA_INLINE F16 operator-(F16 a, F16 b) noexcept {
    for (int l = 0; l < 16; ++l) a.v[l] -= b.v[l];
    return a;
  }
  friend SEGMENTA_INLINE F16 operator*(F16 a, F16 b) noexcept {
    for (int l = 0; l < 16; ++l) a.v[l] *= b.v[l];
    return a;
  }
  friend SEGMENTA_INLINE F16 operator/(F16 a, F16 b) noexcept {
    for (int l = 0; l < 16; ++l) a.v[l] /= b.v[l];
    return a;
  }
  static SEGMENTA_INLINE F16 sqrt(F16 a) noexcept {
    for (float& e : a.v) e = std::sqrt(e);
    return a;
  }
  /// Halving tree over 16 lanes.
  static SEGMENTA_INLINE float fold(F16 a) noexcept {
    for (int w = 8; w >= 1; w /= 2)
      for (int l = 0; l < w; ++l) a.v[l] += a.v[l + w];
    return a.v[0];
  }
};

// ---------------------------------------------------------------------------
// AVX2 + FMA: a 64-byte vector is two registers, lo (lanes 0..) and hi.
// ---------------------------------------------------------------------------

#if defined(__AVX2__) && defined(__FMA__)
namespace avx2_detail {
/// All-ones in the 64-bit words [0, n) of a 256-bit mask (n <= 4).
SEGMENTA_INLINE __m256i prefix64(std::size_t n) noexcept {
  const __m256i idx = _mm256_set_epi64x(3, 2, 1, 0);
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(n)), idx);
}
/// All-ones in the 32-bit words [0, n) (n <= 8).
SEGMENTA_INLINE __m256i prefix32(std::size_t n) noexcept {
  const __m256i idx = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), idx);
}
}  // namespace avx2_detail

template <>
struct D8<Avx2> {
  static constexpr std::size_t lanes = 8;
  struct Mask {
    __m256d lo, hi;
  };
  __m256d lo, hi;

  static SEGMENTA_INLINE D8 zero() noexcept { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  static SEGMENTA_INLINE D8 splat(double x) noexcept { return {_mm256_set1_pd(x), _mm256_set1_pd(x)}; }
  static SEGMENTA_INLINE D8 load(const double* p) noexcept { return {_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)}; }
  static SEGMENTA_INLINE D8 load_n(const double* p, std::size_t n) noexcept {
    const __m256d l = _mm256_maskload_pd(p, avx2_detail::prefix64(n < 4 ? n : 4));
    const __m256d h = n > 4 ? _mm256_maskload_pd(p + 4, avx2_detail::prefix64(n - 4)) : _mm256_setzero_pd();
    return {l, h};
  }
  static SEGMENTA_INLINE D8 load_widen(const float* p) noexcept {
    return {_mm256_cvtps_pd(_mm_loadu_ps(p)), _mm256_cvtps_pd(_mm_loadu_ps(p + 4))};
  }
  SEGMENTA_INLINE void store(double* p) const noexcept {
    _mm256_storeu_pd(p, lo);
    _mm256_storeu_pd(p + 4, hi);
  }
  friend SEGMENTA_INLINE D8 operator+(D8 a, D8 b) noexcept {
    return {_mm256_add_pd(a.lo, b.lo), _mm256_add_pd(a.hi, b.hi)};
  }
  friend SEGMENTA_INLINE D8 operator-(D8 a, D8 b) noexcept {
    return {_mm256_sub_pd(a.lo, b.lo), _mm256_sub_pd(a.hi, b.hi)};
  }
  friend SEGMENTA_INLINE D8 operator*(D8 a, D8 b) noexcept {
    return {_mm256_mul_pd(a.lo, b.lo), _mm256_mul_pd(a.hi, b.hi)};
  }
  static SEGMENTA_INLINE D8 fma(D8 a, D8 b, D8 c) noexcept {
    return {_mm256_fmadd_pd(a.lo, b.lo, c.lo), _mm256_fmadd_pd(a.hi, b.hi, c.hi)};
  }
  static SEGMENTA_INLINE D8 fnma(D8 a, D8 b, D8 c) noexcept {
    return {_mm256_fnmadd_pd(a.lo, b.lo, c.lo), _mm256_fnmadd_pd(a.hi, b.hi, c.hi)};
  }
  static SEGMENTA_INLINE D8 sqrt(D8 a) noexcept { return {_mm256_sqrt_pd(a.lo), _mm256_sqrt_pd(a.hi)}; }
  static SEGMENTA_INLINE D8 max(D8 a, D8 b) noexcept { return {_mm256_max_pd(a.lo, b.lo), _mm256_max_pd(a.hi, b.hi)}; }
  static SEGMENTA_INLINE Mask lt(D8 a, D8 b) noexcept {
    return {_mm256_cmp_pd(a.lo, b.lo, _CMP_LT_OQ), _mm256_cmp_pd(a.hi, b.hi, _CMP_LT_OQ)};
  }
  static SEGMENTA_INLINE unsigned bits(Mask m) noexcept {
    return static_cast<unsigned>(_mm256_movemask_pd(m.lo)) | (static_cast<unsigned>(_mm256_movemask_pd(m.hi)) << 4);
  }
  static SEGMENTA_INLINE D8 select(Mask m, D8 t, D8 f) noexcept {
    return {_mm256_blendv_pd(f.lo, t.lo, m.lo), _mm256_blendv_pd(f.hi, t.hi, m.hi)};
  }
  static SEGMENTA_INLINE double fold(D8 a) noexcept {
    const __m256d h = _mm256_add_pd(a.lo, a.hi);
    const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
  }
};

template <>
struct F16<Avx2> {
  static constexpr std::size_t lanes = 16;
  __m256 lo, hi;
  static SEGMENTA_INLINE F16 zero() noexcept { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static SEGMENTA_INLINE F16 load(const float* p) noexcept { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
  static SEGMENTA_INLINE F16 load_n(const float* p, std::size_t n) noexcept {
    const __m256 l = _mm256_maskload_ps(p, avx2_detail::prefix32(n < 8 ? n : 8));
    const __m256 h = n > 8 ? _mm256_maskload_ps(p + 8, avx2_detail::prefix32(n - 8)) : _mm256_setzero_ps();
    return {l, h};
  }
  static SEGMENTA_INLINE F16 fma(F16 a, F16 b, F16 c) noexcept {
    return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
  }
  static SEGMENTA_INLINE F16 splat(float x) noexcept { return {_mm256_set1_ps(x), _mm256_set1_ps(x)}; }
  SEGMENTA_INLINE void store(float* p) const noexcept {
    _mm256_storeu_ps(p, lo);
    _mm256_storeu_ps(p + 8, hi);
  }
  friend SEGMENTA_INLINE F16 operator+(F16 a, F16 b) noexcept {
    return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)};
  }
  friend SEGMENTA_INLINE F16 operator-(F16 a, F16 b) noexcept {
    return {_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)};
  }
  friend SEGMENTA_INLINE F16 operator*(F16 a, F16 b) noexcept {
    return {_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)};
  }
  friend SEGMENTA_INLINE F16 operator/(F16 a, F16 b) noexcept {
    return {_mm256_div_ps(a.lo, b.lo), _mm256_div_ps(a.hi, b.hi)};
  }
  static SEGMENTA_INLINE F16 sqrt(F16 a) noexcept { return {_mm256_sqrt_ps(a.lo), _mm256_sqrt_ps(a.hi)}; }
  static SEGMENTA_INLINE float fold(F16 a) noexcept {
    const __m256 h = _mm256_add_ps(a.lo, a.hi);
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    const __m128 d = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(d, _mm_movehdup_ps(d)));
  }
};
#endif

// ---------------------------------------------------------------------------
// AVX-512 (F, VL, DQ, BW). GCC 12 implements the plain forms of several AVX-512
// intrinsics with a self-initialised "undefined" pass-through and then warns
// (-Wuninitialized); the masked forms with a full mask compile to the same
// instructions, so those are used.
// ---------------------------------------------------------------------------

#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512DQ__) && defined(__AVX512BW__)
template <>
struct D8<Avx512> {
  static constexpr std::size_t lanes = 8;
  using Mask = __mmask8;
  static constexpr __mmask8 all = 0xff;
  __m512d v;

  static SEGMENTA_INLINE D8 zero() noexcept { return {_mm512_setzero_pd()}; }
  static SEGMENTA_INLINE D8 splat(double x) noexcept { return {_mm512_set1_pd(x)}; }
  static SEGMENTA_INLINE D8 load(const double* p) noexcept { return {_mm512_loadu_pd(p)}; }
  static SEGMENTA_INLINE D8 load_n(const double* p, std::size_t n) noexcept {
    return {_mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n) - 1u), p)};
  }
  static SEGMENTA_INLINE D8 load_widen(const float* p) noexcept {
    return {_mm512_maskz_cvtps_pd(all, _mm256_loadu_ps(p))};
  }
  SEGMENTA_INLINE void store(double* p) const noexcept { _mm512_storeu_pd(p, v); }
  friend SEGMENTA_INLINE D8 operator+(D8 a, D8 b) noexcept { return {_mm512_add_pd(a.v, b.v)}; }
  friend SEGMENTA_INLINE D8 operator-(D8 a, D8 b) noexcept { return {_mm512_sub_pd(a.v, b.v)}; }
  friend SEGMENTA_INLINE D8 operator*(D8 a, D8 b) noexcept { return {_mm512_mul_pd(a.v, b.v)}; }
  static SEGMENTA_INLINE D8 fma(D8 a, D8 b, D8 c) noexcept { return {_mm512_fmadd_pd(a.v, b.v, c.v)}; }
  static SEGMENTA_INLINE D8 fnma(D8 a, D8 b, D8 c) noexcept { return {_mm512_fnmadd_pd(a.v, b.v, c.v)}; }
  static SEGMENTA_INLINE D8 sqrt(D8 a) noexcept { return {_mm512_mask_sqrt_pd(a.v, all, a.v)}; }
  static SEGMENTA_INLINE D8 max(D8 a, D8 b) noexcept { return {_mm512_mask_max_pd(a.v, all, a.v, b.v)}; }
  static SEGMENTA_INLINE Mask lt(D8 a, D8 b) noexcept { return _mm512_cmp_pd_mask(a.v, b.v, _CMP_LT_OQ); }
  static SEGMENTA_INLINE unsigned bits(Mask m) noexcept { return m; }
  static SEGMENTA_INLINE D8 select(Mask m, D8 t, D8 f) noexcept { return {_mm512_mask_blend_pd(m, f.v, t.v)}; }
  static SEGMENTA_INLINE double fold(D8 a) noexcept {
    const __m256d h = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(static_cast<__mmask8>(0xF), a.v, 0),
                                    _mm512_maskz_extractf64x4_pd(static_cast<__mmask8>(0xF), a.v, 1));
    const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
  }
};

template <>
struct F16<Avx512> {
  static constexpr std::size_t lanes = 16;
  __m512 v;
  static SEGMENTA_INLINE F16 zero() noexcept { return {_mm512_setzero_ps()}; }
  static SEGMENTA_INLINE F16 load(const float* p) noexcept { return {_mm512_loadu_ps(p)}; }
  static SEGMENTA_INLINE F16 load_n(const float* p, std::size_t n) noexcept {
    return {_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p)};
  }
  static SEGMENTA_INLINE F16 fma(F16 a, F16 b, F16 c) noexcept { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
  static SEGMENTA_INLINE F16 splat(float x) noexcept { return {_mm512_set1_ps(x)}; }
  SEGMENTA_INLINE void store(float* p) const noexcept { _mm512_storeu_ps(p, v); }
  friend SEGMENTA_INLINE F16 operator+(F16 a, F16 b) noexcept { return {_mm512_add_ps(a.v, b.v)}; }
  friend SEGMENTA_INLINE F16 operator-(F16 a, F16 b) noexcept { return {_mm512_sub_ps(a.v, b.v)}; }
  friend SEGMENTA_INLINE F16 operator*(F16 a, F16 b) noexcept { return {_mm512_mul_ps(a.v, b.v)}; }
  friend SEGMENTA_INLINE F16 operator/(F16 a, F16 b) noexcept { return {_mm512_div_ps(a.v, b.v)}; }
  static SEGMENTA_INLINE F16 sqrt(F16 a) noexcept { return {_mm512_mask_sqrt_ps(a.v, static_cast<__mmask16>(0xffff), a.v)}; }
  static SEGMENTA_INLINE float fold(F16 a) noexcept {
    const __m512d w = _mm512_castps_pd(a.v);
    const __m256 h = _mm256_add_ps(_mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(static_cast<__mmask8>(0xF), w, 0)),
                                   _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(static_cast<__mmask8>(0xF), w, 1)));
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    const __m128 d = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(d, _mm_movehdup_ps(d)));
  }
};
#endif

/// The 64-byte vector of T: F16 for float, D8 for double.
template <class T, class Isa>
struct V64Of;
template <class Isa>
struct V64Of<float, Isa> {
  using type = F16<Isa>;
};
template <class Isa>
struct V64Of<double, Isa> {
  using type = D8<Isa>;
};
template <class T, class Isa>
using V64 = typename V64Of<T, Isa>::type;

}  // namespace segmenta::kernels::simd
