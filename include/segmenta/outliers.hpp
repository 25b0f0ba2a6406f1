// segmenta outliers: ECOD, empirical-cumulative-distribution outlier detection.
//
// Reference: pyod 1.1.0 ECOD (../shared/ANCHORS.md §1.3). For each feature j the
// left tail F_l(x) = #{x_ij' <= x}/n and right tail F_r(x) = #{x_i'j >= x}/n of the
// training column; U_l = -log F_l, U_r = -log F_r; the skewness sign s_j of the
// column (biased Fisher-Pearson, 0 when undefined) picks U_skew = U_r (s>0), U_l
// (s<0) or U_l + U_r (s=0); the per-element score O_ij = max(U_l, U_r, U_skew) and
// the row score is sum_j O_ij (pyod's per-element max, not the paper's max of sums).
// threshold = linear-interpolated percentile 100(1-contamination) of the training
// scores; label = score > threshold (strict).
//
// ECDF values are read from numpy.linspace(1/n, 1, n) exactly as pyod does
// (k (1 - 1/n)/(n - 1) + 1/n, last entry 1), sums in numpy's pairwise order, so the
// training scores agree with pyod to the last bit or two. One deliberate deviation:
// where scipy's skewness is undefined (second moment <= (1e-15 mean)^2, e.g. a
// constant column) pyod's scores all become NaN; here the sign is 0, which makes a
// constant column contribute 0.
//
// New rows are scored against the frozen training ECDFs, never refitted on train
// plus new data (pyod's predict leaks, pyod#401): each new row is scored as if it
// were appended alone to the training set, F_l(x) = (#{train <= x} + 1)/(n + 1),
// so a row identical to a training row scores like one and an out-of-range value
// stays finite. The probabilities come from the (n + 1)-point linspace ladder and
// the training skewness signs are kept, so a row's score equals pyod's
// transductive score on train + {row} whenever adding the row leaves the skewness
// signs unchanged. Scores do not depend on the other rows of the batch.
// score_training() scores the training set itself in-sample, as fit_ecod did (a
// training row appended to the training set would count twice).
#pragma once

#include <cstdint>
#include <vector>

#include "segmenta/core.hpp"

namespace segmenta {

struct EcodParams {
  double contamination = 0.1;  // share of rows flagged, in (0, 0.5]
};

class EcodModel {
 public:
  /// Training scores, one per row (pyod's decision_scores_).
  const std::vector<double>& decision_scores() const noexcept { return scores_; }
  /// 1 = outlier (score > threshold), one per training row (pyod's labels_).
  const std::vector<std::uint8_t>& labels() const noexcept { return labels_; }
  double threshold() const noexcept { return threshold_; }
  double contamination() const noexcept { return contamination_; }
  std::size_t n_features() const noexcept { return sorted_.rows(); }
  std::size_t n_train() const noexcept { return sorted_.cols(); }
  /// Skewness sign per feature (-1, 0, +1).
  const std::vector<int>& skew_sign() const noexcept { return skew_sign_; }
  /// Per-row per-feature tail scores O (n_train, p) of the training rows; the row
  /// sums are decision_scores(). Kept for explanations (top contributing features).
  const MatrixD& feature_scores() const noexcept { return feature_scores_; }
  /// Mean of O over the flagged rows per feature (p values; zeros when no row is
  /// flagged): which features make outliers. Throws NotFitted for a model rebuilt
  /// by from_parts (it has no training scores).
  std::vector<double> outlier_feature_means() const;

  /// Scores new rows x (m, p) against the frozen training ECDFs (see the header
  /// comment); per_feature, when given, receives O (m, p). Throws InvalidArgument on
  /// a feature-count mismatch or non-finite values, NotFitted for a default model.
  /// O(m p log n), rows in parallel.
  std::vector<double> score(ViewD x, MatrixD* per_feature = nullptr) const;
  /// Whether x (m, p) holds exactly the training rows, in any order: every column of
  /// x, sorted, is the training column. O(p m log m).
  bool is_training_set(ViewD x) const;
  /// Scores the training rows themselves in-sample, as fit_ecod scored them
  /// (F_l(x) = #{train <= x}/n on the n-point ladder, no row appended), so scoring a
  /// run's own input reproduces its scores and flags to the bit. Throws
  /// InvalidArgument unless is_training_set(x).
  std::vector<double> score_training(ViewD x, MatrixD* per_feature = nullptr) const;
  /// score(x) > threshold(), as 0/1.
  std::vector<std::uint8_t> predict(ViewD x) const;

  /// The training columns, each sorted ascending (n_train, p) column-major per
  /// feature is stored row-major as (p, n_train): row j = sorted column j.
  const MatrixD& sorted_columns() const noexcept { return sorted_; }
  /// Rebuilds a model from saved parts (model files): score/predict work, the
  /// training scores, labels and feature scores are empty. Throws ModelFormatError
  /// for inconsistent parts (shape, unsorted or non-finite columns, a sign outside
  /// {-1, 0, 1}, a non-finite threshold, contamination outside (0, 0.5]).
  static EcodModel from_parts(MatrixD sorted_columns, std::vector<int> skew_sign, double threshold,
                              double contamination);

 private:
  friend EcodModel fit_ecod(ViewD x, const EcodParams& params);
  MatrixD sorted_;  // (p, n): row j = sorted training column j
  std::vector<int> skew_sign_;
  std::vector<double> scores_;
  std::vector<std::uint8_t> labels_;
  MatrixD feature_scores_;
  double threshold_ = 0.0, contamination_ = 0.1;
};

/// Fits ECOD on x (n, p), n >= 2. Throws InvalidArgument for contamination outside
/// (0, 0.5], fewer than 2 rows, or non-finite values (naming the row and feature).
/// O(n p) time (a radix sort per column), O(n p) memory (the sorted columns and the
/// per-feature scores are kept); columns are processed in parallel and the result
/// does not depend on the thread count.
EcodModel fit_ecod(ViewD x, const EcodParams& params = {});

/// numpy.percentile(values, q) with linear interpolation (q in [0, 100]), including
/// numpy's lerp rounding (a + (b - a) t, or b - (b - a)(1 - t) when t >= 0.5).
/// Throws InvalidArgument for empty values, NaN or q outside [0, 100]. O(n).
double percentile_linear(std::vector<double> values, double q);

}  // namespace segmenta
