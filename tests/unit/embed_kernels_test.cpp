// Encoder kernels against naive double-precision oracles kept in this file.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "embed/ops.hpp"
#include "embed/passes_isa.hpp"
#include "segmenta/kernels.hpp"
#include "segmenta/embed.hpp"

using namespace segmenta;
using namespace segmenta::embed_detail;

namespace {

std::vector<float> randn(std::size_t n, std::uint64_t seed, double sd = 1.0) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(sd * r.normal());
  return v;
}

struct ActBuffers {
  std::vector<float> f;
  AlignedVector<std::uint16_t> bf;
  AlignedVector<std::int8_t> q;
  std::vector<float> scale;
  std::vector<std::int32_t> zero, qsum;
  Activations a;
  ActBuffers(EmbedPrecision p, const std::vector<float>& x, std::size_t rows, std::size_t k) {
    const std::size_t ld = padded_depth(k);
    f.assign(rows * ld, 0.0f);
    bf.assign(rows * ld, 0);
    q.assign(rows * ld, 0);
    scale.assign(rows, 0.0f);
    zero.assign(rows, 0);
    qsum.assign(rows, 0);
    a.precision = p;
    a.ld = ld;
    a.f32 = f.data();
    a.bf16 = bf.data();
    a.q = q.data();
    a.scale = scale.data();
    a.zero = zero.data();
    a.qsum128 = qsum.data();
    for (std::size_t r = 0; r < rows; ++r) emit_row(x.data() + r * k, k, a, r);
  }
};

}  // namespace

TEST(EmbedKernels, ExpIsAccurate) {
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 0.01237) {
    const double want = std::exp(static_cast<double>(static_cast<float>(x)));
    const double got = exp_approx(static_cast<float>(x));
    worst = std::max(worst, std::abs(got - want) / want);
  }
  EXPECT_LT(worst, 4e-7);
  EXPECT_EQ(exp_approx(0.0f), 1.0f);
  EXPECT_GT(exp_approx(-1000.0f), 0.0f);  // clamped, no NaN or denormal garbage
  EXPECT_LT(exp_approx(-1000.0f), 1e-37f);
}

TEST(EmbedKernels, GeluMatchesErfForm) {
  double worst = 0;
  for (double x = -12.0; x <= 12.0; x += 0.001237) {
    const float xf = static_cast<float>(x);
    const double want = 0.5 * xf * (1.0 + std::erf(xf / std::sqrt(2.0)));
    worst = std::max(worst, std::abs(gelu_approx(xf) - want) / std::max(1.0, std::abs(static_cast<double>(xf))));
  }
  EXPECT_LT(worst, 5e-7);  // A&S 7.1.28 (3e-7) evaluated in float
  // The vector pass and the scalar entry point agree, also in the tail.
  std::vector<float> v = randn(37, 3, 3.0), w = v;
  gelu_inplace(v.data(), nullptr, v.size());
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_EQ(v[i], gelu_approx(w[i]));
}

TEST(EmbedKernels, AddLayerNormMatchesNaive) {
  for (std::size_t k : {384u, 37u, 16u, 5u}) {
    const auto x = randn(k, 1), y = randn(k, 2), b = randn(k, 3, 0.1), g = randn(k, 4, 0.2), be = randn(k, 5, 0.1);
    std::vector<float> gamma(k);
    for (std::size_t i = 0; i < k; ++i) gamma[i] = 1.0f + g[i];
    std::vector<float> out(k);
    add_layer_norm(x.data(), y.data(), b.data(), gamma.data(), be.data(), 1e-12f, k, out.data());
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < k; ++i) mean += double(x[i]) + y[i] + b[i];
    mean /= double(k);
    for (std::size_t i = 0; i < k; ++i) var += std::pow(double(x[i]) + y[i] + b[i] - mean, 2);
    var /= double(k);
    for (std::size_t i = 0; i < k; ++i) {
      const double want = (double(x[i]) + y[i] + b[i] - mean) / std::sqrt(var + 1e-12) * gamma[i] + be[i];
      EXPECT_NEAR(out[i], want, 2e-6) << k << " " << i;
    }
    // In place, without y and bias.
    std::vector<float> z = x;
    add_layer_norm(z.data(), nullptr, nullptr, gamma.data(), be.data(), 1e-5f, k, z.data());
    double m2 = 0, v2 = 0;
    for (float t : x) m2 += t;
    m2 /= double(k);
    for (float t : x) v2 += (t - m2) * (t - m2);
    v2 /= double(k);
    for (std::size_t i = 0; i < k; ++i) EXPECT_NEAR(z[i], (x[i] - m2) / std::sqrt(v2 + 1e-5) * gamma[i] + be[i], 2e-6);
  }
}

