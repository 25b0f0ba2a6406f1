// The column plan: which source column becomes which features, fitted once and
// replayed on new tables by PrepModel::transform.
#include <algorithm>
#include <cmath>
#include <span>

#include <fmt/format.h>

#include "core/order_select.hpp"
#include "prep/numeric.hpp"
#include "segmenta/prep.hpp"

namespace segmenta {
namespace {

std::size_t count_missing(const Column& col, std::size_t* first) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < col.size(); ++i)
    if (col.is_missing(i)) {
      if (count == 0 && first) *first = i;
      ++count;
    }
  return count;
}

std::size_t count_present_levels(const Column& col) {
  std::vector<char> used(col.levels.size(), 0);
  for (std::int32_t c : col.codes)
    if (c >= 0) used[static_cast<std::size_t>(c)] = 1;
  return static_cast<std::size_t>(std::count(used.begin(), used.end(), 1));
}

const Column& block_column(const Table& table, const FeatureBlock& b) {
  const Column& col = table.column(table.index_of(b.column, "prep"));
  const bool want_numeric = b.kind == FeatureBlock::Kind::power || (b.kind == FeatureBlock::Kind::ordinal_power && b.ordinal.numeric);
  if (col.is_numeric() != want_numeric)
    throw InvalidArgument(fmt::format("column '{}' was {} when the model was fitted, now {}", b.column,
                                      want_numeric ? "numeric" : "categorical", to_string(col.type)));
  return col;
}

/// Rows [first, last) of the encoded (pre-power-transform) matrix e (n x width):
/// imputed numbers, ordinal codes, indicators. Blocks of rows in parallel, every
/// feature of a block's rows before the next block (the matrix is row-major); a
/// failure is the one of the first column, at its first row, whatever the threads.
void encode_rows(const PrepModel& model, const Table& table, UnknownPolicy unknown, MatrixD& e, std::size_t first,
                 std::size_t last) {
  const std::size_t width = model.feature_names.size();
  std::vector<const Column*> cols(model.blocks.size(), nullptr);
  std::vector<std::vector<double>> codes(model.blocks.size());
  for (std::size_t k = 0; k < model.blocks.size(); ++k) {
    const FeatureBlock& b = model.blocks[k];
    if (b.kind == FeatureBlock::Kind::excluded) continue;
    const Column& col = block_column(table, b);
    cols[k] = &col;
    if (b.kind != FeatureBlock::Kind::ordinal_power) continue;
    if (unknown == UnknownPolicy::error) {
      std::size_t first_missing = 0;
      if (count_missing(col, &first_missing) > 0)
        throw InvalidArgument(fmt::format(
            "column '{}' has a missing value at row {}; the blog preset treats it as an unseen value "
            "(use the missing unknown policy to get NaN features, or the standard preset)",
            b.column, first_missing));
    }
    codes[k] = b.ordinal.transform(col, unknown);
  }
  const auto rows = [&](std::size_t begin, std::size_t end) {
    for (std::size_t k = 0; k < model.blocks.size(); ++k) {
      const FeatureBlock& b = model.blocks[k];
      double* out = e.data() + b.first_feature;
      switch (b.kind) {
        case FeatureBlock::Kind::power: {
          const std::vector<double>& numbers = cols[k]->numbers;
          for (std::size_t i = begin; i < end; ++i) {
            const double x = numbers[i];
            out[i * width] = std::isnan(x) ? b.impute : x;
          }
          break;
        }
        case FeatureBlock::Kind::ordinal_power:
          for (std::size_t i = begin; i < end; ++i) out[i * width] = codes[k][i];
          break;
        case FeatureBlock::Kind::onehot:
          detail::onehot_rows(b.onehot, *cols[k], e.data() + b.first_feature, width, begin, end, unknown);
          break;
        case FeatureBlock::Kind::excluded:
          break;
      }
    }
  };
  try {
    parallel_blocks(last - first, 4096,
                    [&](std::size_t begin, std::size_t end, std::size_t) { rows(first + begin, first + end); });
  } catch (const Error&) {
    rows(first, last);  // column after column, as one thread meets the first failure
    throw;
  }
}

MatrixD encode(const PrepModel& model, const Table& table, UnknownPolicy unknown) {
  MatrixD e(table.rows(), model.feature_names.size());
  encode_rows(model, table, unknown, e, 0, table.rows());
  return e;
}

}  // namespace

