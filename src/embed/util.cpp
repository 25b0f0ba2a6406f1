#include <fmt/format.h>

#include <algorithm>

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

namespace {

/// At most `limit` bytes of `text`, bytes outside printable ASCII written as \xHH.
std::string printable(std::string_view text, std::size_t limit) {
  std::string out;
  for (const char ch : text) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    const auto b = static_cast<unsigned char>(ch);
    if (b >= 0x20 && b < 0x7f)
      out += ch;
    else
      out += fmt::format("\\x{:02x}", b);
  }
  return out;
}

}  // namespace

std::string json_error_text(std::string_view text, std::size_t byte, std::string_view library_message) {
  std::string_view m = library_message;
  if (!m.empty() && m.front() == '[') {  // "[json.exception.parse_error.101] "
    const std::size_t close = m.find("] ");
    if (close != std::string_view::npos) m.remove_prefix(close + 2);
  }
  if (m.substr(0, 11) == "parse error") {
    // "parse error at line 1, column 5: syntax error while parsing value - invalid literal; last read: 'x'"
    std::string_view detail = m;
    const std::size_t colon = m.find(": ");
    if (colon != std::string_view::npos) detail = m.substr(colon + 2);
    if (detail.substr(0, 27) == "syntax error while parsing ") {
      const std::size_t dash = detail.find(" - ");
      if (dash != std::string_view::npos) detail.remove_prefix(dash + 3);
    }
    // The library's byte is 1-based and may point one past the end (end of input).
    const std::size_t at = std::min(byte > 0 ? byte - 1 : 0, text.size());
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    const std::size_t last_nl = at == 0 ? std::string_view::npos : text.rfind('\n', at - 1);
    const std::size_t column = last_nl == std::string_view::npos ? at + 1 : at - last_nl;
    return fmt::format("line {}, column {}: invalid JSON ({})", line, column, printable(detail, 160));
  }
  if (m.substr(0, 15) == "number overflow") return fmt::format("invalid JSON ({})", printable(m, 160));
  // "cannot use value() with number", "cannot use operator[] with a string argument with array"
  if (m.substr(0, 11) == "cannot use ") {
    const std::size_t with = m.rfind(" with ");
    return fmt::format("unexpected structure: an object was expected, found {}",
                       with == std::string_view::npos ? std::string("another type") : printable(m.substr(with + 6), 60));
  }
  return fmt::format("unexpected structure: {}", printable(m, 160));
}

}  // namespace segmenta::embed_detail