TEST(EmbedKernels, AttentionMatchesNaive) {
  for (std::size_t T : {1u, 5u, 16u, 17u, 28u, 37u, 48u, 130u}) {  // every tail kind: none, <= 8, > 8, long rows
    for (std::size_t d : {8u, 16u, 32u, 64u}) {
      const std::size_t heads = 3, H = heads * d, ld = 3 * H + 5;
      const auto qkv = randn(T * ld, 10 + T, 1.5);
      const auto bias = randn(3 * H, 20 + d, 0.3);
      for (bool with_bias : {false, true}) {
        std::vector<float> ctx(T * H, -1.0f), scratch(attention_scratch_floats(T, heads, d));
        attention(qkv.data(), ld, with_bias ? bias.data() : nullptr, T, heads, d, ctx.data(), H, scratch.data());
        for (std::size_t h = 0; h < heads; ++h)
          for (std::size_t i = 0; i < T; ++i) {
            auto val = [&](std::size_t row, std::size_t col) {
              return double(qkv[row * ld + col]) + (with_bias ? bias[col] : 0.0f);
            };
            std::vector<double> s(T);
            double m = -1e300;
            for (std::size_t j = 0; j < T; ++j) {
              double dot = 0;
              for (std::size_t c = 0; c < d; ++c) dot += val(i, h * d + c) * val(j, H + h * d + c);
              s[j] = dot / std::sqrt(double(d));
              m = std::max(m, s[j]);
            }
            double sum = 0;
            for (auto& e : s) sum += (e = std::exp(e - m));
            for (std::size_t c = 0; c < d; ++c) {
              double want = 0;
              for (std::size_t j = 0; j < T; ++j) want += s[j] / sum * val(j, 2 * H + h * d + c);
              EXPECT_NEAR(ctx[i * H + h * d + c], want, 2e-5) << T << " " << d << " " << h << " " << i << " " << c;
            }
          }
      }
    }
  }
}

TEST(EmbedKernels, Int8RowQuantisation) {
  const std::size_t k = 37;
  auto x = randn(k, 5, 2.0);
  x[3] = 0.0f;
  ActBuffers b(EmbedPrecision::int8, x, 1, k);
  const float s = b.scale[0];
  const int z = b.zero[0];
  int sum = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const float back = s * static_cast<float>(b.q[i] - z);
    EXPECT_LE(std::abs(back - x[i]), 0.5f * s * 1.0001f) << i;
    sum += b.q[i];
  }
  EXPECT_EQ(s * static_cast<float>(b.q[3] - z), 0.0f);  // zero is exact
  EXPECT_EQ(b.qsum[0], 128 * sum);
  for (std::size_t i = k; i < b.a.ld; ++i) EXPECT_EQ(b.q[i], 0);
  // An all-zero row.
  ActBuffers zero(EmbedPrecision::int8, std::vector<float>(k, 0.0f), 1, k);
  EXPECT_EQ(zero.qsum[0], 0);
  EXPECT_EQ(zero.scale[0], 1.0f);
  ActBuffers h(EmbedPrecision::bf16, x, 1, k);
  for (std::size_t i = 0; i < k; ++i) EXPECT_EQ(h.bf[i], float_to_bf16(x[i]));
}

class EmbedLinear : public ::testing::TestWithParam<std::tuple<std::size_t, std::size_t, std::size_t>> {};

