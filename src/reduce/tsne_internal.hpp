// Building blocks of t-SNE, shared by the driver (tsne.cpp) and the unit tests.
// Not part of the public interface: kernels here trust their inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "segmenta/core.hpp"

namespace segmenta::tsne_detail {

// ---------------------------------------------------------------------------
// Exact k nearest neighbours
// ---------------------------------------------------------------------------

/// The k nearest neighbours of every row (itself excluded), ordered by
/// (squared distance, index): the set is unique even with duplicate rows.
struct Neighbors {
  std::size_t n = 0, k = 0;
  std::vector<std::uint32_t> index;  // (n, k)
  std::vector<double> sqdist;        // (n, k), by direct differences in double
};

enum class KnnAlgorithm {
  automatic,     // vp_tree for p <= 16, blocked_gemm otherwise
  vp_tree,       // vantage-point tree with bucket leaves, exact search
  blocked_gemm,  // all pairs through BLAS in tiles, top k kept per row
  brute          // direct differences over all pairs (the oracle in tests)
};

/// Exact kNN of the rows of x (n, p); 1 <= k <= n - 1. Distances are recomputed by
/// direct differences in double for the returned neighbours, and the lists sorted by
/// (distance, index). The GEMM path selects candidates with the GEMM identity, so
/// near-ties within rounding of the identity may pick a different member of a tie.
template <class T>
Neighbors exact_knn(MatrixView<T> x, std::size_t k, KnnAlgorithm algorithm = KnnAlgorithm::automatic);

// ---------------------------------------------------------------------------
// Affinities
// ---------------------------------------------------------------------------

/// scikit-learn's _binary_search_perplexity for one row: sqdist (len) are the
/// squared distances to the candidates (entry `skip` is ignored and gets 0, pass
/// len or more for none). Writes the conditional probabilities to out (len).
/// Returns true when |entropy - log(perplexity)| <= 1e-5 within 100 steps.
bool conditional_row(const double* sqdist, std::size_t len, std::size_t skip, double perplexity, double* out);

/// Symmetric joint probabilities in CSR form, rows sorted by column, no diagonal.
struct SparseP {
  std::size_t n = 0;
  std::vector<std::size_t> indptr;     // n + 1
  std::vector<std::uint32_t> indices;  // nnz
  std::vector<double> values;          // nnz, summing to 1
  std::size_t nnz() const noexcept { return values.size(); }
};

/// P = (C + Cᵀ) / sum(C + Cᵀ) from the conditional probabilities C of the kNN lists
/// (scikit-learn's _joint_probabilities_nn). Counts the rows whose binary search
/// did not converge into *not_converged when given.
SparseP joint_probabilities_nn(const Neighbors& nn, double perplexity, std::size_t* not_converged = nullptr);

/// A locality order of the points: breadth-first over the graph of P, starting from
/// the lowest unvisited index, neighbours in column order. Rows adjacent in P end up
/// close in memory, which keeps the attraction's neighbour loads in cache.
std::vector<std::uint32_t> locality_order(const SparseP& p);

/// P relabelled: row/column order[k] of p becomes row/column k (rows sorted again).
SparseP permute(const SparseP& p, const std::vector<std::uint32_t>& order);

/// scikit-learn's _joint_probabilities (method 'exact'): dense (n, n) P from all pairs,
/// max(P, DBL_EPSILON) off the diagonal, 0 on it.
template <class T>
MatrixD joint_probabilities_dense(MatrixView<T> x, double perplexity, std::size_t* not_converged = nullptr);

// ---------------------------------------------------------------------------
// Gradient parts. The embedding y is (n, d) row-major; the Student-t kernel is
// w(r²) = (1 + r²/dof)^(-(dof+1)/2) with dof = max(d - 1, 1) (1 or 2 here).
// The KL gradient is  c · (exaggeration · attr_i - rep_i / Z),  c = 2 (dof+1) / dof,
// attr_i = Σ_j p_ij w_ij (y_i - y_j),  rep_i = Σ_j w_ij² (y_i - y_j),  Z = Σ_{i≠j} w_ij.
// ---------------------------------------------------------------------------

/// attr (n, d) from the sparse P. When compute_kl, returns
/// Σ p' log(max(p', tiny) / max(w / z, tiny)) with p' = exaggeration · p (what
/// scikit-learn's Barnes-Hut code reports), else 0. Parallel over fixed row blocks.
double attractive_forces(const SparseP& p, const double* y, std::size_t d, double exaggeration, bool compute_kl,
                         double z, double* attr);

/// The attraction of attractive_forces() for repeated use on one P (p stored in
/// float). In 2-D each pair i < j is stored once and its term is added to row i and
/// subtracted from row j: rows are cut into fixed blocks, a block adds its terms into
/// a private buffer spanning the rows it touches and the buffers are summed in block
/// order, so the result does not depend on the thread count (one pass over both
/// triangles instead when P has no locality, see locality_order). In 3-D, where the
/// kernel costs a square root and a division, every row sums all its pairs in float
/// vector code.
///
/// The work comes in phases so that the driver can run it in few parallel regions
/// (every region ends in a barrier, which is what costs on a busy machine):
/// prepare(y), run_task(b) for every b < tasks() (any order, any thread), then
/// finish() for row ranges, then kl(z). compute() does all of it. The KL omits scikit-learn's
/// float-min floors on p and q, which never bind for normalised P and Q.
class Attraction {
 public:
  Attraction(const SparseP& p, std::size_t d);
  ~Attraction();
  Attraction(const Attraction&) = delete;
  Attraction& operator=(const Attraction&) = delete;
  double compute(const double* y, double exaggeration, bool compute_kl, double z, double* attr);

