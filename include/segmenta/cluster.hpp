// segmenta cluster: k-means and knee detection for choosing k.
//
// k-means reproduces scikit-learn 1.3's KMeans(algorithm="lloyd")
// (../shared/ANCHORS.md §1.4): data centred by its column means before anything
// else, greedy k-means++ with 2 + floor(ln k) local trials, Lloyd iterations,
// ties to the lowest cluster index, empty clusters relocated to the points
// farthest from their centres, convergence on identical labels ("strict") or on
// the sum of squared centre shifts <= tol * mean column variance, a final E-step
// when not strictly converged, n_init restarts keeping the lowest inertia. Given
// the same initial centres it reproduces scikit-learn's labels, n_iter and inertia
// (to rounding: centres within ~1e-13 on the blog data).
//
// Differences from scikit-learn, all deliberate: the random streams are segmenta's
// own (same seed, other k-means++ draws than numpy's); float input accumulates
// centre sums and inertia in double (scikit-learn: float32); an empty cluster takes
// the farthest row with ties to the lowest row index (scikit-learn's argpartition
// leaves ties unspecified); a cluster still empty after relocation (every row on
// its centre) copies the averaged centre of the heaviest cluster (scikit-learn
// copies it before averaging when that cluster has a higher index); the total
// centre shift is summed directly (scikit-learn squares square roots).
//
// Determinism: restart r draws from Rng::stream(random_state, r); rows are cut
// into fixed blocks whose boundaries depend only on the number of rows, and every
// sum (centre sums, counts, inertia, k-means++ potentials) is reduced over those
// blocks in block order. Labels, centres and inertia are therefore bit-identical
// for any thread count, and a restart gives the same result whether it runs alone
// (fit_kmeans_from) or together with others (fit_kmeans).
//
// Speed: distances use the identity ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, as
// scikit-learn's GEMM does, through hand-vectorised kernels instead of BLAS: for
// tabular data (double, at most 32 columns) rows are transposed in panels of 8
// and each dot product is one fused multiply-add chain over the features; for
// wider data each (row, centre) pair accumulates 64-byte vectors over the
// features, folded in a fixed tree. Either way the value of a pair does not
// depend on which other rows or centres share the computation, nor on the
// instruction set. Data that fits in cache runs whole restarts per thread; larger
// data advances the restarts in lockstep, so one pass over the rows (split over
// threads) serves every restart still running. Centre sums are accumulated in
// double, also for float input. Results are the same for every schedule.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/comm.hpp"

namespace segmenta {

enum class KMeansInit {
  kmeans_plus_plus,  // greedy k-means++ (scikit-learn's default)
  random             // k distinct rows drawn uniformly (Rng::sample_without_replacement)
};

struct KMeansParams {
  std::size_t n_clusters = 8;
  std::size_t n_init = 10;     // restarts; the lowest inertia wins
  std::size_t max_iter = 300;  // Lloyd iterations per restart
  double tol = 1e-4;           // relative to the mean column variance (population variance)
  std::uint64_t random_state = 0;
  KMeansInit init = KMeansInit::kmeans_plus_plus;
  /// Ranks to share the work with (null or one rank: this process alone). Every rank
  /// calls with the same x and parameters; each computes the row blocks of its share
  /// (rank_blocks) and the blocks' partial sums are gathered and added in block
  /// order, so every rank returns, bit for bit, the model one process would.
  const Communicator* comm = nullptr;
  /// Rows up to which fit_kmeans_from centres a copy of x once, laid out for the
  /// distance kernels (scikit-learn centres x before Lloyd). Above, each pass centres
  /// every row block into a buffer of its thread instead, so the fit needs no memory
  /// of the order of x (the copy and its kernel layout took up to 49 doubles a row);
  /// the values, and so the results, are the same bit for bit.
  std::size_t copy_max_rows = 131072;
};

/// A fitted k-means model; T is double (tabular) or float (embeddings).
template <class T>
struct KMeansModel {
  Matrix<T> centers;                  // (n_clusters, p), in the input's coordinates
  std::vector<std::int32_t> labels;   // training labels, n
  double inertia = 0.0;               // sum of squared distances to the assigned centre
  std::size_t n_iter = 0;             // Lloyd iterations of the winning restart
  std::size_t best_init = 0;          // index of the winning restart
  std::vector<double> init_inertias;  // final inertia of every restart, in restart order
  bool converged = false;             // the winning restart met a stopping rule within max_iter
  /// Objective of the winning restart at each Lloyd E-step: entry t is the sum over
  /// rows of the squared distance to the nearest centre of iteration t (computed
  /// through the norm identity, so it can differ from `inertia` in the last digits).
  /// Lloyd's algorithm never increases it. n_iter entries.
  std::vector<double> inertia_history;

