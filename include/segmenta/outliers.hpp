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
#include <utility>
#include <vector>

#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"

namespace segmenta {

struct EcodParams {
  double contamination = 0.1;  // share of rows flagged, in (0, 0.5]
  /// Ranks to share the work with (null or one rank: this process alone). Every rank
  /// calls fit_ecod with the same x and reads only the rows of its share of the
  /// 1,024-row blocks (rank_blocks): it sorts its values of every column, sums them
  /// (the skewness, an ordered fold along the ranks) and scores its rows; the ranks'
  /// distinct values with their counts are merged and the scores gathered in order,
  /// so every rank returns, bit for bit, the model one process would.
  const Communicator* comm = nullptr;
  /// When set, increased by the rows this rank scored (a test's measure of the share).
  std::size_t* scored_rows = nullptr;
  /// When set, increased by the values (rows x features) this rank sorted.
  std::size_t* sorted_values = nullptr;
};

/// One feature's training column, kept as its distinct values with cumulative
/// counts: upto[k] = #{training values <= values[k]} (values equal under ==, such as
/// -0.0 and +0.0, are one value). Every ECDF the model reads, left or right tail, is
/// one of these counts over n, so this holds all the information the n sorted
/// values held, in memory proportional to the distinct values.
struct EcodColumn {
  std::vector<double> values;        // ascending, strictly
  std::vector<std::uint32_t> upto;   // strictly increasing, last = n_train
  /// How many training values equal values[k].
  std::uint64_t count(std::size_t k) const noexcept { return upto[k] - (k ? upto[k - 1] : 0u); }
};

class EcodModel {
 public:
  /// Training scores, one per row (pyod's decision_scores_).
  const std::vector<double>& decision_scores() const noexcept { return scores_; }
  /// 1 = outlier (score > threshold), one per training row (pyod's labels_).
  const std::vector<std::uint8_t>& labels() const noexcept { return labels_; }
  /// Moves the training scores (labels) out, leaving them empty: a caller that keeps
  /// them elsewhere needs no second copy.
  std::vector<double> take_decision_scores() noexcept { return std::exchange(scores_, {}); }
  std::vector<std::uint8_t> take_labels() noexcept { return std::exchange(labels_, {}); }
  double threshold() const noexcept { return threshold_; }
  double contamination() const noexcept { return contamination_; }
  std::size_t n_features() const noexcept { return columns_.size(); }
  std::size_t n_train() const noexcept { return n_train_; }
  /// Skewness sign per feature (-1, 0, +1).
  const std::vector<int>& skew_sign() const noexcept { return skew_sign_; }
  /// Mean of the per-feature tail scores O over the flagged training rows (p values;
  /// zeros when no row is flagged): which features make outliers. Computed by
  /// fit_ecod; throws NotFitted for a model rebuilt by from_parts (the per-row
  /// scores of the training rows are not kept; score_training() recomputes them).
  std::vector<double> outlier_feature_means() const;

  /// Scores new rows x (m, p) against the frozen training ECDFs (see the header
  /// comment); per_feature, when given, receives O (m, p). Throws InvalidArgument on
  /// a feature-count mismatch or non-finite values, NotFitted for a default model.
  /// O(m p log d) for d distinct training values per feature, rows in parallel.
  std::vector<double> score(ViewD x, MatrixD* per_feature = nullptr) const;
  /// Whether x (m, p) holds exactly the training rows, in any order: every column of
  /// x holds each distinct training value as many times as the training column did.
  /// O(p m log d).
  bool is_training_set(ViewD x) const;
  /// Scores the training rows themselves in-sample, as fit_ecod scored them
  /// (F_l(x) = #{train <= x}/n on the n-point ladder, no row appended), so scoring a
  /// run's own input reproduces its scores and flags to the bit; per_feature, when
  /// given, receives the training rows' O (m, p). Throws InvalidArgument unless
  /// is_training_set(x).
  std::vector<double> score_training(ViewD x, MatrixD* per_feature = nullptr) const;
  /// score(x) > threshold(), as 0/1.
  std::vector<std::uint8_t> predict(ViewD x) const;

  /// The training column of feature j as distinct values and cumulative counts.
  const EcodColumn& column(std::size_t j) const { return columns_.at(j); }
  /// The training column of feature j expanded back to its n_train sorted values
  /// (each distinct value repeated by its count). O(n_train).
  std::vector<double> sorted_column(std::size_t j) const;

  /// Rebuilds a model from saved parts (model files): score/predict work, the
  /// training scores, labels and outlier feature means are empty. `values[j]` are
  /// feature j's distinct training values, `counts[j]` how often each occurred
  /// (n_train in all). Throws ModelFormatError for inconsistent parts (no feature,
  /// n_train < 2 or above 2^32 - 1, lengths that differ, values not finite or not
  /// strictly ascending, a count of 0, counts that do not sum to n_train, a sign
  /// outside {-1, 0, 1}, a non-finite threshold, contamination outside (0, 0.5]).
  static EcodModel from_parts(std::vector<std::vector<double>> values, std::vector<std::vector<std::uint64_t>> counts,
                              std::uint64_t n_train, std::vector<int> skew_sign, double threshold,
                              double contamination);
  /// The same from the form of model files written before the distinct values
  /// (model version 1): every training column sorted, (p, n_train) row-major.
  /// Throws ModelFormatError for a bad shape, unsorted or non-finite columns, and
  /// the checks above.
  static EcodModel from_sorted_columns(ViewD sorted_columns, std::vector<int> skew_sign, double threshold,
                                       double contamination);

 private:
  friend EcodModel fit_ecod(ViewD x, const EcodParams& params);
  /// Per-feature tail scores O of rows that are training rows, from the columns.
  void training_tail_scores(ViewD x, std::size_t begin, std::size_t end, const std::vector<double>& tail,
                            double* o) const;
  std::vector<EcodColumn> columns_;
  std::uint64_t n_train_ = 0;
  std::vector<int> skew_sign_;
  std::vector<double> scores_;
  std::vector<std::uint8_t> labels_;
  std::vector<double> outlier_means_;
  double threshold_ = 0.0, contamination_ = 0.1;
};

/// Fits ECOD on x (n, p), n >= 2. Throws InvalidArgument for contamination outside
/// (0, 0.5], fewer than 2 rows, or non-finite values (naming the row and feature).
/// O(n p) time for the sorts (a radix sort per column) plus O(n p log d) to score
/// the rows against the distinct values; the model keeps O(distinct values) per
/// feature, one column's sort at a time per thread as scratch, and the n scores and
/// labels. Columns are processed in parallel and the result does not depend on the
/// thread count. Training rows' per-feature scores: score_training(x, &o).
EcodModel fit_ecod(ViewD x, const EcodParams& params = {});

/// numpy.percentile(values, q) with linear interpolation (q in [0, 100]), including
/// numpy's lerp rounding (a + (b - a) t, or b - (b - a)(1 - t) when t >= 0.5).
/// Throws InvalidArgument for empty values, NaN or q outside [0, 100]. O(n).
double percentile_linear(std::vector<double> values, double q);

}  // namespace segmenta