  void prepare(const double* y);
  std::size_t tasks() const noexcept;
  void run_task(std::size_t b, const double* y, double exaggeration, bool compute_kl);
  /// attr rows [r0, r1) (times the exaggeration), after every run_task.
  void finish(std::size_t r0, std::size_t r1, double exaggeration, double* attr) const;
  /// KL(P' || Q) for Q normalised by z, after every run_task with compute_kl.
  double kl(double z) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Exact repulsion: rep (n, d) and returns Z. O(n² d), parallel over fixed blocks.
double repulsion_exact(const double* y, std::size_t n, std::size_t d, double* rep);

/// Barnes-Hut repulsion with a 2^d-ary space-partitioning tree (d = 2 or 3). Leaves
/// hold up to `leaf_size` points and double as groups: one interaction list is
/// built per leaf with the opening test width(cell)² < angle² · dist(com(cell),
/// bbox(leaf))², which implies the per-point test for every point of the leaf, and
/// is then evaluated for each of its points. angle = 0 gives the exact sum.
class BarnesHut {
 public:
  BarnesHut(std::size_t d, double angle, std::size_t leaf_size = 32);
  ~BarnesHut();
  BarnesHut(const BarnesHut&) = delete;
  BarnesHut& operator=(const BarnesHut&) = delete;
  /// rep (n, d) and Z for y (n, d).
  double repulsion(const double* y, std::size_t n, double* rep);

  /// The same in phases (see Attraction): build(), run_task(t) for t < tasks(), z().
  void build(const double* y, std::size_t n);
  std::size_t tasks() const noexcept;
  void run_task(std::size_t t, double* rep);
  double z() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// FFT-accelerated interpolation (2-D, dof = 1): the charges 1, y_x, y_y, |y|² are
/// spread onto an equispaced grid with Lagrange polynomials (`points` nodes per box),
/// convolved with (1 + r²)^-2 by FFT, and interpolated back.
class FftRepulsion {
 public:
  FftRepulsion(std::size_t min_intervals, double intervals_per_unit, std::size_t points);
  ~FftRepulsion();
  FftRepulsion(const FftRepulsion&) = delete;
  FftRepulsion& operator=(const FftRepulsion&) = delete;
  /// rep (n, 2) and Z for y (n, 2).
  double repulsion(const double* y, std::size_t n, double* rep);
  /// Boxes per side of the grid used by the last call.
  std::size_t boxes_per_side() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// scikit-learn's _kl_divergence (method 'exact') for the dense P: writes grad (n, d)
/// and returns the KL when compute_kl (else 0). p_ij is multiplied by exaggeration.
double gradient_exact_dense(const MatrixD& p, const double* y, std::size_t d, double exaggeration, bool compute_kl,
                            double* grad);

// ---------------------------------------------------------------------------
// FFT (used by FftRepulsion; exposed for its unit test)
// ---------------------------------------------------------------------------

/// Smallest m >= n whose prime factors are 2, 3 and 5 only.
std::size_t next_fast_size(std::size_t n);

/// In-place complex DFT of `count` sequences of length m stored as columns: element t
/// of sequence c is (re[t * stride + c], im[t * stride + c]), c < count <= stride.
/// Forward uses e^{-2πi jk/m}; inverse e^{+2πi jk/m} without the 1/m factor.
/// m must be next_fast_size(m) (factors 2, 3, 5).
template <class R>
void fft_columns(R* re, R* im, std::size_t m, std::size_t count, std::size_t stride, bool inverse);

}  // namespace segmenta::tsne_detail
