// Choosing k: per-k fits of any method are evaluated in a metric space with the
// silhouette (exact — every labeling sharing the pairwise distances — or sampled),
// Calinski-Harabasz and Davies-Bouldin; the knee of the objective curve (inertia or
// cost) and the best k of each criterion give the recommendation.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "segmenta/cluster.hpp"
#include "segmenta/pipeline.hpp"

namespace segmenta::detail {

/// One fitted k of a sweep: labels of the clustered rows and the method's objective.
struct KFit {
  std::size_t k = 0;
  std::vector<std::int32_t> labels;
  double objective = 0;  // k-means inertia or k-prototypes cost
  std::size_t n_iter = 0;
  double seconds = 0;
};

/// Evaluated sweep: per-k points (objective in SweepPoint::inertia) and silhouette
/// plot data, plus the recommendation.
using Evaluation = KSweep;

/// Evaluates fits (increasing k) in `space` (rows, q), the rows the labels refer to.
/// silhouette_sample = 0: exact silhouettes of every row; otherwise the sampled
/// silhouette (that many rows, drawn with `seed`).
template <class T>
Evaluation evaluate_fits(MatrixView<T> space, const std::vector<KFit>& fits, std::size_t silhouette_sample,
                         std::uint64_t seed, Diagnostics& diag);

/// Silhouette, Calinski-Harabasz and Davies-Bouldin of one labeling in `space`
/// (sampled silhouette when silhouette_sample > 0); NaN where undefined (one cluster).
template <class T>
SweepPoint score_labels(MatrixView<T> space, std::span<const std::int32_t> labels, std::size_t silhouette_sample,
                        std::uint64_t seed);

/// Recommendation from per-k criteria (ks increasing, at least one point): the knee
/// of the objective curve when there is one, else the best silhouette.
KRecommendation recommend_k(const std::vector<SweepPoint>& points, Diagnostics& diag);

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
