// segmenta cluster: k-means and knee detection for choosing k.
//
// k-means reproduces scikit-learn 1.3's KMeans(algorithm="lloyd")
// (../shared/ANCHORS.md §1.4): data centred by its column means before anything
// else, greedy k-means++ with 2 + floor(ln k) local trials, Lloyd iterations with
// distances through BLAS GEMM in row blocks, ties to the lowest cluster index,
// empty clusters relocated to the points farthest from their centres, convergence
// on identical labels ("strict") or on sum of squared centre shifts <= tol * mean
// column variance, a final E-step when not strictly converged, n_init restarts
// keeping the lowest inertia. Given the same initial centres it reproduces
// scikit-learn's labels, n_iter and inertia. Restart r draws from
// Rng::stream(random_state, r) and all sums are reduced over fixed row blocks in
// block order, so results are identical for any thread count.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "segmenta/core.hpp"

namespace segmenta {

enum class KMeansInit { kmeans_plus_plus, random };

struct KMeansParams {
  std::size_t n_clusters = 8;
  std::size_t n_init = 10;     // restarts; the lowest inertia wins
  std::size_t max_iter = 300;  // Lloyd iterations per restart
  double tol = 1e-4;           // relative to the mean column variance
  std::uint64_t random_state = 0;
  KMeansInit init = KMeansInit::kmeans_plus_plus;
};

/// A fitted k-means model; T is double (tabular) or float (embeddings).
template <class T>
struct KMeansModel {
  Matrix<T> centers;                 // (n_clusters, p)
  std::vector<std::int32_t> labels;  // training labels, n
  double inertia = 0.0;              // sum of squared distances to the assigned centre
  std::size_t n_iter = 0;            // iterations of the winning restart
  std::size_t best_init = 0;         // index of the winning restart
  std::vector<double> init_inertias; // final inertia of every restart
  bool converged = false;

  /// Nearest centre of each row of x (m, p); ties to the lowest index.
  std::vector<std::int32_t> predict(MatrixView<T> x) const;
  /// Euclidean distances (m, n_clusters) from each row of x to each centre.
  Matrix<T> transform(MatrixView<T> x) const;
};

/// Fits k-means on x (n, p). Throws InvalidArgument when n_clusters < 1 or > n,
/// n_init < 1, max_iter < 1, tol < 0, or x holds non-finite values. Diagnostics:
/// fewer distinct points than clusters, relocated empty clusters, no convergence.
template <class T>
KMeansModel<T> fit_kmeans(MatrixView<T> x, const KMeansParams& params, Diagnostics* diag = nullptr);

/// One Lloyd run from the given initial centres init (k, p) (n_init is ignored, as
/// scikit-learn does for an explicit init array).
template <class T>
KMeansModel<T> fit_kmeans_from(MatrixView<T> x, MatrixView<T> init, const KMeansParams& params,
                               Diagnostics* diag = nullptr);

/// Greedy k-means++ seeding of k centres from x (n, p) (scikit-learn's
/// _kmeans_plusplus with n_local_trials = 2 + floor(ln k)); returns row indices.
template <class T>
std::vector<std::size_t> kmeans_plus_plus(MatrixView<T> x, std::size_t k, Rng& rng);

// ---------------------------------------------------------------------------
// Knee detection (yellowbrick 1.5's port of Kneedle, S = 1, online = False)
// ---------------------------------------------------------------------------

enum class CurveNature { convex, concave };
enum class CurveDirection { increasing, decreasing };

struct KneeResult {
  std::optional<double> knee;     // x value of the first knee found, if any
  std::vector<double> all_knees;  // x values of every local knee, sorted
};

/// Knee of the curve (x, y), x strictly increasing, at least 2 points. Matches
/// yellowbrick.utils.kneed.KneeLocator(x, y, S, curve_nature, curve_direction).knee
/// (distortion: convex + decreasing; silhouette and Calinski-Harabasz: concave +
/// increasing). Throws InvalidArgument for mismatched or too short inputs.
KneeResult find_knee(std::span<const double> x, std::span<const double> y, CurveNature nature,
                     CurveDirection direction, double sensitivity = 1.0);

// === k-prototypes ===

}  // namespace segmenta
