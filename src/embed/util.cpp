#include "embed/internal.hpp"

namespace segmenta::embed_detail {

float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal half: shift the mantissa up until its leading one is the implicit bit.
    std::uint32_t e = 113;
    while (!(mant & 0x400u)) {
      mant <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mant & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

std::uint16_t float_to_half(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);
  if (a >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (a < 0x33000001u) return sign;                                          // below half the smallest subnormal
  const int e = static_cast<int>(a >> 23) - 127;
  std::uint32_t mant = (a & 0x7fffffu) | 0x800000u;
  int shift;
  std::uint32_t base;
  if (e < -14) {
    shift = 13 + (-14 - e);  // subnormal result
    base = 0;
  } else {
    shift = 13;
    base = static_cast<std::uint32_t>(e + 15) << 10;
    mant &= 0x7fffffu;
  }
  const std::uint32_t half_ulp = 1u << (shift - 1);
  const std::uint32_t rest = mant & ((1u << shift) - 1);
  std::uint32_t q = mant >> shift;
  if (rest > half_ulp || (rest == half_ulp && (q & 1u))) ++q;
  // A carry out of the mantissa bumps the exponent, which the addition does naturally.
  return static_cast<std::uint16_t>(sign | (base + q));
}

Hash128 hash128(std::string_view bytes, std::uint64_t salt) noexcept {
  // Two FNV-1a streams with different offset bases; the second also sees the length,
  // so inputs that differ only by trailing zero bytes still differ.
  Hash128 h;
  h.a = fnv1a64(bytes, 0xcbf29ce484222325ULL ^ salt);
  h.b = fnv1a64(bytes, 0x84222325cbf29ce4ULL ^ (salt * 0x9e3779b97f4a7c15ULL) ^ bytes.size());
  return h;
}

}  // namespace segmenta::embed_detail
