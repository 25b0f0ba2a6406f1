// The SIMD kernels of src/kernels: every instruction set this CPU runs against the
// portable instantiation, bit for bit, and the portable one against scalar references
// that spell out the promised summation order (exactly) or plain sums (tolerance).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "explain/treeshap_isa.hpp"
#include "kernels/dispatch.hpp"
#include "segmenta/kernels.hpp"

namespace {

using segmenta::AlignedVector;
using namespace segmenta::kernels;

std::vector<const KernelTable*> simd_tables() {
  std::vector<const KernelTable*> out;
  for (Isa isa : {Isa::avx2, Isa::avx512})
    if (const KernelTable* t = table_for(isa)) out.push_back(t);
  return out;
}

const KernelTable& portable() { return *table_for(Isa::portable); }

template <class T>
bool same_bits(const T* a, const T* b, std::size_t n) {
  return std::memcmp(a, b, n * sizeof(T)) == 0;
}

template <class T>
AlignedVector<T> random_values(std::size_t n, std::uint32_t seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(0.0, scale);
  AlignedVector<T> v(n);
  for (auto& e : v) e = static_cast<T>(dist(gen));
  return v;
}

TEST(KernelsDispatch, Choice) {
  EXPECT_NE(table_for(Isa::portable), nullptr);
#if defined(__x86_64__)
  // Every kernel the CPU can run is built, whatever -march the build used (a
  // per-file flag lost would leave only the portable kernels).
  EXPECT_EQ(isa_supported(Isa::avx2), __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  EXPECT_EQ(isa_supported(Isa::avx512), __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                                            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"));
#endif
  EXPECT_TRUE(isa_supported(active_isa()));
  EXPECT_EQ(table().isa, active_isa());
  EXPECT_EQ(std::string_view(isa_name(Isa::avx2)), "avx2");
  std::printf("active kernels: %s (avx2 %s, avx512 %s)\n", isa_name(active_isa()),
              isa_supported(Isa::avx2) ? "yes" : "no", isa_supported(Isa::avx512) ? "yes" : "no");
}

// Run with SEGMENTA_KERNEL set (tests/CMakeLists.txt adds such runs): the choice
// never exceeds the cap, and is the widest supported one below it.
TEST(KernelsDispatch, EnvironmentCap) {
  const char* v = std::getenv("SEGMENTA_KERNEL");
  Isa cap = Isa::avx512;
  if (v && std::string_view(v) == "portable") cap = Isa::portable;
  if (v && std::string_view(v) == "avx2") cap = Isa::avx2;
  Isa expected = Isa::portable;
  for (int i = static_cast<int>(cap); i > 0; --i)
    if (isa_supported(static_cast<Isa>(i))) {
      expected = static_cast<Isa>(i);
      break;
    }
  EXPECT_EQ(active_isa(), expected);
}

// ---------------------------------------------------------------------------
// k-means dot tiles
// ---------------------------------------------------------------------------

/// The promised order: lane l of a 64-byte vector sums x_f c_f for f = l mod L with
/// fused multiply-adds; lanes folded in the halving tree.
template <class T>
T dot_reference(const T* x, const T* c, std::size_t p) {
  constexpr std::size_t L = 64 / sizeof(T);
  T acc[L] = {};
  for (std::size_t f = 0; f < p; ++f) acc[f % L] = std::fma(x[f], c[f], acc[f % L]);
  for (std::size_t w = L / 2; w >= 1; w /= 2)
    for (std::size_t l = 0; l < w; ++l) acc[l] = acc[l] + acc[l + w];
  return acc[0];
}

template <class T>
void check_dot_distances() {
  constexpr std::size_t L = 64 / sizeof(T);
  for (std::size_t p : {1u, 3u, 7u, 8u, 15u, 16u, 17u, 40u, 70u})
    for (std::size_t m : {1u, 2u, 3u, 4u, 5u, 11u})
      for (std::size_t q : {1u, 2u, 5u, 6u, 7u, 13u}) {
        const std::size_t ldx = p + 3, ldc = (p + L - 1) / L * L;
        auto x = random_values<T>(m * ldx + 8 * ldx, static_cast<std::uint32_t>(p * 100 + m * 10 + q));
        AlignedVector<T> c(q * ldc, T(0)), cn(q);
        auto cr = random_values<T>(q * p, 7);
        for (std::size_t j = 0; j < q; ++j) std::memcpy(c.data() + j * ldc, cr.data() + j * p, p * sizeof(T));
        for (std::size_t j = 0; j < q; ++j) {
          if constexpr (std::is_same_v<T, double>)
            cn[j] = portable().dot_sq_norm_d(c.data() + j * ldc, p);
          else
            cn[j] = portable().dot_sq_norm_f(c.data() + j * ldc, p);
          EXPECT_EQ(cn[j], dot_reference(c.data() + j * ldc, c.data() + j * ldc, p));
        }
        auto run = [&](const KernelTable& t) {
          std::vector<T> out(m * q);
          if constexpr (std::is_same_v<T, double>)
            t.dot_distances_d(x.data(), m, ldx, p, c.data(), ldc, cn.data(), q, out.data());
          else
            t.dot_distances_f(x.data(), m, ldx, p, c.data(), ldc, cn.data(), q, out.data());
          return out;
        };
        const auto ref = run(portable());
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < q; ++j)
            ASSERT_EQ(ref[i * q + j], cn[j] - T(2) * dot_reference(x.data() + i * ldx, c.data() + j * ldc, p))
                << "p " << p << " m " << m << " q " << q;
        for (const KernelTable* t : simd_tables()) {
          const auto got = run(*t);
          ASSERT_TRUE(same_bits(got.data(), ref.data(), got.size()))
              << isa_name(t->isa) << " p " << p << " m " << m << " q " << q;
          for (std::size_t j = 0; j < q; ++j) {
            if constexpr (std::is_same_v<T, double>)
              ASSERT_EQ(t->dot_sq_norm_d(c.data() + j * ldc, p), cn[j]);
            else
              ASSERT_EQ(t->dot_sq_norm_f(c.data() + j * ldc, p), cn[j]);
          }
        }
      }
}

TEST(KernelsDispatch, DotDistancesDouble) { check_dot_distances<double>(); }
TEST(KernelsDispatch, DotDistancesFloat) { check_dot_distances<float>(); }

template <class T>
double sq_dist_reference(const T* a, const T* b, std::size_t p) {
  double acc[8] = {};
  std::size_t f = 0;
  for (; f + 8 <= p; f += 8)
    for (int l = 0; l < 8; ++l) {
      const double d = static_cast<double>(a[f + l]) - static_cast<double>(b[f + l]);
      acc[l] = std::fma(d, d, acc[l]);
    }
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; f < p; ++f) {
    const double d = static_cast<double>(a[f]) - static_cast<double>(b[f]);
    s = std::fma(d, d, s);
  }
  return s;
}

TEST(KernelsDispatch, SqDistDirect) {
  for (std::size_t p : {1u, 5u, 8u, 9u, 16u, 23u, 384u}) {
    const auto a = random_values<double>(p, 1), b = random_values<double>(p, 2);
    const auto af = random_values<float>(p, 3), bf = random_values<float>(p, 4);
    const double rd = sq_dist_reference(a.data(), b.data(), p);
    const double rf = sq_dist_reference(af.data(), bf.data(), p);
    EXPECT_EQ(portable().sq_dist_direct_d(a.data(), b.data(), p), rd);
    EXPECT_EQ(portable().sq_dist_direct_f(af.data(), bf.data(), p), rf);
    for (const KernelTable* t : simd_tables()) {
      EXPECT_EQ(t->sq_dist_direct_d(a.data(), b.data(), p), rd) << isa_name(t->isa) << " p " << p;
      EXPECT_EQ(t->sq_dist_direct_f(af.data(), bf.data(), p), rf) << isa_name(t->isa) << " p " << p;
    }
  }
}

// ---------------------------------------------------------------------------
// k-means panel kernel
// ---------------------------------------------------------------------------

struct Panels {
  std::size_t n, p, pp;
  AlignedVector<double> x, panels, rows, xn;
  PanelRows view() const { return {panels.data(), rows.data(), xn.data(), p, pp}; }
};

Panels make_panels(std::size_t n, std::size_t p, std::uint32_t seed) {
  Panels d{n, p, (p + 7) / 8 * 8, random_values<double>(n * p, seed), {}, {}, {}};
  const std::size_t np = (n + 7) / 8;
  d.panels.assign(np * p * 8, 0.0);
  d.rows.assign(n * d.pp, 0.0);
  d.xn.assign(np * 8, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::size_t f = 0; f < p; ++f) {
      const double v = d.x[i * p + f];
      d.panels[((i / 8) * p + f) * 8 + i % 8] = v;
      d.rows[i * d.pp + f] = v;
      s += v * v;
    }
    d.xn[i] = s;
  }
  return d;
}

