#include "embed/ops.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "embed/passes_isa.hpp"
#include "embed/simd.hpp"
#include "kernels/variant.hpp"
#include "segmenta/kernels.hpp"

namespace segmenta::embed_detail {
using namespace simd;

int kernel_cap() noexcept {
  static const int cap = [] {
    const char* v = std::getenv("SEGMENTA_EMBED_KERNEL");
    if (!v) return 4;
    const std::string_view s(v);
    if (s == "portable") return 0;
    if (s == "avx2") return 1;
    if (s == "avx-vnni") return 2;
    if (s == "avx512") return 3;
    return 4;
  }();
  return cap;
}

namespace {

// The elementwise passes: the variant of passes_isa.inc for kernels::active_isa().
const PassTable& pass_table() noexcept {
  static const PassTable* t = [] {
    const PassTable* v = kernels::variant_for(kernels::active_isa(), isa_portable::passes, isa_avx2::passes,
                                              isa_avx512::passes);
    return v ? v : &isa_portable::passes();
  }();
  return *t;
}

}  // namespace

float exp_approx(float x) noexcept { return pass_table().exp_one(x); }

float gelu_approx(float x) noexcept { return pass_table().gelu_one(x); }

void add_layer_norm(const float* x, const float* y, const float* bias, const float* gamma, const float* beta, float eps,
                    std::size_t k, float* out, float* range) noexcept {
  pass_table().add_layer_norm(x, y, bias, gamma, beta, eps, k, out, range);
}

void gelu_inplace(float* x, const float* bias, std::size_t k, float* range) noexcept {
  pass_table().gelu_inplace(x, bias, k, range);
}

void attention(const float* qkv, std::size_t ldq, const float* bias, std::size_t T, std::size_t heads, std::size_t d,
               float* ctx, std::size_t ldc, float* scratch) noexcept {
  pass_table().attention(qkv, ldq, bias, T, heads, d, ctx, ldc, scratch);
}

void emit_row(const float* x, std::size_t k, const Activations& a, std::size_t r, const float* range) noexcept {
  pass_table().emit_row(x, k, a, r, range);
}

std::size_t attention_scratch_floats(std::size_t T, std::size_t heads, std::size_t d) noexcept {
  const std::size_t tp = (T + 15) / 16 * 16, H = heads * d;
  return H * tp + 2 * H * T + 2 * tp + 64;
}

// ---------------------------------------------------------------------------
// Linear layers
// ---------------------------------------------------------------------------

namespace {

// The plan set_int8_plan installed: -1 for kInt8Plan, else 2 bits per layer.
std::atomic<int> g_int8_plan_override{-1};

}  // namespace

LinearPlan linear_plan(EmbedPrecision mode) noexcept {
  if (mode != EmbedPrecision::int8) return {mode, mode, mode, mode};
  const int code = g_int8_plan_override.load(std::memory_order_acquire);
  if (code < 0) return kInt8Plan;
  LinearPlan plan;
  for (int j = 0; j < 4; ++j) plan[static_cast<std::size_t>(j)] = static_cast<EmbedPrecision>((code >> (2 * j)) & 3);
  return plan;
}

void set_int8_plan(const LinearPlan& plan) noexcept {
  int code = 0;
  for (int j = 0; j < 4; ++j) code |= static_cast<int>(plan[static_cast<std::size_t>(j)]) << (2 * j);
  g_int8_plan_override.store(code, std::memory_order_release);
}

std::string plan_name(const LinearPlan& plan) {
  std::string s;
  for (std::size_t j = 0; j < plan.size(); ++j) {
    if (j) s += '/';
    s += to_string(plan[j]);
  }
  return s;
}

PackedLinear pack_linear(EmbedPrecision precision, const float* w, const float* b, std::size_t n, std::size_t k) {
  PackedLinear p;
  p.precision = precision;
  p.n = n;
  p.k = k;
  p.k_pad = padded_depth(k);
  if (precision == EmbedPrecision::fp32) {
    p.n_pad = n;
    p.w32.assign(w, w + n * k);
    p.bias.assign(b, b + n);
    return p;
  }
  p.n_pad = (n + kPanel - 1) / kPanel * kPanel;
  p.bias.assign(p.n_pad, 0.0f);
  std::copy(b, b + n, p.bias.begin());
  const std::size_t panels = p.n_pad / kPanel;
  if (precision == EmbedPrecision::bf16) {
    p.wbf.assign(p.n_pad * p.k_pad, 0);
    for (std::size_t pi = 0; pi < panels; ++pi)
      for (std::size_t g = 0; g < p.k_pad / 2; ++g)
        for (std::size_t c = 0; c < kPanel; ++c)
          for (std::size_t e = 0; e < 2; ++e) {
            const std::size_t row = pi * kPanel + c, col = 2 * g + e;
            const float v = row < n && col < k ? w[row * k + col] : 0.0f;
            p.wbf[((pi * (p.k_pad / 2) + g) * kPanel + c) * 2 + e] = float_to_bf16(v);
          }
    return p;
  }
  // int8: symmetric per output feature, codes in [-127, 127].
  p.wscale.assign(p.n_pad, 1.0f);
  p.wsum.assign(p.n_pad, 0);
  std::vector<std::int8_t> q(p.n_pad * p.k_pad, 0);
  for (std::size_t row = 0; row < n; ++row) {
    float amax = 0.0f;
    for (std::size_t col = 0; col < k; ++col) amax = std::max(amax, std::abs(w[row * k + col]));
    const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
    std::int32_t sum = 0;
    for (std::size_t col = 0; col < k; ++col) {
      const float v = std::nearbyint(w[row * k + col] / scale);
      const auto c = static_cast<std::int8_t>(std::min(127.0f, std::max(-127.0f, v)));
      q[row * p.k_pad + col] = c;
      sum += c;
    }
    p.wscale[row] = scale;
    p.wsum[row] = sum;
  }
  p.wq.assign(p.n_pad * p.k_pad, 128);
  for (std::size_t pi = 0; pi < panels; ++pi)
    for (std::size_t g = 0; g < p.k_pad / 4; ++g)
      for (std::size_t c = 0; c < kPanel; ++c)
        for (std::size_t e = 0; e < 4; ++e) {
          const std::size_t row = pi * kPanel + c, col = 4 * g + e;
          p.wq[((pi * (p.k_pad / 4) + g) * kPanel + c) * 4 + e] =
              static_cast<std::uint8_t>(static_cast<int>(q[row * p.k_pad + col]) + 128);
        }
  return p;
}

void gemm_bf16_portable(const PackedLinear& lin, const std::uint16_t* a, std::size_t lda, std::size_t rows, float* y,
                        std::size_t ldy) noexcept {
  const std::size_t groups = lin.k_pad / 2, panels = lin.n_pad / kPanel;
  float acc[kPanel];
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint16_t* ar = a + r * lda;
    for (std::size_t pi = 0; pi < panels; ++pi) {
      const std::uint16_t* bp = lin.wbf.data() + pi * groups * kPanel * 2;
      for (auto& v : acc) v = 0.0f;
      for (std::size_t g = 0; g < groups; ++g) {
        const float a0 = bf16_to_float(ar[2 * g]), a1 = bf16_to_float(ar[2 * g + 1]);
        const std::uint16_t* bg = bp + g * kPanel * 2;
        // Same order as VDPBF16PS: the odd pair first, each product exact, one rounding per add.
        for (std::size_t c = 0; c < kPanel; ++c) {
          acc[c] = std::fma(a1, bf16_to_float(bg[2 * c + 1]), acc[c]);
          acc[c] = std::fma(a0, bf16_to_float(bg[2 * c]), acc[c]);
        }
      }
      for (std::size_t c = 0; c < kPanel; ++c) {
        const std::size_t col = pi * kPanel + c;
        if (col < lin.n) y[r * ldy + col] = acc[c] + lin.bias[col];
      }
    }
  }
}

