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
#include <string>
#include <vector>

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
  /// Codes of every row of `col` (same name and kind as at fit), n values.
  std::vector<double> transform(const Column& col, UnknownPolicy unknown = UnknownPolicy::error) const;
};
OrdinalEncoding fit_ordinal(const Column& col);

/// OneHotEncoder for one categorical column: one indicator per sorted category.
/// Missing values get all zeros.
struct OneHotEncoding {
  std::string column;
  std::vector<std::string> categories;
  /// Writes n rows x categories.size() indicators into out (row stride ldo) for `col`.
  void transform(const Column& col, double* out, std::size_t ldo, UnknownPolicy unknown = UnknownPolicy::error) const;
  /// "<column>_<category>" for each indicator (pandas.get_dummies naming).
  std::vector<std::string> feature_names() const;
};
OneHotEncoding fit_onehot(const Column& col);

// ---------------------------------------------------------------------------
// Power transform and scaling
// ---------------------------------------------------------------------------

/// Yeo-Johnson transform of one value (scikit-learn's rule: |lambda| < 2.22e-16
/// counts as 0, |lambda - 2| <= 2.22e-16 as 2).
double yeo_johnson(double x, double lambda) noexcept;

/// The lambda scikit-learn's PowerTransformer fits for n values with stride
/// `stride` (NaNs skipped): Brent from the (-2, 2) bracket on the negative
/// Yeo-Johnson profile log-likelihood. Returns 1 for a constant column.
double fit_yeo_johnson_lambda(const double* values, std::size_t n, std::size_t stride = 1);

/// StandardScaler: mean and population standard deviation per column (NaNs
/// ignored); a zero/near-zero variance column gets scale 1 (scikit-learn's rule).
struct StandardScalerModel {
  std::vector<double> mean, scale;
  /// (x - mean) / scale for x (n, p); NaN stays NaN.
  MatrixD transform(ViewD x) const;
  MatrixD inverse_transform(ViewD z) const;
};
StandardScalerModel fit_standard_scaler(ViewD x);

struct PowerTransformerParams {
  bool standardize = true;  // apply a StandardScaler to the transformed columns
};

/// PowerTransformer(method="yeo-johnson").
struct PowerTransformerModel {
  std::vector<double> lambdas;
  bool standardize = true;
  StandardScalerModel scaler;  // fitted on the transformed training columns
  /// Transforms x (n, p) with the fitted lambdas (and scaler); NaN stays NaN.
  MatrixD transform(ViewD x) const;
};
/// Fits on x (n, p). Constant columns get lambda 1 and a diagnostic (when diag is given).
PowerTransformerModel fit_power_transformer(ViewD x, const PowerTransformerParams& params = {},
                                            Diagnostics* diag = nullptr, const std::vector<std::string>& names = {});

// ---------------------------------------------------------------------------
// Column plan: Table -> feature matrix
// ---------------------------------------------------------------------------

enum class PrepPreset {
  /// Sound default: numeric columns -> Yeo-Johnson + standardize; binary categoricals
  /// -> one 0/1 indicator, other categoricals -> one-hot indicators, both
  /// standardized; id and text columns excluded; numeric missing values imputed by
  /// the column median, categorical missing values get an indicator of their own.
  standard,
  /// The blog's pipeline: OrdinalEncoder on every selected column (numbers replaced
  /// by the rank of their distinct value) then PowerTransformer on all of them.
  blog,
};

struct PrepParams {
  PrepPreset preset = PrepPreset::standard;
  /// Categoricals with more levels than this are left out of the features (with a diagnostic).
  std::size_t max_onehot_levels = 50;
  UnknownPolicy unknown = UnknownPolicy::missing;  // for transform() on new data
};

/// How one source column becomes features.
struct FeatureBlock {
  enum class Kind { power, onehot, ordinal_power, excluded } kind;
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
  /// Table (n, columns) -> features (n, feature_names.size()). Throws InvalidArgument
  /// for a missing column or (unknown == error) an unseen category.
  MatrixD transform(const Table& table) const;
};

struct PrepResult {
  PrepModel model;
  MatrixD features;  // (table.rows(), model.feature_names.size())
  Diagnostics diagnostics;
};

/// Fits the column plan on `table` and transforms it. Throws InvalidArgument if no
/// usable feature column remains.
PrepResult fit_prep(const Table& table, const PrepParams& params = {});

}  // namespace segmenta