double chain_dot(const double* a, const double* b, std::size_t p) {
  double s = 0;
  for (std::size_t f = 0; f < p; ++f) s = std::fma(a[f], b[f], s);
  return s;
}

TEST(KernelsDispatch, PanelKernels) {
  for (std::size_t p : {1u, 3u, 8u, 11u, 32u})
    for (std::size_t k : {1u, 2u, 5u, 9u, 17u}) {
      const std::size_t n = 203;  // not a multiple of 8
      const Panels d = make_panels(n, p, static_cast<std::uint32_t>(p * 31 + k));
      auto c = random_values<double>(k * p, 99);
      // Make some ties: centre 1 duplicates centre 0.
      if (k > 1) std::memcpy(c.data() + p, c.data(), p * sizeof(double));
      std::vector<double> cn(k);
      for (std::size_t j = 0; j < k; ++j) cn[j] = chain_dot(c.data() + j * p, c.data() + j * p, p);

      // panel_terms against the scalar fma chain, exactly.
      std::vector<double> terms(n * k);
      for (std::size_t s = 0; s < n; s += 64)
        portable().panel_terms(d.view(), c.data(), p, cn.data(), k, s, std::min(n, s + 64), terms.data() + s * k, k);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < k; ++j)
          ASSERT_EQ(terms[i * k + j], std::fma(-chain_dot(d.x.data() + i * p, c.data() + j * p, p), 2.0, cn[j]));

      std::vector<std::int32_t> ref_near(n);
      portable().panel_nearest(d.view(), k, c.data(), cn.data(), 0, n, ref_near.data());
      for (std::size_t i = 0; i < n; ++i) {
        std::int32_t best = 0;
        for (std::size_t j = 1; j < k; ++j)
          if (terms[i * k + j] < terms[i * k + static_cast<std::size_t>(best)]) best = static_cast<std::int32_t>(j);
        ASSERT_EQ(ref_near[i], best) << "row " << i;
      }

      auto lloyd = [&](const KernelTable& t, std::vector<std::int32_t>& labels, AlignedVector<double>& sets,
                       std::vector<std::size_t>& counts) {
        labels.assign(n, 0);
        sets.assign(8 * k * d.pp, 0.0);
        counts.assign(8 * k, 0);
        return t.lloyd_panel_block(d.view(), k, c.data(), cn.data(), 0, n, labels.data(), sets.data(),
                                   counts.data());
      };
      std::vector<std::int32_t> rl;
      AlignedVector<double> rs;
      std::vector<std::size_t> rc;
      const LloydTotals rt = lloyd(portable(), rl, rs, rc);
      EXPECT_EQ(rl, ref_near);
      std::size_t moved = 0;
      for (auto v : ref_near) moved += v != 0;
      EXPECT_EQ(rt.changed, moved);

      for (const KernelTable* t : simd_tables()) {
        std::vector<double> got(n * k);
        for (std::size_t s = 0; s < n; s += 64)
          t->panel_terms(d.view(), c.data(), p, cn.data(), k, s, std::min(n, s + 64), got.data() + s * k, k);
        ASSERT_TRUE(same_bits(got.data(), terms.data(), got.size())) << isa_name(t->isa) << " p " << p << " k " << k;
        std::vector<std::int32_t> near(n);
        t->panel_nearest(d.view(), k, c.data(), cn.data(), 0, n, near.data());
        EXPECT_EQ(near, ref_near) << isa_name(t->isa);
        std::vector<std::int32_t> l;
        AlignedVector<double> s;
        std::vector<std::size_t> cnt;
        const LloydTotals tt = lloyd(*t, l, s, cnt);
        EXPECT_EQ(l, rl) << isa_name(t->isa);
        EXPECT_EQ(cnt, rc) << isa_name(t->isa);
        EXPECT_TRUE(same_bits(s.data(), rs.data(), s.size())) << isa_name(t->isa) << " p " << p << " k " << k;
        EXPECT_EQ(std::memcmp(&tt.objective, &rt.objective, sizeof(double)), 0) << isa_name(t->isa);
        EXPECT_EQ(tt.changed, rt.changed);
      }
    }
}

