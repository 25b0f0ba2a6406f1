// segmenta metrics: cluster validity indices and partition agreement.
//
// Definitions follow scikit-learn 1.2 (../shared/ANCHORS.md §1.5) and yellowbrick's
// distortion. Labels are any int32 values; like scikit-learn they are label-encoded
// first (sorted distinct values -> 0..k-1). x is (n, p), row-major, T = double
// (tabular) or float (embeddings); all sums are accumulated in double. Every function
// is deterministic: same input, same result for any thread count.
//
// Input checks (InvalidArgument, naming the parameter): labels.size() == x.rows(),
// n >= 1, p >= 1, every x value finite, and for the silhouette, Calinski-Harabasz and
// Davies-Bouldin 2 <= number of distinct labels <= n - 1 (scikit-learn's
// check_number_of_labels).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "segmenta/core.hpp"

namespace segmenta {

using Labels = std::span<const std::int32_t>;

/// Silhouette value of every row of x (n, p) under `labels` (Euclidean distance):
/// a_i = mean distance to the other members of i's cluster, b_i = smallest mean
/// distance to another cluster, s_i = (b_i - a_i) / max(a_i, b_i); 0 for members of
/// singleton clusters and where a_i = b_i = 0 (scikit-learn's nan_to_num).
///
/// Exact, O(n^2 p / 2) time (each pairwise distance is computed once and added to
/// both rows' cluster sums), O(n p + n k) memory: never an n x n matrix.
/// Bitwise-identical rows with equal labels are evaluated once.
///
/// Precision: p <= 32 uses direct differences in double (float input is widened),
/// within ~1e-15 of the definition. p > 32 uses the GEMM identity
/// |x|^2 - 2 x.y + |y|^2 on centred rows (BLAS), with pairs whose d^2 is small
/// against the norms recomputed directly; for double that stays within ~1e-14, for
/// float x.y comes from single-precision GEMM and each distance carries a random
/// relative rounding of ~sqrt(p) 6e-8 (|x|^2 + |y|^2) / d^2 (~1e-9 in the
/// silhouettes of unit-norm embeddings, up to ~1e-6 on small poorly scaled data).
/// scikit-learn forms every distance with the GEMM identity; on the blog inliers its
/// values agree with these to 1.5e-14, except rows that have an exact twin, where
/// its rounding gives the twins a distance of ~4e-8 instead of 0 (up to 2.1e-11).
template <class T>
std::vector<double> silhouette_samples(MatrixView<T> x, Labels labels);

/// Mean of silhouette_samples (scikit-learn's silhouette_score without sampling).
template <class T>
double silhouette_score(MatrixView<T> x, Labels labels);

/// Silhouette values for several labelings of the same rows (a k sweep), one vector
/// of n values per labeling, equal to silhouette_samples of each up to summation
/// order (~1e-15). Rows are grouped by their tuple of labels so that each pairwise
/// distance is computed once for all labelings of a group; labelings are split into
/// groups when their per-row cluster sums would exceed 256 MiB or their label tuples
/// fragment the rows into cells of fewer than ~32 rows on average. An empty list
/// gives an empty result.
template <class T>
std::vector<std::vector<double>> silhouette_samples_many(MatrixView<T> x, const std::vector<Labels>& labelings);

/// scikit-learn's silhouette_score(x, labels, sample_size=m): the exact silhouette of
/// m distinct rows drawn uniformly with Rng(random_state).sample_without_replacement
/// (not numpy's stream, so the subset differs from scikit-learn's). m >= n gives the
/// exact score of all rows. Throws InvalidArgument for m == 0, and when the sample
/// holds fewer than 2 or as many labels as rows.
template <class T>
double silhouette_score_sampled(MatrixView<T> x, Labels labels, std::size_t sample_size, std::uint64_t random_state);

/// The silhouette estimated on a sample, for tables too large for the O(n^2) exact
/// value: `rows` rows drawn by stratified_label_sample(labels, sample_rows,
/// random_state) (every label at least once, the rest in proportion to the label
/// sizes), each row's silhouette computed exactly against all n rows (O(rows n p)).
/// `mean` is the stratified mean (label shares as weights), an unbiased estimate of
/// silhouette_score; `standard_error` its standard error from the within-label
/// variances with the finite-population correction (0 when every row is sampled).
struct SilhouetteEstimate {
  double mean = 0, standard_error = 0;
  std::size_t rows = 0, population = 0;
};
/// One sampled row (index into x) and its silhouette.
struct SilhouetteSampleRow {
  std::size_t row = 0;
  double value = 0;
};
/// Throws InvalidArgument for sample_rows < 2 and as silhouette_samples. The same
/// result for any thread count. `rows_out` (optional) receives the sampled rows,
/// ascending, with their silhouettes.
template <class T>
SilhouetteEstimate silhouette_estimate(MatrixView<T> x, Labels labels, std::size_t sample_rows,
                                       std::uint64_t random_state, std::vector<SilhouetteSampleRow>* rows_out = nullptr);

/// Calinski-Harabasz index: [sum_k n_k |c_k - c|^2] (n - k) / ([sum_i |x_i - c_k(i)|^2] (k - 1)),
/// 1.0 when the within-cluster sum is 0. O(n p) time, O(k p) memory.
template <class T>
double calinski_harabasz_score(MatrixView<T> x, Labels labels);

/// Davies-Bouldin index: mean over clusters of max_j (s_i + s_j) / |c_i - c_j|, with
/// s the mean distance of the members to their centroid. As scikit-learn: 0 when all
/// s or all centroid distances are <= 1e-8, and pairs of coinciding centroids are
/// ignored (distance +inf). O(n p + k^2 p) time, O(k p) memory.
template <class T>
double davies_bouldin_score(MatrixView<T> x, Labels labels);

/// yellowbrick's distortion: sum over clusters of the squared Euclidean distances of
/// the members to their mean recomputed from the labels. Any number of clusters
/// (1..n) is accepted. O(n p) time.
template <class T>
double distortion_score(MatrixView<T> x, Labels labels);

/// Adjusted Rand index between two labelings of the same n rows (scikit-learn's
/// adjusted_rand_score, from the pair confusion matrix in exact 128-bit integers):
/// 1.0 for identical partitions up to renaming, ~0 for independent ones, >= -0.5.
/// O(n log n). Throws InvalidArgument on different sizes or empty labelings.
double adjusted_rand_score(Labels a, Labels b);

/// Adjusted mutual information with arithmetic normalisation (scikit-learn's
/// default): (MI - E[MI]) / ((H(a) + H(b)) / 2 - E[MI]). The expected MI under the
/// hypergeometric model is summed from the probability ratio recurrence around each
/// mode (no differences of huge lgamma values), once per distinct pair of cluster
/// sizes. Identical partitions (up to renaming) give exactly 1.0, also where
/// scikit-learn's formula degenerates to 0/0 (all singletons). O(n log n + number of
/// distinct size pairs x sqrt(n)). Throws InvalidArgument on different sizes or
/// empty labelings.
double adjusted_mutual_info_score(Labels a, Labels b);

}  // namespace segmenta
