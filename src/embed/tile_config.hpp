// The LDTILECFG operand and a loader that tells the compiler all 64 bytes are read.
//
// GCC 12's _tile_loadconfig describes its operand as one pointer-sized memory word, so
// the optimiser may drop the stores of the row and column sizes that follow the palette
// byte: the instruction then reads whatever the stack held and faults (seen in the
// bench's peak loop once it was inlined). The asm below names the whole structure.
#pragma once

#include <cstdint>

namespace segmenta::embed_detail {

/// Palette 1: up to eight tiles of at most 16 rows x 64 bytes; unused entries stay 0.
struct alignas(64) TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

/// LDTILECFG from `c`. Only on a CPU with AMX, after the operating system's permission.
inline void load_tile_config(const TileConfig& c) noexcept { asm volatile("ldtilecfg %0" ::"m"(c)); }

}  // namespace segmenta::embed_detail
