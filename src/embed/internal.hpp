// Private helpers of the embed module (not part of the public interface).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "segmenta/core.hpp"
#include "segmenta/files.hpp"  // read_file, write_file_atomic

namespace segmenta::embed_detail {

// ---------------------------------------------------------------------------
// Number formats
// ---------------------------------------------------------------------------

inline float bf16_to_float(std::uint16_t h) noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

/// Round to nearest even; NaN stays a (quiet) NaN.
inline std::uint16_t float_to_bf16(float f) noexcept {
  std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

/// The float nearest to x among bfloat16 values (x rounded through bf16).
inline float round_to_bf16(float x) noexcept { return bf16_to_float(float_to_bf16(x)); }

float half_to_float(std::uint16_t h) noexcept;
std::uint16_t float_to_half(float f) noexcept;

/// Lower-cases UTF-8 text code point by code point (Unicode simple mapping, U+0130 to
/// "i" + U+0307 as in the full mapping): sentence-transformers' do_lower_case (str.lower()),
/// without str.lower()'s final-sigma rule. Invalid bytes become U+FFFD.
std::string lower_text(std::string_view text);

/// UTF-8 to code points (an invalid byte reads as U+FFFD) and back.
void decode_utf8(std::string_view s, std::u32string& out);
void append_utf8(std::string& out, char32_t c);
/// BERT's accent stripping (NFD, nonspacing marks removed) and per-character lower-casing,
/// as the WordPiece tokenizer applies them.
void strip_accents(std::u32string& cps);
void lowercase(std::u32string& cps);
/// A JSON library error as a reader can act on it, without the library's
/// "[json.exception...]" tag. A syntax error in `text` (`byte`: the 1-based offset the
/// library reports, 0 when it is not a syntax error) becomes "line L, column C: invalid
/// JSON (detail)"; a structural one (a key missing, a value of the wrong type) says what
/// was expected. Bytes outside printable ASCII in the detail are shown as \xHH.
std::string json_error_text(std::string_view text, std::size_t byte, std::string_view library_message);

/// 128-bit hash of bytes as two independent FNV-1a 64 streams.
struct Hash128 {
  std::uint64_t a = 0, b = 0;
  bool operator==(const Hash128&) const = default;
};
Hash128 hash128(std::string_view bytes, std::uint64_t salt = 0) noexcept;

}  // namespace segmenta::embed_detail
