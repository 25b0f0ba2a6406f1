// AMX (Advanced Matrix Extensions) GEMM kernels for the bf16 and int8 encoder paths.
//
// They compute y (rows, n) = x W^T + b from the same packed weights as the AVX-512
// kernels: panels of 48 output features whose k-groups (pairs of bf16, quadruples of
// int8 codes) form 192-byte rows. Columns 16j..16j+15 of one panel row are therefore 64
// contiguous bytes, and sixteen such rows at a 192-byte stride are exactly the B operand
// of one tile multiply (16 k-groups x 16 columns). x supplies the A operand: 16 rows of
// 64 bytes (32 bf16 or 64 int8 values of k).
//
// Eight tile registers hold a 2 x 2 block of accumulators (32 rows x 32 columns), two A
// tiles and two B tiles. For each pair of column tiles the kernel walks down all rows of
// a block of up to 128, so a pair's weights are read from memory once and then from L1
// or L2 while the rows' activations stay in L2. Rows past the last multiple of 32 go
// through a second tile configuration with shorter tiles, so no row is computed twice and
// nothing is read past the activations.
//
// int8 multiplies signed activation codes with the weights' unsigned (+128) codes
// (TDPBSUD), the integer products the VNNI kernel sums, so its outputs are bit-identical to
// the portable and AVX-512 kernels'. bf16 (TDPBF16PS) rounds its partial sums in its own
// order: each output agrees with the others to fp32 rounding over k, and depends on its row
// and column alone.
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cpuid.h>
#include <cstdlib>
#include <type_traits>

#include "embed/gemm_epilogue.hpp"
#include "embed/ops.hpp"
#include "embed/tile_config.hpp"