  /// Nearest centre of each row of x (m, p); ties to the lowest index. Distances by
  /// the same kernel as the fit (scikit-learn's predict also skips the centring, so
  /// near-ties may resolve differently from the training labels). O(m k p).
  /// Throws NotFitted without centres, InvalidArgument when p differs or x holds
  /// non-finite values.
  std::vector<std::int32_t> predict(MatrixView<T> x) const;
  /// Euclidean distances (m, n_clusters) from each row of x (m, p) to each centre,
  /// by direct differences in double. Throws as predict.
  Matrix<T> transform(MatrixView<T> x) const;
};

/// Fits k-means on x (n, p): n_init restarts seeded by params.init, each at most
/// max_iter Lloyd iterations; the restart with the lowest inertia wins, where a
/// later restart replaces the best only if its inertia is strictly lower and its
/// partition differs (scikit-learn's rule). Throws InvalidArgument when x is empty,
/// holds non-finite values, n_clusters < 1 or > n, n_init < 1, max_iter < 1 or tol
/// is negative or not finite. Diagnostics (stage "kmeans"): fewer distinct rows
/// than clusters (warning), fewer distinct labels than clusters in the result
/// (warning), relocated empty clusters (info), winning restart not converged
/// within max_iter (warning). Memory O(n p) for a centred copy plus O(n) per
/// restart; time O(n_init * iterations * n k p).
template <class T>
KMeansModel<T> fit_kmeans(MatrixView<T> x, const KMeansParams& params, Diagnostics* diag = nullptr);

/// One Lloyd run from the given initial centres init (n_clusters, p), in the
/// input's coordinates (n_init, init and random_state are ignored, as scikit-learn
/// does for an explicit init array). Throws InvalidArgument as fit_kmeans and when
/// init is not (params.n_clusters, p) or holds non-finite values.
template <class T>
KMeansModel<T> fit_kmeans_from(MatrixView<T> x, MatrixView<T> init, const KMeansParams& params,
                               Diagnostics* diag = nullptr);

/// Greedy k-means++ seeding of k centres from x (n, p) (scikit-learn 1.3's
/// _kmeans_plusplus with unit weights and n_local_trials = 2 + floor(ln k)):
/// the first centre is one uniform draw inverted through the cumulative weights,
/// every next one the best of the local trials drawn in proportion to the squared
/// distance to the nearest chosen centre. Returns row indices of x in choice order
/// (duplicates are possible when x has duplicate rows). The data is used as given
/// (fit_kmeans calls this on its centred copy). Draws from rng. Throws
/// InvalidArgument when k < 1, k > n or x holds non-finite values. O(k log k n p).
template <class T>
std::vector<std::size_t> kmeans_plus_plus(MatrixView<T> x, std::size_t k, Rng& rng);

// ---------------------------------------------------------------------------
// Knee detection (yellowbrick 1.5's port of Kneedle, S = 1, online = False)
// ---------------------------------------------------------------------------

enum class CurveNature { convex, concave };
enum class CurveDirection { increasing, decreasing };

struct KneeResult {
  /// x value of the first knee found (yellowbrick's KneeLocator(...).knee, which
  /// KElbowVisualizer reports as elbow_value_); empty when there is none.
  std::optional<double> knee;
  /// yellowbrick's all_knees with online = False: the knee found, as a sorted set
  /// (so {knee} or empty).
  std::vector<double> all_knees;
  /// Every local knee met when the scan goes on to the end of the curve
  /// (yellowbrick's all_knees with online = True), sorted and distinct.
  std::vector<double> local_knees;
};

/// Knee of the curve (x, y), x strictly increasing, at least 2 points, following
/// yellowbrick.utils.kneed.KneeLocator(x, y, S, curve_nature, curve_direction)
/// (../shared/ANCHORS.md §1.6) step by step: normalise both axes to [0, 1], turn
/// the curve into a concave increasing one, take the difference curve, find its
/// local maxima and minima (scipy's argrelextrema, order 1, clipped ends, so
/// plateaus and end points count), scan from the first maximum with threshold
/// d_max - S * mean(diff(x_norm)) (0 after a minimum), and map the index back for
/// the flipped orientations. Distortion: convex + decreasing; silhouette and
/// Calinski-Harabasz: concave + increasing. A constant y gives no knee. Throws
/// InvalidArgument for mismatched sizes, fewer than 2 points, non-finite values or
/// x not strictly increasing. O(n).
KneeResult find_knee(std::span<const double> x, std::span<const double> y, CurveNature nature,
                     CurveDirection direction, double sensitivity = 1.0);

// === k-prototypes ===
//
// Huang's k-prototypes for customers described by numeric and categorical
// attributes. The default algorithm reproduces kmodes 0.12.2's KPrototypes
// (../shared/ANCHORS.md §1.7); given the same initial centroids it returns the
// same labels, centroids, modes, n_iter and cost:
//   * dissimilarity of row x to prototype l:
//       d(x, l) = sum_j (x_j - mu_lj)^2  +  gamma * #{categorical j : x_j != mode_lj}
//     (squared Euclidean on the numeric part; numpy's summation order, i.e. pairwise
//     once there are 8 or more numeric columns; ties go to the lowest cluster index);
//   * gamma defaults to 0.5 * mean over numeric columns of their population std
//     (kmodes 0.12.2 as released pools all numeric values instead, see
//     kprototypes_pooled_gamma; both are 0.5 up to rounding on standardised columns);
//   * init Huang: per attribute, k values drawn with probability proportional to
//     their frequency; each drawn vector is then replaced by the nearest row (matching
//     distance) that differs from every current centroid row. kmodes orders rows with
//     an unstable sort; here ties go to the lowest row index. init Cao: density-based
//     and deterministic (kmodes' default). Numeric centroids start at
//     column mean + std * N(0, 1), drawn after the categorical part;
//   * initial assignment in row order; if a cluster stays empty the init is drawn
//     again (after 20 tries from random rows; a restart that fails 100 times is
//     dropped with a diagnostic, and all of them failing is an error);
//   * online iterations (algorithm = online): rows are visited in order; a row that
//     moves updates the running sums, category counts and modes of both clusters at
//     once (the receiving cluster adopts the row's value only when its count becomes
//     strictly larger than the current mode's; the losing cluster recomputes a mode it
//     lost a count of, smallest code on ties) and both numeric centroids are
//     recomputed. A cluster emptied by a move is refilled with a random member of the
//     largest cluster (kmodes' quirk kept: the refilled and the donor clusters keep
//     their numeric centroids until they next change, the emptied one at 0). After
//     every pass a second pass computes labels and cost; the run stops when a pass
//     moved nothing or the cost did not decrease (the last state is kept), or after
//     max_iter passes;
//   * n_init restarts, the lowest cost wins (first on ties).
// Randomness differs from kmodes on purpose: restart r draws from
// Rng::stream(random_state, r) instead of numpy's RandomState, so only runs from an
// explicit init are comparable draw for draw. Restarts run in parallel; every restart
// is sequential and the winner is chosen in restart order, so results are identical
// for any thread count.
//
// algorithm = batch is a different algorithm (Lloyd-style, as in k-means): every
// pass assigns all rows with the centroids fixed (in parallel over fixed row blocks),
// then recomputes means and modes (ties to the smallest code); an empty cluster takes
// the row farthest from its prototype. Its cost never increases; it stops when no
// label changes. It converges to other local optima than the online rule.
//
// Input: numeric (n, p_num) doubles and categorical (n, p_cat) int32 codes 0..m_j-1
// of column j, as kmodes encodes them (index of the value among the column's sorted
// distinct values); m_j is taken as 1 + the largest code. The categorical part needs
// >= 1 column (all-numeric data: use k-means). Without numeric columns (p_num = 0)
// it is Huang's k-modes, kmodes' KModes: the cost counts mismatching categories
// (gamma defaults to 1 there) and the models have k x 0 centroids; fit_kprototypes_from
// needs numeric columns. Cost of one pass: O(n * k * (p_num + p_cat)); with few distinct
// categorical rows (U <= n / 4) the categorical part is read from a U x k table of
// mismatch counts that is updated only when a mode changes, so a pass costs
// O(n * k * p_num).
//
// Degenerate inputs: when the data has at most n_clusters distinct rows, k is reduced
// to that number (as kmodes does): the prototypes are the distinct rows (in order of
// first appearance), the cost is 0, n_iter is 0 and a "k_reduced" warning is recorded.
// A categorical column with a single value never mismatches and is kept ("constant_
// categorical" note); constant numeric columns likewise ("constant_numeric").

enum class KPrototypesInit { huang, cao };
enum class KPrototypesAlgorithm { online, batch };
std::string_view to_string(KPrototypesInit init) noexcept;
/// "huang" or "cao" (any case, as kmodes accepts 'Huang' / 'Cao'); throws
/// InvalidArgument("<what>: expected huang or cao, got '…'").
KPrototypesInit parse_kprototypes_init(std::string_view text, std::string_view what = "init");

struct KPrototypesParams {
  std::size_t n_clusters = 8;
  std::size_t n_init = 10;     // restarts; the lowest cost wins
  std::size_t max_iter = 100;  // passes per restart
  KPrototypesInit init = KPrototypesInit::cao;  // kmodes' default; the blog uses huang
  std::optional<double> gamma;                  // default: kprototypes_default_gamma(numeric)
  std::uint64_t random_state = 0;
  KPrototypesAlgorithm algorithm = KPrototypesAlgorithm::online;
  /// Ranks to share the restarts with (null or one rank: this process alone). Every
  /// rank calls with the same data and parameters; the restarts (of every k) are dealt
  /// out in turn, each rank runs its own, the restarts' costs are gathered and each
  /// k's winner (lowest cost, lowest restart on ties) comes from the rank that ran it:
  /// every rank returns, bit for bit, the model one process would. fit_kprototypes_from
  /// with algorithm batch (one run) shares its rows instead: each rank assigns the rows
  /// of its share of the 4,096-row blocks, the labels are gathered after each pass and
  /// the cost, the means' sums and the level counts are folded along the ranks in block
  /// order (the online algorithm moves rows one at a time, so it runs whole there).
  const Communicator* comm = nullptr;
};

/// A fitted k-prototypes model.
struct KPrototypesModel {
  MatrixD centroids;                 // (k, p_num) numeric prototypes
  Matrix<std::int32_t> modes;        // (k, p_cat) categorical prototypes (codes)
  std::vector<std::int32_t> labels;  // training labels, n (from the final labels/cost pass)
  double cost = 0.0;                 // sum over rows of d(row, its prototype)
  double gamma = 0.0;                // weight of one categorical mismatch
  std::size_t n_iter = 0;            // passes of the winning restart
  std::vector<double> epoch_costs;   // cost after the init, then after every pass (n_iter + 1)
  std::size_t best_init = 0;         // index of the winning restart
  std::vector<double> init_costs;    // final cost of every restart (+inf: it could not initialise)
  std::vector<std::int32_t> n_categories;  // m_j of every categorical column at fit
  bool converged = false;            // false when the winning restart hit max_iter
  std::size_t empty_reseeds = 0;     // clusters refilled during the winning restart
  KPrototypesAlgorithm algorithm = KPrototypesAlgorithm::online;

