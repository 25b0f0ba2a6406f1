// Choosing k: per-k fits of any method are evaluated in a metric space with the
// silhouette (exact — every labeling sharing the pairwise distances — or sampled),
// Calinski-Harabasz and Davies-Bouldin, and (where asked for) by their stability:
// the mean ARI between fits on pairs of seeded subsamples. The knee of the objective
// curve (inertia or cost), the best k of each criterion and, for the latent-class
// model, BIC and ICL give the recommendation; which criterion decides is the run's
// --k-criterion.
#pragma once

#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "metrics/row_source.hpp"
#include "segmenta/cluster.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/pipeline.hpp"

namespace segmenta::detail {

/// One fitted k of a sweep: labels of the clustered rows and the method's objective.
struct KFit {
  std::size_t k = 0;
  std::vector<std::int32_t> labels;
  double objective = 0;  // k-means inertia or k-prototypes cost
  std::size_t n_iter = 0;
  double seconds = 0;
  double bic = std::numeric_limits<double>::quiet_NaN(), icl = std::numeric_limits<double>::quiet_NaN();  // lca
};

/// Labels of k segments fitted to `rows` (indices into the clustered rows of the
/// method's space, increasing) with the given seed: the stability criterion's fits.
using SubsetFit =
    std::function<std::vector<std::int32_t>(std::span<const std::size_t> rows, std::size_t k, std::uint64_t seed)>;

/// How a sweep chooses k: the criterion (RunParams::k_criterion), whether the method
/// has BIC and ICL (lca), and the stability criterion's pairs and fits (none when
/// pairs is 0 or fit is empty).
struct KChoice {
  std::string criterion = "auto";
  bool likelihood = false;
  std::size_t pairs = 0;
  SubsetFit fit;
  std::uint64_t seed = 0;
  /// Ranks sharing the evaluation of the sweep (null: this process alone). Every rank
  /// evaluates the same fits with the same arguments; the exact silhouette's and the
  /// estimate's rows and the stability's fits are shared out and their results
  /// gathered, and Calinski-Harabasz and Davies-Bouldin read each rank's share of the
  /// row blocks (their sums folded along the ranks), so every rank ends with the one
  /// process's bits.
  const Communicator* comm = nullptr;
};

/// The run's choice for a method whose subset fits are `fit`; its evaluation is shared
/// by the ranks of world().
KChoice k_choice(const RunParams& params, bool likelihood, SubsetFit fit);

/// Restarts of each stability fit: fewer than the full sweep's, enough to avoid
/// measuring the restarts' own disagreement.
inline constexpr std::size_t kStabilityRestarts = 2;

/// Stability of each k of `ks` (mean ARI over the pairs; NaN where k exceeds the
/// subsample): pair b draws a core of min(n, 2500) rows and two subsamples of 80 % of
/// it (Rng stream of `seed`), fits both and compares the labels of their common rows.
/// With choice.comm, the (pair, k) tasks in their one-process order are dealt out in
/// turn (task t to rank t mod N), each rank fits its own, their ARIs are gathered
/// and every rank adds them in the one-process order.
std::vector<double> stability_scores(std::size_t n, const std::vector<std::size_t>& ks, const KChoice& choice);

/// The rows of the silhouette estimate for n clustered rows under `params`: 0 (the
/// exact silhouette) up to params.silhouette_exact_max rows unless
/// params.silhouette_sample asks for an estimate; otherwise silhouette_sample or
/// kSilhouetteEstimateRows.
std::size_t silhouette_rows(const RunParams& params, std::size_t n);

/// Rows of the k sweep's sample for n clustered rows and the largest k of the sweep:
/// 0 (every row) up to params.sweep_all_max rows, otherwise params.sweep_sample or
/// max(256 k_max, 50,000), and 0 again when that is not fewer than n.
std::size_t sweep_rows(const RunParams& params, std::size_t n, std::size_t k_max);
/// The k sweep's sample: m of the n clustered rows, seeded by params.seed alone (the
/// same rows for every method), in increasing order.
std::vector<std::size_t> sweep_sample_rows(const RunParams& params, std::size_t n, std::size_t m);

/// Evaluated sweep: per-k points (objective in SweepPoint::inertia) and silhouette
/// plot data, plus the recommendation.
using Evaluation = KSweep;

/// Evaluates fits (increasing k) in `space` (rows, q), the rows the labels refer to.
/// silhouette_sample = 0: exact silhouettes of every row; otherwise the silhouette
/// estimated on that many rows (silhouette_estimate, stratified by each k's labels,
/// seeded by `seed` and k), with its standard error; the run's messages say so.
template <class T>
Evaluation evaluate_fits(MatrixView<T> space, const std::vector<KFit>& fits, std::size_t silhouette_sample,
                         std::uint64_t seed, Diagnostics& diag, const KChoice& choice = {});

/// Appends one KFit per k of `ks` (increasing, each above the last fitted k) to `fits`.
using FitKs = std::function<void(std::span<const std::size_t> ks, std::vector<KFit>& fits)>;

/// With `--k auto`, the sweep goes past its default end while the deciding criterion
/// still improves there: in steps of kAutoKStep k, as long as the criterion chooses the
/// largest k fitted so far (never for the elbow), up to auto_k_bound.
inline constexpr std::size_t kAutoKStep = 2;
/// The largest k an automatic sweep reaches at all (KSpec's own limit).
inline constexpr std::size_t kAutoKLimit = 100;
/// How far an automatic sweep may go on `rows` clustered rows: floor(sqrt(rows / 2))
/// (the usual rule of thumb for the most segments a table supports), at most
/// kAutoKLimit and rows - 1, and never below the default end `hi`.
std::size_t auto_k_bound(std::size_t rows, std::size_t hi);

/// Fits ks.lo..ks.hi with `fit` and evaluates them as evaluate_fits does; with
/// ks.automatic, extends the sweep as kAutoKStep says (an info diagnostic
/// `sweep_extended` names the criterion and the new end). `fits` may hold the fits of
/// ks.lo..ks.hi already (the caller needed them first); otherwise `fit` makes them.
/// Only the new k are fitted
/// and measured in each step; `fits` holds every fit, in k order, at the end.
template <class T>
Evaluation sweep_k(MatrixView<T> space, const KSpec& ks, const FitKs& fit, std::vector<KFit>& fits,
                   std::size_t silhouette_sample, std::uint64_t seed, Diagnostics& diag, const KChoice& choice);

/// Silhouette, Calinski-Harabasz and Davies-Bouldin of one labeling in `space`
/// (the estimate on silhouette_sample rows when > 0); NaN where undefined (one cluster).
/// With `comm` (every rank calling with the same arguments), the silhouette's rows are
/// shared out across its ranks and gathered (the same bits); so are the distances of
/// Calinski-Harabasz and Davies-Bouldin to the cluster means (added in row order on
/// every rank; the means themselves, sums in row order, are computed whole).
template <class T>
SweepPoint score_labels(MatrixView<T> space, std::span<const std::int32_t> labels, std::size_t silhouette_sample,
                        std::uint64_t seed, const Communicator* comm = nullptr);

/// score_labels of a space read row by row (a space made on demand from a compact
/// form): the same bits as score_labels of its materialised matrix, holding no copy
/// of it (the exact silhouette, silhouette_sample = 0, materialises it).
SweepPoint score_labels_rows(const RowSource<double>& space, std::span<const std::int32_t> labels,
                             std::size_t silhouette_sample, std::uint64_t seed, const Communicator* comm = nullptr);

/// The BIC plateau of the latent-class model's default k: the smallest k whose BIC is
/// within this share of the sweep's BIC range (highest - lowest) of the lowest BIC.
/// Plain BIC keeps falling in small steps past the planted k where columns are skewed
/// or integer (the demo: k = 9, ARI 0.718; the plateau: k = 7, ARI 0.843) while ICL
/// merges genuinely overlapping segments (the quality benchmark's overlapping regime:
/// k = 2, ARI 0.125; the plateau: k = 5, ARI 0.501); docs/QUALITY.md.
inline constexpr double kBicPlateau = 0.02;

/// Recommendation from per-k criteria (ks increasing, at least one point) by
/// choice.criterion. "auto": the BIC plateau where the method has BIC, otherwise the knee of the
/// objective curve, else the highest stability (where measured), else the highest
/// silhouette. A criterion that finds nothing (no knee; stability not measured) is
/// reported and the next one decides; disagreeing criteria give a warning.
KRecommendation recommend_k(const std::vector<SweepPoint>& points, Diagnostics& diag, const KChoice& choice = {});

/// Silhouette plot data of one labeling: per cluster its size, mean and the sorted
/// silhouette values reduced to at most `points` evenly spaced ranks.
nlohmann::json silhouette_profile(const std::vector<double>& values, std::span<const std::int32_t> labels,
                                  std::size_t k, std::size_t points = 101);

/// {"per_k": [...], "recommendation": {...}} of an evaluation.
nlohmann::json sweep_json(const Evaluation& e, const std::string& objective_name);
/// The per-k table of the readable summary.
std::string sweep_table(const Evaluation& e, const std::string& objective_name);

/// Renumbers labels 0..k-1 by decreasing cluster size (ties: lower original label
/// first). Returns old -> new.
std::vector<std::int32_t> order_by_size(std::span<const std::int32_t> labels, std::size_t k);

}  // namespace segmenta::detail
