#include <algorithm>
#include <cmath>
#include <limits>

#include "reduce/fft.hpp"
#include "reduce/tsne_internal.hpp"

namespace segmenta::tsne_detail {
namespace {

// Grid arithmetic runs in double: the |y|² charge cancels against (1 + |y_i|²)·φ0
// when Z is assembled, so float grids would cost several digits of Z far from the
// grid centre.
using R = double;
constexpr std::size_t kLanes = 32;     // sequences per FFT strip
constexpr std::size_t kPointBlock = 2048;
constexpr int kLadderSteps = 8;        // box widths below the target come in steps of 2^(1/8)

}  // namespace

struct FftRepulsion::Impl {
  std::size_t min_intervals, p;
  double target_width;  // 1 / intervals_per_unit

  // Current grid: nb boxes of width h per side, N = p nb nodes, FFT length M >= 2N - 1.
  std::size_t nb = 0, n_nodes = 0, m = 0;
  int ladder = -1;
  double h = 0.0;
  FftPlan<R> plan;
  std::vector<R> khat;                    // (M, M) kernel spectrum / M², layout [kx][ky]
  std::vector<R> gre[2], gim[2];          // (N, N) packed charges, then potentials
  std::vector<R> sre[2], sim[2];          // (M, M) work space of the two packed grids
  std::vector<double> denom;              // Lagrange denominators
  std::vector<std::uint32_t> bx, by;      // box of every point
  std::vector<double> wx, wy;             // (n, p) interpolation weights
  std::vector<std::uint32_t> row_start, row_order;
  std::vector<double> zbuf;
  std::vector<double> kbox;  // (p², p²) kernel between the nodes of one box

  Impl(std::size_t min_iv, double per_unit, std::size_t points)
      : min_intervals(min_iv), p(points), target_width(1.0 / per_unit) {
    denom.assign(p, 1.0);
    for (std::size_t k = 0; k < p; ++k)
      for (std::size_t j = 0; j < p; ++j)
        if (j != k) denom[k] *= node(k) - node(j);
  }

  double node(std::size_t k) const { return (static_cast<double>(k) + 0.5) / static_cast<double>(p); }

  void weights(double u, double* w) const {
    for (std::size_t k = 0; k < p; ++k) {
      double v = 1.0;
      for (std::size_t j = 0; j < p; ++j)
        if (j != k) v *= u - node(j);
      w[k] = v / denom[k];
    }
  }

  // Runs fn(strip_begin, lanes) over strips of `count` lanes, in parallel; each
  // strip is independent, so the result does not depend on the thread count.
  template <class F>
  void strips(std::size_t count, std::size_t grids, F fn) {
    const std::size_t ns = (count + kLanes - 1) / kLanes;
    parallel_for(ns * grids, [&](std::size_t t) {
      thread_local std::vector<R> br, bi, cr, ci;
      br.resize(m * kLanes);
      bi.resize(m * kLanes);
      cr.resize(m * kLanes);
      ci.resize(m * kLanes);
      const std::size_t s = t % ns, g = t / ns;
      const std::size_t c0 = s * kLanes;
      fn(g, c0, std::min(kLanes, count - c0), br.data(), bi.data(), cr.data(), ci.data());
    });
  }

  void choose_grid(double extent) {
    const double need = extent * (1.0 + 1e-6) + 1e-12;
    int lad = 0;
    std::size_t nbox = 0;
    if (need / target_width <= static_cast<double>(min_intervals)) {
      nbox = min_intervals;
      // Smallest width on the ladder target · 2^(-j/8) that still covers the extent.
      lad = static_cast<int>(std::floor(kLadderSteps * std::log2(target_width * static_cast<double>(nbox) / need)));
      lad = std::max(lad, 0);
      while (lad > 0 && target_width * std::exp2(-lad / static_cast<double>(kLadderSteps)) * static_cast<double>(nbox) < need)
        --lad;
    } else {
      nbox = static_cast<std::size_t>(std::ceil(need / target_width));
    }
    const bool covers = nb > 0 && h * static_cast<double>(nb) >= need;
    if (covers && ladder == lad && (lad > 0 || nb <= nbox + std::max<std::size_t>(2, nbox / 10))) return;
    if (lad == 0 && need / target_width > static_cast<double>(min_intervals))
      nbox = static_cast<std::size_t>(std::ceil(need * 1.05 / target_width));  // headroom: fewer kernel rebuilds
    nb = nbox;
    ladder = lad;
    h = target_width * std::exp2(-lad / static_cast<double>(kLadderSteps));
    n_nodes = p * nb;
    m = next_fast_size(2 * n_nodes - 1);
    plan = FftPlan<R>(m);
    for (int g = 0; g < 2; ++g) {
      gre[g].assign(n_nodes * n_nodes, 0.0);
      gim[g].assign(n_nodes * n_nodes, 0.0);
      sre[g].assign(m * m, 0.0);
      sim[g].assign(m * m, 0.0);
    }
    build_kernel();
    const double sp = h / static_cast<double>(p);
    const std::size_t q = p * p;
    kbox.assign(q * q, 0.0);
    for (std::size_t u = 0; u < q; ++u)
      for (std::size_t v = 0; v < q; ++v) {
        const double dy = (static_cast<double>(u / p) - static_cast<double>(v / p)) * sp;
        const double dx = (static_cast<double>(u % p) - static_cast<double>(v % p)) * sp;
        const double r2 = dx * dx + dy * dy;
        kbox[u * q + v] = 1.0 / ((1.0 + r2) * (1.0 + r2));
      }
  }