// ---------------------------------------------------------------------------
// Silhouette tiles
// ---------------------------------------------------------------------------

struct SilData {
  std::size_t units, p;
  AlignedVector<double> w, drows, panel, norms;
  AlignedVector<double> trows_d;
  AlignedVector<float> trows_f;
};

SilData make_sil(std::size_t units, std::size_t p, std::uint32_t seed) {
  SilData s{units, p, {}, random_values<double>(units * p, seed), {}, {}, {}, {}};
  s.w.assign(units, 1.0);
  for (std::size_t u = 0; u < units; u += 7) s.w[u] = 0.0;  // padding units
  for (std::size_t u = 3; u < units; u += 11) s.w[u] = 3.0;  // merged rows
  // A few exact twins, so the GEMM path refines near pairs.
  for (std::size_t u = 5; u < units; u += 13) std::memcpy(&s.drows[u * p], &s.drows[(u - 1) * p], p * sizeof(double));
  s.panel.assign(units * p, 0.0);
  for (std::size_t u = 0; u < units; ++u)
    for (std::size_t f = 0; f < p; ++f) s.panel[(u / 8) * p * 8 + f * 8 + u % 8] = s.drows[u * p + f];
  s.trows_d = s.drows;
  s.trows_f.resize(units * p);
  for (std::size_t i = 0; i < units * p; ++i) s.trows_f[i] = static_cast<float>(s.drows[i]);
  s.norms.resize(units);
  return s;
}