void gemm_s8_portable(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy) noexcept {
  const std::size_t groups = lin.k_pad / 4, panels = lin.n_pad / kPanel;
  std::int32_t acc[kPanel];
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int8_t* ar = x.q + r * x.ld;
    for (std::size_t pi = 0; pi < panels; ++pi) {
      const std::uint8_t* bp = lin.wq.data() + pi * groups * kPanel * 4;
      for (auto& v : acc) v = 0;
      for (std::size_t g = 0; g < groups; ++g) {
        const std::uint8_t* bg = bp + g * kPanel * 4;
        for (std::size_t c = 0; c < kPanel; ++c)
          for (std::size_t e = 0; e < 4; ++e)
            acc[c] += static_cast<std::int32_t>(ar[4 * g + e]) * static_cast<std::int32_t>(bg[4 * c + e]);
      }
      for (std::size_t c = 0; c < kPanel; ++c) {
        const std::size_t col = pi * kPanel + c;
        if (col >= lin.n) continue;
        const std::int32_t v = acc[c] - x.qsum128[r] - x.zero[r] * lin.wsum[col];
        y[r * ldy + col] = std::fma(static_cast<float>(v), x.scale[r] * lin.wscale[col], lin.bias[col]);
      }
    }
  }
}

LinearKernel linear_kernel(EmbedPrecision p) noexcept {
  if (p == EmbedPrecision::fp32) return LinearKernel::sgemm;
  if (cpu_has_amx()) return LinearKernel::amx;
  if (p == EmbedPrecision::bf16 ? cpu_has_avx512_bf16() : cpu_has_avx512_vnni()) return LinearKernel::avx512;
  if (p == EmbedPrecision::int8 && cpu_has_avx_vnni()) return LinearKernel::avx_vnni;
  return cpu_has_avx2_fma() ? LinearKernel::avx2 : LinearKernel::portable;
}

