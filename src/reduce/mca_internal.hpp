// MCA / FAMD internals: the sparse indicator structure and the symmetric
// eigensolvers (dense and thick-restart Lanczos) both methods share.
#pragma once

// GCC 12 reports the undefined pass-through operands of the AVX-512 intrinsics that
// Eigen's kernels inline as uninitialised (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE  // results must not depend on the thread count
#endif
#include <Eigen/Dense>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/block_share.hpp"
#include "segmenta/reduce.hpp"

namespace segmenta::mca_detail {

/// The indicator (one-hot) matrix of categorical codes (n, K), kept sparse: one
/// column per (variable, code present in the data), variables in order, codes
/// ascending within a variable.
struct Indicators {
  std::size_t n = 0, K = 0, J = 0;
  std::vector<std::int32_t> cell;      // (n, K): indicator column of each cell
  std::vector<std::int32_t> var, code; // (J)
  std::vector<std::size_t> count;      // (J) N_j
  std::vector<std::vector<std::int32_t>> column_of;  // [variable][code] -> column or -1
  std::vector<std::size_t> col_start;  // (J + 1) rows of column j: col_rows[col_start[j]..)
  std::vector<std::int32_t> col_rows;  // ascending within a column
};

/// Builds the structure; codes must be in 0..2^24-1 (validated by the caller).
/// Without rows, cell and col_rows stay empty: the columns, their counts and
/// column_of only, O(levels) memory (the dense paths read the codes row by row).
/// With a share of several ranks (rows = false only), each rank counts the codes of
/// its 4,096-row blocks and the counts are added (exact).
Indicators build_indicators(MatrixView<std::int32_t> codes, bool rows = true,
                            const detail::BlockShare* share = nullptr);

/// Adds cell and col_rows to a structure built without rows (O(n K) memory: the
/// Lanczos paths read them once per product).
void index_rows(Indicators& ind, MatrixView<std::int32_t> codes);

/// Co-occurrence counts B = ZᵀZ (J, J) as doubles (dense; small J only), counted
/// from the codes row by row (exact: integer counts); with a share of several ranks,
/// each counts the rows of its 4,096-row blocks into the running counts.
Eigen::MatrixXd burt_matrix(const Indicators& ind, MatrixView<std::int32_t> codes,
                            const detail::BlockShare* share = nullptr);

/// The 4,096-row blocks of the row passes of MCA and FAMD (their rank shares).
inline constexpr std::size_t kRowBlock = 4096;

/// The k largest eigenpairs of a symmetric operator, eigenvalues descending.
struct TopEigen {
  std::vector<double> values;
  Eigen::MatrixXd vectors;  // (N, k), orthonormal columns
  std::size_t matvecs = 0;
  bool converged = true;
};

/// y = A x for a symmetric N x N operator A (x, y of length N).
using Operator = std::function<void(const double* x, double* y)>;

TopEigen top_eigen_dense(const Eigen::MatrixXd& a, std::size_t k);

/// Thick-restart Lanczos with full reorthogonalisation from a fixed random start:
/// stops when every wanted Ritz pair has ||A y - θ y|| <= tol * |θ_1|, when the
/// Krylov space is exhausted (exact), or after max_matvecs products (converged =
/// false).
TopEigen top_eigen_lanczos(std::size_t n, const Operator& op, std::size_t k, double tol,
                           std::size_t max_matvecs = 20000);

/// Flips component signs so that in each column of rows the entry with the largest
/// absolute value (lowest row index on ties) is positive; flips `others` alike.
/// Returns the signs (+1 / -1).
std::vector<double> flip_signs(MatrixD& rows, std::vector<MatrixD*> others);
/// The same for `rows` holding only this rank's rows of `rounds` (in row order; all
/// of them for one process): the entry is found from every rank's largest
/// (detail::largest_entries), so the signs are those of a scan of every row.
std::vector<double> flip_signs(MatrixD& rows, std::vector<MatrixD*> others, const detail::RowRounds& rounds);

/// Percentages of eigenvalues relative to total, and their running sums.
void percentages(const std::vector<double>& eig, double total, std::vector<double>& pct, std::vector<double>& cum);

}  // namespace segmenta::mca_detail
