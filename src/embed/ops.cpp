#include "embed/ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "embed/simd.hpp"
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

float exp_approx(float x) noexcept {
  v16f v = splat(x);
  return exp16(v)[0];
}

float gelu_approx(float x) noexcept {
  v16f v = splat(x);
  return gelu16(v)[0];
}

// The passes below walk rows in 16-float steps, each as kRegsPer16 register-width parts
// (lane l of part h is lane h * kRegLanes + l of the step), so per-lane arithmetic and the
// fixed 16-lane reduction trees are the same on every build target.
constexpr int kParts = kRegsPer16;
typedef Lanes<vreg>::i32 vregi;

void add_layer_norm(const float* x, const float* y, const float* bias, const float* gamma, const float* beta, float eps,
                    std::size_t k, float* out, float* range) noexcept {
  const std::size_t kv = k / 16 * 16;
  vreg s[kParts] = {};
  float tail = 0.0f;
  for (std::size_t i = 0; i < kv; i += 16)
    for (int h = 0; h < kParts; ++h) {
      const std::size_t o = i + h * kRegLanes;
      vreg v = loadr(x + o);
      if (y) v += loadr(y + o);
      if (bias) v += loadr(bias + o);
      storer(out + o, v);
      s[h] += v;
    }
  for (std::size_t i = kv; i < k; ++i) {
    float v = x[i];
    if (y) v += y[i];
    if (bias) v += bias[i];
    out[i] = v;
    tail += v;
  }
  const float mean = (hsum(join16(s)) + tail) / static_cast<float>(k);
  vreg s2[kParts] = {};
  float tail2 = 0.0f;
  for (std::size_t i = 0; i < kv; i += 16)
    for (int h = 0; h < kParts; ++h) {
      const vreg d = loadr(out + i + h * kRegLanes) - mean;
      s2[h] += d * d;
    }
  for (std::size_t i = kv; i < k; ++i) {
    const float d = out[i] - mean;
    tail2 += d * d;
  }
  const float var = (hsum(join16(s2)) + tail2) / static_cast<float>(k);
  const float rstd = 1.0f / std::sqrt(var + eps);
  vreg lo[kParts] = {}, hi[kParts] = {};
  for (std::size_t i = 0; i < kv; i += 16)
    for (int h = 0; h < kParts; ++h) {
      const std::size_t o = i + h * kRegLanes;
      const vreg v = (loadr(out + o) - mean) * rstd * loadr(gamma + o) + loadr(beta + o);
      storer(out + o, v);
      lo[h] = vmin(lo[h], v);
      hi[h] = vmax(hi[h], v);
    }
  float tlo = 0.0f, thi = 0.0f;
  for (std::size_t i = kv; i < k; ++i) {
    out[i] = (out[i] - mean) * rstd * gamma[i] + beta[i];
    tlo = std::min(tlo, out[i]);
    thi = std::max(thi, out[i]);
  }
  if (range) {
    range[0] = std::min(hmin(join16(lo)), tlo);
    range[1] = std::max(hmax(join16(hi)), thi);
  }
}

void gelu_inplace(float* x, const float* bias, std::size_t k, float* range) noexcept {
  const std::size_t kv = k / 16 * 16;
  vreg lo[kParts] = {}, hi[kParts] = {};
  for (std::size_t i = 0; i < kv; i += 16)
    for (int h = 0; h < kParts; ++h) {
      const std::size_t o = i + h * kRegLanes;
      vreg v = loadr(x + o);
      if (bias) v += loadr(bias + o);
      v = geluv(v);
      storer(x + o, v);
      lo[h] = vmin(lo[h], v);
      hi[h] = vmax(hi[h], v);
    }
  float tlo = 0.0f, thi = 0.0f;
  for (std::size_t i = kv; i < k; ++i) {
    x[i] = gelu_approx(bias ? x[i] + bias[i] : x[i]);
    tlo = std::min(tlo, x[i]);
    thi = std::max(thi, x[i]);
  }
  if (range) {
    range[0] = std::min(hmin(join16(lo)), tlo);
    range[1] = std::max(hmax(join16(hi)), thi);
  }
}

