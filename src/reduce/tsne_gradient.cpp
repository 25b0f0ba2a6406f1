// GCC 12 reports false maybe-uninitialized warnings inside the AVX-512 intrinsics
// it emits for the masked tails of the vectorised loops below.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cmath>
#include <limits>

#include "reduce/tsne_internal.hpp"

namespace segmenta::tsne_detail {
namespace {

constexpr std::size_t kRowBlock = 512;

// Student-t kernel w(r²) for dof = 1 (2-D embeddings) and dof = 2 (3-D).
template <int Dof>
inline double kernel(double d2) noexcept {
  if constexpr (Dof == 1) {
    return 1.0 / (1.0 + d2);
  } else {
    const double t = 1.0 + 0.5 * d2;
    return 1.0 / (t * std::sqrt(t));
  }
}

// Σ w[t]·x[t] over t < len in kLanes fixed partial sums, added in a fixed order at
// the end. The compiler vectorises the lane loop at whatever width the build target
// has, but every lane sums the same terms in the same order, so the result does not
// depend on the vector width (a vectorised reduction would: its partial sums follow
// the lanes of the target, which made a -march=native map differ from a portable
// one).
template <class T>
inline T lane_dot(const T* w, const T* x, std::size_t len) noexcept {
  constexpr std::size_t kLanes = 8;
  T acc[kLanes] = {};
  std::size_t t = 0;
  for (; t + kLanes <= len; t += kLanes)
    for (std::size_t l = 0; l < kLanes; ++l) acc[l] += w[t + l] * x[t + l];
  for (std::size_t l = 0; t + l < len; ++l) acc[l] += w[t + l] * x[t + l];
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

template <std::size_t D>
double attractive_impl(const SparseP& p, const double* y, double exaggeration, bool compute_kl, double z,
                       double* attr) {
  constexpr int dof = D == 2 ? 1 : 2;
  constexpr std::size_t kChunk = 64;
  const double tiny = std::numeric_limits<float>::min();
  const std::size_t n = p.n;
  const std::uint32_t* col = p.indices.data();
  const double* val = p.values.data();
  const Blocks blocks{n, kRowBlock};
  std::vector<double> kl(blocks.count(), 0.0);
  parallel_blocks(n, kRowBlock, [&](std::size_t b, std::size_t e, std::size_t blk) {
    double klb = 0.0;
    // Neighbour differences are gathered with scalar loads (cheaper than vector
    // gathers), then the kernel and the sums run as vector code over the chunk.
    alignas(64) double diff[D][kChunk];
    alignas(64) double d2[kChunk], pw[kChunk];
    for (std::size_t i = b; i < e; ++i) {
      const double* yi = y + i * D;
      double f[D] = {};
      const std::size_t t0 = p.indptr[i], t1 = p.indptr[i + 1];
      for (std::size_t c0 = t0; c0 < t1; c0 += kChunk) {
        const std::size_t len = std::min(kChunk, t1 - c0);
        for (std::size_t t = 0; t < len; ++t) {
          const double* yj = y + static_cast<std::size_t>(col[c0 + t]) * D;
          double s = 0.0;
          for (std::size_t a = 0; a < D; ++a) {
            diff[a][t] = yi[a] - yj[a];
            s += diff[a][t] * diff[a][t];
          }
          d2[t] = s;
        }
        const double* pv = val + c0;
        for (std::size_t t = 0; t < len; ++t) pw[t] = pv[t] * kernel<dof>(d2[t]);
        for (std::size_t a = 0; a < D; ++a) f[a] += lane_dot(pw, diff[a], len);
        if (compute_kl)
          for (std::size_t t = 0; t < len; ++t) {
            const double pij = exaggeration * pv[t];
            klb += pij * std::log(std::max(pij, tiny) / std::max(kernel<dof>(d2[t]) / z, tiny));
          }
      }
      for (std::size_t a = 0; a < D; ++a) attr[i * D + a] = exaggeration * f[a];
    }
    kl[blk] = klb;
  });
  double s = 0.0;
  for (double v : kl) s += v;
  return s;
}

template <std::size_t D>
double repulsion_exact_impl(const double* y, std::size_t n, double* rep) {
  constexpr int dof = D == 2 ? 1 : 2;
  const Blocks blocks{n, 64};
  std::vector<double> zb(blocks.count(), 0.0);
  parallel_blocks(n, 64, [&](std::size_t b, std::size_t e, std::size_t blk) {
    double zs = 0.0;
    for (std::size_t i = b; i < e; ++i) {
      double f[D] = {}, zi = 0.0;
      for (std::size_t j = 0; j < n; ++j) {
        if (j == i) continue;
        double diff[D], d2 = 0.0;
        for (std::size_t a = 0; a < D; ++a) {
          diff[a] = y[i * D + a] - y[j * D + a];
          d2 += diff[a] * diff[a];
        }
        const double w = kernel<dof>(d2);
        zi += w;
        for (std::size_t a = 0; a < D; ++a) f[a] += w * w * diff[a];
      }
      for (std::size_t a = 0; a < D; ++a) rep[i * D + a] = f[a];
      zs += zi;
    }
    zb[blk] = zs;
  });
  double z = 0.0;
  for (double v : zb) z += v;
  return z;
}

template <std::size_t D>
double gradient_exact_dense_impl(const MatrixD& p, const double* y, double exaggeration, bool compute_kl,
                                 double* grad) {
  constexpr int dof = D == 2 ? 1 : 2;
  const std::size_t n = p.rows();
  const double eps = std::numeric_limits<double>::epsilon();
  const double c = 2.0 * (dof + 1.0) / dof;
  const Blocks blocks{n, 64};
  std::vector<double> part(blocks.count(), 0.0);
  auto dist2 = [&](std::size_t i, std::size_t j) {
    double d2 = 0.0;
    for (std::size_t a = 0; a < D; ++a) {
      const double u = y[i * D + a] - y[j * D + a];
      d2 += u * u;
    }
    return d2;
  };
  parallel_blocks(n, 64, [&](std::size_t b, std::size_t e, std::size_t blk) {
    double s = 0.0;
    for (std::size_t i = b; i < e; ++i)
      for (std::size_t j = 0; j < n; ++j)
        if (j != i) s += kernel<dof>(dist2(i, j));
    part[blk] = s;
  });
  double z = 0.0;
  for (double v : part) z += v;
  std::fill(part.begin(), part.end(), 0.0);
  parallel_blocks(n, 64, [&](std::size_t b, std::size_t e, std::size_t blk) {
    double kl = 0.0;
    for (std::size_t i = b; i < e; ++i) {
      double f[D] = {};
      for (std::size_t j = 0; j < n; ++j) {
        if (j == i) continue;
        const double w = kernel<dof>(dist2(i, j));
        const double q = std::max(w / z, eps);
        const double pij = exaggeration * p(i, j);
        const double m = (pij - q) * w;
        for (std::size_t a = 0; a < D; ++a) f[a] += m * (y[i * D + a] - y[j * D + a]);
        if (compute_kl) kl += pij * std::log(std::max(pij, eps) / q);
      }
      for (std::size_t a = 0; a < D; ++a) grad[i * D + a] = c * f[a];
    }
    part[blk] = kl;
  });
  double kl = 0.0;
  for (double v : part) kl += v;
  return compute_kl ? kl : 0.0;
}

}  // namespace

double attractive_forces(const SparseP& p, const double* y, std::size_t d, double exaggeration, bool compute_kl,
                         double z, double* attr) {
  return d == 2 ? attractive_impl<2>(p, y, exaggeration, compute_kl, z, attr)
                : attractive_impl<3>(p, y, exaggeration, compute_kl, z, attr);
}

struct Attraction::Impl {
  std::size_t n = 0, d = 0;
  bool symmetric = true;
  std::vector<std::size_t> ptr;  // rows of the stored entries (upper triangle, or all)
  std::vector<std::uint32_t> col;
  std::vector<float> val;
  Blocks blocks{0, 1};
  std::vector<std::size_t> hi, offset;  // per block: 1 + last row touched, start in buf
  std::vector<double> buf;
  std::vector<double> kl_plogpw, kl_p;  // per block: Σ p' log(p' / w) and Σ p'
  bool float_rows = false;               // 3-D: all pairs, float coordinates per axis
  std::vector<float> axis[3];

