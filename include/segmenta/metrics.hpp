// segmenta metrics: cluster validity indices and partition agreement.
//
// Definitions follow scikit-learn (../shared/ANCHORS.md §1.5); results agree with
// it to 1e-9. Labels are any int32 values; like scikit-learn they are label-encoded
// first, and 2 <= number of distinct labels <= n - 1 is required (InvalidArgument
// otherwise). T is double (tabular) or float (embeddings; accumulation is done in
// double). All functions are deterministic for any thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "segmenta/core.hpp"

namespace segmenta {

using Labels = std::span<const std::int32_t>;

/// Silhouette value of every row of x (n, p) under `labels` (Euclidean distance):
/// s_i = (b_i - a_i) / max(a_i, b_i), 0 for members of singleton clusters.
/// Exact, O(n^2 p) time, memory O(n p + block^2): distances are computed in blocks
/// and never stored as an n x n matrix.
template <class T>
std::vector<double> silhouette_samples(MatrixView<T> x, Labels labels);

/// Mean of silhouette_samples (scikit-learn's silhouette_score without sampling).
template <class T>
double silhouette_score(MatrixView<T> x, Labels labels);

/// Silhouette values for several labelings of the same rows (a k sweep): each
/// pairwise distance is computed once and used for every labeling. Returns one
/// vector of n values per labeling.
template <class T>
std::vector<std::vector<double>> silhouette_samples_many(MatrixView<T> x, const std::vector<Labels>& labelings);

/// scikit-learn's silhouette_score(x, labels, sample_size=m): the exact silhouette of
/// a uniformly drawn subset of m rows (drawn with Rng(random_state)). m >= n gives
/// the exact score.
template <class T>
double silhouette_score_sampled(MatrixView<T> x, Labels labels, std::size_t sample_size, std::uint64_t random_state);

/// Calinski-Harabasz index: between-cluster dispersion / within-cluster dispersion
/// scaled by (n - k) / (k - 1); 1.0 when the within dispersion is 0.
template <class T>
double calinski_harabasz_score(MatrixView<T> x, Labels labels);

/// Davies-Bouldin index: mean over clusters of the worst (s_i + s_j) / d(c_i, c_j).
template <class T>
double davies_bouldin_score(MatrixView<T> x, Labels labels);

/// yellowbrick's distortion: sum over clusters of the squared Euclidean distances of
/// the members to their mean recomputed from the labels (needs >= 1 label).
template <class T>
double distortion_score(MatrixView<T> x, Labels labels);

/// Adjusted Rand index between two labelings of the same n rows (scikit-learn's
/// adjusted_rand_score; 1.0 for identical partitions up to renaming).
double adjusted_rand_score(Labels a, Labels b);

/// Adjusted mutual information with arithmetic normalisation (scikit-learn's default).
double adjusted_mutual_info_score(Labels a, Labels b);

}  // namespace segmenta
