// segmenta explain: why customers fall into each segment, and what each segment looks like.
//
// Two independent parts:
//
// 1. Surrogate explanation (../shared/ANCHORS.md §1.10, ../shared/BASELINES.md note 6).
//    A gradient-boosted multi-class classifier is trained with XGBoost on
//    (features, segment) and explained with path-dependent TreeSHAP (Lundberg et
//    al. 2018, Algorithm 2). The default settings are XGBoost's stand-in for the
//    reference's LightGBM defaults: 100 rounds, hist trees, grow_policy lossguide,
//    31 leaves, unlimited depth, learning rate 0.1, 255 bins. The result is what
//    shap's summary_plot(plot_type="bar") draws for a list of K class outputs: the
//    K x p matrix of mean |SHAP| per class and feature, the features ordered by the
//    sum over classes, and the classes' stacking order.
//
//    TreeSHAP comes from one of two engines that compute the same quantity:
//      ShapEngine::xgboost  XGBoost's own contribution prediction (pred_contribs),
//                           single precision, the reference;
//      ShapEngine::native   segmenta's evaluation of the same trees (cover = XGBoost's
//                           hessian sums, splits "float(x) < threshold", missing
//                           values to the default child) in double precision. Each
//                           leaf's share of path-dependent TreeSHAP has a closed form
//                           (a Beta-weighted polynomial integral, evaluated exactly by
//                           Gauss-Legendre quadrature) that depends only on which of
//                           the leaf's path features the row satisfies; rows with the
//                           same branch pattern in a tree share its values, and leaf
//                           values are memoised per pattern of satisfied features.
//                           Agrees with XGBoost's to a few 1e-6 (float rounding) and
//                           with Lundberg's Algorithm 2 to 1e-12; the default, being
//                           ~30 (2,000 rows) to ~70 (all rows) times faster than
//                           XGBoost's on the bank data.
//
// 2. Segment profiles: size and share, numeric summaries, categorical shares and
//    lifts, the most distinguishing features and representative customers per
//    segment, plus the whole population for comparison; written as tidy CSV.
//
// Labels: one int32 per row; -1 means "not clustered" (e.g. an outlier) and the row
// is left out of the surrogate and of the segment statistics. Other negative labels
// are rejected. Segments are the distinct labels >= 0 in ascending order; segment
// (class) index c below is the c-th smallest label.
//
// Determinism: results are identical for any segmenta::num_threads(). XGBoost
// trains with one thread by default (SurrogateParams::fit_threads) because its
// histogram builder sums per-thread partial histograms whose split depends on the
// thread count; prediction and TreeSHAP are per-row computations and use
// num_threads() threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"
#include "segmenta/table.hpp"

namespace segmenta {

// ---------------------------------------------------------------------------
// Surrogate classifier
// ---------------------------------------------------------------------------

/// XGBoost settings of the surrogate. Defaults = XGBoost's stand-in for LightGBM's
/// LGBMClassifier defaults (BASELINES.md note 6). Objective: multi:softprob with
/// num_class = K for K > 2 segments, binary:logistic for K = 2; base_score 0.5.
struct SurrogateParams {
  std::size_t n_estimators = 100;  // boosting rounds (one tree per class per round for K > 2)
  double learning_rate = 0.1;      // eta
  std::size_t max_leaves = 31;     // leaves per tree; 0 = no limit (then max_depth must be > 0)
  std::size_t max_depth = 0;       // 0 = no limit (lossguide growth bounded by max_leaves)
  std::size_t max_bin = 255;       // histogram bins per feature
  double min_child_weight = 1.0;   // minimum hessian sum in a child
  double reg_lambda = 1.0;         // L2 regularisation of leaf weights
  double subsample = 1.0;          // row subsampling per tree, (0, 1]
  double colsample_bytree = 1.0;   // column subsampling per tree, (0, 1]
  std::uint64_t random_state = 0;  // XGBoost seed (taken modulo 2^31); also seeds sampling
  /// Threads XGBoost trains with. 1 (default) gives a model that does not depend on
  /// the machine; 0 = segmenta::num_threads(), faster but XGBoost's histogram sums
  /// may then differ in the last bits between thread counts.
  int fit_threads = 1;
};

enum class ShapEngine { native, xgboost };

/// A fitted surrogate: an XGBoost booster plus its trees in segmenta's own layout.
/// Immutable and cheap to copy (copies share one serialised model; XGBoost predictions
/// load a short-lived booster from it). Thread-safe const methods.
class SurrogateModel {
 public:
  SurrogateModel() = default;