  void build_kernel() {
    const double s = h / static_cast<double>(p);
    const std::size_t nn = n_nodes;
    auto lag = [&](std::size_t a) -> double {
      if (a < nn) return static_cast<double>(a);
      if (a + nn > m) return static_cast<double>(a) - static_cast<double>(m);
      return std::numeric_limits<double>::quiet_NaN();  // never paired with a node
    };
    std::vector<R>& kr = sre[0];
    std::vector<R>& ki = sim[0];
    for (std::size_t a = 0; a < m; ++a)
      for (std::size_t b = 0; b < m; ++b) {
        const double la = lag(a), lb = lag(b);
        const double r2 = (la * la + lb * lb) * s * s;
        const double v = 1.0 / ((1.0 + r2) * (1.0 + r2));
        kr[a * m + b] = std::isnan(v) ? 0.0 : v;
        ki[a * m + b] = 0.0;
      }
    const auto& order = plan.input_order();
    khat.assign(m * m, 0.0);
    // Along the first index, results stored transposed: S[b][ka].
    std::vector<R>& tr = sre[1];
    std::vector<R>& ti = sim[1];
    strips(m, 1, [&](std::size_t, std::size_t c0, std::size_t w, R* br, R* bi, R*, R*) {
      for (std::size_t t = 0; t < m; ++t)
        for (std::size_t l = 0; l < kLanes; ++l) {
          br[t * kLanes + l] = l < w ? kr[order[t] * m + c0 + l] : 0.0;
          bi[t * kLanes + l] = 0.0;
        }
      plan.run(br, bi, kLanes, false);
      for (std::size_t l = 0; l < w; ++l)
        for (std::size_t t = 0; t < m; ++t) {
          tr[(c0 + l) * m + t] = br[t * kLanes + l];
          ti[(c0 + l) * m + t] = bi[t * kLanes + l];
        }
    });
    const double scale = 1.0 / (static_cast<double>(m) * static_cast<double>(m));
    strips(m, 1, [&](std::size_t, std::size_t c0, std::size_t w, R* br, R* bi, R*, R*) {
      for (std::size_t t = 0; t < m; ++t)
        for (std::size_t l = 0; l < kLanes; ++l) {
          br[t * kLanes + l] = l < w ? tr[order[t] * m + c0 + l] : 0.0;
          bi[t * kLanes + l] = l < w ? ti[order[t] * m + c0 + l] : 0.0;
        }
      plan.run(br, bi, kLanes, false);
      for (std::size_t t = 0; t < m; ++t)
        for (std::size_t l = 0; l < w; ++l) khat[t * m + c0 + l] = br[t * kLanes + l] * scale;
    });
  }

