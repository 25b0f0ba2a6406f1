// segmenta reduce: projections for pictures — PCA, t-SNE, MCA and FAMD.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/table.hpp"

namespace segmenta {

class Communicator;  // segmenta/comm.hpp

// === PCA and t-SNE ===
//
// PCA follows prince 0.12.1 and scikit-learn 1.2 (../shared/ANCHORS.md §1.8): the
// data is centred (and optionally standardised with the ddof-0 standard deviation,
// prince's rescale_with_std) and decomposed exactly; eigenvalues are prince's s²/n,
// explained_variance scikit-learn's s²/(n-1). Signs follow scikit-learn's svd_flip
// (u-based): in every component the training row with the largest |coordinate|
// (ties: the lowest row index) has a positive coordinate.
//
// t-SNE follows scikit-learn 1.2's TSNE (../shared/ANCHORS.md §1.9): exact kNN
// affinities (k = min(n-1, floor(3·perplexity + 1)) neighbours, per-row binary
// search on the precision, P = (P + Pᵀ) / sum), the gradient-descent schedule with
// momentum and gains, early exaggeration, the Student-t w = (1 + r²/ν)^-(ν+1)/2 with
// ν = max(d-1, 1) degrees of freedom, KL checks every 50 iterations and the early
// stop after n_iter_without_progress. Like scikit-learn, the gradient is
// 2(ν+1)/ν · Σ_j (p_ij - q_ij) w_ij (y_i - y_j) also for ν = 2 (3-D), where the
// exact derivative of the KL would weigh with w^(2/(ν+1)); reproduced for fidelity
// with the blog's 3-D maps. The repulsive forces come from a
// Barnes-Hut tree (2-D and 3-D), an FFT-accelerated interpolation on a grid
// (2-D, Linderman et al. 2019, the FIt-SNE approach) or the exact O(n²) sum.
// Every reduction runs over fixed blocks in block order: the embedding depends on
// random_state only, never on the thread count.

/// Settings of fit_pca. Defaults give scikit-learn's PCA(n_components=2); set
/// standardize = true for prince.PCA (rescale_with_mean and rescale_with_std).
struct PcaParams {
  std::size_t n_components = 2;  // 1 <= n_components <= min(n, p)
  bool center = true;            // subtract the column means (prince rescale_with_mean)
  bool standardize = false;      // divide by the ddof-0 column standard deviation
  // Several processes (mpirun): with a communicator of several ranks, rank r reads
  // the r-th share of the fixed row blocks in the passes over the rows (the column
  // sums over 4,096-row blocks, the covariance matrix of up to 1,024 columns over
  // 8,192-row chunks); the block sums are added in the one-process order along the
  // ranks, so every rank returns the one process's model, bit for bit, except that
  // row_coordinates holds only this rank's rows (see there). Null (or one rank):
  // this process reads every row. Wider data and p > n are computed whole on every
  // rank (their projection is shared all the same).
  const Communicator* comm = nullptr;
  std::size_t* projected_rows = nullptr;  // when given: the rows this rank projected
};

/// A fitted PCA. k = n_components, p = number of input columns, n = training rows.
struct PcaModel {
  std::size_t n_samples = 0;   // n
  std::size_t n_features = 0;  // p
  bool centered = true;
  bool standardized = false;
  std::vector<double> mean;   // (p) subtracted before projecting (zeros when not centred)
  std::vector<double> scale;  // (p) divisor after centring (ones unless standardised;
                              // 1 for a constant column, as StandardScaler does)
  MatrixD components;         // (k, p) principal axes (rows of Vᵀ), unit length
  std::vector<double> singular_values;           // (k) of the scaled training matrix Z
  std::vector<double> eigenvalues;               // (k) s²/n (prince eigenvalues_)
  std::vector<double> explained_variance;        // (k) s²/(n-1) (scikit-learn)
  std::vector<double> explained_variance_ratio;  // (k) eigenvalue / total_inertia
  std::vector<double> percentage_of_variance;    // (k) 100 · explained_variance_ratio
  std::vector<double> cumulative_percentage_of_variance;  // (k) running sum of the above
  double total_inertia = 0.0;  // sum of the ddof-0 column variances of Z (p when standardised)
  MatrixD column_correlations; // (p, k) Pearson correlation of each column with each
                               // component's scores (0 for a constant column)
  MatrixD row_coordinates;     // (n, k) the training rows projected (= transform(x)). With a
                               // communicator of several ranks, only this rank's rows, in row
                               // order: its share of each round of 4,096-row blocks (rounds of
                               // 16 blocks a rank, or as many as its threads; rank r takes the
                               // r-th share of a round's blocks in order), the rows it formats
                               // in maps.csv. The signs are those of all rows.

