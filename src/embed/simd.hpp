// Vector helpers shared by the encoder's elementwise passes and the AVX-512 GEMM
// epilogues: 16-float GCC vectors, reductions, a 16 x 16 transpose, exp and erf-GELU.
// Private to the embed module. Everything is inline, so a function compiled with wider
// target features (the GEMM kernels) gets the same arithmetic as the passes.
#pragma once

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>

namespace segmenta::embed_detail::simd {

// GCC's __builtin_shuffle takes its lane indices as a vector, which clang's builtins
// do not; under clang (the fuzz preset) a lane loop computes the same result.
#if defined(__clang__)
template <class V, class M>
inline V shuffle(V a, M m) noexcept {
  constexpr int n = sizeof(V) / sizeof(a[0]);
  V r;
  for (int i = 0; i < n; ++i) r[i] = a[m[i] & (n - 1)];
  return r;
}
template <class V, class M>
inline V shuffle(V a, V b, M m) noexcept {
  constexpr int n = sizeof(V) / sizeof(a[0]);
  V r;
  for (int i = 0; i < n; ++i) r[i] = (m[i] & n) ? b[m[i] & (n - 1)] : a[m[i] & (n - 1)];
  return r;
}
#else
template <class V, class M>
inline V shuffle(V a, M m) noexcept {
  return __builtin_shuffle(a, m);
}
template <class V, class M>
inline V shuffle(V a, V b, M m) noexcept {
  return __builtin_shuffle(a, b, m);
}
#endif

// GCC vector extensions: 16 floats, lowered to one AVX-512 register where available and
// to narrower registers elsewhere, so the same source serves every x86-64 build.
typedef float v16f __attribute__((vector_size(64)));
typedef std::int32_t v16i __attribute__((vector_size(64)));
typedef std::uint32_t v16u __attribute__((vector_size(64)));
typedef std::int8_t v16c __attribute__((vector_size(16)));
typedef std::uint16_t v16h __attribute__((vector_size(32)));
// Half width: one AVX2 register.
typedef float v8f __attribute__((vector_size(32)));
typedef std::int32_t v8i __attribute__((vector_size(32)));
typedef std::uint32_t v8u __attribute__((vector_size(32)));
typedef std::int8_t v8c __attribute__((vector_size(8)));
typedef std::uint16_t v8h __attribute__((vector_size(16)));

// The integer vectors of the same lanes as a float vector.
template <class V>
struct Lanes;
template <>
struct Lanes<v16f> {
  typedef v16i i32;
  typedef v16u u32;
  typedef v16c i8;
  typedef v16h u16;
};
template <>
struct Lanes<v8f> {
  typedef v8i i32;
  typedef v8u u32;
  typedef v8c i8;
  typedef v8h u16;
};

// The widest float vector with a register mode on the build target: v16f with AVX-512,
// 8 floats otherwise. Without AVX-512 a v16f variable has no register mode and lives in
// memory, so loops that keep accumulators across iterations (FMA chains) use vreg; a
// 16-lane accumulator as 16 / kRegLanes vregs does the same per-lane arithmetic.
#if defined(__AVX512F__)
typedef v16f vreg;
#else
typedef v8f vreg;
#endif
constexpr int kRegLanes = sizeof(vreg) / sizeof(float);
constexpr int kRegsPer16 = 16 / kRegLanes;
inline vreg loadr(const float* p) noexcept {
  vreg v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void storer(float* p, vreg v) noexcept { std::memcpy(p, &v, sizeof v); }

inline v16f load16(const float* p) noexcept {
  v16f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, v16f v) noexcept { std::memcpy(p, &v, sizeof v); }
template <class V = v16f>
inline V splat(float x) noexcept {
  return V{} + x;
}
template <class V>
inline V vmin(V a, V b) noexcept {
  return a < b ? a : b;
}
template <class V>
inline V vmax(V a, V b) noexcept {
  return a > b ? a : b;
}
template <class V>
inline V vabs(V a) noexcept {
  typedef typename Lanes<V>::u32 U;
  U u = (U)a & 0x7fffffffu;
  return (V)u;
}
// The 16-lane value whose register-width parts are parts[0 .. kRegsPer16) (lane l of
// part h is lane h * kRegLanes + l).
inline v16f join16(const vreg* parts) noexcept {
  v16f v;
  std::memcpy(&v, parts, sizeof v);
  return v;
}
// Horizontal reductions by halving: lane i meets lane i + 8, then i + 4, i + 2, i + 1 (a
// fixed tree, so results depend on nothing but the data).
inline v16f fold(v16f v, int step) noexcept {
  static constexpr v16i by8 = {8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7};
  static constexpr v16i by4 = {4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11};
  static constexpr v16i by2 = {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13};
  static constexpr v16i by1 = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14};
  return shuffle(v, step == 8 ? by8 : step == 4 ? by4 : step == 2 ? by2 : by1);
}
inline float hsum(v16f v) noexcept {
  for (int w = 8; w >= 1; w /= 2) v += fold(v, w);
  return v[0];
}
inline float hmax(v16f v) noexcept {
  for (int w = 8; w >= 1; w /= 2) v = vmax(v, fold(v, w));
  return v[0];
}
inline float hmin(v16f v) noexcept {
  for (int w = 8; w >= 1; w /= 2) v = vmin(v, fold(v, w));
  return v[0];
}

// In-place transpose of a 16 x 16 tile (rows t[0..15]) by the usual network of 64
// two-register shuffles: interleave pairs of elements, pairs of pairs, then 128-bit and
// 256-bit blocks (GCC lowers each to one permute on AVX-512).
inline void transpose16(v16f* t) noexcept {
  const v16i lo1 = {0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29};
  const v16i hi1 = {2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31};
  const v16i lo2 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
  const v16i hi2 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
  const v16i ev4 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
  const v16i od4 = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
  v16f u[16];
  for (int i = 0; i < 16; i += 2) {
    u[i] = shuffle(t[i], t[i + 1], lo1);
    u[i + 1] = shuffle(t[i], t[i + 1], hi1);
  }
  for (int i = 0; i < 16; i += 4) {
    t[i] = shuffle(u[i], u[i + 2], lo2);
    t[i + 1] = shuffle(u[i], u[i + 2], hi2);
    t[i + 2] = shuffle(u[i + 1], u[i + 3], lo2);
    t[i + 3] = shuffle(u[i + 1], u[i + 3], hi2);
  }
  for (int i = 0; i < 4; ++i) {
    u[i] = shuffle(t[i], t[i + 4], ev4);
    u[i + 4] = shuffle(t[i], t[i + 4], od4);
    u[i + 8] = shuffle(t[i + 8], t[i + 12], ev4);
    u[i + 12] = shuffle(t[i + 8], t[i + 12], od4);
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = shuffle(u[i], u[i + 8], ev4);
    t[i + 8] = shuffle(u[i], u[i + 8], od4);
    t[i + 4] = shuffle(u[i + 4], u[i + 12], ev4);
    t[i + 12] = shuffle(u[i + 4], u[i + 12], od4);
  }
}

// Round to nearest even for |x| < 2^22: adding and removing 1.5 * 2^23 leaves the
// integer part in the mantissa (no fast-math, so the compiler keeps both operations).
template <class V>
inline V round_even(V x) noexcept {
  const V magic = splat<V>(12582912.0f);
  return (x + magic) - magic;
}

// 1 / x: with AVX-512 the 14-bit estimate refined by one Newton step (relative error
// ~1e-8, well below the erf approximation's), otherwise a division.
template <class V>
inline V recip(V x) noexcept {
#if defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) {
    const V r = (V)_mm512_maskz_rcp14_ps(static_cast<__mmask16>(0xffff), (__m512)x);
    return r * (2.0f - x * r);
  }
#endif
  return 1.0f / x;
}