template <class T>
void fill_norms_and_gemm(SilData& s, const AlignedVector<T>& rows, std::vector<T>& g) {
  const std::size_t n = s.units, p = s.p;
  for (std::size_t u = 0; u < n; ++u) {
    double a = 0;
    for (std::size_t f = 0; f < p; ++f) a += static_cast<double>(rows[u * p + f]) * static_cast<double>(rows[u * p + f]);
    s.norms[u] = a;
  }
  g.assign(n * n, T(0));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      T a = 0;
      for (std::size_t f = 0; f < p; ++f) a += rows[i * p + f] * rows[j * p + f];
      g[i * n + j] = a;
    }
}

struct SilRun {
  std::vector<double> rows, cols;
};

SilRun run_sil(const KernelTable& kt, int kind, const SilData& s, const void* g, const void* trows,
               const std::vector<SilhouetteSegment>& segs, std::size_t i0, std::size_t i1, bool cols) {
  SilhouetteTile t;
  t.p = s.p;
  t.w = s.w.data();
  t.drows = s.drows.data();
  t.panel = s.panel.data();
  t.gtile = g;
  t.r0 = 0;
  t.c0 = 0;
  t.ld = s.units;
  t.trows = trows;
  t.norms = s.norms.data();
  t.near_fraction = kind == 2 ? 0x1p-5 : 0x1p-13;
  t.segs = segs.data();
  t.nsegs = segs.size();
  SilRun r;
  r.cols.assign(s.units, 0.5);
  t.cacc = r.cols.data();
  r.rows.assign((i1 - i0) * segs.size(), 0.0);
  auto fn = kind == 0 ? kt.silhouette_direct : kind == 1 ? kt.silhouette_gemm_d : kt.silhouette_gemm_f;
  fn(t, i0, i1, cols, r.rows.data());
  return r;
}