  // 3-D rows in float: the kernel needs a square root and a division per pair, which
  // makes vector code over all pairs (gathering the partners' coordinates) cheaper
  // than the once-per-pair scheme with its scalar scatter; scikit-learn works in
  // float32 too.
  void row_float3(std::size_t i, double* f, double exaggeration, bool compute_kl, double& kla, double& klb) const {
    const float* ax = axis[0].data();
    const float* ay = axis[1].data();
    const float* az = axis[2].data();
    const std::uint32_t* cj = col.data();
    const float* pv = val.data();
    const float px = ax[i], py = ay[i], pz = az[i];
    float fx = 0.0f, fy = 0.0f, fz = 0.0f;
    const std::size_t t0 = ptr[i], t1 = ptr[i + 1];
    constexpr std::size_t kChunk = 64;
    alignas(64) float dx[kChunk], dy[kChunk], dz[kChunk], pw[kChunk];
    for (std::size_t c0 = t0; c0 < t1; c0 += kChunk) {
      const std::size_t len = std::min(kChunk, t1 - c0);
      for (std::size_t t = 0; t < len; ++t) {
        const std::uint32_t j = cj[c0 + t];
        dx[t] = px - ax[j];
        dy[t] = py - ay[j];
        dz[t] = pz - az[j];
      }
      for (std::size_t t = 0; t < len; ++t) {
        const float u = 1.0f + 0.5f * (dx[t] * dx[t] + dy[t] * dy[t] + dz[t] * dz[t]);
        pw[t] = pv[c0 + t] / (u * std::sqrt(u));
      }
      fx += lane_dot(pw, dx, len);
      fy += lane_dot(pw, dy, len);
      fz += lane_dot(pw, dz, len);
    }
    f[0] = fx;
    f[1] = fy;
    f[2] = fz;
    if (!compute_kl) return;
    for (std::size_t t = t0; t < t1; ++t) {
      if (!(pv[t] > 0.0f)) continue;
      const std::uint32_t j = cj[t];
      const double dx = ax[i] - ax[j], dy = ay[i] - ay[j], dz = az[i] - az[j];
      const double u = 1.0 + 0.5 * (dx * dx + dy * dy + dz * dz);
      const double pij = exaggeration * pv[t];
      kla += pij * std::log(pij * u * std::sqrt(u));
      klb += pij;
    }
  }

