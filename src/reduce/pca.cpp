// GCC 12 reports false maybe-uninitialized warnings inside the AVX-512 intrinsics
// that Eigen's eigensolver inlines here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <cblas.h>
#include <fmt/format.h>

#include "segmenta/kernels.hpp"
#include "segmenta/reduce.hpp"

namespace segmenta {
namespace {

constexpr std::size_t kRowBlock = 4096;            // fixed row blocks for every reduction over rows
constexpr std::size_t kGramChunkRows = 8192;       // rows per partial covariance matrix
constexpr std::size_t kChunkedGramMaxCols = 1024;  // wider data: column tiles instead
constexpr std::size_t kTile = 128;                 // column tiles of the covariance matrix
constexpr std::size_t kSubRows = 256;              // rows converted to double at a time
constexpr std::size_t kSmallCols = 32;             // up to this width, plain loops beat BLAS calls

template <class T>
void check_finite(MatrixView<T> x, const char* what) {
  std::vector<unsigned char> bad(Blocks{x.rows(), kRowBlock}.count(), 0);
  parallel_blocks(x.rows(), kRowBlock, [&](std::size_t b, std::size_t e, std::size_t blk) {
    for (std::size_t i = b; i < e && !bad[blk]; ++i) {
      const T* r = x.row(i);
      for (std::size_t j = 0; j < x.cols(); ++j)
        if (!std::isfinite(r[j])) {
          bad[blk] = 1;
          break;
        }
    }
  });
  for (unsigned char v : bad)
    if (v) throw InvalidArgument(fmt::format("{}: contains NaN or infinite values", what));
}

// Column sums of f(x_ij) over fixed row blocks, partials added in block order.
template <class T, class F>
std::vector<double> column_sums(MatrixView<T> x, F f) {
  const std::size_t p = x.cols();
  const Blocks blocks{x.rows(), kRowBlock};
  std::vector<double> partial(blocks.count() * p, 0.0);
  parallel_blocks(x.rows(), kRowBlock, [&](std::size_t b, std::size_t e, std::size_t blk) {
    double* acc = partial.data() + blk * p;
    for (std::size_t i = b; i < e; ++i) {
      const T* r = x.row(i);
      for (std::size_t j = 0; j < p; ++j) acc[j] += f(static_cast<double>(r[j]), j);
    }
  });
  std::vector<double> out(p, 0.0);
  for (std::size_t blk = 0; blk < blocks.count(); ++blk)
    for (std::size_t j = 0; j < p; ++j) out[j] += partial[blk * p + j];
  return out;
}

// Copies the scaled sub-matrix Z[rows r0..r1, cols c0..c1] into buf (row-major, r1-r0 rows).
template <class T>
void load_scaled(MatrixView<T> x, const std::vector<double>& mean, const std::vector<double>& scale, std::size_t r0,
                 std::size_t r1, std::size_t c0, std::size_t c1, double* buf) {
  const std::size_t w = c1 - c0;
  for (std::size_t i = r0; i < r1; ++i) {
    const T* r = x.row(i) + c0;
    double* o = buf + (i - r0) * w;
    for (std::size_t j = 0; j < w; ++j) o[j] = (static_cast<double>(r[j]) - mean[c0 + j]) / scale[c0 + j];
  }
}

// C = Zᵀ Z (p, p), thread-count independent. For moderate p, fixed chunks of rows
// each accumulate a partial product (BLAS syrk over converted sub-blocks) and the
// partials are added in chunk order. For wide data (p² partials too large) each
// column-tile pair is one task that runs over all rows in a fixed order.
template <class T>
MatrixD scaled_gram(MatrixView<T> x, const std::vector<double>& mean, const std::vector<double>& scale) {
  const std::size_t n = x.rows(), p = x.cols();
  MatrixD c(p, p, 0.0);
  if (p <= kChunkedGramMaxCols) {
    const Blocks chunks{n, kGramChunkRows};
    std::vector<MatrixD> partial(chunks.count());
    parallel_for(chunks.count(), [&](std::size_t b) {
      MatrixD acc(p, p, 0.0);
      std::vector<double> z(kSubRows * p);
      for (std::size_t r0 = chunks.begin(b); r0 < chunks.end(b); r0 += kSubRows) {
        const std::size_t r1 = std::min(chunks.end(b), r0 + kSubRows);
        load_scaled(x, mean, scale, r0, r1, 0, p, z.data());
        if (p <= kSmallCols) {  // a BLAS call per sub-block costs more than the work
          for (std::size_t r = 0; r < r1 - r0; ++r) {
            const double* zr = z.data() + r * p;
            for (std::size_t i = 0; i < p; ++i)
              for (std::size_t j = i; j < p; ++j) acc(i, j) += zr[i] * zr[j];
          }
          continue;
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<blasint>(p), static_cast<blasint>(r1 - r0), 1.0,
                    z.data(), static_cast<blasint>(p), 1.0, acc.data(), static_cast<blasint>(p));
      }
      partial[b] = std::move(acc);
    });
    for (const MatrixD& part : partial)
      for (std::size_t i = 0; i < p * p; ++i) c.data()[i] += part.data()[i];
    for (std::size_t i = 0; i < p; ++i)
      for (std::size_t j = 0; j < i; ++j) c(i, j) = c(j, i);
    return c;
  }
  const Blocks tiles{p, kTile};
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t a = 0; a < tiles.count(); ++a)
    for (std::size_t b = a; b < tiles.count(); ++b) pairs.emplace_back(a, b);
  parallel_for(pairs.size(), [&](std::size_t t) {
    const auto [ta, tb] = pairs[t];
    const std::size_t a0 = tiles.begin(ta), a1 = tiles.end(ta), b0 = tiles.begin(tb), b1 = tiles.end(tb);
    const std::size_t wa = a1 - a0, wb = b1 - b0;
    std::vector<double> za(kSubRows * wa), zb(ta == tb ? 0 : kSubRows * wb), acc(wa * wb, 0.0);
    for (std::size_t r0 = 0; r0 < n; r0 += kSubRows) {
      const std::size_t r1 = std::min(n, r0 + kSubRows);
      load_scaled(x, mean, scale, r0, r1, a0, a1, za.data());
      const double* zbp = za.data();
      if (ta != tb) {
        load_scaled(x, mean, scale, r0, r1, b0, b1, zb.data());
        zbp = zb.data();
      }
      kernels::gemm_tn(wa, wb, r1 - r0, 1.0, za.data(), wa, zbp, wb, 1.0, acc.data(), wb);
    }
    for (std::size_t i = 0; i < wa; ++i)
      for (std::size_t j = 0; j < wb; ++j) {
        c(a0 + i, b0 + j) = acc[i * wb + j];
        c(b0 + j, a0 + i) = acc[i * wb + j];
      }
  });
  return c;
}

// Scores Z · V for the k columns of v (p, k): fixed row blocks, each converted to
// double and multiplied through BLAS.
template <class T>
MatrixD project(MatrixView<T> x, const std::vector<double>& mean, const std::vector<double>& scale, const MatrixD& v) {
  const std::size_t n = x.rows(), p = x.cols(), k = v.cols();
  MatrixD out(n, k, 0.0);
  parallel_blocks(n, kSubRows, [&](std::size_t b, std::size_t e, std::size_t) {
    std::vector<double> z((e - b) * p);
    load_scaled(x, mean, scale, b, e, 0, p, z.data());
    if (p > kSmallCols) {
      kernels::gemm_nn(e - b, k, p, 1.0, z.data(), p, v.data(), k, 0.0, out.row(b), k);
      return;
    }
    for (std::size_t r = 0; r < e - b; ++r) {
      double* o = out.row(b + r);
      for (std::size_t j = 0; j < p; ++j)
        for (std::size_t c = 0; c < k; ++c) o[c] += z[r * p + j] * v(j, c);
    }
  });
  return out;
}

}  // namespace