  // Convolves both packed grids with the kernel in place: gre/gim become potentials.
  void convolve() {
    const auto& order = plan.input_order();
    const std::size_t nn = n_nodes;
    // Along y for every x < N; stored transposed, S[x][ky].
    strips(nn, 2, [&](std::size_t g, std::size_t c0, std::size_t w, R* br, R* bi, R*, R*) {
      const R* xr = gre[g].data();
      const R* xi = gim[g].data();
      for (std::size_t t = 0; t < m; ++t) {
        const std::size_t row = order[t];
        for (std::size_t l = 0; l < kLanes; ++l) {
          const bool live = row < nn && l < w;
          br[t * kLanes + l] = live ? xr[row * nn + c0 + l] : 0.0;
          bi[t * kLanes + l] = live ? xi[row * nn + c0 + l] : 0.0;
        }
      }
      plan.run(br, bi, kLanes, false);
      R* sr = sre[g].data();
      R* si = sim[g].data();
      for (std::size_t l = 0; l < w; ++l)
        for (std::size_t t = 0; t < m; ++t) {
          sr[(c0 + l) * m + t] = br[t * kLanes + l];
          si[(c0 + l) * m + t] = bi[t * kLanes + l];
        }
    });
    // Along x for every ky: forward, times the kernel spectrum, inverse; keep x < N.
    strips(m, 2, [&](std::size_t g, std::size_t c0, std::size_t w, R* br, R* bi, R* cr, R* ci) {
      R* sr = sre[g].data();
      R* si = sim[g].data();
      for (std::size_t t = 0; t < m; ++t) {
        const std::size_t row = order[t];
        for (std::size_t l = 0; l < kLanes; ++l) {
          const bool live = row < nn && l < w;
          br[t * kLanes + l] = live ? sr[row * m + c0 + l] : 0.0;
          bi[t * kLanes + l] = live ? si[row * m + c0 + l] : 0.0;
        }
      }
      plan.run(br, bi, kLanes, false);
      for (std::size_t t = 0; t < m; ++t) {
        const R* kh = khat.data() + t * m + c0;
        for (std::size_t l = 0; l < kLanes; ++l) {
          const R f = l < w ? kh[l] : 0.0;
          br[t * kLanes + l] *= f;
          bi[t * kLanes + l] *= f;
        }
      }
      for (std::size_t t = 0; t < m; ++t) {
        std::copy_n(br + order[t] * kLanes, kLanes, cr + t * kLanes);
        std::copy_n(bi + order[t] * kLanes, kLanes, ci + t * kLanes);
      }
      plan.run(cr, ci, kLanes, true);
      for (std::size_t t = 0; t < nn; ++t)
        for (std::size_t l = 0; l < w; ++l) {
          sr[t * m + c0 + l] = cr[t * kLanes + l];
          si[t * m + c0 + l] = ci[t * kLanes + l];
        }
    });
    // Inverse along ky for every x < N (transposed load); keep y < N.
    strips(nn, 2, [&](std::size_t g, std::size_t c0, std::size_t w, R* br, R* bi, R*, R*) {
      const R* sr = sre[g].data();
      const R* si = sim[g].data();
      for (std::size_t l = 0; l < kLanes; ++l) {
        if (l >= w) {
          for (std::size_t t = 0; t < m; ++t) br[t * kLanes + l] = bi[t * kLanes + l] = 0.0;
          continue;
        }
        const R* rr = sr + (c0 + l) * m;
        const R* ri = si + (c0 + l) * m;
        for (std::size_t t = 0; t < m; ++t) {
          br[t * kLanes + l] = rr[order[t]];
          bi[t * kLanes + l] = ri[order[t]];
        }
      }
      plan.run(br, bi, kLanes, true);
      R* xr = gre[g].data();
      R* xi = gim[g].data();
      for (std::size_t t = 0; t < nn; ++t)
        for (std::size_t l = 0; l < w; ++l) {
          xr[t * nn + c0 + l] = br[t * kLanes + l];
          xi[t * nn + c0 + l] = bi[t * kLanes + l];
        }
    });
  }

  double repulsion(const double* y, std::size_t n, double* rep) {
    double lo[2] = {y[0], y[1]}, hi[2] = {y[0], y[1]};
    for (std::size_t i = 1; i < n; ++i)
      for (std::size_t a = 0; a < 2; ++a) {
        lo[a] = std::min(lo[a], y[2 * i + a]);
        hi[a] = std::max(hi[a], y[2 * i + a]);
      }
    choose_grid(std::max(hi[0] - lo[0], hi[1] - lo[1]));
    const double centre[2] = {0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1])};
    const double half = 0.5 * h * static_cast<double>(nb);
    const double origin[2] = {centre[0] - half, centre[1] - half};

