// Encoder building blocks: packed linear layers (fp32 / bf16 / int8 GEMM) and the
// fused elementwise passes around them. Private to the embed module; kernels trust
// their inputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "embed/internal.hpp"
#include "segmenta/core.hpp"
#include "segmenta/embed.hpp"

namespace segmenta::embed_detail {

// ---------------------------------------------------------------------------
// Activations handed to a linear layer
// ---------------------------------------------------------------------------

/// Rows of an activation matrix (rows, k) in the form a linear layer of a given precision
/// consumes: fp32 values, bf16 values, or int8 codes with per-row scale and zero point
/// (x = scale * (q - zero)) and the per-row correction 128 * sum(q) that the unsigned
/// weight encoding needs. Row stride `ld` (elements), ld >= padded_depth(k), with zeros
/// from k to padded_depth(k) (emit_row writes them).
/// The depth (k) of packed weights and of reduced-precision activation rows: k padded with
/// zeros to a multiple of 64, the bytes of one AMX tile row (and a whole number of the
/// AVX-512 kernels' pairs and quadruples).
constexpr std::size_t padded_depth(std::size_t k) noexcept { return (k + 63) / 64 * 64; }

struct Activations {
  EmbedPrecision precision = EmbedPrecision::fp32;
  std::size_t ld = 0;
  float* f32 = nullptr;
  std::uint16_t* bf16 = nullptr;
  std::int8_t* q = nullptr;
  float* scale = nullptr;
  std::int32_t* zero = nullptr;
  std::int32_t* qsum128 = nullptr;
};

/// Writes row `r` of `a` from the fp32 values x (k): a copy (fp32; skipped when x already
/// is that row), bf16 rounding, or int8 quantisation (asymmetric, the row's range
/// extended to include 0, 255 steps, round to nearest even, zero point exact).
/// `range`, when given, is {min(0, min x), max(0, max x)} as the passes below report it,
/// which saves the int8 quantiser its scan.
void emit_row(const float* x, std::size_t k, const Activations& a, std::size_t r, const float* range = nullptr) noexcept;

// ---------------------------------------------------------------------------
// Linear layers
// ---------------------------------------------------------------------------

/// y = x W^T + b for W (n, k), stored in the layout of one precision.
struct PackedLinear {
  EmbedPrecision precision = EmbedPrecision::fp32;
  std::size_t n = 0, k = 0;        // output and input features
  std::size_t n_pad = 0, k_pad = 0;  // n rounded up to the panel width, k to padded_depth(k)
  AlignedVector<float> w32;        // fp32: W (n, k) row-major
  AlignedVector<float> bias;       // n_pad (zeros past n)
  AlignedVector<std::uint16_t> wbf;  // bf16 panels: [panel][k_pad/2][48][2]
  AlignedVector<std::uint8_t> wq;    // int8 panels, stored as q + 128: [panel][k_pad/4][48][4]
  AlignedVector<float> wscale;       // int8: per output feature, W ~ wscale * q
  AlignedVector<std::int32_t> wsum;  // int8: per output feature, sum over k of q
  /// bf16 only: give the portable kernel's bits on every CPU, i.e. skip the AMX tiles, whose
  /// bf16 unit rounds its partial sums in its own order (the int8 mode's bf16 layers, so that
  /// int8 vectors stay the same on every kernel).
  bool exact = false;
};

constexpr std::size_t kPanel = 48;

/// The precision of each linear layer of a transformer block, in the order Q|K|V, attention
/// output, FFN1, FFN2, that a precision mode runs. fp32 and bf16: all four in that precision.
/// int8: kInt8Plan, or the plan set_int8_plan installed.
using LinearPlan = std::array<EmbedPrecision, 4>;
/// The attention output projection reads the attention's context rows, which are nearly the
/// same for every token of a sentence: their int8 rounding errors do not average out over
/// the tokens as those of the other layers do, and on the MiniLM-shaped benchmark model
/// that one layer (1/12 of the products) made 47 % of the int8 mode's error that moves
/// cluster boundaries (docs/PERFORMANCE.md, "int8 accuracy"). It runs in bf16.
inline constexpr LinearPlan kInt8Plan = {EmbedPrecision::int8, EmbedPrecision::bf16, EmbedPrecision::int8,
                                         EmbedPrecision::int8};
LinearPlan linear_plan(EmbedPrecision mode) noexcept;
/// Replaces the int8 mode's plan for the whole process (measurements of the error split:
/// bench/micro/embed_encoder_bench.cpp). Call before any encoder packs its int8 layers;
/// an encoder keeps the plan it packed with.
void set_int8_plan(const LinearPlan& plan) noexcept;
/// "int8/int8/int8/bf16"-style name of a plan.
std::string plan_name(const LinearPlan& plan);

/// Packs W (n, k) row-major and b (n) for `precision`.
PackedLinear pack_linear(EmbedPrecision precision, const float* w, const float* b, std::size_t n, std::size_t k);

/// The kernel families of a linear layer, and the one this CPU (and kernel_cap) gives a
/// precision: fp32 always BLAS; bf16 / int8 AMX, then AVX-512 (BF16 / VNNI), then (int8
/// only) AVX-VNNI, then AVX2, then portable. linear_forward and linear_gelu_forward
/// dispatch through it.
enum class LinearKernel { sgemm, amx, avx512, avx_vnni, avx2, portable };
LinearKernel linear_kernel(EmbedPrecision p) noexcept;

/// y (rows, n) with row stride ldy: x W^T, plus the bias for bf16/int8 (the fp32 path
/// leaves the bias to the following fused pass, see `add_bias` arguments below).
/// `x` must be in lin.precision's form. Single-threaded.
void linear_forward(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy) noexcept;

/// y = gelu(x W^T + b) (the feed-forward block's first layer) and, per row r,
/// range[2r], range[2r + 1] = {min(0, min y), max(0, max y)}. The fp32 path adds
/// `fp32_bias` (the bias linear_forward leaves out); the packed AVX-512 kernels apply the
/// activation in their epilogue, the others run linear_forward and gelu_inplace. The
/// values are the same either way.
void linear_gelu_forward(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy,
                         const float* fp32_bias, float* range) noexcept;

/// The widest kernel family the environment allows, read once: SEGMENTA_EMBED_KERNEL=
/// portable (0), avx2 (1: AVX2 + FMA without the VNNI dot products), avx-vnni (2),
/// avx512 (3) or amx (4); unset or any other value, 4. The
/// cpu_has_* functions below answer false for a family above it, so the dispatch falls
/// back to the next one (for comparing kernels end to end). SEGMENTA_NO_AMX=1 also
/// turns the tiles off.
int kernel_cap() noexcept;

/// Reference (portable) kernels: the tests' oracle, and the path of CPUs without AVX2.
void gemm_bf16_portable(const PackedLinear& lin, const std::uint16_t* a, std::size_t lda, std::size_t rows, float* y,
                        std::size_t ldy) noexcept;
void gemm_s8_portable(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy) noexcept;

/// AMX kernels (gemm_amx.cpp): the same contract and epilogues as the AVX-512 ones. Call
/// only when cpu_has_amx() (which also obtains the operating system's permission to use
/// the tiles; false when the environment sets SEGMENTA_NO_AMX=1) and amx_supports(lin).
bool cpu_has_amx() noexcept;
bool amx_supports(const PackedLinear& lin) noexcept;
void gemm_bf16_amx(const PackedLinear& lin, const std::uint16_t* a, std::size_t lda, std::size_t rows, float* y,
                   std::size_t ldy, float* gelu_range = nullptr) noexcept;
void gemm_s8_amx(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy,
                 float* gelu_range = nullptr) noexcept;

/// AVX-512 kernels (gemm_avx512.cpp); call only when the CPU has the features.
bool cpu_has_avx512_bf16() noexcept;
bool cpu_has_avx512_vnni() noexcept;
/// With `gelu_range`, the outputs go through erf-GELU in the kernel's epilogue and
/// gelu_range[2r], [2r + 1] receive row r's {min(0, min y), max(0, max y)}: the values and
/// ranges of linear_forward followed by gelu_inplace, without the extra pass over y.
void gemm_bf16_avx512(const PackedLinear& lin, const std::uint16_t* a, std::size_t lda, std::size_t rows, float* y,
                      std::size_t ldy, float* gelu_range = nullptr) noexcept;
void gemm_s8_avx512(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy,
                    float* gelu_range = nullptr) noexcept;

/// AVX2 + FMA kernels (gemm_avx2.cpp), for CPUs without the AVX-512 dot products: the
/// portable kernels' results bit for bit. Call only when cpu_has_avx2_fma(); the int8
/// AVX-VNNI kernel (256-bit VPDPBUSD, same results) only when cpu_has_avx_vnni().
bool cpu_has_avx2_fma() noexcept;
bool cpu_has_avx_vnni() noexcept;
void gemm_s8_avxvnni(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy) noexcept;
void gemm_bf16_avx2(const PackedLinear& lin, const std::uint16_t* a, std::size_t lda, std::size_t rows, float* y,
                    std::size_t ldy) noexcept;
void gemm_s8_avx2(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy) noexcept;

// ---------------------------------------------------------------------------
// Elementwise passes (one row at a time; k is any positive length)
// ---------------------------------------------------------------------------

/// out = LayerNorm(x + y + bias) * gamma + beta over k features (y, bias may be null).
/// Mean and variance in fp32 over 16 interleaved partial sums (fixed order). out may alias x.
/// With `range`, writes {min(0, min out), max(0, max out)}.
void add_layer_norm(const float* x, const float* y, const float* bias, const float* gamma, const float* beta, float eps,
                    std::size_t k, float* out, float* range = nullptr) noexcept;

/// x = gelu(x + bias) with the erf form 0.5 x (1 + erf(x / sqrt 2)); bias may be null.
/// With `range`, writes {min(0, min x), max(0, max x)} of the result.
void gelu_inplace(float* x, const float* bias, std::size_t k, float* range = nullptr) noexcept;

/// Scaled dot-product attention of one sequence of T tokens for all heads.
/// qkv (T, 3H) with row stride ldq holds Q | K | V (bias not yet added when `bias`
/// is non-null: bias (3H)); ctx (T, H) with row stride ldc receives softmax(Q K^T / sqrt(d)) V.
/// scratch needs attention_scratch_floats(T, heads, d) floats.
void attention(const float* qkv, std::size_t ldq, const float* bias, std::size_t T, std::size_t heads, std::size_t d,
               float* ctx, std::size_t ldc, float* scratch) noexcept;
std::size_t attention_scratch_floats(std::size_t T, std::size_t heads, std::size_t d) noexcept;

/// Vectorised exp and erf-GELU of one value (the same code the passes use), for tests.
float exp_approx(float x) noexcept;
float gelu_approx(float x) noexcept;

}  // namespace segmenta::embed_detail