  // One row's stored pairs, in chunks: differences gathered with scalar loads, the
  // kernel (a division, and a square root in 3-D) as vector code, then, when
  // `out` is given, the scalar scatter of the opposite terms into the partner rows.
  // Adds the row's own sum to f, and its KL parts (times kl_weight) to kla, klb.
  template <std::size_t D>
  void row(std::size_t i, const double* y, double* f, double* out, std::size_t out_first, double exaggeration,
           bool compute_kl, double kl_weight, double& kla, double& klb) const {
    constexpr int dof = D == 2 ? 1 : 2;
    constexpr std::size_t kChunk = 64;
    alignas(64) double diff[D][kChunk], d2[kChunk], pw[kChunk];
    const double* yi = y + i * D;
    for (std::size_t c0 = ptr[i]; c0 < ptr[i + 1]; c0 += kChunk) {
      const std::size_t len = std::min(kChunk, ptr[i + 1] - c0);
      const std::uint32_t* cj = col.data() + c0;
      for (std::size_t t = 0; t < len; ++t) {
        const double* yj = y + static_cast<std::size_t>(cj[t]) * D;
        double s2 = 0.0;
        for (std::size_t a = 0; a < D; ++a) {
          diff[a][t] = yi[a] - yj[a];
          s2 += diff[a][t] * diff[a][t];
        }
        d2[t] = s2;
      }
      const float* pv = val.data() + c0;
      for (std::size_t t = 0; t < len; ++t) pw[t] = static_cast<double>(pv[t]) * kernel<dof>(d2[t]);
      for (std::size_t a = 0; a < D; ++a) f[a] += lane_dot(pw, diff[a], len);
      if (out)
        for (std::size_t t = 0; t < len; ++t) {
          double* oj = out + (cj[t] - out_first) * D;
          for (std::size_t a = 0; a < D; ++a) oj[a] -= pw[t] * diff[a][t];
        }
      if (compute_kl)
        for (std::size_t t = 0; t < len; ++t) {
          if (!(pv[t] > 0.0f)) continue;
          const double pij = exaggeration * pv[t];
          // log(p' / q) = log(p' / w) + log Z, with w = pw / p.
          kla += kl_weight * pij * std::log(pij * pv[t] / pw[t]);
          klb += kl_weight * pij;
        }
    }
  }