namespace segmenta::embed_detail {

#define SEGMENTA_TARGET_AMX __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,amx-tile,amx-bf16,amx-int8")))

namespace {

// Linux keeps the AMX tile data out of a process's register state until the process asks
// for it (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); using tiles before that
// raises SIGILL.
constexpr int kArchReqXcompPerm = 0x1023;
constexpr int kXfeatureXtiledata = 18;

bool detect_amx() noexcept {
  if (const char* off = std::getenv("SEGMENTA_NO_AMX"); off && *off && *off != '0') return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
  if (!amx_bf16 || !amx_tile || !amx_int8) return false;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // OSXSAVE
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const unsigned tile_state = (1u << 17) | (1u << 18);  // XTILECFG, XTILEDATA enabled by the OS
  if ((lo & tile_state) != tile_state) return false;
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512dq") ||
      !__builtin_cpu_supports("avx512vl"))
    return false;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

// Tile registers: accumulators 0, 1 (rows 0-15 of a block, column tiles 0, 1) and 2, 3
// (rows 16-31); A tiles 4 (rows 0-15) and 5 (rows 16-31); B tiles 6, 7. `top` and
// `bottom` are the rows of the two row halves; every tile is 64 bytes wide.
SEGMENTA_TARGET_AMX void configure(unsigned top, unsigned bottom) noexcept {
  TileConfig c;
  for (int t = 0; t < 8; ++t) c.colsb[t] = 64;
  c.rows[0] = c.rows[1] = c.rows[4] = static_cast<std::uint8_t>(top);
  c.rows[2] = c.rows[3] = c.rows[5] = static_cast<std::uint8_t>(bottom);
  c.rows[6] = c.rows[7] = 16;
  load_tile_config(c);
}

constexpr std::size_t kBlockRows = 128;  // rows whose ranges one lane buffer collects
constexpr std::size_t kBRowBytes = 192;  // one k-group row of a 48-column panel
constexpr std::size_t kAccLd = 32;       // the accumulator buffer: 32 x 32 values

// Accumulator tile C += A tile x B tile: int8 codes (signed x unsigned) or bf16 pairs.
// A macro, not a template: the intrinsics paste their tile numbers into the assembly
// text, so they must be literal tokens.
#define SEGMENTA_TILE_MULTIPLY(S8, C, A, B) \
  do {                                      \
    if constexpr (S8)                       \
      _tile_dpbsud(C, A, B);                \
    else                                    \
      _tile_dpbf16ps(C, A, B);              \
  } while (0)

// One block of MT x 16 rows and NT x 16 columns over all of k: the accumulators end in
// acc (row stride 32 values; int32 for S8, float otherwise).
template <bool S8, int MT, int NT>
SEGMENTA_TARGET_AMX __attribute__((noinline)) void tile_block(const std::uint8_t* a, std::size_t lda, const std::uint8_t* b0,
                                                              const std::uint8_t* b1, std::size_t steps,
                                                              void* acc) noexcept {
  _tile_zero(0);
  if constexpr (NT > 1) _tile_zero(1);
  if constexpr (MT > 1) {
    _tile_zero(2);
    if constexpr (NT > 1) _tile_zero(3);
  }
  const std::uint8_t* a1 = a + 16 * lda;
  for (std::size_t s = 0; s < steps; ++s) {
    const std::size_t boff = s * 16 * kBRowBytes;
    _tile_loadd(6, b0 + boff, kBRowBytes);
    if constexpr (NT > 1) _tile_loadd(7, b1 + boff, kBRowBytes);
    _tile_loadd(4, a + 64 * s, lda);
    SEGMENTA_TILE_MULTIPLY(S8, 0, 4, 6);
    if constexpr (NT > 1) SEGMENTA_TILE_MULTIPLY(S8, 1, 4, 7);
    if constexpr (MT > 1) {
      _tile_loadd(5, a1 + 64 * s, lda);
      SEGMENTA_TILE_MULTIPLY(S8, 2, 5, 6);
      if constexpr (NT > 1) SEGMENTA_TILE_MULTIPLY(S8, 3, 5, 7);
    }
  }
  auto* out = static_cast<std::uint8_t*>(acc);
  constexpr std::size_t ld = kAccLd * 4;
  _tile_stored(0, out, ld);
  if constexpr (NT > 1) _tile_stored(1, out + 64, ld);
  if constexpr (MT > 1) {
    _tile_stored(2, out + 16 * ld, ld);
    if constexpr (NT > 1) _tile_stored(3, out + 16 * ld + 64, ld);
  }
}

// What a kernel needs besides the weights: the A operand and, for int8, the rows'
// quantisation parameters.
struct Operand {
  const std::uint8_t* a;
  std::size_t lda;  // bytes
  const Activations* x;  // int8 only
};

// Writes rows [r0, r0 + mr) x column tiles [j, j + nt) of y from the accumulators, with the
// bias (and, for int8, the zero-point and scale corrections), the optional GELU, and the
// rows' lane-wise ranges in lanes (indexed from the block's first row lane0).
template <bool S8, bool GELU>
SEGMENTA_TARGET_AMX void epilogue(const PackedLinear& lin, const Operand& op, const void* acc, std::size_t r0,
                                  std::size_t mr, std::size_t j, std::size_t nt, float* y, std::size_t ldy, float* lanes) noexcept {
  for (std::size_t i = 0; i < mr; ++i) {
    const std::size_t row = r0 + i;
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    float* l = lanes + 32 * i;
    if constexpr (GELU) {
      lo = _mm512_load_ps(l);
      hi = _mm512_load_ps(l + 16);
    }
    for (std::size_t t = 0; t < nt; ++t) {
      const std::size_t col = 16 * (j + t);
      const __mmask16 m = col_mask(col, lin.n);
      if (!m) break;
      const __m512 bias = _mm512_load_ps(lin.bias.data() + col);
      __m512 v;
      if constexpr (S8) {
        const Activations& x = *op.x;
        const __m512i dot = _mm512_load_si512(static_cast<const std::int32_t*>(acc) + i * kAccLd + 16 * t);
        const __m512i corr = _mm512_mullo_epi32(_mm512_set1_epi32(x.zero[row]), _mm512_load_si512(lin.wsum.data() + col));
        // (dot - 128 sum(q)) - zero * sum(w): the VNNI kernel's integers, wrap-around included.
        const __m512i q = _mm512_sub_epi32(_mm512_sub_epi32(dot, _mm512_set1_epi32(x.qsum128[row])), corr);
        const __m512 s = _mm512_mul_ps(_mm512_set1_ps(x.scale[row]), _mm512_load_ps(lin.wscale.data() + col));
        v = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xffff), q), s, bias);
      } else {
        v = _mm512_add_ps(_mm512_load_ps(static_cast<const float*>(acc) + i * kAccLd + 16 * t), bias);
      }
      _mm512_mask_storeu_ps(y + row * ldy + col, m, activate<GELU>(v, m, lo, hi));
    }
    if constexpr (GELU) {
      _mm512_store_ps(l, lo);
      _mm512_store_ps(l + 16, hi);
    }
  }
}