namespace {

// Scores of two query rows against all keys: s0/s1 (tp) = q0/q1 (d) . kt (d, tp), with
// the 2 * NV accumulators in registers (each key vector is loaded once for both rows).
template <int NV>
inline void scores_pair(const float* q0, const float* q1, const float* kt, std::size_t tp, std::size_t d, float* s0,
                        float* s1) noexcept {
  constexpr int NR = NV * kRegsPer16;  // register-width accumulators per row
  vreg a[NR], b[NR];
  for (int w = 0; w < NR; ++w) a[w] = b[w] = vreg{};
  for (std::size_t c = 0; c < d; ++c) {
    const float x0 = q0[c], x1 = q1[c];
    const float* kc = kt + c * tp;
    for (int w = 0; w < NR; ++w) {
      const vreg k = loadr(kc + kRegLanes * w);
      a[w] += x0 * k;
      b[w] += x1 * k;
    }
  }
  for (int w = 0; w < NR; ++w) {
    storer(s0 + kRegLanes * w, a[w]);
    storer(s1 + kRegLanes * w, b[w]);
  }
}

// Longer sequences: one row at a time, four partial sums per key vector.
void scores_row(const float* q, const float* kt, std::size_t tp, std::size_t d, float* s) noexcept {
  for (std::size_t w = 0; w < tp / 16; ++w) {
    v16f a0 = {}, a1 = {};
    const float* kw = kt + 16 * w;
    std::size_t c = 0;
    for (; c + 1 < d; c += 2) {
      a0 += q[c] * load16(kw + c * tp);
      a1 += q[c + 1] * load16(kw + (c + 1) * tp);
    }
    if (c < d) a0 += q[c] * load16(kw + c * tp);
    store16(s + 16 * w, a0 + a1);
  }
}

void scores(const float* q0, const float* q1, const float* kt, std::size_t tp, std::size_t d, float* s0,
            float* s1) noexcept {
  switch (tp / 16) {
    case 1: return scores_pair<1>(q0, q1, kt, tp, d, s0, s1);
    case 2: return scores_pair<2>(q0, q1, kt, tp, d, s0, s1);
    case 3: return scores_pair<3>(q0, q1, kt, tp, d, s0, s1);
    case 4: return scores_pair<4>(q0, q1, kt, tp, d, s0, s1);
    case 5: return scores_pair<5>(q0, q1, kt, tp, d, s0, s1);
    case 6: return scores_pair<6>(q0, q1, kt, tp, d, s0, s1);
    case 7: return scores_pair<7>(q0, q1, kt, tp, d, s0, s1);
    case 8: return scores_pair<8>(q0, q1, kt, tp, d, s0, s1);
    default:
      scores_row(q0, kt, tp, d, s0);
      scores_row(q1, kt, tp, d, s1);
  }
}

// Softmax of the first T scores of two rows in place (padding lanes up to tp hold 0);
// writes 1 / sum of each row's exponentials (normalisation is applied to the output
// instead). The rows go through together: each is a chain of dependent reductions and
// exponentials over a few vectors, and two independent chains keep the pipelines busy.
inline void softmax_pair(float* s0, float* s1, std::size_t T, std::size_t tp, float& inv0, float& inv1) noexcept {
  const std::size_t nv = tp / 16, full = T / 16;
  const vreg floor = splat<vreg>(-3.0e38f);
  vreg mx0[kParts], mx1[kParts];
  for (int h = 0; h < kParts; ++h) mx0[h] = mx1[h] = floor;
  for (std::size_t w = 0; w < full; ++w)
    for (int h = 0; h < kParts; ++h) {
      const std::size_t o = 16 * w + h * kRegLanes;
      mx0[h] = vmax(mx0[h], loadr(s0 + o));
      mx1[h] = vmax(mx1[h], loadr(s1 + o));
    }
  vregi valid[kParts];
  for (int h = 0; h < kParts; ++h)
    for (int l = 0; l < kRegLanes; ++l)
      valid[h][l] = static_cast<std::size_t>(h * kRegLanes + l) < T - 16 * full ? -1 : 0;
  if (full < nv) {
    // Keys past T are padding: masked out of the maximum, weight exactly zero below.
    for (int h = 0; h < kParts; ++h) {
      const std::size_t o = 16 * full + h * kRegLanes;
      mx0[h] = vmax(mx0[h], valid[h] ? loadr(s0 + o) : floor);
      mx1[h] = vmax(mx1[h], valid[h] ? loadr(s1 + o) : floor);
    }
  }
  const vreg m0 = splat<vreg>(hmax(join16(mx0))), m1 = splat<vreg>(hmax(join16(mx1)));
  vreg sum0[kParts] = {}, sum1[kParts] = {};
  for (std::size_t w = 0; w < full; ++w)
    for (int h = 0; h < kParts; ++h) {
      const std::size_t o = 16 * w + h * kRegLanes;
      const vreg e0 = expv(loadr(s0 + o) - m0), e1 = expv(loadr(s1 + o) - m1);
      storer(s0 + o, e0);
      storer(s1 + o, e1);
      sum0[h] += e0;
      sum1[h] += e1;
    }
  if (full < nv) {
    for (int h = 0; h < kParts; ++h) {
      const std::size_t o = 16 * full + h * kRegLanes;
      const vreg e0 = (vreg)((vregi)expv(loadr(s0 + o) - m0) & valid[h]);
      const vreg e1 = (vreg)((vregi)expv(loadr(s1 + o) - m1) & valid[h]);
      storer(s0 + o, e0);
      storer(s1 + o, e1);
      sum0[h] += e0;
      sum1[h] += e1;
    }
  }
  inv0 = 1.0f / hsum(join16(sum0));
  inv1 = 1.0f / hsum(join16(sum1));
}

// One head, head size d = 16 * DV, on the compact inputs q (T, d) already scaled, kt
// (d, tp) the transposed keys, v (T, d); two query rows per pass so that key and value
// vectors are loaded once for both.
template <int DV>
void attention_head(const float* q, const float* kt, const float* v, std::size_t T, std::size_t tp, const float* bv,
                    float* ctx, std::size_t ldc, float* s) noexcept {
  constexpr std::size_t d = 16 * DV;
  v16f bias[DV];
  for (int c = 0; c < DV; ++c) bias[c] = bv ? load16(bv + 16 * c) : v16f{};
  float* s0 = s;
  float* s1 = s + tp;
  for (std::size_t i = 0; i < T; i += 2) {
    const bool two = i + 1 < T;
    const float* q0 = q + i * d;
    const float* q1 = two ? q0 + d : q0;
    scores(q0, q1, kt, tp, d, s0, s1);
    // A last odd row repeats q0 as its pair (scores_pair computes both), so s1 holds
    // valid scores either way; its result is not stored.
    float inv0, inv1;
    softmax_pair(s0, s1, T, tp, inv0, inv1);
    constexpr int NR = DV * kRegsPer16;
    vreg a[NR], b[NR];
    for (int c = 0; c < NR; ++c) a[c] = b[c] = vreg{};
    for (std::size_t j = 0; j < T; ++j) {
      const float p0 = s0[j], p1 = s1[j];
      const float* vj = v + j * d;
      for (int c = 0; c < NR; ++c) {
        const vreg x = loadr(vj + kRegLanes * c);
        a[c] += p0 * x;
        b[c] += p1 * x;
      }
    }
    // V's bias adds once: the probabilities sum to one.
    v16f sa[DV], sb[DV];
    std::memcpy(sa, a, sizeof sa);
    std::memcpy(sb, b, sizeof sb);
    for (int c = 0; c < DV; ++c) store16(ctx + i * ldc + 16 * c, sa[c] * inv0 + bias[c]);
    if (two)
      for (int c = 0; c < DV; ++c) store16(ctx + (i + 1) * ldc + 16 * c, sb[c] * inv1 + bias[c]);
  }
}

// Any head size, plain loops, same layout.
void attention_head_generic(const float* q, const float* kt, const float* v, std::size_t T, std::size_t tp, std::size_t d,
                            const float* bv, float* ctx, std::size_t ldc, float* s) noexcept {
  for (std::size_t i = 0; i < T; ++i) {
    for (std::size_t j = 0; j < T; ++j) s[j] = 0.0f;
    for (std::size_t c = 0; c < d; ++c)
      for (std::size_t j = 0; j < T; ++j) s[j] += q[i * d + c] * kt[c * tp + j];
    float m = s[0];
    for (std::size_t j = 1; j < T; ++j) m = s[j] > m ? s[j] : m;
    float sum = 0.0f;
    for (std::size_t j = 0; j < T; ++j) sum += (s[j] = exp_approx(s[j] - m));
    const float inv = 1.0f / sum;
    float* out = ctx + i * ldc;
    for (std::size_t c = 0; c < d; ++c) out[c] = 0.0f;
    for (std::size_t j = 0; j < T; ++j)
      for (std::size_t c = 0; c < d; ++c) out[c] += s[j] * v[j * d + c];
    for (std::size_t c = 0; c < d; ++c) out[c] = out[c] * inv + (bv ? bv[c] : 0.0f);
  }
}

}  // namespace