TEST_P(EmbedLinear, AllPrecisionsAgainstNaive) {
  const auto [rows, n, k] = GetParam();
  const auto w = randn(n * k, 100 + n, 0.05), b = randn(n, 200 + n, 0.1), x = randn(rows * k, 300 + rows);
  // fp32 reference in double.
  std::vector<double> ref(rows * n);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < n; ++j) {
      double s = b[j];
      for (std::size_t c = 0; c < k; ++c) s += double(x[r * k + c]) * w[j * k + c];
      ref[r * n + j] = s;
    }
  const std::size_t ldy = n + 3;
  {
    const PackedLinear lin = pack_linear(EmbedPrecision::fp32, w.data(), b.data(), n, k);
    Activations a;
    a.f32 = const_cast<float*>(x.data());
    a.ld = k;
    std::vector<float> y(rows * ldy);
    linear_forward(lin, a, rows, y.data(), ldy);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < n; ++j) EXPECT_NEAR(y[r * ldy + j] + b[j], ref[r * n + j], 1e-4);  // fp32 leaves the bias out
  }
  {
    // bf16: the exact products of the bf16-rounded operands, summed in double.
    const PackedLinear lin = pack_linear(EmbedPrecision::bf16, w.data(), b.data(), n, k);
    ActBuffers a(EmbedPrecision::bf16, x, rows, k);
    std::vector<float> y(rows * ldy, 0.0f), yp(rows * ldy, 0.0f);
    linear_forward(lin, a.a, rows, y.data(), ldy);
    gemm_bf16_portable(lin, a.bf.data(), a.a.ld, rows, yp.data(), ldy);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < n; ++j) {
        double s = b[j];
        for (std::size_t c = 0; c < k; ++c) s += double(round_to_bf16(x[r * k + c])) * round_to_bf16(w[j * k + c]);
        EXPECT_NEAR(y[r * ldy + j], s, 1e-5 * (1.0 + std::abs(s))) << r << " " << j;
        EXPECT_NEAR(yp[r * ldy + j], s, 1e-5 * (1.0 + std::abs(s))) << r << " " << j;
        EXPECT_NEAR(y[r * ldy + j], ref[r * n + j], 0.02);
      }
  }
  {
    // int8: y = s_x s_w sum_k (q_x - z) q_w + b exactly in integers; the AVX-512 kernel (when
    // present) and the portable one must give identical bits.
    const PackedLinear lin = pack_linear(EmbedPrecision::int8, w.data(), b.data(), n, k);
    ActBuffers a(EmbedPrecision::int8, x, rows, k);
    std::vector<float> y(rows * ldy, 0.0f), yp(rows * ldy, 0.0f);
    linear_forward(lin, a.a, rows, y.data(), ldy);
    gemm_s8_portable(lin, a.a, rows, yp.data(), ldy);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < n; ++j) {
        float amax = 0;
        for (std::size_t c = 0; c < k; ++c) amax = std::max(amax, std::abs(w[j * k + c]));
        const float ws = amax / 127.0f;
        long long acc = 0;
        for (std::size_t c = 0; c < k; ++c) {
          const long long qw = std::llround(std::nearbyint(w[j * k + c] / ws));
          acc += (static_cast<long long>(a.q[r * a.a.ld + c]) - a.zero[r]) * qw;
        }
        const double want = double(a.scale[r]) * ws * double(acc) + b[j];
        EXPECT_NEAR(y[r * ldy + j], want, 1e-5 * (1.0 + std::abs(want))) << r << " " << j;
        EXPECT_EQ(y[r * ldy + j], yp[r * ldy + j]) << r << " " << j;
        // Quantisation noise grows like sqrt(k): a sanity bound, the exact check is above.
        EXPECT_NEAR(y[r * ldy + j], ref[r * n + j], 0.01 + 0.05 * std::sqrt(double(k) / 384.0));
      }
    // Nothing is written past column n.
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = n; j < ldy; ++j) EXPECT_EQ(y[r * ldy + j], 0.0f);
  }
}