  template <std::size_t D>
  void task(std::size_t b, const double* y, double exaggeration, bool compute_kl) {
    const std::size_t s0 = blocks.begin(b);
    double* out = buf.data() + offset[b];
    double kla = 0.0, klb = 0.0;
    if (!symmetric) {
      for (std::size_t i = s0; i < blocks.end(b); ++i) {
        double f[D] = {};
        if constexpr (D == 3) {
          if (float_rows) {
            row_float3(i, f, exaggeration, compute_kl, kla, klb);
          } else {
            row<D>(i, y, f, nullptr, 0, exaggeration, compute_kl, 1.0, kla, klb);
          }
        } else {
          row<D>(i, y, f, nullptr, 0, exaggeration, compute_kl, 1.0, kla, klb);
        }
        for (std::size_t a = 0; a < D; ++a) out[(i - s0) * D + a] = f[a];
      }
    } else {
      std::fill(out, out + (hi[b] - s0) * D, 0.0);
      for (std::size_t i = s0; i < blocks.end(b); ++i) {
        double f[D] = {};
        // Each stored pair stands for both (i, j) and (j, i) in the KL sum.
        row<D>(i, y, f, out, s0, exaggeration, compute_kl, 2.0, kla, klb);
        double* oi = out + (i - s0) * D;
        for (std::size_t a = 0; a < D; ++a) oi[a] += f[a];
      }
    }
    kl_plogpw[b] = kla;
    kl_p[b] = klb;
  }