  std::size_t n_clusters() const noexcept { return centroids.rows(); }

  /// Nearest prototype of each row (numeric (m, p_num), categorical (m, p_cat)); ties
  /// to the lowest index. Any code outside 0..m_j-1 (e.g. -1 for a category unseen at
  /// fit) mismatches every mode. Throws InvalidArgument on shape mismatches or
  /// non-finite numbers.
  std::vector<std::int32_t> predict(ViewD numeric, MatrixView<std::int32_t> categorical) const;
  /// d(row, prototype) for every row and prototype: (m, n_clusters). Same rules as predict.
  MatrixD dissimilarities(ViewD numeric, MatrixView<std::int32_t> categorical) const;
};

/// The default gamma for numeric (n, p_num): 0.5 * mean_j std_j with the population
/// std (ddof 0), computed in numpy's summation order (kmodes after its issue #185).
/// Throws InvalidArgument for an empty matrix or non-finite values.
double kprototypes_default_gamma(ViewD numeric);

/// The gamma of kmodes 0.12.2 as released (`0.5 * Xnum.std()`): 0.5 * the population
/// std of all numeric values pooled together, in numpy's order. The same as the
/// default for standardised columns up to rounding (the blog's input: 0.5 exactly
/// here, 0.5000000000000036 by the default rule); with unscaled columns it is
/// dominated by the differences between the column means (kmodes #185), which is why
/// it is not the default. Throws as kprototypes_default_gamma.
double kprototypes_pooled_gamma(ViewD numeric);

/// Fits k-prototypes on numeric (n, p_num) and categorical (n, p_cat). Throws
/// InvalidArgument when n = 0, the row counts differ, p_num = 0 or p_cat = 0,
/// n_clusters < 1, n_init < 1, max_iter < 1, gamma is negative or not finite, a
/// numeric value is not finite, a categorical code is negative, or no restart could
/// initialise. Diagnostics (stage "kprototypes"): k_reduced, constant_categorical,
/// constant_numeric, gamma_zero, init_retried, init_random_fallback, restart_failed,
/// empty_cluster_reseeded, not_converged.
KPrototypesModel fit_kprototypes(ViewD numeric, MatrixView<std::int32_t> categorical,
                                 const KPrototypesParams& params, Diagnostics* diag = nullptr);

/// One run from explicit initial prototypes init_centroids (k, p_num) and init_modes
/// (k, p_cat) (kmodes with a list init: n_init and init are ignored). Throws
/// InvalidArgument as fit_kprototypes, when the init shapes are wrong, an init mode is
/// outside 0..m_j-1, or a cluster receives no row in the initial assignment (kmodes
/// would silently switch to a random init there).
KPrototypesModel fit_kprototypes_from(ViewD numeric, MatrixView<std::int32_t> categorical, ViewD init_centroids,
                                      MatrixView<std::int32_t> init_modes, const KPrototypesParams& params,
                                      Diagnostics* diag = nullptr);

/// Fits for every k in ks (each as fit_kprototypes with n_clusters = k, same
/// results) sharing the preparation and running all (k, restart) pairs on one thread
/// pool; what an elbow needs. elbow_k is the knee of cost over k (find_knee, convex,
/// decreasing) when ks has >= 3 increasing values and a knee exists.
struct KPrototypesSweep {
  std::vector<std::size_t> k;
  std::vector<double> cost;  // best cost per k
  std::vector<KPrototypesModel> models;
  std::optional<std::size_t> elbow_k;
};
KPrototypesSweep sweep_kprototypes(ViewD numeric, MatrixView<std::int32_t> categorical,
                                   std::span<const std::size_t> ks, const KPrototypesParams& params,
                                   Diagnostics* diag = nullptr);

/// Silhouette of a mixed-data partition. Distance:
///   D(x, y) = sqrt( sum_j (x_j - y_j)^2 + gamma * #{categorical j : x_j != y_j} ),
/// the square root of the k-prototypes dissimilarity between two rows. It is exactly
/// the Euclidean distance after appending to the numeric columns the one-hot
/// indicators of the categorical columns scaled by sqrt(gamma / 2) (one mismatch
/// changes two indicators), so D is a metric, k-prototypes' cost is the k-means cost
/// in that space (modes in place of means), and with no categorical mismatch it is
/// the Euclidean silhouette used for k-means. s_i = (b_i - a_i) / max(a_i, b_i) as in
/// scikit-learn (a: mean D to the other members of its cluster, b: lowest mean D to
/// another cluster; 0 for singleton clusters). Labels are any int32 values (label-
/// encoded first). sample_size = 0 uses every row, O(n^2 (p_num + p_cat)); otherwise
/// a uniform subset of that many rows drawn from Rng::stream(random_state, 0) (rows
/// returned in increasing order). Deterministic for any thread count. Throws
/// InvalidArgument on shape mismatches, non-finite numbers, negative gamma, or fewer
/// than 2 or more than (rows - 1) distinct labels among the rows used.
struct MixedSilhouette {
  std::vector<std::size_t> rows;  // the rows used (all rows, or the sample)
  std::vector<double> samples;    // s_i for each of them
  double score = 0.0;             // mean of samples
};
MixedSilhouette kprototypes_silhouette(ViewD numeric, MatrixView<std::int32_t> categorical,
                                       std::span<const std::int32_t> labels, double gamma,
                                       std::size_t sample_size = 0, std::uint64_t random_state = 0);

// === latent-class model ===
//
// A finite mixture for mixed data (latent class analysis): given its class j
// (weight pi_j), a row's numeric columns are independent Gaussians N(mu_jd,
// sigma2_jd) (diagonal covariance; the caller transforms the columns first, e.g.
// Yeo-Johnson + standardised) and each categorical column c is a multinomial with
// probabilities theta_jc. A missing cell (NaN number, negative code or a code >=
// n_categories[c]) contributes nothing to the likelihood: it is not imputed, and a
// row with every cell missing has the class weights as its posterior.
//
// Fitted by EM. Guards, all stated in the model: the variance of a numeric column
// within a class never goes below variance_floor x the column's overall variance
// (variance_floor absolute when the column is constant), a constrained M-step that
// keeps EM monotone; category probabilities are the maximum a posteriori estimate
// under a symmetric Dirichlet prior, theta = (count + smoothing) / (total +
// smoothing x levels), so no probability is 0; a class whose responsibilities sum
// to 0 (empty) keeps weight 0 and the overall means, variances and uniform category
// probabilities. EM therefore increases the penalised log-likelihood
// log L + smoothing x sum(log theta) at every iteration (`objective`); it stops when
// that increase is <= tol x |objective| or after max_iter iterations. Responsibilities
// use log-sum-exp.
//
// Starts: start s draws from Rng::stream(random_state, s) a k-means++ choice of k
// seed rows under the mixed distance sum_d (x_d - y_d)^2 + #{c : x_c != y_c} over
// the cells present in both rows, and every row starts in the class of its nearest
// seed (hard responsibilities). With n_init > 1 starts, each runs at most short_iter
// EM iterations (a "short EM" selection), and the start with the highest
// log-likelihood then continues to convergence. Rows are cut into fixed blocks and
// every sum is reduced over the blocks in block order, so the result is identical
// for any thread count.
//
// Criteria (lower is better for BIC, AIC, ICL): with m free parameters
// (k - 1) + 2 k p_num + k sum_c (L_c - 1) and the classification entropy
// E = -sum_i sum_j r_ij log r_ij: BIC = -2 log L + m log n, AIC = -2 log L + 2 m,
// ICL = BIC + 2 E, entropy R^2 = 1 - E / (n log k) (1 for k = 1).

struct LcaParams {
  std::size_t n_components = 2;
  std::size_t n_init = 10;
  std::size_t max_iter = 1000;
  std::size_t short_iter = 20;   // iterations of each start when n_init > 1 (0: every start to convergence)
  double tol = 1e-6;             // relative increase of the objective that ends EM (0: only max_iter)
  double variance_floor = 1e-6;  // times each numeric column's overall variance
  double smoothing = 0.01;       // Dirichlet pseudo-count per category level
  std::uint64_t random_state = 0;
  /// Ranks to share the EM with (null or one rank: this process alone). Every rank
  /// calls with the same data and parameters; each runs the E-step and the M-step's
  /// sums over the row blocks of its share (rank_blocks), the blocks' sums are
  /// gathered and added in block order: every rank returns, bit for bit, the model
  /// one process would, but for the posterior, of which each rank keeps the rows it
  /// computed (LcaModel::posterior_first_row); the labels are gathered (every row's).
  const Communicator* comm = nullptr;
};

/// A fitted latent-class model and the fit of its training rows.
struct LcaModel {
  // parameters
  std::vector<double> weights;          // (k) class sizes pi_j
  MatrixD means, variances;             // (k, p_num)
  std::vector<MatrixD> probabilities;   // per categorical column: (k, n_categories[c])
  std::vector<double> variance_floors;  // (p_num) absolute floors used
  double smoothing = 0.0;
  // the training rows
  /// (rows, k) responsibilities r_ij of the training rows [posterior_first_row,
  /// posterior_first_row + rows): all n for one process; fitted with a communicator
  /// of several ranks, those of this rank's row blocks only (the ranks' rows follow
  /// each other in rank order; a rank may have none).
  MatrixD posterior;
  std::size_t posterior_first_row = 0;
  std::vector<std::int32_t> labels;  // (n) argmax of the posterior (ties: lower class)
  double log_likelihood = 0, objective = 0;
  double bic = 0, aic = 0, icl = 0, entropy = 0, entropy_r2 = 0;
  std::size_t n_parameters = 0, n_iter = 0, best_start = 0;
  bool converged = false;
  std::vector<double> objective_trace;  // objective before each M-step of the kept start