MatrixD PrepModel::transform(const Table& table) const {
  if (feature_names.empty() || power.lambdas.size() != feature_names.size())
    throw NotFitted("the preparation is not fitted");
  return power.transform(encode(*this, table, unknown));
}

PrepResult fit_prep(const Table& table, const PrepParams& params) {
  if (table.rows() == 0 || table.cols() == 0)
    throw DataError(fmt::format("{}: the table is empty ({} rows, {} columns)",
                                table.source().empty() ? std::string("the table") : table.source(), table.rows(),
                                table.cols()));
  if (params.max_onehot_levels == 0) throw ParameterError("max_onehot_levels", "must be >= 1");

  PrepResult result;
  PrepModel& model = result.model;
  Diagnostics& diag = result.diagnostics;
  model.preset = params.preset;
  model.unknown = params.unknown;
  const bool blog = params.preset == PrepPreset::blog;
  detail::PrepShare share = detail::PrepShare::of(table.rows(), params.comm);

  // The imputation medians of the numeric columns (numpy.median of the present
  // values), selected exactly among the values of every rank's rows: each rank reads
  // only the rows of its share (detail::medians_on_ranks).
  std::vector<double> medians(table.cols(), 0.0);
  if (!blog) {
    std::vector<std::size_t> numeric;
    std::vector<std::span<const double>> parts;
    for (std::size_t c = 0; c < table.cols(); ++c) {
      const Column& col = table.column(c);
      if (col.type == ColumnType::id || col.type == ColumnType::text || !col.is_numeric()) continue;
      numeric.push_back(c);
      parts.emplace_back(col.numbers.data() + share.begin_row(), share.end_row() - share.begin_row());
    }
    const std::vector<double> found = detail::medians_on_ranks(share.comm, parts);
    if (params.median_values) *params.median_values += numeric.size() * (share.end_row() - share.begin_row());
    for (std::size_t k = 0; k < numeric.size(); ++k) medians[numeric[k]] = found[k];
  }

  for (const Column& col : table.columns()) {
    FeatureBlock b;
    b.kind = FeatureBlock::Kind::excluded;
    b.column = col.name;
    b.first_feature = model.feature_names.size();
    if (col.type == ColumnType::id || col.type == ColumnType::text) {
      diag.info("prep", "excluded_column",
                fmt::format("column '{}' is a {} column and is not used as a feature", col.name, to_string(col.type)));
      model.blocks.push_back(std::move(b));
      continue;
    }
    std::size_t first_missing = 0;
    const std::size_t missing = count_missing(col, &first_missing);
    if (blog) {
      if (missing > 0)
        throw InvalidArgument(fmt::format(
            "column '{}' has {} missing values (first at row {}); the blog preset (OrdinalEncoder + "
            "PowerTransformer) has no rule for them and scikit-learn would pass NaN on to k-means, which rejects "
            "it; use the standard preset, which imputes them",
            col.name, missing, first_missing));
      b.kind = FeatureBlock::Kind::ordinal_power;
      b.ordinal = fit_ordinal(col);
      b.n_features = 1;
      model.feature_names.push_back(col.name);
    } else if (col.is_numeric()) {
      if (missing == col.size()) {
        diag.warn("prep", "empty_column", fmt::format("column '{}' has no value and is left out", col.name));
        model.blocks.push_back(std::move(b));
        continue;
      }
      b.kind = FeatureBlock::Kind::power;
      b.impute = medians[static_cast<std::size_t>(&col - table.columns().data())];
      b.n_features = 1;
      if (missing > 0)
        diag.warn("prep", "imputed_missing",
                  fmt::format("column '{}': {} missing values imputed by the median {}", col.name, missing,
                              format_double(b.impute)));
      model.feature_names.push_back(col.name);
    } else {
      const std::size_t levels = count_present_levels(col);
      if (levels == 0) {
        diag.warn("prep", "empty_column", fmt::format("column '{}' has no value and is left out", col.name));
        model.blocks.push_back(std::move(b));
        continue;
      }
      if (levels > params.max_onehot_levels) {
        diag.warn("prep", "too_many_levels",
                  fmt::format("column '{}' has {} levels (more than max_onehot_levels = {}) and is left out", col.name,
                              levels, params.max_onehot_levels));
        model.blocks.push_back(std::move(b));
        continue;
      }
      b.kind = FeatureBlock::Kind::onehot;
      b.onehot = fit_onehot(col);
      b.onehot.drop_first = b.onehot.categories.size() == 2;
      b.onehot.missing_indicator = missing > 0;
      if (missing > 0)
        diag.info("prep", "missing_indicator",
                  fmt::format("column '{}': {} missing values get the indicator {}_nan", col.name, missing, col.name));
      b.n_features = b.onehot.size();
      for (auto& name : b.onehot.feature_names()) model.feature_names.push_back(std::move(name));
    }
    model.blocks.push_back(std::move(b));
  }
  if (model.feature_names.empty())
    throw DataError(fmt::format("{}: no usable feature column among its {} columns (identifiers, free text and "
                                "constant columns are not features)",
                                table.source().empty() ? std::string("the table") : table.source(), table.cols()));

  // The encoded matrix becomes the features in place (one n x p matrix, not two).
  // On ranks each encodes and transforms the rows of its share, and the features'
  // rows are gathered at the end (detail::fit_power_columns).
  share.every_row = share.distributed() && params.transform_every_row;
  result.features = MatrixD(table.rows(), model.feature_names.size());
  const auto encode_mine = [&] {
    encode_rows(model, table, UnknownPolicy::error, result.features, share.begin_transform(), share.end_transform());
  };
  if (share.distributed())
    agree_on_failure(*share.comm, encode_mine);
  else
    encode_mine();
  if (params.prepared_rows) *params.prepared_rows += share.end_row() - share.begin_row();
  std::vector<char> fit_lambda(model.feature_names.size(), 0);
  for (const FeatureBlock& b : model.blocks)
    if (b.kind == FeatureBlock::Kind::power || b.kind == FeatureBlock::Kind::ordinal_power)
      fit_lambda[b.first_feature] = params.numeric == NumericTransform::yeo_johnson;
  model.power = detail::fit_power_columns(result.features.view(), fit_lambda, params.numeric != NumericTransform::none,
                                          &diag, model.feature_names, &result.features, &share);
  // Finite numbers can still be too large to transform and standardise (1e308
  // squared): say which column, rather than letting a later stage meet a NaN. (One
  // pass along the rows first; the column order of the message only when one is.)
  const MatrixD& f = result.features;
  const std::size_t cells = f.rows() * f.cols();
  bool all_finite = true;
  for (std::size_t c = 0; c < cells && all_finite; ++c) all_finite = std::isfinite(f.data()[c]);
  for (std::size_t j = 0; j < f.cols() && !all_finite; ++j)
    for (std::size_t i = 0; i < f.rows(); ++i)
      if (!std::isfinite(f(i, j))) {
        std::string column = model.feature_names[j];
        std::size_t source_col = table.cols();
        for (const FeatureBlock& b : model.blocks)
          if (j >= b.first_feature && j < b.first_feature + b.n_features) column = b.column;
        for (std::size_t c = 0; c < table.cols(); ++c)
          if (table.column(c).name == column) source_col = c;
        std::string value;
        if (source_col < table.cols() && table.column(source_col).is_numeric())
          value = fmt::format(" (data row {} holds {})", i + 1, format_double(table.column(source_col).numbers[i]));
        throw DataError(fmt::format("{}: column '{}': the values are too large to transform and standardise{}",
                                    table.source().empty() ? std::string("the table") : table.source(), column, value));
      }
  return result;
}

std::string_view to_string(NumericTransform t) noexcept {
  switch (t) {
    case NumericTransform::standard: return "standard";
    case NumericTransform::none: return "none";
    case NumericTransform::yeo_johnson: break;
  }
  return "yeo-johnson";
}

NumericTransform parse_numeric_transform(std::string_view text, std::string_view what) {
  for (NumericTransform t : {NumericTransform::yeo_johnson, NumericTransform::standard, NumericTransform::none})
    if (text == to_string(t)) return t;
  throw InvalidArgument(fmt::format("{}: expected yeo-johnson, standard or none, got '{}'", what, text));
}

std::string_view to_string(PrepPreset p) noexcept { return p == PrepPreset::blog ? "blog" : "standard"; }

PrepPreset parse_prep_preset(std::string_view text, std::string_view what) {
  if (text == "standard") return PrepPreset::standard;
  if (text == "blog") return PrepPreset::blog;
  throw InvalidArgument(fmt::format("{}: expected standard or blog, got '{}'", what, text));
}

}  // namespace segmenta