  // Row j collects the buffers of the blocks covering it, in block order.
  void finish(std::size_t r0, std::size_t r1, double exaggeration, double* attr) const {
    for (std::size_t i = r0 * d; i < r1 * d; ++i) attr[i] = 0.0;
    for (std::size_t b = 0; b < blocks.count() && blocks.begin(b) < r1; ++b) {
      const std::size_t lo = std::max(r0, blocks.begin(b)), up = std::min(r1, hi[b]);
      const double* src = buf.data() + offset[b];
      for (std::size_t j = lo; j < up; ++j)
        for (std::size_t a = 0; a < d; ++a) attr[j * d + a] += src[(j - blocks.begin(b)) * d + a];
    }
    for (std::size_t i = r0 * d; i < r1 * d; ++i) attr[i] *= exaggeration;
  }
};

Attraction::Attraction(const SparseP& p, std::size_t d) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.n = p.n;
  m.d = d;
  m.blocks = Blocks{p.n, std::max<std::size_t>(256, (p.n + 63) / 64)};
  const std::size_t nb = m.blocks.count();
  m.hi.assign(nb, 0);
  m.offset.assign(nb + 1, 0);
  for (std::size_t b = 0; b < nb; ++b) {
    std::size_t top = m.blocks.end(b);
    for (std::size_t i = m.blocks.begin(b); i < m.blocks.end(b); ++i)
      if (p.indptr[i + 1] > p.indptr[i]) top = std::max<std::size_t>(top, p.indices[p.indptr[i + 1] - 1] + 1);
    m.hi[b] = top;
    m.offset[b + 1] = m.offset[b] + (top - m.blocks.begin(b)) * d;
  }
  // Without locality every block needs a buffer over most rows; that is still
  // cheap when rows are long (large perplexity), not when they are short.
  const std::size_t coverage = m.offset[nb] / d;
  m.symmetric = d == 2 && (coverage <= 4 * p.n || coverage <= p.nnz() / 4);
  m.float_rows = d == 3;
  if (!m.symmetric)
    for (std::size_t b = 0; b < nb; ++b) {
      m.hi[b] = m.blocks.end(b);
      m.offset[b + 1] = m.offset[b] + (m.hi[b] - m.blocks.begin(b)) * d;
    }
  m.ptr.assign(p.n + 1, 0);
  for (std::size_t i = 0; i < p.n; ++i) {
    for (std::size_t t = p.indptr[i]; t < p.indptr[i + 1]; ++t)
      if (!m.symmetric || p.indices[t] > i) {
        m.col.push_back(p.indices[t]);
        m.val.push_back(static_cast<float>(p.values[t]));
      }
    m.ptr[i + 1] = m.col.size();
  }
  m.buf.assign(m.offset[nb], 0.0);
  m.kl_plogpw.assign(nb, 0.0);
  m.kl_p.assign(nb, 0.0);
}

Attraction::~Attraction() = default;

void Attraction::prepare(const double* y) {
  Impl& m = *impl_;
  if (!m.float_rows) return;
  for (std::size_t a = 0; a < m.d; ++a) {
    m.axis[a].resize(m.n);
    for (std::size_t i = 0; i < m.n; ++i) m.axis[a][i] = static_cast<float>(y[i * m.d + a]);
  }
}

double Attraction::compute(const double* y, double exaggeration, bool compute_kl, double z, double* attr) {
  prepare(y);
  parallel_for(tasks(), [&](std::size_t b) { run_task(b, y, exaggeration, compute_kl); });
  parallel_blocks(impl_->n, 4096, [&](std::size_t r0, std::size_t r1, std::size_t) { finish(r0, r1, exaggeration, attr); });
  return compute_kl ? kl(z) : 0.0;
}

std::size_t Attraction::tasks() const noexcept { return impl_->blocks.count(); }

void Attraction::run_task(std::size_t b, const double* y, double exaggeration, bool compute_kl) {
  if (impl_->d == 2)
    impl_->task<2>(b, y, exaggeration, compute_kl);
  else
    impl_->task<3>(b, y, exaggeration, compute_kl);
}

void Attraction::finish(std::size_t r0, std::size_t r1, double exaggeration, double* attr) const {
  impl_->finish(r0, r1, exaggeration, attr);
}

double Attraction::kl(double z) const {
  double a = 0.0, b = 0.0;
  for (std::size_t k = 0; k < impl_->kl_p.size(); ++k) {
    a += impl_->kl_plogpw[k];
    b += impl_->kl_p[k];
  }
  return a + std::log(z) * b;
}

double repulsion_exact(const double* y, std::size_t n, std::size_t d, double* rep) {
  return d == 2 ? repulsion_exact_impl<2>(y, n, rep) : repulsion_exact_impl<3>(y, n, rep);
}

double gradient_exact_dense(const MatrixD& p, const double* y, std::size_t d, double exaggeration, bool compute_kl,
                            double* grad) {
  return d == 2 ? gradient_exact_dense_impl<2>(p, y, exaggeration, compute_kl, grad)
                : gradient_exact_dense_impl<3>(p, y, exaggeration, compute_kl, grad);
}

}  // namespace segmenta::tsne_detail