    bx.resize(n);
    by.resize(n);
    wx.resize(n * p);
    wy.resize(n * p);
    parallel_blocks(n, kPointBlock, [&](std::size_t b, std::size_t e, std::size_t) {
      for (std::size_t i = b; i < e; ++i) {
        std::uint32_t box[2];
        double u[2];
        for (std::size_t a = 0; a < 2; ++a) {
          const double s = (y[2 * i + a] - origin[a]) / h;
          const double f = std::clamp(std::floor(s), 0.0, static_cast<double>(nb - 1));
          box[a] = static_cast<std::uint32_t>(f);
          u[a] = s - f;
        }
        bx[i] = box[0];
        by[i] = box[1];
        weights(u[0], wx.data() + i * p);
        weights(u[1], wy.data() + i * p);
      }
    });
    // Points grouped by box row (stable): a box row owns p grid rows, so rows can be
    // filled in parallel and every grid value is summed in point order.
    row_start.assign(nb + 1, 0);
    for (std::size_t i = 0; i < n; ++i) ++row_start[by[i] + 1];
    for (std::size_t r = 0; r < nb; ++r) row_start[r + 1] += row_start[r];
    row_order.resize(n);
    {
      std::vector<std::uint32_t> fill(row_start.begin(), row_start.end() - 1);
      for (std::size_t i = 0; i < n; ++i) row_order[fill[by[i]]++] = static_cast<std::uint32_t>(i);
    }
    const std::size_t nn = n_nodes;
    parallel_blocks(nb, 4, [&](std::size_t rb, std::size_t re, std::size_t) {
      for (int g = 0; g < 2; ++g) {
        std::fill(gre[g].begin() + static_cast<std::ptrdiff_t>(rb * p * nn),
                  gre[g].begin() + static_cast<std::ptrdiff_t>(re * p * nn), 0.0);
        std::fill(gim[g].begin() + static_cast<std::ptrdiff_t>(rb * p * nn),
                  gim[g].begin() + static_cast<std::ptrdiff_t>(re * p * nn), 0.0);
      }
      for (std::size_t r = rb; r < re; ++r)
        for (std::uint32_t t = row_start[r]; t < row_start[r + 1]; ++t) {
          const std::size_t i = row_order[t];
          const double qx = y[2 * i] - centre[0], qy = y[2 * i + 1] - centre[1];
          const double q[4] = {1.0, qx, qy, qx * qx + qy * qy};
          const double* ux = wx.data() + i * p;
          const double* uy = wy.data() + i * p;
          for (std::size_t ky = 0; ky < p; ++ky) {
            const std::size_t rowoff = (r * p + ky) * nn + bx[i] * p;
            for (std::size_t kx = 0; kx < p; ++kx) {
              const double wgt = uy[ky] * ux[kx];
              gre[0][rowoff + kx] += wgt * q[0];
              gim[0][rowoff + kx] += wgt * q[1];
              gre[1][rowoff + kx] += wgt * q[2];
              gim[1][rowoff + kx] += wgt * q[3];
            }
          }
        }
    });

    convolve();

    zbuf.resize(n);
    parallel_blocks(n, kPointBlock, [&](std::size_t b, std::size_t e, std::size_t) {
      for (std::size_t i = b; i < e; ++i) {
        double phi[4] = {};
        const double* ux = wx.data() + i * p;
        const double* uy = wy.data() + i * p;
        for (std::size_t ky = 0; ky < p; ++ky) {
          const std::size_t rowoff = (by[i] * p + ky) * nn + bx[i] * p;
          for (std::size_t kx = 0; kx < p; ++kx) {
            const double wgt = uy[ky] * ux[kx];
            phi[0] += wgt * gre[0][rowoff + kx];
            phi[1] += wgt * gim[0][rowoff + kx];
            phi[2] += wgt * gre[1][rowoff + kx];
            phi[3] += wgt * gim[1][rowoff + kx];
          }
        }
        const double qx = y[2 * i] - centre[0], qy = y[2 * i + 1] - centre[1];
        // The grid's own estimate of the j = i term (exactly 1 without interpolation
        // error) comes out of Σ_j w_ij: subtracting it, not 1, removes the bias the
        // self term would leave in Z.
        double self = 0.0;
        const std::size_t q = p * p;
        for (std::size_t u = 0; u < q; ++u) {
          const double lu = uy[u / p] * ux[u % p];
          double acc = 0.0;
          for (std::size_t v = 0; v < q; ++v) acc += kbox[u * q + v] * uy[v / p] * ux[v % p];
          self += lu * acc;
        }
        // Σ_j w_ij = Σ_j K(y_i, y_j)(1 + |y_i|² - 2 y_i·y_j + |y_j|²).
        zbuf[i] = (1.0 + qx * qx + qy * qy) * phi[0] - 2.0 * (qx * phi[1] + qy * phi[2]) + phi[3] - self;
        rep[2 * i] = qx * phi[0] - phi[1];
        rep[2 * i + 1] = qy * phi[0] - phi[2];
      }
    });
    const Blocks blocks{n, 4096};
    double z = 0.0;
    for (std::size_t blk = 0; blk < blocks.count(); ++blk) {
      double s = 0.0;
      for (std::size_t i = blocks.begin(blk); i < blocks.end(blk); ++i) s += zbuf[i];
      z += s;
    }
    return z;
  }
};

FftRepulsion::FftRepulsion(std::size_t min_intervals, double intervals_per_unit, std::size_t points)
    : impl_(std::make_unique<Impl>(min_intervals, intervals_per_unit, points)) {}

FftRepulsion::~FftRepulsion() = default;

double FftRepulsion::repulsion(const double* y, std::size_t n, double* rep) { return impl_->repulsion(y, n, rep); }

std::size_t FftRepulsion::boxes_per_side() const noexcept { return impl_->nb; }

}  // namespace segmenta::tsne_detail