// Every kernel the CPU can run against the portable one: int8 bit for bit (all sum the same
// integers), bf16 within fp32 rounding of the exact sum of the rounded products. The AMX
// kernels are also checked for row independence: a row computed alone or at any place in a
// block (full 32-row tiles, the shorter tail tiles, the 128-row blocks) has the same bits,
// which is what makes the encoder's output independent of its grouping.
TEST_P(EmbedLinear, EveryKernelMatchesThePortableOne) {
  const auto [rows, n, k] = GetParam();
  const auto w = randn(n * k, 400 + n, 0.05), b = randn(n, 500 + n, 0.1), x = randn(rows * k, 600 + rows);
  const std::size_t ldy = n + 3;
  {
    const PackedLinear lin = pack_linear(EmbedPrecision::int8, w.data(), b.data(), n, k);
    ActBuffers a(EmbedPrecision::int8, x, rows, k);
    std::vector<float> want(rows * ldy, 0.0f);
    gemm_s8_portable(lin, a.a, rows, want.data(), ldy);
    auto check = [&](const char* name, auto&& kernel) {
      std::vector<float> y(rows * ldy, 0.0f);
      kernel(y.data());
      for (std::size_t i = 0; i < y.size(); ++i)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(y[i]), std::bit_cast<std::uint32_t>(want[i])) << name << " at " << i;
    };
    if (cpu_has_avx512_vnni()) check("int8 avx512", [&](float* y) { gemm_s8_avx512(lin, a.a, rows, y, ldy); });
    if (cpu_has_avx2_fma()) check("int8 avx2", [&](float* y) { gemm_s8_avx2(lin, a.a, rows, y, ldy); });
    if (cpu_has_avx_vnni()) check("int8 avx-vnni", [&](float* y) { gemm_s8_avxvnni(lin, a.a, rows, y, ldy); });
    if (cpu_has_amx() && amx_supports(lin)) {
      check("int8 amx", [&](float* y) { gemm_s8_amx(lin, a.a, rows, y, ldy); });
      check("int8 amx, row by row", [&](float* y) {
        for (std::size_t r = 0; r < rows; ++r) {
          Activations one = a.a;
          one.q += r * one.ld;
          one.scale += r;
          one.zero += r;
          one.qsum128 += r;
          gemm_s8_amx(lin, one, 1, y + r * ldy, ldy);
        }
      });
    }
  }
  {
    const PackedLinear lin = pack_linear(EmbedPrecision::bf16, w.data(), b.data(), n, k);
    ActBuffers a(EmbedPrecision::bf16, x, rows, k);
    std::vector<double> exact(rows * n);
    double worst_scale = 0.0;
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < n; ++j) {
        double s = b[j];
        for (std::size_t c = 0; c < k; ++c) s += double(round_to_bf16(x[r * k + c])) * round_to_bf16(w[j * k + c]);
        exact[r * n + j] = s;
      }
    auto check = [&](const char* name, const std::vector<float>& y) {
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < n; ++j) {
          // fp32 accumulation over k terms: a few ulps of the sum of magnitudes per term.
          double mag = std::abs(b[j]);
          for (std::size_t c = 0; c < k; ++c)
            mag += std::abs(double(round_to_bf16(x[r * k + c])) * round_to_bf16(w[j * k + c]));
          const double err = std::abs(y[r * ldy + j] - exact[r * n + j]);
          worst_scale = std::max(worst_scale, err / mag);
          ASSERT_LE(err, 4.0 * double(k) * 0x1p-24 * mag + 1e-30) << name << " " << r << " " << j;
        }
        for (std::size_t j = n; j < ldy; ++j) ASSERT_EQ(y[r * ldy + j], 0.0f) << name;  // nothing past column n
      }
    };
    std::vector<float> y(rows * ldy, 0.0f);
    gemm_bf16_portable(lin, a.bf.data(), a.a.ld, rows, y.data(), ldy);
    check("bf16 portable", y);
    if (cpu_has_avx512_bf16()) {
      std::vector<float> v(rows * ldy, 0.0f);
      gemm_bf16_avx512(lin, a.bf.data(), a.a.ld, rows, v.data(), ldy);
      check("bf16 avx512", v);
      // The AVX-512 kernel follows the portable kernel's order exactly.
      for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], y[i]) << i;
    }
    if (cpu_has_avx2_fma()) {
      std::vector<float> v(rows * ldy, 0.0f);
      gemm_bf16_avx2(lin, a.bf.data(), a.a.ld, rows, v.data(), ldy);
      check("bf16 avx2", v);
      // Two fused multiply-adds per pair in the portable kernel's order: the same bits.
      for (std::size_t i = 0; i < v.size(); ++i)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(v[i]), std::bit_cast<std::uint32_t>(y[i])) << "bf16 avx2 at " << i;
    }
    if (cpu_has_amx() && amx_supports(lin)) {
      std::vector<float> v(rows * ldy, 0.0f), one(rows * ldy, 0.0f);
      gemm_bf16_amx(lin, a.bf.data(), a.a.ld, rows, v.data(), ldy);
      check("bf16 amx", v);
      for (std::size_t r = 0; r < rows; ++r) gemm_bf16_amx(lin, a.bf.data() + r * a.a.ld, a.a.ld, 1, one.data() + r * ldy, ldy);
      for (std::size_t i = 0; i < v.size(); ++i)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(v[i]), std::bit_cast<std::uint32_t>(one[i])) << "bf16 amx row alone, " << i;
    }
    RecordProperty("bf16_worst_error_over_magnitude", std::to_string(worst_scale));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, EmbedLinear,
                         ::testing::Values(std::make_tuple(1u, 48u, 16u), std::make_tuple(19u, 50u, 37u),
                                           std::make_tuple(8u, 144u, 384u), std::make_tuple(70u, 97u, 64u),
                                           std::make_tuple(13u, 16u, 1536u), std::make_tuple(150u, 200u, 130u),
                                           std::make_tuple(32u, 32u, 64u)));

