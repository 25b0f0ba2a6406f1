// The kprototypes method: Huang's k-prototypes on the numeric columns
// (Yeo-Johnson + standardised, fitted on the clustered rows, as the blog does) and
// the categorical columns (codes of their sorted levels).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "context.hpp"
#include "model_io.hpp"
#include "segmenta/cluster.hpp"

namespace segmenta::detail {
namespace {

/// The k-prototypes view of the table: numeric part, categorical codes, and how they
/// were made (for the model file and for scoring).
struct MixedData {
  std::vector<std::size_t> numeric_cols, categorical_cols;
  std::vector<double> impute;                          // median per numeric column
  PowerTransformerModel power;                         // fitted on the clustered rows
  std::vector<std::vector<std::string>> levels;        // sorted levels per categorical column
  std::vector<bool> has_missing_level;                 // code levels.size() = missing
  MatrixD numeric;                                     // (table rows, p_num)
  Matrix<std::int32_t> codes;                          // (table rows, p_cat)
};

double median_of(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size();
  return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}

MixedData build_mixed(RunContext& ctx) {
  const Table& t = ctx.table;
  MixedData d;
  for (std::size_t j = 0; j < t.cols(); ++j) {
    const ColumnType type = t.column(j).type;
    if (type == ColumnType::numeric) d.numeric_cols.push_back(j);
    if (type == ColumnType::categorical || type == ColumnType::binary) d.categorical_cols.push_back(j);
  }
  if (d.numeric_cols.empty() || d.categorical_cols.empty())
    throw InvalidArgument(fmt::format(
        "--method kprototypes: needs both numeric and categorical columns, but {} has only {} ones (use --method "
        "kmeans, or --types to declare column types)",
        t.source(), d.numeric_cols.empty() ? "categorical" : "numeric"));

  const std::size_t n = t.rows();
  MatrixD raw(n, d.numeric_cols.size());
  for (std::size_t c = 0; c < d.numeric_cols.size(); ++c) {
    const Column& col = t.column(d.numeric_cols[c]);
    std::vector<double> present;
    for (std::size_t i : ctx.rows) present.push_back(col.numbers[i]);
    d.impute.push_back(median_of(std::move(present)));
    for (std::size_t i = 0; i < n; ++i) raw(i, c) = std::isnan(col.numbers[i]) ? d.impute[c] : col.numbers[i];
  }
  const MatrixD raw_clustered = take_rows<double, std::size_t>(raw.view(), ctx.rows);
  std::vector<std::string> names;
  for (std::size_t j : d.numeric_cols) names.push_back(t.column(j).name);
  d.power = fit_power_transformer(raw_clustered.view(), {}, &ctx.diag, names);
  d.numeric = d.power.transform(raw.view());

  d.codes.resize(n, d.categorical_cols.size());
  for (std::size_t c = 0; c < d.categorical_cols.size(); ++c) {
    const Column& col = t.column(d.categorical_cols[c]);
    std::vector<std::string> sorted = col.sorted_levels();
    std::vector<std::int32_t> code_of(col.levels.size());
    for (std::size_t l = 0; l < col.levels.size(); ++l)
      code_of[l] = static_cast<std::int32_t>(std::lower_bound(sorted.begin(), sorted.end(), col.levels[l]) - sorted.begin());
    const std::int32_t missing_code = static_cast<std::int32_t>(sorted.size());
    bool any_missing = false;
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t raw_code = col.codes[i];
      any_missing |= raw_code < 0;
      d.codes(i, c) = raw_code < 0 ? missing_code : code_of[static_cast<std::size_t>(raw_code)];
    }
    d.has_missing_level.push_back(any_missing);
    d.levels.push_back(std::move(sorted));
  }
  for (std::size_t c = 0; c < d.categorical_cols.size(); ++c)
    if (d.has_missing_level[c])
      ctx.diag.info("kprototypes", "missing_category",
                 fmt::format("column '{}': missing values form a category of their own",
                             t.column(d.categorical_cols[c]).name));
  return d;
}

/// The space in which the k-prototypes dissimilarity is a squared Euclidean distance:
/// numeric columns, then per categorical column one indicator per level scaled by
/// sqrt(gamma / 2) (one mismatch changes two indicators). (rows, p_num + J)
MatrixD mixed_space(const MixedData& d, double gamma) {
  const std::size_t n = d.numeric.rows(), p = d.numeric.cols();
  std::vector<std::size_t> offset;
  std::size_t width = p;
  for (std::size_t c = 0; c < d.levels.size(); ++c) {
    offset.push_back(width);
    width += d.levels[c].size() + (d.has_missing_level[c] ? 1 : 0);
  }
  const double w = std::sqrt(gamma / 2.0);
  MatrixD z(n, width, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    std::copy(d.numeric.row(i), d.numeric.row(i) + p, z.row(i));
    for (std::size_t c = 0; c < d.levels.size(); ++c) z(i, offset[c] + static_cast<std::size_t>(d.codes(i, c))) = w;
  }
  return z;
}

}  // namespace

