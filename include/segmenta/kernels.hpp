// segmenta kernels: pure numeric building blocks shared by the algorithm modules.
//
// Kernels trust their inputs (shapes are the caller's contract) and never throw.
// They are single-threaded; callers parallelise over fixed row blocks so that
// results never depend on the thread count. BLAS (OpenBLAS) is pinned to one
// thread by segmenta::init_blas().
#pragma once

#include <cstddef>

#include "segmenta/core.hpp"

namespace segmenta::kernels {

/// Instruction sets of the SIMD kernels (src/kernels), widest last.
enum class Isa : int { portable = 0, avx2 = 1, avx512 = 2 };

/// "portable", "avx2" or "avx512".
const char* isa_name(Isa isa) noexcept;

/// Whether this CPU runs the kernels of `isa` (portable: always; avx2: AVX2 and FMA;
/// avx512: AVX-512 F, VL, DQ and BW), whatever SEGMENTA_KERNEL says.
bool isa_supported(Isa isa) noexcept;

/// The kernels in use: the widest supported instruction set, capped by the environment
/// variable SEGMENTA_KERNEL=portable|avx2|avx512 (read once; other values: no cap).
/// Every choice gives the same results bit for bit; only the speed differs.
Isa active_isa() noexcept;

/// C (m, n) = alpha * A (m, k) * B (n, k)^T + beta * C, row-major with leading
/// dimensions lda, ldb, ldc (elements between row starts). Calls BLAS ?gemm.
void gemm_nt(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, std::size_t lda,
             const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) noexcept;
void gemm_nt(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) noexcept;

/// C (m, n) = alpha * A (m, k) * B (k, n) + beta * C, row-major. Calls BLAS ?gemm.
void gemm_nn(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, std::size_t lda,
             const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) noexcept;
void gemm_nn(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) noexcept;

/// C (m, n) = alpha * A (k, m)^T * B (k, n) + beta * C, row-major. Calls BLAS ?gemm.
void gemm_tn(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, std::size_t lda,
             const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) noexcept;
void gemm_tn(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) noexcept;

/// out[i] = sum_j x(i, j)^2 for x (n, p); out has n entries.
void row_sq_norms(ViewD x, double* out) noexcept;
void row_sq_norms(ViewF x, float* out) noexcept;

/// Squared Euclidean distance between two p-vectors by direct differences.
inline double sq_dist(const double* a, const double* b, std::size_t p) noexcept {
  double s = 0.0;
  for (std::size_t j = 0; j < p; ++j) {
    const double d = a[j] - b[j];
    s += d * d;
  }
  return s;
}
inline float sq_dist(const float* a, const float* b, std::size_t p) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < p; ++j) {
    const float d = a[j] - b[j];
    s += d * d;
  }
  return s;
}

/// d (m, n) with d(i, j) = max(0, xn[i] - 2 x_i . y_j + yn[j]) for x (m, p), y (n, p)
/// and their squared row norms xn, yn (the GEMM identity scikit-learn uses).
/// d has leading dimension ldd >= n.
void sq_distances_gemm(ViewD x, const double* xn, ViewD y, const double* yn, double* d, std::size_t ldd) noexcept;
void sq_distances_gemm(ViewF x, const float* xn, ViewF y, const float* yn, float* d, std::size_t ldd) noexcept;

/// Column means of x (n, p) into out (p), summed in fixed row blocks (thread-count independent).
void column_means(ViewD x, double* out) noexcept;

/// Sum of term(begin), ..., term(begin + n - 1) in numpy's pairwise order (the order
/// of numpy.sum over a contiguous axis): a running sum below 8 terms, 8 interleaved
/// accumulators up to 128 terms, otherwise the two halves (split at a multiple of 8)
/// summed recursively. Rounding error grows as O(log n) instead of O(n).
template <class Term>
double pairwise_sum(std::size_t begin, std::size_t n, Term&& term) {
  if (n < 8) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += term(begin + i);
    return s;
  }
  if (n <= 128) {
    double r[8];
    for (std::size_t k = 0; k < 8; ++k) r[k] = term(begin + k);
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (std::size_t k = 0; k < 8; ++k) r[k] += term(begin + i + k);
    double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) s += term(begin + i);
    return s;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(begin, half, term) + pairwise_sum(begin + half, n - half, term);
}

/// numpy's pairwise sum of a[0..n).
inline double pairwise_sum(const double* a, std::size_t n) noexcept {
  return pairwise_sum(std::size_t{0}, n, [a](std::size_t i) { return a[i]; });
}

}  // namespace segmenta::kernels