template <class T>
PcaModel fit_pca(MatrixView<T> x, const PcaParams& params, Diagnostics* diag) {
  const std::size_t n = x.rows(), p = x.cols();
  if (n < 2 || p < 1) throw InvalidArgument(fmt::format("x: PCA needs at least 2 rows and 1 column, got ({}, {})", n, p));
  const std::size_t kmax = std::min(n, p);
  if (params.n_components < 1 || params.n_components > kmax)
    throw InvalidArgument(
        fmt::format("n_components: must be in [1, min(n_rows, n_columns)] = [1, {}], got {}", kmax, params.n_components));
  check_finite(x, "x");
  const std::size_t k = params.n_components;

  PcaModel m;
  m.n_samples = n;
  m.n_features = p;
  m.centered = params.center;
  m.standardized = params.standardize;
  const double dn = static_cast<double>(n);

  m.mean.assign(p, 0.0);
  if (params.center) {
    m.mean = column_sums(x, [](double v, std::size_t) { return v; });
    for (double& v : m.mean) v /= dn;
  }
  // Two-pass variance about the true column mean (also when not centring: the
  // constant-column test is about the spread, not the offset).
  std::vector<double> mu = m.mean;
  if (!params.center) {
    mu = column_sums(x, [](double v, std::size_t) { return v; });
    for (double& v : mu) v /= dn;
  }
  std::vector<double> var = column_sums(x, [&](double v, std::size_t j) { return (v - mu[j]) * (v - mu[j]); });
  for (double& v : var) v /= dn;
  const double eps = std::numeric_limits<double>::epsilon();
  std::vector<std::size_t> constant;
  m.scale.assign(p, 1.0);
  for (std::size_t j = 0; j < p; ++j) {
    // scikit-learn's _is_constant_feature bound on the rounding error of a two-pass variance.
    const double bound = dn * eps * var[j] + (dn * mu[j] * eps) * (dn * mu[j] * eps);
    const bool is_constant = var[j] <= bound;
    if (is_constant) constant.push_back(j);
    if (params.standardize && !is_constant) m.scale[j] = std::sqrt(var[j]);
  }
  if (diag && !constant.empty()) {
    std::string names;
    for (std::size_t i = 0; i < constant.size() && i < 10; ++i) names += (i ? ", " : "") + std::to_string(constant[i]);
    if (constant.size() > 10) names += ", ...";
    diag->info("pca", "constant_column",
               fmt::format("{} constant column(s) (index {}) carry no variance{}", constant.size(), names,
                           params.standardize ? " and are left unscaled" : ""));
  }

  // Principal axes v (p, k), squared singular values s2 and the column sums of Z².
  MatrixD v(p, k, 0.0);
  std::vector<double> s2(k, 0.0), zsq(p, 0.0);
  if (p <= n) {
    const MatrixD c = scaled_gram(x, m.mean, m.scale);
    for (std::size_t j = 0; j < p; ++j) zsq[j] = c(j, j);
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> cm(c.data(), p, p);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cm);
    // Eigen sorts ascending: the last k columns, reversed, are the leading axes.
    for (std::size_t c2 = 0; c2 < k; ++c2) {
      const Eigen::Index src = static_cast<Eigen::Index>(p - 1 - c2);
      s2[c2] = std::max(0.0, es.eigenvalues()(src));
      for (std::size_t j = 0; j < p; ++j) v(j, c2) = es.eigenvectors()(static_cast<Eigen::Index>(j), src);
    }
  } else {
    Eigen::MatrixXd z(n, p);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < p; ++j)
        z(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
            (static_cast<double>(x(i, j)) - m.mean[j]) / m.scale[j];
    for (std::size_t j = 0; j < p; ++j) zsq[j] = z.col(static_cast<Eigen::Index>(j)).squaredNorm();
    Eigen::BDCSVD<Eigen::MatrixXd> svd(z, Eigen::ComputeThinV);
    for (std::size_t c2 = 0; c2 < k; ++c2) {
      const double s = svd.singularValues()(static_cast<Eigen::Index>(c2));
      s2[c2] = s * s;
      for (std::size_t j = 0; j < p; ++j)
        v(j, c2) = svd.matrixV()(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(c2));
    }
  }

  m.row_coordinates = project(x, m.mean, m.scale, v);
  // svd_flip (u-based): the largest |score| of each component becomes positive.
  for (std::size_t c2 = 0; c2 < k; ++c2) {
    std::size_t arg = 0;
    double best = -1.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double a = std::abs(m.row_coordinates(i, c2));
      if (a > best) {
        best = a;
        arg = i;
      }
    }
    if (m.row_coordinates(arg, c2) < 0) {
      for (std::size_t i = 0; i < n; ++i) m.row_coordinates(i, c2) = -m.row_coordinates(i, c2);
      for (std::size_t j = 0; j < p; ++j) v(j, c2) = -v(j, c2);
    }
  }

  double trace = 0.0;
  for (double z : zsq) trace += z;
  m.total_inertia = trace / dn;
  if (diag && !(trace > 0.0)) diag->warn("pca", "zero_variance", "every column is constant: the components are arbitrary");

  m.components = MatrixD(k, p);
  for (std::size_t c2 = 0; c2 < k; ++c2)
    for (std::size_t j = 0; j < p; ++j) m.components(c2, j) = v(j, c2);
  m.singular_values.resize(k);
  m.eigenvalues.resize(k);
  m.explained_variance.resize(k);
  m.explained_variance_ratio.resize(k);
  m.percentage_of_variance.resize(k);
  m.cumulative_percentage_of_variance.resize(k);
  double cum = 0.0;
  for (std::size_t c2 = 0; c2 < k; ++c2) {
    m.singular_values[c2] = std::sqrt(s2[c2]);
    m.eigenvalues[c2] = s2[c2] / dn;
    m.explained_variance[c2] = s2[c2] / (dn - 1.0);
    m.explained_variance_ratio[c2] = trace > 0.0 ? s2[c2] / trace : 0.0;
    m.percentage_of_variance[c2] = 100.0 * m.explained_variance_ratio[c2];
    cum += m.percentage_of_variance[c2];
    m.cumulative_percentage_of_variance[c2] = cum;
  }
  m.column_correlations = MatrixD(p, k, 0.0);
  for (std::size_t j = 0; j < p; ++j) {
    if (!(zsq[j] > 0.0)) continue;
    const double denom = std::sqrt(zsq[j] / dn);
    for (std::size_t c2 = 0; c2 < k; ++c2)
      m.column_correlations(j, c2) = v(j, c2) * std::sqrt(m.eigenvalues[c2]) / denom;
  }
  return m;
}

template <class T>
MatrixD PcaModel::transform(MatrixView<T> x) const {
  if (components.empty()) throw NotFitted("PcaModel: transform called before fit_pca");
  if (x.cols() != n_features)
    throw InvalidArgument(fmt::format("x: expected {} columns, got {}", n_features, x.cols()));
  MatrixD v(n_features, components.rows());
  for (std::size_t c = 0; c < components.rows(); ++c)
    for (std::size_t j = 0; j < n_features; ++j) v(j, c) = components(c, j);
  return project(x, mean, scale, v);
}

template PcaModel fit_pca<double>(ViewD, const PcaParams&, Diagnostics*);
template PcaModel fit_pca<float>(ViewF, const PcaParams&, Diagnostics*);
template MatrixD PcaModel::transform<double>(ViewD) const;
template MatrixD PcaModel::transform<float>(ViewF) const;

}  // namespace segmenta
