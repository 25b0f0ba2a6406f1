#include <cblas.h>

#include <algorithm>

#include "segmenta/kernels.hpp"

namespace segmenta::kernels {
namespace {
inline blasint I(std::size_t v) noexcept { return static_cast<blasint>(v); }
// BLAS rejects a leading dimension of 0 even for empty operands.
inline blasint LD(std::size_t v) noexcept { return static_cast<blasint>(std::max<std::size_t>(v, 1)); }
}  // namespace

void gemm_nt(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, std::size_t lda,
             const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) noexcept {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, I(m), I(n), I(k), alpha, a, LD(lda), b, LD(ldb), beta, c,
              LD(ldc));
}
void gemm_nt(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) noexcept {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, I(m), I(n), I(k), alpha, a, LD(lda), b, LD(ldb), beta, c,
              LD(ldc));
}
void gemm_nn(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, std::size_t lda,
             const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) noexcept {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, I(m), I(n), I(k), alpha, a, LD(lda), b, LD(ldb), beta, c,
              LD(ldc));
}
void gemm_nn(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) noexcept {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, I(m), I(n), I(k), alpha, a, LD(lda), b, LD(ldb), beta, c,
              LD(ldc));
}
void gemm_tn(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, std::size_t lda,
             const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) noexcept {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I(m), I(n), I(k), alpha, a, LD(lda), b, LD(ldb), beta, c,
              LD(ldc));
}
void gemm_tn(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) noexcept {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I(m), I(n), I(k), alpha, a, LD(lda), b, LD(ldb), beta, c,
              LD(ldc));
}

}  // namespace segmenta::kernels