// The elementwise passes are compiled once per instruction set and chosen at run time:
// the portable and AVX2 + FMA variants compute the same bits (no contraction, 1 / x by
// division), so a build without -march=native gives the same vectors on any x86-64 CPU
// without AVX-512; the AVX-512 variant (contracted multiply-adds, a refined reciprocal
// estimate) stays within float rounding of them. Every pass, with tails (k = 389, T = 37).
TEST(EmbedKernels, PassVariantsAgree) {
  using kernels::Isa;
  const PassTable& ref = isa_portable::passes();
  const std::size_t k = 389, T = 37, heads = 3, d = 32, H = heads * d, ld = 3 * H + 5;
  const auto x = randn(k, 71, 2.0), y = randn(k, 72), b = randn(k, 73, 0.1), g = randn(k, 74, 0.2);
  const auto be = randn(k, 75, 0.1), qkv = randn(T * ld, 76, 1.5), qb = randn(3 * H, 77, 0.3);
  struct Out {
    std::vector<float> ln, ln_range, gelu, gelu_range, ctx, scale;
    std::vector<std::int8_t> q;
    std::vector<std::int32_t> zero, qsum;
    std::vector<std::uint16_t> bf;
  };
  auto run = [&](const PassTable& t) {
    Out o;
    o.ln.resize(k);
    o.ln_range.resize(2);
    t.add_layer_norm(x.data(), y.data(), b.data(), g.data(), be.data(), 1e-12f, k, o.ln.data(), o.ln_range.data());
    o.gelu = x;
    o.gelu_range.resize(2);
    t.gelu_inplace(o.gelu.data(), b.data(), k, o.gelu_range.data());
    o.ctx.assign(T * H, 0.0f);
    std::vector<float> scratch(attention_scratch_floats(T, heads, d));
    t.attention(qkv.data(), ld, qb.data(), T, heads, d, o.ctx.data(), H, scratch.data());
    const std::size_t kp = padded_depth(k);
    o.q.assign(kp, 1);
    o.bf.assign(kp, 1);
    o.scale.assign(1, 0.0f);
    o.zero.assign(1, 0);
    o.qsum.assign(1, 0);
    Activations a;
    a.precision = EmbedPrecision::int8;
    a.ld = kp;
    a.q = o.q.data();
    a.scale = o.scale.data();
    a.zero = o.zero.data();
    a.qsum128 = o.qsum.data();
    t.emit_row(o.gelu.data(), k, a, 0, nullptr);
    a.precision = EmbedPrecision::bf16;
    a.bf16 = o.bf.data();
    t.emit_row(o.ln.data(), k, a, 0, nullptr);
    return o;
  };
  const Out want = run(ref);
  auto bits = [](const std::vector<float>& v) {
    std::vector<std::uint32_t> u(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) u[i] = std::bit_cast<std::uint32_t>(v[i]);
    return u;
  };
  int checked = 0;
  if (kernels::isa_supported(Isa::avx2)) {
    const Out got = run(isa_avx2::passes());
    EXPECT_EQ(bits(got.ln), bits(want.ln));
    EXPECT_EQ(bits(got.ln_range), bits(want.ln_range));
    EXPECT_EQ(bits(got.gelu), bits(want.gelu));
    EXPECT_EQ(bits(got.gelu_range), bits(want.gelu_range));
    EXPECT_EQ(bits(got.ctx), bits(want.ctx));
    EXPECT_EQ(got.q, want.q);
    EXPECT_EQ(bits(got.scale), bits(want.scale));
    EXPECT_EQ(got.zero, want.zero);
    EXPECT_EQ(got.qsum, want.qsum);
    EXPECT_EQ(got.bf, want.bf);
    ++checked;
  }
  if (kernels::isa_supported(Isa::avx512)) {
    const Out got = run(isa_avx512::passes());
    for (std::size_t i = 0; i < k; ++i) EXPECT_NEAR(got.ln[i], want.ln[i], 1e-5f * (1.0f + std::abs(want.ln[i])));
    for (std::size_t i = 0; i < k; ++i) EXPECT_NEAR(got.gelu[i], want.gelu[i], 1e-6f * (1.0f + std::abs(want.gelu[i])));
    for (std::size_t i = 0; i < got.ctx.size(); ++i) EXPECT_NEAR(got.ctx[i], want.ctx[i], 1e-5f);
    ++checked;
  }
  RecordProperty("variants_checked", checked);
}