MethodResult run_kprototypes(RunContext& ctx) {
  const RunParams& params = ctx.params;
  MethodResult r;
  r.name = "kprototypes";
  r.objective = "cost";
  const MixedData d = build_mixed(ctx);
  const MatrixD numeric = take_rows<double, std::size_t>(d.numeric.view(), ctx.rows);
  const Matrix<std::int32_t> codes = take_rows<std::int32_t, std::size_t>(d.codes.view(), ctx.rows);
  const KSpec ks = ctx.k_range();

  KPrototypesParams kp;
  kp.n_init = params.n_init ? params.n_init : 10;
  kp.max_iter = params.kproto_max_iter;
  kp.random_state = params.seed;
  kp.gamma = params.gamma;
  const std::string init = params.kproto_init.empty() ? (ctx.blog ? "huang" : "cao") : params.kproto_init;
  kp.init = init == "huang" ? KPrototypesInit::huang : KPrototypesInit::cao;
  kp.algorithm = params.kproto_batch ? KPrototypesAlgorithm::batch : KPrototypesAlgorithm::online;

  std::vector<std::size_t> k_values;
  for (std::size_t k = ks.lo; k <= ks.hi; ++k) k_values.push_back(k);
  Stopwatch clock;
  const KPrototypesSweep sweep = sweep_kprototypes(numeric.view(), codes.view(), k_values, kp, &ctx.diag);
  std::vector<KFit> fits;
  for (std::size_t i = 0; i < sweep.k.size(); ++i) {
    const auto& m = sweep.models[i];
    // k may have been reduced (fewer distinct rows than k): record the real count.
    fits.push_back({m.n_clusters(), m.labels, m.cost, m.n_iter, 0.0});
  }
  ctx.timings.add("kprototypes", clock.seconds());
  const double gamma = sweep.models.front().gamma;
  r.space = fmt::format("numeric columns + categorical indicators scaled by sqrt(gamma/2), gamma = {:.6g} "
                        "(Euclidean distance there = sqrt of the k-prototypes dissimilarity)",
                        gamma);
  const MatrixD z_all = mixed_space(d, gamma);
  MatrixD z = take_rows<double, std::size_t>(z_all.view(), ctx.rows);
  r.eval = evaluate_fits<double>(z.view(), fits, params.silhouette_sample, params.seed, ctx.diag);
  ctx.timings.add("silhouette", r.eval.silhouette_seconds);
  ctx.timings.add("metrics", r.eval.metrics_seconds);

  r.k = r.eval.recommendation.k;
  std::size_t chosen = 0;
  while (chosen + 1 < fits.size() && fits[chosen].k != r.k) ++chosen;
  const KPrototypesModel& model = sweep.models[chosen];
  r.labels = model.labels;
  MatrixD centroids = model.centroids;
  // Modes follow the renumbering of the centroids' rows.
  MatrixD modes_d(model.modes.rows(), model.modes.cols());
  for (std::size_t i = 0; i < modes_d.size(); ++i) modes_d.data()[i] = model.modes.data()[i];
  const std::vector<std::int32_t> rename = number_by_size(r, &centroids);
  {
    MatrixD reordered(modes_d.rows(), modes_d.cols());
    for (std::size_t old = 0; old < rename.size(); ++old)
      std::copy(modes_d.row(old), modes_d.row(old) + modes_d.cols(), reordered.row(static_cast<std::size_t>(rename[old])));
    modes_d = std::move(reordered);
  }

  nlohmann::json cat_cols = nlohmann::json::array(), num_cols = nlohmann::json::array(), modes = nlohmann::json::array();
  for (std::size_t c = 0; c < d.categorical_cols.size(); ++c)
    cat_cols.push_back({{"name", ctx.table.column(d.categorical_cols[c]).name},
                        {"levels", d.levels[c]},
                        {"missing_level", d.has_missing_level[c]}});
  for (std::size_t c = 0; c < d.numeric_cols.size(); ++c)
    num_cols.push_back({{"name", ctx.table.column(d.numeric_cols[c]).name}, {"impute", d.impute[c]}});
  for (std::size_t s = 0; s < modes_d.rows(); ++s) {
    nlohmann::json row = nlohmann::json::array();
    for (std::size_t c = 0; c < modes_d.cols(); ++c) {
      const auto code = static_cast<std::size_t>(modes_d(s, c));
      row.push_back(code < d.levels[c].size() ? nlohmann::json(d.levels[c][code]) : nlohmann::json(nullptr));
    }
    modes.push_back(std::move(row));
  }
  r.details = {{"init", init},
               {"algorithm", params.kproto_batch ? "batch" : "online"},
               {"gamma", gamma},
               {"n_init", kp.n_init},
               {"converged", model.converged},
               {"elbow_k", sweep.elbow_k ? nlohmann::json(*sweep.elbow_k) : nlohmann::json(nullptr)},
               {"modes", modes}};
  r.model = {{"k", r.k},
             {"gamma", gamma},
             {"numeric", {{"columns", num_cols},
                          {"lambdas", d.power.lambdas},
                          {"mean", d.power.scaler.mean},
                          {"scale", d.power.scaler.scale}}},
             {"categorical", cat_cols},
             {"centroids", matrix_to_json(centroids.view())},
             {"modes", matrix_to_json(modes_d.view())}};
  r.rep_space = z_all;
  r.map_d = std::move(z);
  r.map_space = "k-prototypes space (numeric columns + scaled categorical indicators)";
  r.map_numeric = numeric;
  r.map_codes = codes;
  return r;
}

}  // namespace segmenta::detail