  bool fitted() const noexcept { return impl_ != nullptr; }
  /// Number of segments K >= 2.
  std::size_t n_classes() const;
  /// Number of features p the model was trained on.
  std::size_t n_features() const;
  /// Label value of each class index, ascending (size K).
  const std::vector<std::int32_t>& classes() const;
  /// Trees in the model (K * n_estimators for K > 2, n_estimators for K = 2).
  std::size_t n_trees() const;

  /// Raw scores (n, K) of the rows of x (n, p): by default XGBoost's output_margin
  /// prediction (single precision); ShapEngine::native evaluates the same trees in
  /// double precision (parallel, ~1e-6 from XGBoost's). For K = 2 XGBoost has a single
  /// logit m; column 1 is m and column 0 is -m, so the argmax and the SHAP additivity
  /// below work the same for every K.
  MatrixD margins(ViewD x, ShapEngine engine = ShapEngine::xgboost) const;
  /// Predicted label value per row: the class with the largest margin (ties to the
  /// lowest class index; for K = 2 that is class 1 iff the probability is > 0.5).
  std::vector<std::int32_t> predict(ViewD x) const;

  /// TreeSHAP values of the rows of x (n, p) as an (n, K * (p + 1)) matrix laid out
  /// like LightGBM's and XGBoost's contribution output: for row i and class c, the p
  /// feature contributions at columns c*(p+1) .. c*(p+1)+p-1, then the bias (the
  /// expected value of class c's margin) at column c*(p+1)+p. Additivity: for every
  /// row and class the block sums to margins(x)(i, c) (up to float rounding).
  /// For K = 2, class 1 holds XGBoost's values for the logit and class 0 their
  /// negatives (what shap 0.42 returns for a binary LightGBM model).
  /// Cost, for T trees of L leaves and depth D, d <= min(D, p) distinct features on a
  /// path: native O(T (n S + u L d)) plus O(d^2) per first-seen (leaf, satisfied-feature
  /// pattern), with S splits per tree and u <= n distinct branch patterns per tree;
  /// xgboost O(T n L D^2).
  MatrixD contributions(ViewD x, ShapEngine engine = ShapEngine::native) const;
  /// The bias of each class (size K), the last column of every contribution block.
  std::vector<double> bias() const;

  /// XGBoost's JSON serialisation of the booster (loadable by xgboost.Booster).
  std::string to_json() const;
  /// The same model as universal binary JSON (XGBoost's "ubj" format).
  std::string to_ubj() const;

  /// The whole model as bytes (its classes, feature count and both serialisations),
  /// and back: how the ranks of a run (segmenta/comm.hpp) receive the model one of
  /// them fitted. from_bytes rebuilds the same model, bit for bit (the trees parsed
  /// from the same JSON); it throws ModelFormatError on bytes it did not write.
  std::string to_bytes() const;
  static SurrogateModel from_bytes(std::string_view bytes);

  struct Impl;