// exp(x): range reduction x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact
// product n * ln2_hi), Taylor polynomial of degree 7 (truncation below 6e-9 relative),
// scaling by 2^n through the exponent bits. Inputs are clamped to [-87, 88], where
// 2^n stays a normal float; below, the result is ~1.6e-38 instead of underflowing.
template <class V>
inline V expv(V x) noexcept {
  x = vmax(vmin(x, splat<V>(88.0f)), splat<V>(-87.0f));
  const V n = round_even(x * 1.44269504088896341f);
  V r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  V p = splat<V>(1.0f / 5040.0f);
  p = p * r + (1.0f / 720.0f);
  p = p * r + (1.0f / 120.0f);
  p = p * r + (1.0f / 24.0f);
  p = p * r + (1.0f / 6.0f);
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  typedef typename Lanes<V>::i32 I;
  const I e = (__builtin_convertvector(n, I) + 127) << 23;
  return p * (V)e;
}
inline v16f exp16(v16f x) noexcept { return expv(x); }

// gelu(x) = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), with erf from Abramowitz & Stegun
// 7.1.28: erfc(z) = 1 / (1 + a1 z + ... + a6 z^6)^16 for z >= 0, |error| <= 3e-7, which
// costs a polynomial, four squarings and one reciprocal (no exp). z is clamped at 6,
// where erfc is 2e-17 (0 in float) and the power stays finite. For x < 0 the product uses
// 1 + erf = erfc(|z|) directly, which keeps the relative accuracy in the negative tail.
template <class V>
inline V geluv(V x) noexcept {
  const V z = vmin(vabs(x * 0.70710678118654752f), splat<V>(6.0f));
  V p = splat<V>(0.0000430638f);
  p = p * z + 0.0002765672f;
  p = p * z + 0.0001520143f;
  p = p * z + 0.0092705272f;
  p = p * z + 0.0422820123f;
  p = p * z + 0.0705230784f;
  p = p * z + 1.0f;
  p *= p;
  p *= p;
  p *= p;
  p *= p;
  const V erfc = recip(p);  // erfc(|z|)
  const V one_plus_erf = x < 0.0f ? erfc : 2.0f - erfc;
  return 0.5f * x * one_plus_erf;
}
inline v16f gelu16(v16f x) noexcept { return geluv(x); }

}  // namespace segmenta::embed_detail::simd