TEST(KernelsDispatch, SilhouetteTiles) {
  for (std::size_t p : {1u, 2u, 5u, 8u, 9u, 16u, 17u, 40u}) {
    const std::size_t units = 96;
    SilData s = make_sil(units, p, static_cast<std::uint32_t>(p));
    // Segments of 1 to 4 vectors, cells in increasing order.
    const std::vector<SilhouetteSegment> segs = {{0, 8, 0}, {8, 32, 1}, {32, 40, 2}, {40, 72, 3}, {72, 96, 4}};
    std::vector<double> gd;
    std::vector<float> gf;
    for (int kind = 0; kind < 3; ++kind) {
      if (kind == 1) fill_norms_and_gemm(s, s.trows_d, gd);
      if (kind == 2) fill_norms_and_gemm(s, s.trows_f, gf);
      const void* g = kind == 1 ? static_cast<const void*>(gd.data()) : static_cast<const void*>(gf.data());
      const void* tr = kind == 1 ? static_cast<const void*>(s.trows_d.data()) : static_cast<const void*>(s.trows_f.data());
      for (bool cols : {false, true})
        for (auto [i0, i1] : {std::pair<std::size_t, std::size_t>{8, 32}, {33, 40}, {0, 96}}) {
          const SilRun ref = run_sil(portable(), kind, s, g, tr, segs, i0, i1, cols);
          // Plain sums as a sanity reference.
          for (std::size_t i = i0; i < i1; ++i)
            for (std::size_t gi = 0; gi < segs.size(); ++gi) {
              double want = 0;
              for (std::size_t j = segs[gi].begin; j < segs[gi].end; ++j) {
                double d2 = 0;
                for (std::size_t f = 0; f < p; ++f) {
                  const double t = s.drows[i * p + f] - s.drows[j * p + f];
                  d2 += t * t;
                }
                want += s.w[j] * std::sqrt(d2);
              }
              const double got = ref.rows[(i - i0) * segs.size() + gi];
              const double tol = kind == 2 ? 1e-3 * (1 + std::abs(want)) : 1e-9 * (1 + std::abs(want));
              ASSERT_NEAR(got, want, tol) << "kind " << kind << " p " << p << " row " << i << " seg " << gi;
            }
          for (const KernelTable* t : simd_tables()) {
            const SilRun got = run_sil(*t, kind, s, g, tr, segs, i0, i1, cols);
            ASSERT_TRUE(same_bits(got.rows.data(), ref.rows.data(), got.rows.size()))
                << isa_name(t->isa) << " kind " << kind << " p " << p << " rows " << i0 << ".." << i1;
            ASSERT_TRUE(same_bits(got.cols.data(), ref.cols.data(), got.cols.size()))
                << isa_name(t->isa) << " kind " << kind << " p " << p << " (column sums)";
          }
        }
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// t-SNE Barnes-Hut interactions
// ---------------------------------------------------------------------------

namespace {

TEST(KernelsDispatch, TsneInteract) {
  for (std::size_t dims : {2u, 3u})
    for (std::size_t size : {16u, 48u, 400u}) {
      auto x = random_values<float>(size, 1), y = random_values<float>(size, 2), z = random_values<float>(size, 3);
      auto count = random_values<float>(size, 4, 3.0);
      for (auto& c : count) c = std::abs(c);
      for (std::size_t i = size - 5; i < size; ++i) count[i] = 0.0f;  // padding
      const TsneList list{x.data(), y.data(), z.data(), count.data(), size};
      float p[kTsnePoints][3];
      const auto pv = random_values<float>(kTsnePoints * 3, 5);
      for (std::size_t q = 0; q < kTsnePoints; ++q)
        for (int a = 0; a < 3; ++a) p[q][a] = pv[q * 3 + static_cast<std::size_t>(a)];
      auto run = [&](const KernelTable& t, std::vector<float>& zs, std::vector<float>& fs) {
        zs.assign(kTsnePoints, 0.0f);
        fs.assign(kTsnePoints * dims, 0.0f);
        (dims == 2 ? t.tsne_interact_2d : t.tsne_interact_3d)(list, p, zs.data(), fs.data());
      };
      std::vector<float> rz, rf;
      run(portable(), rz, rf);
      for (std::size_t q = 0; q < kTsnePoints; ++q) {
        double wz = 0, wf[3] = {};
        for (std::size_t i = 0; i < size; ++i) {
          double d[3], d2 = 0;
          for (std::size_t a = 0; a < dims; ++a) {
            d[a] = static_cast<double>(p[q][a]) - (a == 0 ? x[i] : a == 1 ? y[i] : z[i]);
            d2 += d[a] * d[a];
          }
          const double w = dims == 2 ? 1.0 / (1.0 + d2) : std::pow(1.0 + 0.5 * d2, -1.5);
          wz += count[i] * w;
          for (std::size_t a = 0; a < dims; ++a) wf[a] += count[i] * w * w * d[a];
        }
        EXPECT_NEAR(rz[q], wz, 1e-5 * (1 + std::abs(wz)));
        for (std::size_t a = 0; a < dims; ++a) EXPECT_NEAR(rf[q * dims + a], wf[a], 1e-5 * (1 + std::abs(wz)));
      }
      for (const KernelTable* t : simd_tables()) {
        std::vector<float> gz, gf;
        run(*t, gz, gf);
        EXPECT_TRUE(same_bits(gz.data(), rz.data(), gz.size())) << isa_name(t->isa) << " D " << dims << " n " << size;
        EXPECT_TRUE(same_bits(gf.data(), rf.data(), gf.size())) << isa_name(t->isa) << " D " << dims << " n " << size;
      }
    }
}

}  // namespace

// ---------------------------------------------------------------------------
// k-prototypes, few numeric columns
// ---------------------------------------------------------------------------

namespace {

TEST(KernelsDispatch, KprotoNearest) {
  for (bool table : {false, true})
    for (std::size_t p : {1u, 4u, 7u})
      for (std::size_t k : {1u, 3u, 9u}) {
        const std::size_t n = 64, q = 3, kp = (k + 7) / 8 * 8, combos = 5;
        KprotoData d;
        d.p = p;
        d.q = q;
        d.stride = n;
        d.k = k;
        d.kp = kp;
        const auto num = random_values<double>(p * n, static_cast<std::uint32_t>(p + 10 * k));
        auto c = random_values<double>(p * kp, 77);
        // Prototype 1 equals prototype 0 on the numbers: ties go to the lower index.
        if (k > 1)
          for (std::size_t j = 0; j < p; ++j) c[j * kp + 1] = c[j * kp];
        std::vector<std::int32_t> cat(q * n), m(q * kp), combo(n);
        std::mt19937 gen(5);
        for (auto& v : cat) v = static_cast<std::int32_t>(gen() % 4);
        for (auto& v : m) v = static_cast<std::int32_t>(gen() % 4);
        for (auto& v : combo) v = static_cast<std::int32_t>(gen() % combos);
        const auto gt = random_values<double>(k * combos, 9);
        d.num_cols = num.data();
        d.cat_cols = cat.data();
        d.c = c.data();
        d.m = m.data();
        d.use_table = table;
        d.combo_of_row = combo.data();
        d.gt = gt.data();
        d.n_combos = combos;
        d.gamma = 0.7;
        auto run = [&](const KernelTable& t, std::vector<std::int32_t>& lab, std::vector<double>& dm) {
          lab.assign(n, -1);
          dm.assign(n, 0.0);
          t.kproto_nearest(d, 4, 0, lab.data(), dm.data());
          t.kproto_nearest(d, 2, 32, lab.data() + 32, dm.data() + 32);
          t.kproto_nearest(d, 1, 48, lab.data() + 48, dm.data() + 48);
          t.kproto_nearest(d, 1, 56, lab.data() + 56, dm.data() + 56);
        };
        std::vector<std::int32_t> rl;
        std::vector<double> rd;
        run(portable(), rl, rd);
        for (std::size_t i = 0; i < n; ++i) {
          double best = 0;
          std::int32_t bl = -1;
          for (std::size_t l = 0; l < k; ++l) {
            double s = 0;
            for (std::size_t j = 0; j < p; ++j) {
              const double t = c[j * kp + l] - num[j * n + i];
              s += t * t;
            }
            if (table) {
              s += gt[l * combos + static_cast<std::size_t>(combo[i])];
            } else {
              int mism = 0;
              for (std::size_t j = 0; j < q; ++j) mism += cat[j * n + i] != m[j * kp + l];
              s += 0.7 * mism;
            }
            if (bl < 0 || s < best) {
              best = s;
              bl = static_cast<std::int32_t>(l);
            }
          }
          ASSERT_EQ(rl[i], bl) << "row " << i;
          ASSERT_NEAR(rd[i], best, 1e-12 * (1 + std::abs(best)));
        }
        for (const KernelTable* t : simd_tables()) {
          std::vector<std::int32_t> l;
          std::vector<double> dm;
          run(*t, l, dm);
          EXPECT_EQ(l, rl) << isa_name(t->isa);
          EXPECT_TRUE(same_bits(dm.data(), rd.data(), n)) << isa_name(t->isa) << " p " << p << " k " << k;
        }
      }
}

}  // namespace

namespace {

// ---------------------------------------------------------------------------
// TreeSHAP and the surrogate's margins (explain/treeshap_isa.inc): compiled per
// instruction set with the compiler's contraction, so the variants that fuse
// multiply-adds (AVX2 + FMA, AVX-512) agree bit for bit, the portable one (no FMA)
// to rounding; margins are plain sums and agree everywhere.
// ---------------------------------------------------------------------------

namespace shap {

using segmenta::MatrixD;
using namespace segmenta::explain_detail;

// A random tree of `internal` splits over p features (children after parents, covers
// the sums of the children's).
Tree random_tree(std::mt19937& gen, std::size_t p, std::size_t internal) {
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> unit;
  Tree t;
  auto add_leaf = [&]() {
    t.left.push_back(-1);
    t.right.push_back(-1);
    t.feature.push_back(0);
    t.threshold.push_back(0.0f);
    t.default_left.push_back(0);
    t.value.push_back(normal(gen));
    t.cover.push_back(1.0 + 9.0 * unit(gen));
    return static_cast<std::int32_t>(t.left.size() - 1);
  };
  add_leaf();
  std::vector<std::int32_t> leaves{0};
  for (std::size_t s = 0; s < internal; ++s) {
    const std::size_t pick = gen() % leaves.size();
    const auto u = static_cast<std::size_t>(leaves[pick]);
    t.feature[u] = static_cast<std::int32_t>(gen() % p);
    t.threshold[u] = static_cast<float>(normal(gen));
    t.default_left[u] = static_cast<std::uint8_t>(gen() % 2);
    t.value[u] = 0.0;
    const std::int32_t l = add_leaf(), r = add_leaf();
    t.left[u] = l;
    t.right[u] = r;
    leaves[pick] = l;
    leaves.push_back(r);
  }
  for (std::size_t u = t.size(); u-- > 0;)
    if (t.left[u] >= 0)
      t.cover[u] = t.cover[static_cast<std::size_t>(t.left[u])] + t.cover[static_cast<std::size_t>(t.right[u])];
  return t;
}

struct Results {
  std::vector<std::vector<double>> means;
  std::vector<double> expected;
  MatrixD margins, contributions, reference;
};

Results run(const TreeshapFunctions& fn, const std::vector<Tree>& trees, std::size_t p, const MatrixD& x) {
  Forest f;
  f.n_features = p;
  f.n_groups = 2;
  f.base_margin = {0.5, -0.25};
  f.trees = trees;
  Results r;
  for (Tree& t : f.trees) {
    fn.finalize(t);
    r.means.push_back(t.mean);
  }
  r.expected = fn.expected_values(f);
  r.margins = fn.predict_margins(f, x);
  r.contributions = fn.contributions(f, x);
  r.reference = fn.contributions_reference(f, x);
  return r;
}

bool same(const MatrixD& a, const MatrixD& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && same_bits(a.data(), b.data(), a.rows() * a.cols());
}

double max_relative_difference(const MatrixD& a, const MatrixD& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.rows() * a.cols(); ++i) {
    const double scale = std::max({std::fabs(a.data()[i]), std::fabs(b.data()[i]), 1e-300});
    worst = std::max(worst, std::fabs(a.data()[i] - b.data()[i]) / scale);
  }
  return worst;
}

TEST(TreeshapDispatch, VariantsAgree) {
  std::mt19937 gen(17);
  const std::size_t p = 9, n = 9000;  // more than one 8192-row block
  std::vector<Tree> trees;
  for (int i = 0; i < 12; ++i) {
    // 70 splits exceed the 64-bit branch pattern: that tree takes the per-row path.
    trees.push_back(random_tree(gen, p, i == 5 ? 70 : 3 + gen() % 40));
    trees.back().group = i % 2;
  }
  std::normal_distribution<double> normal;
  MatrixD x(n, p);
  for (std::size_t i = 0; i < n * p; ++i) x.data()[i] = normal(gen);
  x(3, 2) = std::numeric_limits<double>::quiet_NaN();

  const Results base = run(*treeshap_functions(Isa::portable), trees, p, x);
  const TreeshapFunctions* fused = nullptr;
  for (Isa isa : {Isa::avx2, Isa::avx512}) {
    const TreeshapFunctions* fn = treeshap_functions(isa);
    if (!fn) continue;
    SCOPED_TRACE(isa_name(isa));
    const Results r = run(*fn, trees, p, x);
    EXPECT_TRUE(same(r.margins, base.margins));
    EXPECT_LT(max_relative_difference(r.contributions, base.contributions), 1e-9);
    EXPECT_LT(max_relative_difference(r.reference, base.reference), 1e-9);
    if (!fused) {
      fused = fn;
      continue;
    }
    // Both fuse: the same bits.
    const Results first = run(*fused, trees, p, x);
    EXPECT_EQ(r.means, first.means);
    EXPECT_EQ(r.expected, first.expected);
    EXPECT_TRUE(same(r.contributions, first.contributions));
    EXPECT_TRUE(same(r.reference, first.reference));
    for (int q = 1; q <= 8; ++q) {
      const Quadrature a = fn->gauss_legendre(q), b = fused->gauss_legendre(q);
      EXPECT_EQ(a.t, b.t);
      EXPECT_EQ(a.w, b.w);
    }
  }
}

TEST(TreeshapDispatch, PublicFunctionsCallTheActiveVariant) {
  std::mt19937 gen(3);
  const std::size_t p = 5;
  std::vector<Tree> trees;
  for (int i = 0; i < 4; ++i) {
    trees.push_back(random_tree(gen, p, 5 + gen() % 10));
    trees.back().group = i % 2;
  }
  std::normal_distribution<double> normal;
  MatrixD x(100, p);
  for (std::size_t i = 0; i < x.rows() * p; ++i) x.data()[i] = normal(gen);
  const Results want = run(*treeshap_functions(active_isa()), trees, p, x);
  Forest f;
  f.n_features = p;
  f.n_groups = 2;
  f.base_margin = {0.5, -0.25};
  f.trees = trees;
  for (Tree& t : f.trees) finalize(t);
  EXPECT_EQ(f.expected_values(), want.expected);
  EXPECT_TRUE(same(contributions(f, x), want.contributions));
  EXPECT_TRUE(same(predict_margins(f, x), want.margins));
}

}  // namespace shap

}  // namespace
