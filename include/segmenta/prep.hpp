// segmenta prep: encoders, Yeo-Johnson power transform, standard scaling, and the
// column plan that turns a Table into the numeric matrix a method clusters.
//
// Reference behaviour: scikit-learn 1.2/1.3 OrdinalEncoder, OneHotEncoder,
// PowerTransformer(method="yeo-johnson", standardize=True) and StandardScaler
// (../shared/ANCHORS.md §1.1-1.2). Yeo-Johnson lambdas are fitted as scikit-learn
// does: Brent minimisation (scipy.optimize.brent, bracket from (-2, 2)) of the
// negative profile log-likelihood, NaNs ignored. Constant columns are handled
// (lambda = 1, output 0, a diagnostic) instead of failing as scikit-learn does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"
#include "segmenta/table.hpp"

namespace segmenta {

// ---------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------

/// What a transform does with a category not seen at fit time.
enum class UnknownPolicy {
  error,   // throw InvalidArgument naming the column and the value (scikit-learn's default)
  missing  // treat it as missing (ordinal: NaN; one-hot: all zeros)
};

/// OrdinalEncoder for one column: categories are the sorted distinct present values
/// (numbers in numeric order for numeric columns, strings in code-point order),
/// code = index in that list as a double. Missing values map to NaN.
struct OrdinalEncoding {
  std::string column;
  bool numeric = false;
  std::vector<double> number_categories;  // numeric columns
  std::vector<std::string> categories;    // other columns
  std::size_t size() const noexcept { return numeric ? number_categories.size() : categories.size(); }
  /// Codes of every row of `col` (same name and kind as at fit), n values; missing
  /// rows give NaN whatever the policy. Throws InvalidArgument when `col` has another
  /// name or kind (numeric vs not), or (unknown == error) holds a value not seen at
  /// fit. O(n log size()) for numeric columns, O(n + levels log size()) otherwise.
  std::vector<double> transform(const Column& col, UnknownPolicy unknown = UnknownPolicy::error) const;
};
/// Fits on the values present in `col` (levels that no row uses are not categories).
OrdinalEncoding fit_ordinal(const Column& col);

/// OneHotEncoder for one categorical column: one indicator per sorted category.
/// Missing values get all zeros, or a 1 in the missing indicator when there is one.
/// With drop_first the first category gets no indicator (pandas.get_dummies'
/// drop_first, used for two-valued columns); with missing_indicator a last
/// indicator "<column>_nan" marks missing values (get_dummies' dummy_na).
struct OneHotEncoding {
  std::string column;
  std::vector<std::string> categories;
  bool drop_first = false;
  bool missing_indicator = false;
  /// Number of indicators written per row.
  std::size_t size() const noexcept {
    return categories.size() - (drop_first && !categories.empty() ? 1 : 0) + (missing_indicator ? 1 : 0);
  }
  /// Writes n rows x size() indicators (0 or 1) into out (row stride ldo) for `col`.
  /// An unseen category throws InvalidArgument (unknown == error) or counts as missing.
  /// Throws InvalidArgument when `col` has another name or is numeric.
  void transform(const Column& col, double* out, std::size_t ldo, UnknownPolicy unknown = UnknownPolicy::error) const;
  /// "<column>_<category>" for each indicator (pandas.get_dummies naming), then
  /// "<column>_nan" for the missing indicator.
  std::vector<std::string> feature_names() const;
};
/// Categories = the sorted distinct present levels of `col`; drop_first and
/// missing_indicator are left false. Throws InvalidArgument for a numeric column.
OneHotEncoding fit_onehot(const Column& col);

// ---------------------------------------------------------------------------
// Power transform and scaling
// ---------------------------------------------------------------------------

/// Yeo-Johnson transform of one value (scikit-learn's rule: |lambda| < 2.22e-16
/// counts as 0, |lambda - 2| <= 2.22e-16 as 2). NaN gives NaN.
double yeo_johnson(double x, double lambda) noexcept;

/// The lambda scikit-learn's PowerTransformer fits for n values with stride
/// `stride` (NaNs skipped): Brent from the (-2, 2) bracket on the negative
/// Yeo-Johnson profile log-likelihood
///   nll(l) = (m/2) log var(psi(x; l)) - (l - 1) sum sign(x) log1p|x|
/// (m present values, population variance, +inf when var < DBL_MIN), with
/// scipy.optimize.bracket's downhill search (golden ratio 1.618034, grow limit 110,
/// at most 1000 steps) and scipy.optimize.brent (tol 1.48e-8, at most 500
/// iterations). Agrees with scikit-learn to ~1e-8 relative (its numpy pow/log are
/// not bit-identical to the C library's). Returns 1 for a constant column (fewer
/// than two distinct present values). Throws InvalidArgument for an infinite value.
/// Cost: O(n log n) once, then O(distinct values) per likelihood evaluation.
double fit_yeo_johnson_lambda(const double* values, std::size_t n, std::size_t stride = 1);

/// StandardScaler: mean and population standard deviation per column (NaNs
/// ignored); a zero/near-zero variance column gets scale 1 (scikit-learn's rule).
/// The variance is scikit-learn's corrected two-pass formula
///   (sum (x - mean)^2 - (sum (x - mean))^2 / m) / m
/// with every column sum taken in numpy's pairwise order (what numpy does for a
/// column-contiguous array; on a C-ordered array it sums row after row, which
/// differs in the last bits), and "near-zero" means var <= m eps var + (m mean eps)^2.
/// A column without any present value gets mean 0, scale 1. O(n p), one pass over
/// the rows per sum.
struct StandardScalerModel {
  std::vector<double> mean, scale;
  /// (x - mean) / scale for x (n, p); NaN stays NaN.
  MatrixD transform(ViewD x) const;
  MatrixD inverse_transform(ViewD z) const;
};
/// Fits on x (n, p), n >= 1. Throws InvalidArgument for an empty x.
StandardScalerModel fit_standard_scaler(ViewD x);

struct PowerTransformerParams {
  bool standardize = true;  // apply a StandardScaler to the transformed columns
};

/// PowerTransformer(method="yeo-johnson").
struct PowerTransformerModel {
  std::vector<double> lambdas;
  bool standardize = true;
  StandardScalerModel scaler;  // fitted on the transformed training columns
  /// Transforms x (n, lambdas.size()) with the fitted lambdas (and scaler); NaN stays
  /// NaN. Throws InvalidArgument on a column-count mismatch.
  MatrixD transform(ViewD x) const;
};
/// Fits on x (n, p) as scikit-learn's fit_transform does: one lambda per column
/// (fit_yeo_johnson_lambda, columns in parallel), then the scaler is fitted on the
/// transformed columns, so transform(x) is the fit_transform output. Constant
/// columns get lambda 1, a scaler mean equal to their transformed value and scale 1
/// (standardized output exactly 0), and a "constant_column" warning in diag (when given) naming
/// names[j] (or "column j" when names is empty). Throws InvalidArgument for an empty
/// x, an infinite value, or names of the wrong length.
PowerTransformerModel fit_power_transformer(ViewD x, const PowerTransformerParams& params = {},
                                            Diagnostics* diag = nullptr, const std::vector<std::string>& names = {});

// ---------------------------------------------------------------------------
// Column plan: Table -> feature matrix
// ---------------------------------------------------------------------------

enum class PrepPreset {
  /// Sound default: numeric columns -> Yeo-Johnson + standardize; binary categoricals
  /// (exactly two distinct present values) -> one 0/1 indicator of the second sorted
  /// value, other categoricals -> one-hot indicators, both standardized; id and text
  /// columns excluded; numeric missing values imputed by the column median (a
  /// warning), categorical missing values get an indicator of their own
  /// ("<column>_nan"). Categoricals with more than max_onehot_levels levels and
  /// numeric columns without any value are excluded (a warning).
  standard,
  /// The blog's pipeline: OrdinalEncoder on every selected column (numbers replaced
  /// by the rank of their distinct value) then PowerTransformer on all of them.
  /// id and text columns are excluded (an info diagnostic). Missing values are an
  /// InvalidArgument: scikit-learn's OrdinalEncoder + PowerTransformer would pass NaN
  /// on to k-means, which rejects it.
  blog,
};

/// What happens to numeric columns: Yeo-Johnson then standardisation (the default,
/// scikit-learn's PowerTransformer), standardisation only (StandardScaler: what kmodes
/// and prince see after a scaler), or nothing (the numbers as they are, and in the
/// standard preset's one-hot features the indicators unscaled too).
enum class NumericTransform { yeo_johnson, standard, none };
std::string_view to_string(NumericTransform t) noexcept;  // "yeo-johnson", "standard", "none"
/// The names of to_string; throws InvalidArgument("<what>: expected …, got '…'").
NumericTransform parse_numeric_transform(std::string_view text, std::string_view what = "numeric");

std::string_view to_string(PrepPreset p) noexcept;
/// "standard" or "blog"; throws InvalidArgument("<what>: expected standard or blog, got '…'").
PrepPreset parse_prep_preset(std::string_view text, std::string_view what = "preset");

struct PrepParams {
  PrepPreset preset = PrepPreset::standard;
  NumericTransform numeric = NumericTransform::yeo_johnson;
  /// Categoricals with more levels than this are left out of the features (with a diagnostic).
  std::size_t max_onehot_levels = 50;
  UnknownPolicy unknown = UnknownPolicy::missing;  // for transform() on new data
  /// Ranks to share the work with (null or one rank: this process alone). Every rank
  /// calls fit_prep with the same table; each encodes and transforms the rows of its
  /// share of the row blocks (the nodes of the scaler's pairwise sums), the column
  /// statistics (the distinct values and counts the Yeo-Johnson lambdas are fitted
  /// on, the scaler's block sums, the counts of the medians' exact selection, the
  /// column plan's counts of missing cells and levels) are counted on each rank's
  /// rows, exchanged and combined in the one-process order, and the feature rows are
  /// gathered, so every rank returns, bit for bit, what one process would.
  const Communicator* comm = nullptr;
  /// With a communicator: every rank encodes and transforms every row itself (the
  /// default: the statistics shared, no feature row sent), or, when false, only the
  /// rows of its share, the others' feature rows then gathered (n x features x 8
  /// bytes received per rank). The same bits either way; on 2 ranks of one machine at
  /// 1 M rows transforming every row was the faster (docs/PERFORMANCE.md).
  bool transform_every_row = true;
  /// When set, increased by the rows whose statistics this rank computed (a test's
  /// measure of the share).
  std::size_t* prepared_rows = nullptr;
  /// When set, increased by the values (rows x numeric columns) among which this rank
  /// selected the imputation medians.
  std::size_t* median_values = nullptr;
  /// When set, increased by the rows whose cells this rank counted for the column plan
  /// (missing cells, the levels rows use, the blog preset's distinct numbers).
  std::size_t* counted_rows = nullptr;
};

/// How one source column becomes features.
struct FeatureBlock {
  enum class Kind { power, onehot, ordinal_power, excluded } kind = Kind::excluded;
  std::string column;
  std::size_t first_feature = 0, n_features = 0;  // span in the output matrix
  double impute = 0.0;                            // median used for missing numbers
  OrdinalEncoding ordinal;                        // blog preset
  OneHotEncoding onehot;                          // standard preset, categoricals
};

/// A fitted column plan; transform() applies it to new tables with the same columns.
struct PrepModel {
  PrepPreset preset = PrepPreset::standard;
  UnknownPolicy unknown = UnknownPolicy::missing;
  std::vector<FeatureBlock> blocks;
  std::vector<std::string> feature_names;  // one per output column
  /// The power transform over every output column (lambda 1 + plain scaling for indicators).
  PowerTransformerModel power;
  /// Table (n, columns) -> features (n, feature_names.size()). Columns are found by
  /// name (extra columns are ignored); on the training table the result equals
  /// fit_prep's features bit for bit. Missing numbers get the training median and
  /// missing categories the missing indicator (all zeros without one) in the standard
  /// preset; in the blog preset a missing value is handled like an unseen one. Unseen
  /// values throw InvalidArgument (unknown == error) or count as missing (blog preset:
  /// NaN features in that row). Throws InvalidArgument for a missing column or one
  /// whose kind (numeric vs not) changed, NotFitted for a default-constructed model.
  MatrixD transform(const Table& table) const;
};

struct PrepResult {
  PrepModel model;
  MatrixD features;  // (table.rows(), model.feature_names.size())
  Diagnostics diagnostics;
};

/// Fits the column plan on `table` and transforms it (lambdas of the power and
/// ordinal columns fitted in parallel). Throws InvalidArgument for an empty table,
/// max_onehot_levels == 0, missing values in the blog preset, or if no usable feature
/// column remains. Constant columns are not an error: lambda 1, output 0, a warning.
PrepResult fit_prep(const Table& table, const PrepParams& params = {});

// ---------------------------------------------------------------------------
// Mixed plan: Table -> numeric part + categorical codes (k-prototypes' view)
// ---------------------------------------------------------------------------

/// The numeric and categorical parts of a table for methods that treat the two
/// kinds apart (k-prototypes): numeric columns with missing values imputed by the
/// median and Yeo-Johnson + standardised; categorical and binary columns as codes of
/// their sorted levels, with missing values as one more level (code levels.size())
/// when the training rows had any. Columns are found by name, so the plan applies to
/// any table with those columns.
struct MixedPlan {
  std::vector<std::string> numeric_names, categorical_names;
  std::vector<double> impute;                    // per numeric column
  PowerTransformerModel power;                   // per numeric column
  std::vector<std::vector<std::string>> levels;  // per categorical column, sorted
  std::vector<bool> missing_level;               // per categorical column
  struct Data {
    MatrixD numeric;               // (rows, numeric_names.size())
    Matrix<std::int32_t> codes;    // (rows, categorical_names.size())
  };
  /// Codes of new rows: an unseen level, or a missing value when the training rows
  /// had none, gets -1 (it matches no mode). Throws InvalidArgument naming a column
  /// the table lacks.
  Data transform(const Table& table) const;
  /// The same for the given rows of the table only, in that order: bit for bit the
  /// rows of transform(table).
  Data transform(const Table& table, std::span<const std::size_t> rows) const;
  /// Categories per categorical column, the missing level included.
  std::vector<std::int32_t> n_categories() const;
};

/// Fits the plan on `rows` of `table` (medians and the power transform on those rows;
/// levels of every row). Columns of type numeric are numeric, categorical and binary
/// ones categorical; others are left out.
/// `numeric` chooses the transform of the numeric columns (imputation is always done).
/// With `comm` of several ranks (every rank calling with the same table and rows) each
/// rank reads its share of `rows` (the preparation's tree nodes) for the medians and
/// the power transform, and its share of the table's rows for the missing levels, the
/// statistics merged as fit_prep merges them: every rank returns one process's plan.
MixedPlan fit_mixed_plan(const Table& table, std::span<const std::size_t> rows, Diagnostics* diag = nullptr,
                         NumericTransform numeric = NumericTransform::yeo_johnson,
                         const Communicator* comm = nullptr);

}  // namespace segmenta