// The AVX2 int8 kernel multiplies with VPMADDUBSW, whose 16-bit pair sums saturate: the
// extreme codes must still give the exact integers. Rows whose codes are all -128 or 127
// (a row of one negative value and zeros quantises its minimum to -128), or alternate
// between them, against weight rows at +-127 in every sign pattern; compared with a
// 64-bit sum of the codes, and bit for bit with the portable kernel.
TEST(EmbedKernels, Int8ExtremeCodesAreExact) {
  const std::size_t k = 256, n = 48, rows = 7, ldy = n;
  std::vector<float> w(n * k), b(n, 0.25f), x(rows * k);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t c = 0; c < k; ++c) {
      const int pattern = static_cast<int>(j % 4);
      const bool neg = pattern == 0 ? true : pattern == 1 ? false : pattern == 2 ? (c % 2 == 0) : ((c / 2) % 2 == 0);
      w[j * k + c] = neg ? -1.0f : 1.0f;  // every code +-127
    }
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < k; ++c) {
      float v = 0.0f;
      switch (r) {
        case 0: v = -1.0f; break;                           // all at the minimum
        case 1: v = 1.0f; break;                            // all at the maximum
        case 2: v = c % 2 ? 1.0f : -1.0f; break;            // alternating
        case 3: v = c == 0 ? 1e-3f : -1.0f; break;          // -128 nearly everywhere
        case 4: v = (c / 2) % 2 ? 1.0f : -1.0f; break;      // pairs of equal codes
        case 5: v = c % 3 == 0 ? -2.0f : 0.5f; break;
        default: v = std::sin(0.37f * static_cast<float>(c)); break;
      }
      x[r * k + c] = v;
    }
  const PackedLinear lin = pack_linear(EmbedPrecision::int8, w.data(), b.data(), n, k);
  ActBuffers a(EmbedPrecision::int8, x, rows, k);
  bool saw_min = false, saw_max = false;
  for (std::size_t i = 0; i < a.q.size(); ++i) {
    saw_min |= a.q[i] == -128;
    saw_max |= a.q[i] == 127;
  }
  ASSERT_TRUE(saw_min && saw_max);
  std::vector<float> want(rows * ldy);
  gemm_s8_portable(lin, a.a, rows, want.data(), ldy);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < n; ++j) {
      long long acc = 0;
      for (std::size_t c = 0; c < k; ++c)
        acc += (static_cast<long long>(a.q[r * a.a.ld + c]) - a.zero[r]) * (w[j * k + c] < 0 ? -127 : 127);
      const float expect = std::fma(static_cast<float>(acc), a.scale[r] * lin.wscale[j], b[j]);
      ASSERT_EQ(want[r * ldy + j], expect) << r << " " << j;
    }
  auto check = [&](const char* name, auto&& kernel) {
    std::vector<float> y(rows * ldy, 0.0f);
    kernel(y.data());
    for (std::size_t i = 0; i < y.size(); ++i)
      ASSERT_EQ(std::bit_cast<std::uint32_t>(y[i]), std::bit_cast<std::uint32_t>(want[i])) << name << " at " << i;
  };
  if (cpu_has_avx2_fma()) check("avx2", [&](float* y) { gemm_s8_avx2(lin, a.a, rows, y, ldy); });
  if (cpu_has_avx_vnni()) check("avx-vnni", [&](float* y) { gemm_s8_avxvnni(lin, a.a, rows, y, ldy); });
  if (cpu_has_avx512_vnni()) check("avx512", [&](float* y) { gemm_s8_avx512(lin, a.a, rows, y, ldy); });
  if (cpu_has_amx() && amx_supports(lin)) check("amx", [&](float* y) { gemm_s8_amx(lin, a.a, rows, y, ldy); });
}