  std::size_t n_components() const noexcept { return components.rows(); }
  /// Coordinates of new rows x (m, p): ((x - mean) / scale) · componentsᵀ, (m, k).
  /// Throws InvalidArgument when x does not have p columns. O(m p k).
  template <class T>
  MatrixD transform(MatrixView<T> x) const;
};

/// Fits PCA on x (n, p), double or float (accumulated in double). Exact: the
/// p × p covariance matrix (built with BLAS over fixed row blocks) is
/// eigendecomposed when p <= n, otherwise the thin SVD of Z is taken; O(n p² + p³).
/// Throws InvalidArgument for an empty x, non-finite values, or n_components
/// outside [1, min(n, p)]. Diagnostics: constant columns, zero total variance.
template <class T>
PcaModel fit_pca(MatrixView<T> x, const PcaParams& params = {}, Diagnostics* diag = nullptr);

enum class TsneInit {
  pca,    // scikit-learn's default: PCA scores scaled so that PC1 has std 1e-4
  random  // 1e-4 · N(0, 1) draws from Rng(random_state)
};

enum class TsneMethod {
  automatic,   // barnes_hut (see fft for why it is not picked automatically)
  barnes_hut,  // tree code, O(n log n) per iteration, 2-D and 3-D; leaves of up to 32
               // points share one interaction list, evaluated in float (as scikit-learn)
  fft,         // grid interpolation + FFT convolution (FIt-SNE), 2-D only. Its cost
               // grows with the embedding's extent (grid), not with n; at FIt-SNE's
               // default grid the near-pair forces are off by several per cent, which
               // on clustered data costs KL (+17 % on the bank sample); finer grids
               // (fft_interpolation_points 5) match barnes_hut but cost more
  exact        // dense P from all pairs and the O(n²) gradient (scikit-learn's
               // method='exact'); for tests and small n (<= 10,000)
};
std::string_view to_string(TsneInit init) noexcept;
std::string_view to_string(TsneMethod method) noexcept;  // "auto", "barnes_hut", "fft", "exact"
/// "pca" or "random"; throws ParameterError(what, …).
TsneInit parse_tsne_init(std::string_view text, std::string_view what = "init");
/// "auto", "barnes_hut", "fft" or "exact"; throws ParameterError(what, …).
TsneMethod parse_tsne_method(std::string_view text, std::string_view what = "tsne_method");

/// Settings of fit_tsne; defaults are scikit-learn 1.2's TSNE().
struct TsneParams {
  std::size_t n_components = 2;             // 2 or 3
  double perplexity = 30.0;                 // 0 < perplexity < n
  double early_exaggeration = 12.0;         // >= 1, applied for the first n_iter_early iterations
  std::optional<double> learning_rate;      // > 0; unset = 'auto': max(n / early_exaggeration / 4, 50)
  std::size_t n_iter = 1000;                // total iterations, >= n_iter_early
  std::size_t n_iter_early = 250;           // early-exaggeration iterations (momentum 0.5)
  std::size_t n_iter_without_progress = 300;  // stop when the KL has not improved for this long
  double min_grad_norm = 1e-7;              // stop when the gradient norm falls below
  TsneInit init = TsneInit::pca;
  TsneMethod method = TsneMethod::automatic;
  double angle = 0.5;                       // Barnes-Hut opening angle theta, in [0, 1]
  std::uint64_t random_state = 0;           // seeds the random init (the only random draw)
  // method fft only. Interpolation grid (FIt-SNE's defaults): boxes of width
  // <= 1 / fft_intervals_per_unit embedding units, at least fft_min_intervals boxes per
  // side, fft_interpolation_points equispaced Lagrange nodes per box and dimension.
  std::size_t fft_min_intervals = 50;
  double fft_intervals_per_unit = 1.0;
  std::size_t fft_interpolation_points = 3;  // 1..8
};

/// Output of fit_tsne.
struct TsneResult {
  MatrixD embedding;               // (n, n_components)
  double kl_divergence = 0.0;      // KL(P || Q) at the last iteration (scikit-learn's kl_divergence_;
                                   // Q normalised with the method's own estimate of Z)
  std::size_t n_iter = 0;          // iterations run (scikit-learn's n_iter_ + 1)
  double learning_rate = 0.0;      // the learning rate used
  std::size_t n_neighbors = 0;     // k of the kNN affinities (n - 1 for method exact)
  TsneMethod method = TsneMethod::automatic;  // the method used (automatic resolved)
  std::vector<double> kl_history;  // KL at every check: every 50th iteration and the last of each
                                   // stage (stage 1's KL is that of the exaggerated P)
  double seconds_neighbors = 0.0;  // wall time of the kNN search
  double seconds_affinities = 0.0; // binary search and symmetrisation
  double seconds_optimize = 0.0;   // gradient descent
};

/// t-SNE embedding of x (n, p), double (tabular) or float (embeddings; distances in
/// float, everything after in double). Progress is shown for long runs. Throws
/// InvalidArgument (naming the parameter) for n < 2, non-finite values,
/// n_components not 2 or 3, perplexity outside (0, n), early_exaggeration < 1,
/// learning_rate <= 0, n_iter < n_iter_early, angle outside [0, 1], method fft
/// with 3 components, method exact with n > 10,000, or bad FFT grid settings.
/// Diagnostics: clipped neighbour count, binary searches that did not converge,
/// early stop. Time per iteration: O(n k) attraction plus O(n log n) (barnes_hut),
/// O(n + grid log grid) (fft) or O(n²) (exact) repulsion.
template <class T>
TsneResult fit_tsne(MatrixView<T> x, const TsneParams& params = {}, Diagnostics* diag = nullptr);

/// scikit-learn's sklearn.manifold.trustworthiness(x, embedding, n_neighbors):
/// 1 - 2 / (n k (2n - 3k - 1)) · Σ_i Σ_{j in the k nearest neighbours of i in the
/// embedding} max(0, r(i, j) - k), r(i, j) = rank of j among i's neighbours in x
/// (Euclidean; ties ranked by row index, as a stable argsort). x (n, p), embedding
/// (n, d). Throws InvalidArgument when the row counts differ, n_neighbors < 1 or
/// n_neighbors >= n / 2. O(n² (p + k)) time, O(n) memory per thread.
template <class T>
double trustworthiness(MatrixView<T> x, ViewD embedding, std::size_t n_neighbors = 5);

// === MCA and FAMD ===
//
// MCA follows prince 0.12.1's MCA (../shared/ANCHORS.md §1.8): the indicator matrix
// Z (one column per (variable, category present in the data), categories in code
// order, i.e. pandas.get_dummies' sorted order for sorted codes) goes through
// correspondence analysis: P = Z / (n K), row masses 1/n, column masses
// c_j = N_j / (n K), S = D_r^-1/2 (P - r cᵀ) D_c^-1/2. eigenvalues are the squared
// singular values of S (not divided by n), percentages relative to the total inertia
// ||S||² = (J - K) / K (no Benzécri/Greenacre correction, as in 0.12.1), row
// coordinates F = D_r^-1/2 U Σ and column coordinates G = D_c^-1/2 V Σ (prince's
// profile formulas give the same numbers). The SVD is exact, not prince's randomized
// one (which has not converged for close eigenvalues: compare with the golden
// exact_svd_* files). Z is never formed: the J × J cross-product (the Burt matrix)
// is decomposed directly when J is small, otherwise an implicit operator
// v -> SᵀS v costing O(n K) drives a thick-restart Lanczos iteration with full
// reorthogonalisation. Memory O(n K + J k) (plus J² for the dense path): the blog's
// call (6 categoricals + the float age and balance one-hot encoded per distinct
// value, J = 6,250) needs no n × J matrix.
//
// FAMD (factor analysis of mixed data) is the map for k-prototypes' mixed data: PCA
// of [standardised numeric columns (ddof 0; a constant column becomes 0), centred
// indicators divided by sqrt(w_j)], eigenvalues s² / n, row coordinates U s.
// FactoMineR's scaling w_j = p_j (the category proportion; each categorical
// variable then carries inertia m_j - 1) is the default. prince 0.12.1 divides by
// sqrt(2 p_j / K_cat) instead (prop = column sum / total sum · 2), which equals
// FactoMineR only with exactly two categorical variables; it is offered as
// FamdScaling::prince_0_12_1. Same operator-based solver as MCA.
//
// Signs: as scikit-learn's svd_flip (u-based) in prince's randomized SVD, the row
// with the largest |coordinate| in each component (lowest row index on ties) gets a
// positive coordinate. Everything is deterministic for any thread count.

enum class EigenSolver {
  automatic,  // dense when the cross-product is at most 400 × 400, Lanczos otherwise
  dense,      // eigendecomposition of the explicit cross-product (exact; O(J^3))
  lanczos     // implicit operator, thick-restart Lanczos
};

struct McaParams {
  std::size_t n_components = 2;  // prince's default; reduced to min(n, J) - 1 at most
  EigenSolver solver = EigenSolver::automatic;
  double tol = 1e-12;  // Lanczos: stop when every ||S^T S v - λ v|| <= tol · λ_1
  // Several processes (mpirun): with a communicator of several ranks, rank r reads
  // the r-th share of the fixed 4,096-row blocks in the passes over the rows (the
  // checks, the category counts, the dense solver's Burt matrix); counts are exact,
  // so every rank returns the one process's model, bit for bit, except that
  // row_coordinates holds only this rank's rows (as PcaModel's). The Lanczos
  // solver runs whole on every rank. Null (or one rank): this process reads every row.
  const Communicator* comm = nullptr;
  std::size_t* projected_rows = nullptr;  // when given: the rows this rank projected
};

/// A fitted MCA. n rows, K variables, J indicator columns, k components.
struct McaModel {
  std::size_t n_rows = 0, n_variables = 0;
  std::vector<std::int32_t> indicator_variable;  // (J) variable of each indicator column
  std::vector<std::int32_t> indicator_code;      // (J) its category code
  std::vector<double> column_masses;             // (J) c_j = N_j / (n K)
  std::vector<double> eigenvalues;               // (k) squared singular values of S
  std::vector<double> percentage_of_variance;    // (k) 100 · eigenvalue / total_inertia
  std::vector<double> cumulative_percentage_of_variance;  // (k)
  double total_inertia = 0.0;                    // (J - K) / K
  MatrixD row_coordinates;                       // (n, k) F; on ranks this rank's rows only
                                                 // (as PcaModel::row_coordinates)
  MatrixD column_coordinates;                    // (J, k) G
  MatrixD column_standard_coordinates;           // (J, k) D_c^-1/2 V
  std::size_t solver_matvecs = 0;                // operator products (0 for dense)

