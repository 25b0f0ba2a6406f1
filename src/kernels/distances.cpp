#include <algorithm>
#include <vector>

#include "segmenta/kernels.hpp"

namespace segmenta::kernels {
namespace {

template <class T>
void row_sq_norms_impl(MatrixView<T> x, T* out) noexcept {
  const std::size_t p = x.cols();
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const T* r = x.row(i);
    T s = 0;
    for (std::size_t j = 0; j < p; ++j) s += r[j] * r[j];
    out[i] = s;
  }
}

template <class T>
void sq_distances_gemm_impl(MatrixView<T> x, const T* xn, MatrixView<T> y, const T* yn, T* d,
                            std::size_t ldd) noexcept {
  const std::size_t m = x.rows(), n = y.rows();
  gemm_nt(m, n, x.cols(), T(-2), x.data(), x.stride(), y.data(), y.stride(), T(0), d, ldd);
  for (std::size_t i = 0; i < m; ++i) {
    T* row = d + i * ldd;
    const T a = xn[i];
    for (std::size_t j = 0; j < n; ++j) row[j] = std::max(T(0), row[j] + a + yn[j]);
  }
}

}  // namespace

void row_sq_norms(ViewD x, double* out) noexcept { row_sq_norms_impl(x, out); }
void row_sq_norms(ViewF x, float* out) noexcept { row_sq_norms_impl(x, out); }

void sq_distances_gemm(ViewD x, const double* xn, ViewD y, const double* yn, double* d, std::size_t ldd) noexcept {
  sq_distances_gemm_impl(x, xn, y, yn, d, ldd);
}
void sq_distances_gemm(ViewF x, const float* xn, ViewF y, const float* yn, float* d, std::size_t ldd) noexcept {
  sq_distances_gemm_impl(x, xn, y, yn, d, ldd);
}

void column_means(ViewD x, double* out) noexcept {
  const std::size_t n = x.rows(), p = x.cols();
  std::fill(out, out + p, 0.0);
  if (n == 0) return;
  // Fixed blocks of 4096 rows, partial sums added in block order.
  constexpr std::size_t block = 4096;
  std::vector<double> partial(p);
  for (std::size_t b = 0; b < n; b += block) {
    std::fill(partial.begin(), partial.end(), 0.0);
    const std::size_t e = std::min(n, b + block);
    for (std::size_t i = b; i < e; ++i) {
      const double* r = x.row(i);
      for (std::size_t j = 0; j < p; ++j) partial[j] += r[j];
    }
    for (std::size_t j = 0; j < p; ++j) out[j] += partial[j];
  }
  for (std::size_t j = 0; j < p; ++j) out[j] /= static_cast<double>(n);
}

}  // namespace segmenta::kernels
