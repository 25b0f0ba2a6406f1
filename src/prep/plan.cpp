// The column plan: which source column becomes which features, fitted once and
// replayed on new tables by PrepModel::transform.
#include <algorithm>
#include <bit>
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

/// What the column plan counts over the rows of one column: its missing cells and
/// the first one's row, and (categorical columns) the rows of each level, or (numeric
/// columns of the blog preset) the set of its present values. Counted by each rank
/// over the rows of its share and merged exactly (count_columns): the plan's
/// decisions then read the counts of all the rows, as one process counts them.
struct ColumnCount {
  bool counted = false;  // a feature candidate (not an id or text column)
  std::int64_t missing = 0;
  std::int64_t first_missing = -1;       // a row of the table, -1: none
  std::vector<std::int64_t> level_rows;  // categorical: rows of each level (by code)
  bool number_set = false;               // numeric in the blog preset: numbers below
  detail::NumberSet numbers;
};

ColumnCount count_column(const Column& col, std::size_t begin, std::size_t end, bool blog) {
  ColumnCount c;
  c.counted = true;
  if (col.is_numeric()) {
    const double* x = col.numbers.data();
    for (std::size_t i = begin; i < end; ++i)
      if (std::isnan(x[i])) {
        if (c.missing++ == 0) c.first_missing = static_cast<std::int64_t>(i);
      }
    if (blog) {
      c.number_set = true;
      c.numbers = detail::number_set(x + begin, end - begin);
    }
    return c;
  }
  c.level_rows.assign(col.levels.size(), 0);
  const std::int32_t* codes = col.codes.data();
  for (std::size_t i = begin; i < end; ++i) {
    const std::int32_t code = codes[i];
    if (code >= 0) {
      ++c.level_rows[static_cast<std::size_t>(code)];
    } else if (c.missing++ == 0) {
      c.first_missing = static_cast<std::int64_t>(i);
    }
  }
  return c;
}

/// The counts of every column over the rows of this rank's share, merged over the
/// ranks: one gather of integers (each column's missing count, its first missing
/// row and its level counts, plus the blog preset's number-set flags and sizes) and,
/// with numeric columns in the blog preset, one of their nonzero values. Counts are
/// added (exact in any order); the first missing row is the first rank's that has
/// one (the ranks' rows are in rank order); the number sets are united.
std::vector<ColumnCount> count_columns(const Table& table, const detail::PrepShare& share, bool blog,
                                       std::size_t* counted_rows) {
  const std::size_t n_cols = table.cols();
  std::vector<ColumnCount> counts(n_cols);
  const std::size_t begin = share.begin_row(), end = share.end_row();
  parallel_for(n_cols, [&](std::size_t j) {
    const Column& col = table.column(j);
    if (col.type == ColumnType::id || col.type == ColumnType::text) return;
    counts[j] = count_column(col, begin, end, blog);
  });
  if (counted_rows) *counted_rows += end - begin;
  if (!share.distributed()) return counts;

  const Communicator& comm = *share.comm;
  std::vector<std::int64_t> ints;
  std::vector<double> numbers;
  for (const ColumnCount& c : counts) {
    if (!c.counted) continue;
    ints.push_back(c.missing);
    ints.push_back(c.first_missing);
    ints.insert(ints.end(), c.level_rows.begin(), c.level_rows.end());
    if (c.number_set) {
      ints.push_back(c.numbers.negative_zero);
      ints.push_back(c.numbers.positive_zero);
      ints.push_back(c.numbers.small_integers);
      ints.push_back(static_cast<std::int64_t>(c.numbers.nonzero.size()));
      numbers.insert(numbers.end(), c.numbers.nonzero.begin(), c.numbers.nonzero.end());
    }
  }
  const std::size_t width = ints.size(), size = static_cast<std::size_t>(comm.size());
  const std::vector<std::int64_t> all_ints = comm.allgather(std::span<const std::int64_t>(ints));
  if (all_ints.size() != width * size) throw Error("preparation: the ranks' column counts differ in size");
  const bool any_numbers = std::any_of(counts.begin(), counts.end(), [](const ColumnCount& c) { return c.number_set; });
  std::vector<double> all_numbers;
  if (any_numbers) all_numbers = comm.allgather(std::span<const double>(numbers));

  std::vector<ColumnCount> merged(n_cols);
  std::size_t number_at = 0;  // where rank r's next nonzero values start in all_numbers
  for (std::size_t r = 0; r < size; ++r) {
    const std::int64_t* v = all_ints.data() + r * width;
    for (std::size_t j = 0; j < n_cols; ++j) {
      const ColumnCount& mine = counts[j];
      if (!mine.counted) continue;
      ColumnCount& m = merged[j];
      if (r == 0) {
        m.counted = true;
        m.number_set = mine.number_set;
        m.level_rows.assign(mine.level_rows.size(), 0);
        m.numbers.small_integers = true;
      }
      m.missing += *v++;
      const std::int64_t first = *v++;
      if (m.first_missing < 0) m.first_missing = first;
      for (std::int64_t& rows : m.level_rows) rows += *v++;
      if (m.number_set) {
        detail::NumberSet part;
        part.negative_zero = *v++ != 0;
        part.positive_zero = *v++ != 0;
        part.small_integers = *v++ != 0;
        const auto count = static_cast<std::size_t>(*v++);
        if (count > all_numbers.size() - number_at) throw Error("preparation: the ranks' column counts differ in size");
        part.nonzero.assign(all_numbers.begin() + static_cast<std::ptrdiff_t>(number_at),
                            all_numbers.begin() + static_cast<std::ptrdiff_t>(number_at + count));
        number_at += count;
        detail::merge_number_sets(m.numbers, part);
      }
    }
  }
  return merged;
}