template <bool S8, bool GELU>
SEGMENTA_TARGET_AMX void gemm_amx(const PackedLinear& lin, const Operand& op, std::size_t rows, float* y, std::size_t ldy,
                                  float* range) noexcept {
  const std::size_t groups = S8 ? lin.k_pad / 4 : lin.k_pad / 2;
  const std::size_t steps = groups / 16;
  const std::size_t panel_bytes = groups * kBRowBytes;
  const std::uint8_t* w = S8 ? lin.wq.data() : reinterpret_cast<const std::uint8_t*>(lin.wbf.data());
  const std::size_t col_tiles = lin.n_pad / 16;
  auto bcol = [&](std::size_t j) { return w + (j / 3) * panel_bytes + (j % 3) * 64; };
  alignas(64) std::int32_t acc[32 * kAccLd];
  alignas(64) float lanes[kBlockRows * 32];
  unsigned top = 0, bottom = 0;
  auto need = [&](unsigned t, unsigned b) {
    if (t != top || b != bottom) configure(top = t, bottom = b);
  };
  for (std::size_t b0 = 0; b0 < rows; b0 += kBlockRows) {
    const std::size_t br = std::min(kBlockRows, rows - b0), full = br / 32 * 32, tail = br - full;
    if constexpr (GELU) std::fill(lanes, lanes + br * 32, 0.0f);
    // Column tiles in pairs, rows in 32-row steps under each pair.
    auto sweep = [&](std::size_t m_begin, std::size_t m_end, auto mt) {
      constexpr int MT = decltype(mt)::value;
      for (std::size_t j = 0; j < col_tiles; j += 2) {
        const std::size_t nt = std::min<std::size_t>(2, col_tiles - j);
        if (16 * j >= lin.n) break;
        for (std::size_t m = m_begin; m < m_end; m += 32) {
          const std::uint8_t* a = op.a + (b0 + m) * op.lda;
          if (nt == 2)
            tile_block<S8, MT, 2>(a, op.lda, bcol(j), bcol(j + 1), steps, acc);
          else
            tile_block<S8, MT, 1>(a, op.lda, bcol(j), nullptr, steps, acc);
          epilogue<S8, GELU>(lin, op, acc, b0 + m, std::min<std::size_t>(32, m_end - m), j, nt, y, ldy, lanes + m * 32);
        }
      }
    };
    if (full) {
      need(16, 16);
      sweep(0, full, std::integral_constant<int, 2>{});
    }
    if (tail > 16) {
      need(16, static_cast<unsigned>(tail - 16));
      sweep(full, br, std::integral_constant<int, 2>{});
    } else if (tail) {
      need(static_cast<unsigned>(tail), 16);
      sweep(full, br, std::integral_constant<int, 1>{});
    }
    if constexpr (GELU) reduce_lanes(lanes, br, range + 2 * b0);
  }
  // Back to the initial state, so the core need not keep (and save) the tile registers.
  _tile_release();
}

}  // namespace

bool cpu_has_amx() noexcept {
  static const bool has = kernel_cap() >= 4 && detect_amx();
  return has;
}

bool amx_supports(const PackedLinear& lin) noexcept {
  return lin.k_pad % 64 == 0 && (lin.precision == EmbedPrecision::bf16 || lin.precision == EmbedPrecision::int8);
}

void gemm_bf16_amx(const PackedLinear& lin, const std::uint16_t* a, std::size_t lda, std::size_t rows, float* y,
                   std::size_t ldy, float* gelu_range) noexcept {
  if (rows == 0) return;
  const Operand op{reinterpret_cast<const std::uint8_t*>(a), lda * 2, nullptr};
  with_gelu(gelu_range, [&](auto gelu) { gemm_amx<false, decltype(gelu)::value>(lin, op, rows, y, ldy, gelu_range); });
}

void gemm_s8_amx(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy,
                 float* gelu_range) noexcept {
  if (rows == 0) return;
  const Operand op{reinterpret_cast<const std::uint8_t*>(x.q), x.ld, &x};
  with_gelu(gelu_range, [&](auto gelu) { gemm_amx<true, decltype(gelu)::value>(lin, op, rows, y, ldy, gelu_range); });
}

}  // namespace segmenta::embed_detail