  std::size_t n_components() const noexcept { return eigenvalues.size(); }
  std::size_t n_indicators() const noexcept { return indicator_code.size(); }
  /// Row coordinates of new rows codes (m, K): (row profile - c) D_c^-1/2 V. A code
  /// the training data did not have (e.g. -1) contributes nothing (prince 0.12.1
  /// failed on unseen categories). Throws InvalidArgument when codes does not have K
  /// columns.
  MatrixD transform(MatrixView<std::int32_t> codes) const;
};

/// Fits MCA on categorical codes (n, K), codes 0..m_j-1 (unused codes are allowed:
/// only present categories become indicator columns). Throws InvalidArgument for
/// n < 2, K = 0, a negative code (encode missing values as a category of their
/// own), a code above 2^24 - 1, n_components < 1, tol <= 0, or data with a single
/// distinct row (no inertia). Diagnostics (stage "mca"): constant_variable,
/// n_components_reduced, lanczos_not_converged.
McaModel fit_mca(MatrixView<std::int32_t> codes, const McaParams& params = {}, Diagnostics* diag = nullptr);

enum class FamdScaling {
  factominer,    // indicator / sqrt(p_j)
  prince_0_12_1  // indicator / sqrt(2 p_j / K_cat)
};

struct FamdParams {
  std::size_t n_components = 2;
  FamdScaling scaling = FamdScaling::factominer;
  EigenSolver solver = EigenSolver::automatic;
  double tol = 1e-12;
  // Several processes (mpirun): with a communicator of several ranks, rank r reads
  // the r-th share of the fixed 4,096-row blocks in the checks, the category counts,
  // the dense solver's Burt matrix (exact counts) and the projection, so every rank
  // returns the one process's model, bit for bit, except that row_coordinates holds
  // only this rank's rows (as PcaModel's); the barycentres' sums over them are added
  // along the ranks in row order. The other running sums over the rows (column
  // statistics, cross-products) and the Lanczos solver run whole on every rank.
  // Null (or one rank): this process reads every row.
  const Communicator* comm = nullptr;
  std::size_t* projected_rows = nullptr;  // when given: the rows this rank projected
};

/// A fitted FAMD. p numeric columns, K categorical variables, J indicators.
struct FamdModel {
  std::size_t n_rows = 0, n_numeric = 0, n_categorical = 0;
  FamdScaling scaling = FamdScaling::factominer;
  std::vector<double> numeric_mean, numeric_scale;  // (p) StandardScaler (scale 1 if constant)
  std::vector<std::int32_t> indicator_variable, indicator_code;  // (J)
  std::vector<double> indicator_proportions;        // (J) p_j = N_j / n
  std::vector<double> indicator_weights;            // (J) w_j (the scaling divides by sqrt(w_j))
  std::vector<double> eigenvalues;                  // (k) s² / n
  std::vector<double> percentage_of_variance;       // (k)
  std::vector<double> cumulative_percentage_of_variance;  // (k)
  double total_inertia = 0.0;                       // sum of the column variances
  MatrixD row_coordinates;                          // (n, k); on ranks this rank's rows only
                                                    // (as PcaModel::row_coordinates)
  MatrixD loadings;                                 // (p + J, k) right singular vectors
  MatrixD numeric_correlations;                     // (p, k) corr(column, component)
  MatrixD variable_coordinates;                     // (p + K, k) squared correlation for
                                                    // numeric columns, η² for categorical ones
  MatrixD category_coordinates;                     // (J, k) mean row coordinates per category
  std::size_t solver_matvecs = 0;

  std::size_t n_components() const noexcept { return eigenvalues.size(); }
  /// Row coordinates of new rows (numeric (m, p), categorical (m, K)); unseen codes
  /// contribute as an all-zero indicator row would. Throws InvalidArgument on shape
  /// mismatches or non-finite numbers.
  MatrixD transform(ViewD numeric, MatrixView<std::int32_t> categorical) const;
};

/// Fits FAMD on numeric (n, p) and categorical (n, K). Throws InvalidArgument when
/// p = 0 (use MCA) or K = 0 (use PCA), the row counts differ, n < 2, a number is not
/// finite, a code is negative or above 2^24 - 1, n_components < 1 or tol <= 0.
/// Diagnostics (stage "famd"): constant_numeric, constant_variable,
/// n_components_reduced, lanczos_not_converged.
FamdModel fit_famd(ViewD numeric, MatrixView<std::int32_t> categorical, const FamdParams& params = {},
                   Diagnostics* diag = nullptr);

}  // namespace segmenta