 private:
  explicit SurrogateModel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  friend SurrogateModel fit_surrogate(ViewD, std::span<const std::int32_t>, const SurrogateParams&, Diagnostics*);
  const Impl& impl() const;
  std::shared_ptr<const Impl> impl_;
};

/// Trains the surrogate on the rows of x (n, p) whose label is >= 0. NaN in x is a
/// missing value (XGBoost's default direction handles it).
/// Throws InvalidArgument when x and labels differ in length, p == 0, a label is
/// < -1, fewer than 2 segments remain (K = 1 has nothing to explain), x holds an
/// infinity or a magnitude beyond float range, or a parameter is out of its domain.
/// Throws segmenta::Error when XGBoost reports a failure.
/// Cost: XGBoost hist, about O(n_estimators * K * n * p) after binning.
SurrogateModel fit_surrogate(ViewD x, std::span<const std::int32_t> labels, const SurrogateParams& params = {},
                             Diagnostics* diag = nullptr);

// ---------------------------------------------------------------------------
// Surrogate explanation
// ---------------------------------------------------------------------------

struct ExplainParams {
  SurrogateParams surrogate;
  /// Rows TreeSHAP is computed on: a stratified sample (stratified_training_sample: about
  /// proportional to the segment sizes, at least one row per segment) of at most this
  /// many clustered rows; 0 = every clustered row. The mean |SHAP| is estimated
  /// with post-stratification weights, so it estimates the all-rows mean without
  /// bias. With the default the whole stage costs ~1.8 s of CPU on the bank data
  /// (40,691 rows x 8 features, 5 segments; bench/micro/explain_bench.cpp), most of it
  /// the single-threaded XGBoost fit; 0 adds ~1.2 s of CPU there.
  std::size_t shap_max_rows = 5000;
  ShapEngine engine = ShapEngine::native;
  /// Rows the surrogate trains on: above this many (held-out rows aside), a stratified
  /// sample (stratified_training_sample) of this many; the rows left out are predicted
  /// like held-out rows (holdout_accuracy). 0 = every row. With the default, XGBoost's
  /// fit costs about the same at any table size (~25 s of one core per million rows
  /// otherwise).
  std::size_t train_max_rows = 100000;
  /// Fraction of each segment held out of training to measure a held-out accuracy
  /// (0 = none, the reference behaviour: train on every clustered row). [0, 0.5].
  double holdout_fraction = 0.0;
  /// The ranks of a run (segmenta/comm.hpp), each calling with the same x, labels and
  /// parameters, share the stage: rank 0 fits the surrogate and sends it to the
  /// others, each rank predicts its share of the row blocks for the accuracies and
  /// runs TreeSHAP on its share of the sampled rows. Every rank returns the
  /// one-process result, bit for bit. Null or one rank: this process does it all.
  const Communicator* comm = nullptr;
  /// What this process computed (for tests of the share): when given, receives
  /// whether it fitted the surrogate, the clustered rows it predicted for the
  /// accuracies and the sampled rows it ran TreeSHAP on.
  struct Work {
    bool fitted = false;
    std::size_t predicted_rows = 0, shap_rows = 0;
  };
  Work* work = nullptr;
};

struct SurrogateExplanation {
  SurrogateModel model;
  std::vector<std::int32_t> classes;  // K label values, ascending
  std::size_t n_features = 0;         // p
  /// (K, p): entry (c, j) = mean over the explained rows of |phi_c,j|, where phi_c is
  /// the SHAP vector of class c's margin (shap's bar for class c and feature j).
  MatrixD mean_abs_shap;
  /// Sum over classes of mean_abs_shap's column j (size p): the bar length.
  std::vector<double> feature_importance;
  /// Feature indices by descending feature_importance (ties: lower index first);
  /// shap's summary_plot draws the first 20 of these, largest on top.
  std::vector<std::size_t> feature_order;
  /// Class indices by descending total mean |phi| (row sums of mean_abs_shap; ties:
  /// lower index first): shap's stacking order of the class bars.
  std::vector<std::size_t> class_order;
  std::vector<double> bias;  // K expected margins
  /// Share of training rows whose predicted segment is their segment (argmax of the
  /// margins evaluated by segmenta in double precision; ties to the lower class).
  double train_accuracy = 0.0;
  /// Same on the held-out rows (when holdout_fraction > 0) and the rows left out of a
  /// sampled training set (train_max_rows).
  std::optional<double> holdout_accuracy;
  /// max over explained rows i and classes c of |sum_j phi_c,j(i) + bias_c - margin_c(i)|,
  /// with margins from XGBoost's output_margin prediction.
  double additivity_max_abs_error = 0.0;
  std::vector<std::size_t> shap_rows;  // rows of x explained, ascending
  std::size_t n_clustered = 0;         // rows with a label >= 0
  std::size_t n_train = 0;             // rows the surrogate was trained on
  ShapEngine engine = ShapEngine::native;
  double fit_seconds = 0.0;            // XGBoost training
  double shap_seconds = 0.0;           // TreeSHAP on shap_rows
  double total_seconds = 0.0;          // the whole call
};

/// Fits the surrogate on the clustered rows of x (n, p) and explains it with
/// TreeSHAP. Throws what fit_surrogate throws, and InvalidArgument for
/// holdout_fraction outside [0, 0.5]. Diagnostics: the SHAP sample size, a surrogate
/// accuracy below 0.9 (its explanation is then a weak account of the segments).
SurrogateExplanation explain_segments(ViewD x, std::span<const std::int32_t> labels,
                                      const ExplainParams& params = {}, Diagnostics* diag = nullptr);

/// The stratified sample explain_segments uses: at most max_rows (0 = all) of the
/// rows with a label >= 0 (-1 rows are never drawn). When max_rows >= K, every
/// segment gets one row and the remaining max_rows - K are apportioned in proportion
/// to the segment sizes minus one (largest remainders, ties to the lower class);
/// when max_rows < K, the max_rows largest segments get one row each. Segment c's
/// rows are drawn uniformly without replacement with Rng::stream(random_state,
/// 1 + c). Returned ascending. Throws InvalidArgument for labels < -1. This is
/// core's stratified_label_sample, which the report's map sample uses too.
std::vector<std::size_t> stratified_training_sample(std::span<const std::int32_t> labels, std::size_t max_rows,
                                                    std::uint64_t random_state);

// ---------------------------------------------------------------------------
// Segment profiles
// ---------------------------------------------------------------------------

struct ProfileParams {
  std::size_t top_features = 5;     // distinguishing features kept per segment
  std::size_t representatives = 5;  // representative rows per segment (needs features)
  /// The ranks that share the work (every rank calls with the same arguments and
  /// returns the whole result, bit for bit what one process computes); null or one
  /// rank: this process computes everything.
  const Communicator* comm = nullptr;
};

/// Numeric column summary over the non-missing values of a group.
/// Quartiles use numpy's / pandas' default "linear" rule (Hyndman-Fan type 7):
/// h = (m - 1) q on the sorted values v, v[floor h] + (h - floor h)(v[floor h + 1] - v[floor h]),
/// evaluated as numpy 1.24 does (h as m q + (1 - q) - 1, interpolation from the upper
/// value when the fraction is >= 0.5), so results equal numpy.quantile to the bit.
/// The median is the middle value, or the mean of the two middle values for an
/// even count (numpy.median). std uses ddof = 1 (pandas; NaN for one value).
/// Every statistic is NaN when count == 0.
struct NumericSummary {
  std::size_t count = 0;    // non-missing values
  std::size_t missing = 0;  // NaN values (excluded from the statistics)
  double mean = 0.0, std = 0.0, min = 0.0, q1 = 0.0, median = 0.0, q3 = 0.0, max = 0.0;
};

/// One level of a categorical column within a group.
struct LevelShare {
  std::string level;
  std::size_t count = 0;  // rows of the group with this level
  double share = 0.0;     // count / non-missing rows of the group (NaN when there are none)
  /// share / the level's share in the population (NaN when that is 0 or undefined).
  double lift = 0.0;
};

/// Categorical / binary column summary over the non-missing values of a group.
struct CategoricalSummary {
  std::size_t count = 0;    // non-missing values
  std::size_t missing = 0;  // missing values (excluded from the shares)
  /// Most frequent level; ties go to the level that sorts first (std::string order).
  /// Empty when count == 0.
  std::string mode;
  double mode_share = 0.0;
  std::vector<LevelShare> levels;  // every level of the column, in sorted order
};

struct ColumnProfile {
  std::size_t column = 0;  // index in the table
  std::string name;
  ColumnType type = ColumnType::numeric;
  NumericSummary numeric;          // numeric columns
  CategoricalSummary categorical;  // categorical and binary columns
};

/// How much one column sets a segment apart from the population, on one scale for
/// every type: the standardised mean difference (mean_segment - mean_population) /
/// sd_population (population sd with ddof = 0, over non-missing values). For a
/// categorical column it is that of the indicator of each level,
/// (share_segment - share_population) / sqrt(share_population (1 - share_population)),
/// taken at the level with the largest absolute value (that level is `level`; equal
/// magnitudes, within 1e-12 relative, as for the two levels of a binary column, go to
/// the over-represented level, then to the level that sorts first). Columns with zero
/// population spread, and levels with population share 0 or 1, are not scored.
struct DistinguishingFeature {
  std::size_t column = 0;
  std::string name;
  std::string level;   // categorical: the level; numeric: empty
  double score = 0.0;  // signed: > 0 higher mean / over-represented level in the segment
  double segment_value = 0.0;     // segment mean, or the level's share in the segment
  double population_value = 0.0;  // population mean, or the level's share in the population
};

struct SegmentProfile {
  std::int32_t segment = 0;  // the label; -1 for the population and for the unassigned rows
  std::size_t size = 0;
  double share = 0.0;  // size / population size
  std::vector<ColumnProfile> columns;  // numeric, categorical and binary columns, table order
  /// Columns by descending |score| (ties: lower column index), at most top_features.
  std::vector<DistinguishingFeature> distinguishing;
  /// Rows closest (Euclidean, in the feature space given) to the segment's centre,
  /// nearest first, ties to the lower row index. Empty without features.
  std::vector<std::size_t> representatives;
};

/// Profiles of a clustering. The population is the clustered rows (label >= 0);
/// shares and lifts are relative to it. Rows labelled -1 are profiled separately
/// (against the same population) when there are any.
struct Profiles {
  SegmentProfile population;
  std::vector<SegmentProfile> segments;     // ascending label
  std::optional<SegmentProfile> unassigned;  // rows labelled -1, if any
};

/// Profiles of the table's numeric, categorical and binary columns (id and text
/// columns are skipped) for the segments of `labels` (size table.rows()).
/// Representative rows need `features` (table.rows(), q) — the clustering feature
/// space — and optionally `centers` (k, q) whose row c is the centre of label c;
/// without centres each segment's centre is the mean of its rows in `features`.
/// Throws InvalidArgument when sizes disagree, a label is < -1, no row is
/// clustered, or centres do not cover every label.
/// Cost: O(n) per column (the quartiles by selection, not a full sort), O(n q) for
/// the representatives; the columns and groups run on the threads. With
/// params.comm, sums, counts and the representatives' search are divided among the
/// ranks by row blocks, the numeric columns' order statistics by (column, group).
Profiles profile_segments(const Table& table, std::span<const std::int32_t> labels, const ProfileParams& params = {},
                          ViewD features = {}, ViewD centers = {});

/// The `count` rows of x (n, q) nearest (Euclidean) to the centre of each segment
/// of `labels` (ascending label order), nearest first, ties to the lower row index.
/// Centres as in profile_segments. Throws InvalidArgument as profile_segments does.
std::vector<std::vector<std::size_t>> representative_rows(ViewD x, std::span<const std::int32_t> labels,
                                                          std::size_t count, ViewD centers = {});

/// Quantile of sorted values (numpy's "linear" rule, see NumericSummary); q in [0, 1],
/// NaN for an empty span.
double quantile_linear(std::span<const double> sorted, double q) noexcept;

/// The profiles as tidy CSV text with header "segment,column,level,statistic,value"
/// (one value per line; segment = the label, "all" for the population,
/// "unassigned" for rows labelled -1). Statistics: size, share (column empty);
/// numeric: count, missing, mean, std, min, q1, median, q3, max; categorical:
/// count, missing, mode (value = the level), mode_share, and per level (level
/// column set) count, share, lift; distinguishing: distinguishing_score per listed
/// column (level set for categoricals, rank order = line order); representative
/// (value = row index, nearest first). Numbers in shortest round-trip form
/// (format_double); fields quoted as RFC 4180 requires.
std::string profiles_to_csv(const Profiles& profiles);

}  // namespace segmenta
