// The mixed plan: a table's numeric part (imputed, Yeo-Johnson, standardised) and
// categorical codes, fitted once and applied by column name to new tables.
#include <algorithm>
#include <cmath>

#include "core/order_select.hpp"
#include "prep/numeric.hpp"
#include "segmenta/prep.hpp"

namespace segmenta {

MixedPlan fit_mixed_plan(const Table& t, std::span<const std::size_t> rows, Diagnostics* diag,
                         NumericTransform transform, const Communicator* comm) {
  MixedPlan plan;
  std::vector<std::size_t> numeric, categorical;
  for (std::size_t j = 0; j < t.cols(); ++j) {
    const ColumnType type = t.column(j).type;
    if (type == ColumnType::numeric) numeric.push_back(j);
    if (type == ColumnType::categorical || type == ColumnType::binary) categorical.push_back(j);
  }
  // This rank's positions of `rows` (all of them for one process), and its rows of the
  // table for the missing levels.
  const detail::PrepShare share = detail::PrepShare::of(rows.size(), comm);
  const std::size_t p0 = share.begin_row(), p1 = share.end_row();
  const detail::PrepShare table_share = detail::PrepShare::of(t.rows(), comm);
  // numpy's median of each column's present values on the rows (0 without any), the
  // middle values selected among the ranks' values.
  {
    std::vector<std::vector<double>> mine(numeric.size());
    std::vector<std::span<const double>> parts;
    for (std::size_t c = 0; c < numeric.size(); ++c) {
      const Column& col = t.column(numeric[c]);
      plan.numeric_names.push_back(col.name);
      mine[c].reserve(p1 - p0);
      for (std::size_t r = p0; r < p1; ++r) mine[c].push_back(col.numbers[rows[r]]);
      parts.emplace_back(mine[c]);
    }
    for (double m : detail::medians_on_ranks(share.distributed() ? comm : nullptr, parts))
      plan.impute.push_back(std::isnan(m) ? 0.0 : m);
  }
  if (!numeric.empty()) {
    // The imputed values of this rank's positions (the others are not read).
    MatrixD raw(rows.size(), numeric.size());
    for (std::size_t c = 0; c < numeric.size(); ++c) {
      const Column& col = t.column(numeric[c]);
      for (std::size_t r = p0; r < p1; ++r) {
        const double v = col.numbers[rows[r]];
        raw(r, c) = std::isnan(v) ? plan.impute[c] : v;
      }
    }
    // Lambda 1 is Yeo-Johnson's identity, so `standard` and `none` keep the same model.
    plan.power = detail::fit_power_columns(raw.view(),
                                           std::vector<char>(numeric.size(), transform == NumericTransform::yeo_johnson),
                                           transform != NumericTransform::none, diag, plan.numeric_names, nullptr,
                                           &share);
  }
  std::vector<std::int64_t> missing(categorical.size(), 0);
  for (std::size_t c = 0; c < categorical.size(); ++c) {
    const Column& col = t.column(categorical[c]);
    plan.categorical_names.push_back(col.name);
    plan.levels.push_back(col.sorted_levels());
    for (std::size_t i = table_share.begin_row(); i < table_share.end_row() && !missing[c]; ++i)
      missing[c] = col.codes[i] < 0;
  }
  if (table_share.distributed() && !missing.empty()) missing = comm->allreduce_sum(missing);
  for (std::int64_t m : missing) plan.missing_level.push_back(m > 0);
  return plan;
}

std::vector<std::int32_t> MixedPlan::n_categories() const {
  std::vector<std::int32_t> n;
  for (std::size_t c = 0; c < levels.size(); ++c)
    n.push_back(static_cast<std::int32_t>(levels[c].size() + (missing_level[c] ? 1 : 0)));
  return n;
}

namespace {

// The plan applied to `rows` of t (all rows when `every`): the numeric cells one by
// one (Yeo-Johnson and the scaler are elementwise), so a row's values do not depend
// on which other rows are transformed with it.
MixedPlan::Data transform_rows(const MixedPlan& plan, const Table& t, std::span<const std::size_t> rows,
                               bool every) {
  const std::size_t n = every ? t.rows() : rows.size(), p = plan.numeric_names.size();
  auto row = [&](std::size_t i) { return every ? i : rows[i]; };
  MixedPlan::Data d;
  MatrixD raw(n, p);
  for (std::size_t c = 0; c < p; ++c) {
    const Column& col = t.column(t.index_of(plan.numeric_names[c]));
    for (std::size_t i = 0; i < n; ++i) {
      const double v = col.numbers[row(i)];
      raw(i, c) = std::isnan(v) ? plan.impute[c] : v;
    }
  }
  d.numeric = p ? plan.power.transform(raw.view()) : MatrixD(n, 0);
  d.codes.resize(n, plan.categorical_names.size());
  for (std::size_t c = 0; c < plan.categorical_names.size(); ++c) {
    const Column& col = t.column(t.index_of(plan.categorical_names[c]));
    const std::vector<std::string>& sorted = plan.levels[c];
    // Code of each of the column's own levels in the plan's sorted levels (-1: unseen).
    std::vector<std::int32_t> code_of(col.levels.size(), -1);
    for (std::size_t l = 0; l < col.levels.size(); ++l) {
      const auto it = std::lower_bound(sorted.begin(), sorted.end(), col.levels[l]);
      if (it != sorted.end() && *it == col.levels[l]) code_of[l] = static_cast<std::int32_t>(it - sorted.begin());
    }
    const std::int32_t missing_code = plan.missing_level[c] ? static_cast<std::int32_t>(sorted.size()) : -1;
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t raw_code = col.codes[row(i)];
      d.codes(i, c) = raw_code < 0 ? missing_code : code_of[static_cast<std::size_t>(raw_code)];
    }
  }
  return d;
}

}  // namespace

MixedPlan::Data MixedPlan::transform(const Table& t) const { return transform_rows(*this, t, {}, true); }

MixedPlan::Data MixedPlan::transform(const Table& t, std::span<const std::size_t> rows) const {
  return transform_rows(*this, t, rows, false);
}

}  // namespace segmenta