namespace {

// The kernel for one packed layer: linear_kernel, unless the layer's depth does not fit
// the tiles (pack_linear pads every depth so that it does; the check keeps the kernels'
// precondition in one place).
LinearKernel layer_kernel(const PackedLinear& lin) noexcept {
  const LinearKernel k = linear_kernel(lin.precision);
  if (k == LinearKernel::amx && lin.exact) {
    // The bf16 kernels that follow the portable kernel's order.
    if (cpu_has_avx512_bf16()) return LinearKernel::avx512;
    return cpu_has_avx2_fma() ? LinearKernel::avx2 : LinearKernel::portable;
  }
  return k == LinearKernel::amx && !amx_supports(lin) ? LinearKernel::avx512 : k;
}

}  // namespace

void linear_forward(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy) noexcept {
  if (rows == 0) return;
  const bool s8 = lin.precision == EmbedPrecision::int8;
  switch (layer_kernel(lin)) {
    case LinearKernel::sgemm:
      kernels::gemm_nt(rows, lin.n, lin.k, 1.0f, x.f32, x.ld, lin.w32.data(), lin.k, 0.0f, y, ldy);
      return;
    case LinearKernel::amx:
      return s8 ? gemm_s8_amx(lin, x, rows, y, ldy) : gemm_bf16_amx(lin, x.bf16, x.ld, rows, y, ldy);
    case LinearKernel::avx512:
      return s8 ? gemm_s8_avx512(lin, x, rows, y, ldy) : gemm_bf16_avx512(lin, x.bf16, x.ld, rows, y, ldy);
    case LinearKernel::avx_vnni:  // int8 only (linear_kernel)
      return gemm_s8_avxvnni(lin, x, rows, y, ldy);
    case LinearKernel::avx2:
      return s8 ? gemm_s8_avx2(lin, x, rows, y, ldy) : gemm_bf16_avx2(lin, x.bf16, x.ld, rows, y, ldy);
    case LinearKernel::portable:
      return s8 ? gemm_s8_portable(lin, x, rows, y, ldy) : gemm_bf16_portable(lin, x.bf16, x.ld, rows, y, ldy);
  }
}

void linear_gelu_forward(const PackedLinear& lin, const Activations& x, std::size_t rows, float* y, std::size_t ldy,
                         const float* fp32_bias, float* range) noexcept {
  if (rows == 0) return;
  const bool s8 = lin.precision == EmbedPrecision::int8;
  switch (layer_kernel(lin)) {
    case LinearKernel::amx:
      return s8 ? gemm_s8_amx(lin, x, rows, y, ldy, range) : gemm_bf16_amx(lin, x.bf16, x.ld, rows, y, ldy, range);
    case LinearKernel::avx512:
      return s8 ? gemm_s8_avx512(lin, x, rows, y, ldy, range)
                : gemm_bf16_avx512(lin, x.bf16, x.ld, rows, y, ldy, range);
    default:
      break;
  }
  linear_forward(lin, x, rows, y, ldy);
  const float* bias = lin.precision == EmbedPrecision::fp32 ? fp32_bias : nullptr;
  for (std::size_t r = 0; r < rows; ++r) gelu_inplace(y + r * ldy, bias, lin.n, range + 2 * r);
}

}  // namespace segmenta::embed_detail