// The feed-forward block's first layer with the activation fused into the GEMM epilogue:
// the same values and per-row ranges as the linear layer followed by the elementwise
// pass, for every precision, across row blocks (70 rows), tail tiles and a partial panel
// (n = 100), with a sanity bound against the double-precision GELU.
TEST(EmbedKernels, FusedGeluMatchesSeparatePass) {
  const std::size_t rows = 70, n = 100, k = 40, ldy = n + 5;
  const auto w = randn(n * k, 11, 0.3), b = randn(n, 12, 0.5), x = randn(rows * k, 13);
  for (EmbedPrecision p : {EmbedPrecision::fp32, EmbedPrecision::bf16, EmbedPrecision::int8}) {
    const PackedLinear lin = pack_linear(p, w.data(), b.data(), n, k);
    ActBuffers a(p, x, rows, k);
    Activations act = a.a;
    if (p == EmbedPrecision::fp32) {
      act.f32 = const_cast<float*>(x.data());
      act.ld = k;
    }
    std::vector<float> sep(rows * ldy, -7.0f), fused(rows * ldy, -7.0f), r_sep(2 * rows), r_fused(2 * rows, 99.0f);
    linear_forward(lin, act, rows, sep.data(), ldy);
    for (std::size_t r = 0; r < rows; ++r)
      gelu_inplace(sep.data() + r * ldy, p == EmbedPrecision::fp32 ? b.data() : nullptr, n, r_sep.data() + 2 * r);
    linear_gelu_forward(lin, act, rows, fused.data(), ldy, b.data(), r_fused.data());
    for (std::size_t r = 0; r < rows; ++r) {
      float lo = 0.0f, hi = 0.0f;
      for (std::size_t j = 0; j < n; ++j) {
        const float v = fused[r * ldy + j];
        EXPECT_EQ(std::bit_cast<std::uint32_t>(v), std::bit_cast<std::uint32_t>(sep[r * ldy + j])) << to_string(p) << " " << r << " " << j;
        double s = b[j];
        for (std::size_t c = 0; c < k; ++c) s += double(x[r * k + c]) * w[j * k + c];
        EXPECT_NEAR(v, 0.5 * s * std::erfc(-s / std::sqrt(2.0)), 0.05 * (1.0 + std::abs(s))) << to_string(p);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      EXPECT_EQ(r_fused[2 * r], lo) << to_string(p) << " " << r;
      EXPECT_EQ(r_fused[2 * r + 1], hi) << to_string(p) << " " << r;
      EXPECT_EQ(r_fused[2 * r], r_sep[2 * r]);
      EXPECT_EQ(r_fused[2 * r + 1], r_sep[2 * r + 1]);
      for (std::size_t j = n; j < ldy; ++j) EXPECT_EQ(fused[r * ldy + j], -7.0f);  // nothing past column n
    }
  }
}

TEST(EmbedKernels, PrecisionNames) {
  EXPECT_EQ(parse_embed_precision("fp32"), EmbedPrecision::fp32);
  EXPECT_EQ(parse_embed_precision("bfloat16"), EmbedPrecision::bf16);
  EXPECT_EQ(parse_embed_precision("int8"), EmbedPrecision::int8);
  EXPECT_EQ(to_string(EmbedPrecision::bf16), "bf16");
  EXPECT_THROW(parse_embed_precision("fp8"), InvalidArgument);
  EXPECT_TRUE(embed_precision_accelerated(EmbedPrecision::fp32));
  // "Accelerated" follows the kernel actually chosen: the tile or AVX-512 ones, never the
  // AVX2 or portable emulation of the dot products.
  for (const EmbedPrecision p : {EmbedPrecision::bf16, EmbedPrecision::int8}) {
    const std::string_view k = embed_precision_kernel(p);
    EXPECT_EQ(embed_precision_accelerated(p), k == "amx" || k.substr(0, 6) == "avx512") << k;
  }
}