/// The levels that rows use, sorted (OneHotEncoder's and OrdinalEncoder's categories;
/// a table taken from a larger one keeps levels no row refers to any more).
std::vector<std::string> used_levels(const Column& col, const ColumnCount& c) {
  std::vector<std::string> out;
  for (std::size_t k = 0; k < col.levels.size(); ++k)
    if (c.level_rows[k] > 0) out.push_back(col.levels[k]);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
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

  // What the plan counts over the rows (missing cells, levels, the blog preset's
  // numbers): each rank counts its share's rows, and the counts are merged.
  const std::vector<ColumnCount> counts = count_columns(table, share, blog, params.counted_rows);

  for (const Column& col : table.columns()) {
    const ColumnCount& count = counts[static_cast<std::size_t>(&col - table.columns().data())];
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
    const auto missing = static_cast<std::size_t>(count.missing);
    const auto first_missing = static_cast<std::size_t>(count.first_missing);
    if (blog) {
      if (missing > 0)
        throw InvalidArgument(fmt::format(
            "column '{}' has {} missing values (first at row {}); the blog preset (OrdinalEncoder + "
            "PowerTransformer) has no rule for them and scikit-learn would pass NaN on to k-means, which rejects "
            "it; use the standard preset, which imputes them",
            col.name, missing, first_missing));
      b.kind = FeatureBlock::Kind::ordinal_power;
      b.ordinal.column = col.name;
      b.ordinal.numeric = col.is_numeric();
      if (b.ordinal.numeric)
        b.ordinal.number_categories = detail::ordinal_number_categories(count.numbers, table.rows());
      else
        b.ordinal.categories = used_levels(col, count);
      b.n_features = 1;
      model.feature_names.push_back(col.name);
    } else if (col.is_numeric()) {
      if (missing == table.rows()) {
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
      const auto levels = static_cast<std::size_t>(
          std::count_if(count.level_rows.begin(), count.level_rows.end(), [](std::int64_t rows) { return rows > 0; }));
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
      b.onehot.column = col.name;  // fit_onehot's encoding, from the counts of every rank's rows
      b.onehot.categories = used_levels(col, count);
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
  // On ranks each checks the rows it prepared, and the first column with such a value
  // on any rank, at its first row over the ranks, is every rank's error (the value
  // quoted comes from the rank that holds the row).
  const MatrixD& f = result.features;
  const std::size_t r0 = share.begin_row(), r1 = share.end_row();  // all rows for one process
  bool all_finite = true;
  for (std::size_t c = r0 * f.cols(); c < r1 * f.cols() && all_finite; ++c) all_finite = std::isfinite(f.data()[c]);
  const auto none = static_cast<std::int64_t>(f.rows());
  // Column j's first such row on this rank's rows (n: none) at 2j, and at 2j + 1 the
  // bits of the source column's number there.
  std::vector<std::int64_t> first_bad(2 * f.cols(), none);
  const auto source_of = [&](std::size_t j, std::string& column) {
    column = model.feature_names[j];
    for (const FeatureBlock& b : model.blocks)
      if (j >= b.first_feature && j < b.first_feature + b.n_features) column = b.column;
    std::size_t source_col = table.cols();
    for (std::size_t c = 0; c < table.cols(); ++c)
      if (table.column(c).name == column) source_col = c;
    return source_col < table.cols() && table.column(source_col).is_numeric() ? source_col : table.cols();
  };
  std::string column;
  for (std::size_t j = 0; j < f.cols() && !all_finite; ++j)
    for (std::size_t i = r0; i < r1; ++i)
      if (!std::isfinite(f(i, j))) {
        first_bad[2 * j] = static_cast<std::int64_t>(i);
        if (const std::size_t c = source_of(j, column); c < table.cols())
          first_bad[2 * j + 1] = std::bit_cast<std::int64_t>(table.column(c).numbers[i]);
        break;
      }
  if (share.distributed()) {
    const std::vector<std::int64_t> all = share.comm->allgather(std::span<const std::int64_t>(first_bad));
    for (std::size_t at = 0; at + 1 < all.size(); at += 2) {
      const std::size_t j = (at / 2) % f.cols();
      if (all[at] < first_bad[2 * j]) {
        first_bad[2 * j] = all[at];
        first_bad[2 * j + 1] = all[at + 1];
      }
    }
  }
  for (std::size_t j = 0; j < f.cols(); ++j)
    if (const auto i = static_cast<std::size_t>(first_bad[2 * j]); i < f.rows()) {
      std::string value;
      if (source_of(j, column) < table.cols())
        value = fmt::format(" (data row {} holds {})", i + 1, format_double(std::bit_cast<double>(first_bad[2 * j + 1])));
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