std::size_t attention_scratch_floats(std::size_t T, std::size_t heads, std::size_t d) noexcept {
  const std::size_t tp = (T + 15) / 16 * 16, H = heads * d;
  return H * tp + 2 * H * T + 2 * tp + 64;
}

void attention(const float* qkv, std::size_t ldq, const float* bias, std::size_t T, std::size_t heads, std::size_t d,
               float* ctx, std::size_t ldc, float* scratch) noexcept {
  const std::size_t H = heads * d, tp = (T + 15) / 16 * 16;
  float* kt = scratch;      // (heads, d, tp): keys transposed per head
  float* qs = kt + H * tp;  // (heads, T, d): queries, scaled
  float* vs = qs + H * T;   // (heads, T, d)
  float* s = vs + H * T;    // (2, tp)
  // The scale goes on Q (a product, not a division of the scores: the same 1/sqrt(d)
  // up to one rounding). One sequential pass over the sentence's rows gathers what the
  // heads need into this small, cache-resident layout.
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  if (d % 16 == 0) {
    for (std::size_t j = 0; j < T; ++j) {
      const float* row = qkv + j * ldq;
      for (std::size_t h = 0; h < heads; ++h) {
        float* qd = qs + (h * T + j) * d;
        float* vd = vs + (h * T + j) * d;
        for (std::size_t c = 0; c < d; c += 16) {
          const std::size_t col = h * d + c;
          v16f qv = load16(row + col);
          if (bias) qv += load16(bias + col);
          store16(qd + c, qv * scale);
          std::memcpy(vd + c, row + 2 * H + col, 64);
        }
      }
    }
    // Keys: 16 x 16 tiles of (key, feature) transposed into (feature, key).
    for (std::size_t j0 = 0; j0 < tp; j0 += 16)
      for (std::size_t f0 = 0; f0 < H; f0 += 16) {
        v16f tile[16];
        for (std::size_t l = 0; l < 16; ++l) {
          if (j0 + l < T) {
            tile[l] = load16(qkv + (j0 + l) * ldq + H + f0);
            if (bias) tile[l] += load16(bias + H + f0);
          } else {
            tile[l] = v16f{};
          }
        }
        transpose16(tile);
        // Feature f0 + l belongs to head (f0 + l) / d, dimension (f0 + l) % d.
        const std::size_t h = f0 / d, c0 = f0 % d;
        for (std::size_t l = 0; l < 16; ++l) store16(kt + (h * d + c0 + l) * tp + j0, tile[l]);
      }
  } else {
    for (std::size_t j = 0; j < T; ++j) {
      const float* row = qkv + j * ldq;
      for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t c = 0; c < d; ++c) {
          const std::size_t col = h * d + c;
          qs[(h * T + j) * d + c] = (row[col] + (bias ? bias[col] : 0.0f)) * scale;
          kt[(h * d + c) * tp + j] = row[H + col] + (bias ? bias[H + col] : 0.0f);
          vs[(h * T + j) * d + c] = row[2 * H + col];
        }
    }
  }
  if (d % 16 != 0)
    for (std::size_t hc = 0; hc < H; ++hc)
      for (std::size_t j = T; j < tp; ++j) kt[hc * tp + j] = 0.0f;
  for (std::size_t h = 0; h < heads; ++h) {
    const float* q = qs + h * T * d;
    const float* k = kt + h * d * tp;
    const float* v = vs + h * T * d;
    const float* bv = bias ? bias + 2 * H + h * d : nullptr;
    float* out = ctx + h * d;
    switch (d) {
      case 16: attention_head<1>(q, k, v, T, tp, bv, out, ldc, s); break;
      case 32: attention_head<2>(q, k, v, T, tp, bv, out, ldc, s); break;
      case 48: attention_head<3>(q, k, v, T, tp, bv, out, ldc, s); break;
      case 64: attention_head<4>(q, k, v, T, tp, bv, out, ldc, s); break;
      case 128: attention_head<8>(q, k, v, T, tp, bv, out, ldc, s); break;
      default: attention_head_generic(q, k, v, T, tp, d, bv, out, ldc, s); break;
    }
  }
}