  std::size_t n_components() const noexcept { return weights.size(); }
  /// Posterior of new rows (same column layout as the training data; missing cells
  /// and unseen codes contribute nothing). (rows, k)
  MatrixD predict_proba(ViewD numeric, MatrixView<std::int32_t> codes) const;
  std::vector<std::int32_t> predict(ViewD numeric, MatrixView<std::int32_t> codes) const;
};

/// Fits the model on numeric (n, p_num; NaN = missing) and codes (n, p_cat; < 0 or
/// >= n_categories[c] = missing). Throws InvalidArgument on shape mismatches, no
/// columns, k < 1 or k > n, n_init == 0, infinite numbers, or bad floors.
LcaModel fit_lca(ViewD numeric, MatrixView<std::int32_t> codes, std::span<const std::int32_t> n_categories,
                 const LcaParams& params, Diagnostics* diag = nullptr);

/// EM from given initial responsibilities init (n, k) (rows summing to 1), as one
/// start of fit_lca (its M-step comes first).
LcaModel fit_lca_from(ViewD numeric, MatrixView<std::int32_t> codes, std::span<const std::int32_t> n_categories,
                      ViewD init, const LcaParams& params);

/// EM on these rows from the class parameters of `start` (a model of the same columns
/// and category counts, e.g. fitted on a sample of the rows): its posterior of each row
/// is the first M-step's input, so the result is fit_lca_from(numeric, codes,
/// n_categories, start.predict_proba(numeric, codes), params), bit for bit. With
/// params.comm of several ranks each rank computes the starting posterior of its own
/// row blocks only, and reads only its own rows' numbers and codes for the fit (the
/// inputs' checks excepted).
LcaModel fit_lca_from_model(ViewD numeric, MatrixView<std::int32_t> codes,
                            std::span<const std::int32_t> n_categories, const LcaModel& start,
                            const LcaParams& params);

/// The initial responsibilities of fit_lca's start `start` (hard, (n, k)).
MatrixD lca_initial_responsibilities(ViewD numeric, MatrixView<std::int32_t> codes,
                                     std::span<const std::int32_t> n_categories, std::size_t k,
                                     std::uint64_t random_state, std::size_t start);

}  // namespace segmenta