void emit_row(const float* x, std::size_t k, const Activations& a, std::size_t r, const float* range) noexcept {
  const std::size_t kv = k / 16 * 16;
  const std::size_t kpad = padded_depth(k);
  switch (a.precision) {
    case EmbedPrecision::fp32: {
      float* dst = a.f32 + r * a.ld;
      if (dst != x) std::memcpy(dst, x, k * sizeof(float));
      return;
    }
    case EmbedPrecision::bf16: {
      std::uint16_t* dst = a.bf16 + r * a.ld;
      typedef Lanes<vreg>::u32 U;
      typedef Lanes<vreg>::u16 H;
      for (std::size_t i = 0; i < kv; i += kRegLanes) {
        U u = (U)loadr(x + i);
        u += 0x7fffu + ((u >> 16) & 1u);
        const H h = __builtin_convertvector(u >> 16, H);
        std::memcpy(dst + i, &h, sizeof h);
      }
      for (std::size_t i = kv; i < k; ++i) dst[i] = float_to_bf16(x[i]);
      for (std::size_t i = k; i < kpad; ++i) dst[i] = 0;
      return;
    }
    case EmbedPrecision::int8: {
      float mn = 0.0f, mx = 0.0f;
      if (range) {
        mn = range[0];
        mx = range[1];
      } else {
        vreg lo[kParts] = {}, hi[kParts] = {};
        for (std::size_t i = 0; i < kv; i += 16)
          for (int h = 0; h < kParts; ++h) {
            const vreg v = loadr(x + i + h * kRegLanes);
            lo[h] = vmin(lo[h], v);
            hi[h] = vmax(hi[h], v);
          }
        for (std::size_t i = kv; i < k; ++i) {
          mn = std::min(mn, x[i]);
          mx = std::max(mx, x[i]);
        }
        mn = std::min(mn, hmin(join16(lo)));
        mx = std::max(mx, hmax(join16(hi)));
      }
      std::int8_t* dst = a.q + r * a.ld;
      const float range = mx - mn;
      if (!(range > 0.0f) || !std::isfinite(range)) {
        std::memset(dst, 0, kpad);
        a.scale[r] = 1.0f;
        a.zero[r] = 0;
        a.qsum128[r] = 0;
        return;
      }
      const float scale = range / 255.0f;
      const float inv = 255.0f / range;
      const float zf = std::nearbyint(-128.0f - mn * inv);
      const float zero = std::min(127.0f, std::max(-128.0f, zf));
      typedef Lanes<vreg>::i8 C;
      vregi qs = {};
      std::int32_t tq = 0;
      for (std::size_t i = 0; i < kv; i += kRegLanes) {
        vreg v = round_even(loadr(x + i) * inv) + zero;
        v = vmax(vmin(v, splat<vreg>(127.0f)), splat<vreg>(-128.0f));
        const vregi qi = __builtin_convertvector(v, vregi);
        qs += qi;
        const C c = __builtin_convertvector(qi, C);
        std::memcpy(dst + i, &c, sizeof c);
      }
      for (std::size_t i = kv; i < k; ++i) {
        const float v = std::min(127.0f, std::max(-128.0f, std::nearbyint(x[i] * inv) + zero));
        dst[i] = static_cast<std::int8_t>(v);
        tq += static_cast<std::int32_t>(v);
      }
      for (std::size_t i = k; i < kpad; ++i) dst[i] = 0;
      a.scale[r] = scale;
      a.zero[r] = static_cast<std::int32_t>(zero);
      std::int32_t total = tq;
      for (int l = 0; l < kRegLanes; ++l) total += qs[l];
      a.qsum128[r] = 128 * total;
      return;
    }
  }
}

// ---------------------------------------------------------------------------
// Linear layers
// ---------------------------------------------------------------------------

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
