// segment(): a table in memory -> a typed SegmentationResult. Prepare, flag
// outliers, run each method through the registry (sweep k, cluster, evaluate),
// profile, explain, map and compare. Nothing here reads or writes files (the embed
// method reads its model folder and cache).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "explain/representatives.hpp"
#include "method.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta {
namespace {

using detail::MethodResult;
using detail::RunContext;

}  // namespace

namespace {

/// Flags outliers with ECOD on `space` (every table row) and selects the clustered rows.
void detect_outliers(RunContext& ctx, OutlierResult& out, ViewD space, std::vector<std::string> feature_names,
                     std::string description, const std::string& source) {
  const std::size_t n = ctx.table.rows();
  out.policy = ctx.params.outliers;
  out.contamination = ctx.params.contamination;
  out.flagged.assign(n, 0);
  out.score.assign(n, std::nan(""));
  out.features = std::move(feature_names);
  out.space = std::move(description);
  if (ctx.params.outliers != OutlierPolicy::none) {
    EcodParams ep;
    ep.contamination = ctx.params.contamination;
    ep.comm = &world();  // every rank runs this stage on the same rows
    out.model = fit_ecod(space, ep);
    out.flagged = out.model->take_labels();  // (moved: one copy of the scores and flags per run)
    out.score = out.model->take_decision_scores();
  }
  ctx.rows.clear();
  for (std::size_t i = 0; i < n; ++i)
    if (!(ctx.params.outliers == OutlierPolicy::drop && out.flagged[i])) ctx.rows.push_back(i);
  if (ctx.rows.size() < 3)
    throw InvalidArgument(fmt::format("{}: only {} rows remain to cluster", source, ctx.rows.size()));
}

}  // namespace

std::size_t OutlierResult::count() const noexcept {
  return static_cast<std::size_t>(std::count(flagged.begin(), flagged.end(), 1));
}

const MethodSegmentation& SegmentationResult::method(std::string_view name) const {
  for (const auto& m : methods)
    if (m.name == name) return m;
  throw InvalidArgument(fmt::format("method: the result has no '{}' segmentation", name));
}

namespace {

/// One row, or rows that are all the same in every column a feature comes from,
/// cannot be segmented: say so plainly rather than let a stage fail inside.
void check_rows_differ(const Table& t, const std::string& source) {
  const std::size_t n = t.rows();
  if (n < 2)
    throw DataError(fmt::format("{}: {}; a segmentation needs at least 2 different rows", source,
                                n == 1 ? std::string("the table has one row") : std::string("the table has no row")));
  const bool any_used = std::any_of(t.columns().begin(), t.columns().end(), [](const Column& c) {
    return c.type != ColumnType::id && c.type != ColumnType::text;
  });
  if (!any_used) {
    std::string names;
    for (const Column& c : t.columns())
      names += fmt::format("{}'{}' ({})", names.empty() ? "" : ", ", c.name, to_string(c.type));
    throw DataError(fmt::format("{}: no usable feature column among its {} columns ({}): identifiers and free text "
                                "are not segmented on",
                                source, t.cols(), names));
  }
  for (const Column& c : t.columns()) {
    if (c.type == ColumnType::id || c.type == ColumnType::text) continue;
    for (std::size_t i = 1; i < n; ++i) {
      const bool same = c.is_numeric() ? (c.numbers[i] == c.numbers[0] ||
                                          (std::isnan(c.numbers[i]) && std::isnan(c.numbers[0])))
                                       : c.codes[i] == c.codes[0];
      if (!same) return;
    }
  }
  throw DataError(
      fmt::format("{}: all {} rows identical (in the columns used); there is nothing to segment", source, n));
}

}  // namespace

SegmentationResult segment(const Table& table, const RunParams& params, Provenance input) {
  validate_run_params(params);
  return segment(Table(table), params, std::move(input));
}

SegmentationResult segment(Table&& table, const RunParams& params, Provenance input) {
  validate_run_params(params);
  set_num_threads(params.threads);
  Progress::set_enabled(!params.quiet);
  RunContext ctx(params);
  ctx.blog = params.preset == PrepPreset::blog;
  const std::string source = !params.data.empty() ? params.data : !input.name.empty() ? input.name : table.source();

  std::vector<Method> methods;
  if (params.method == Method::all)
    methods = clustering_methods();
  else
    methods = {params.method};
  bool embed = false;
  for (Method m : methods) embed |= detail::method_spec(m).needs_embeddings;
  // Fail before any work when the encoder's weights are not there.
  if (embed) resolve_model_dir(params.model, params.revision);
  check_rows_differ(table, source);
  ctx.table = std::move(table);

  SegmentationResult result;
  result.params = params;
  result.blog = ctx.blog;
  result.input = std::move(input);
  if (result.input.kind.empty()) result.input.kind = "memory";
  if (result.input.name.empty()) result.input.name = ctx.table.source();

  // ---- prepare: the encoded feature matrix is the common space of every method
  PrepParams pp;
  pp.preset = ctx.blog ? PrepPreset::blog : PrepPreset::standard;
  pp.numeric = params.numeric;
  pp.comm = &world();  // every rank prepares its share of the rows; all get every feature row
  {
    Progress progress("prepare");
    progress.note(fmt::format("{} rows, {} columns", ctx.table.rows(), ctx.table.cols()));
    ctx.prep = fit_prep(ctx.table, pp);
  }
  ctx.diag.append(ctx.prep.diagnostics);
  ctx.timings.lap("prep");

  // ---- embeddings
  if (embed) {
    detail::embed_rows(ctx);
    ctx.timings.clock.reset();
  }

  // ---- outliers: in the method's space when one method runs, in the common space
  // (so that every method clusters the same rows) when several do
  Progress outliers_progress("outliers (ECOD)");
  outliers_progress.note(fmt::format("{} rows", ctx.table.rows()));
  if (methods.size() == 1 && detail::method_spec(methods[0]).needs_embeddings) {
    MatrixD v(ctx.vectors.rows(), ctx.vectors.cols());
    for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] = ctx.vectors.data()[i];
    std::vector<std::string> dims;
    for (std::size_t j = 0; j < v.cols(); ++j) dims.push_back(fmt::format("dim{}", j));
    detect_outliers(ctx, result.outliers, v.view(), std::move(dims),
                    fmt::format("sentence embeddings ({} dimensions)", v.cols()), source);
    result.outliers.on_embeddings = true;
  } else {
    detect_outliers(ctx, result.outliers, ctx.prep.features.view(), ctx.prep.model.feature_names,
                    fmt::format("encoded features ({} columns)", ctx.prep.features.cols()), source);
  }
  outliers_progress.finish();
  ctx.timings.lap("outliers");

  // ---- the methods
  std::vector<MethodResult> results;
  for (Method m : methods) {
    results.push_back(detail::method_spec(m).fit(ctx));
    ctx.timings.clock.reset();
  }
  // Free the embeddings (their copies live in the methods' spaces).
  ctx.vectors = MatrixF();

  const std::size_t n = ctx.table.rows();
  for (const auto& r : results) {
    MethodSegmentation s;
    s.method = r.id;
    s.name = r.name;
    s.objective = r.objective;
    s.space = r.space;
    s.sweep = r.eval;
    s.k = r.k;
    s.labels = r.labels;
    s.segment_of_row.assign(n, -1);
    for (std::size_t i = 0; i < ctx.rows.size(); ++i) s.segment_of_row[ctx.rows[i]] = r.labels[i];
    if (!r.probability.empty()) {
      s.probability.assign(n, std::nan(""));
      for (std::size_t i = 0; i < ctx.rows.size(); ++i) s.probability[ctx.rows[i]] = r.probability[i];
    }
    s.final = r.final;
    s.model = r.fitted;
    s.details = r.details;
    result.methods.push_back(std::move(s));
  }

  // ---- profiles on the original columns; representatives in each method's space
  Progress profiles_progress("profiles", results.size(), "methods");
  ProfileParams profile_params;
  profile_params.comm = &world();  // every rank profiles the same rows and gets the whole result
  for (std::size_t m = 0; m < results.size(); ++m, profiles_progress.advance()) {
    const std::vector<std::int32_t>& labels = result.methods[m].segment_of_row;
    if (results[m].mixed) {
      // The space of the clustered rows, made row by row (table row -> clustered row).
      Profiles p = profile_segments(ctx.table, labels, profile_params);
      const detail::MixedRows& z = *results[m].mixed;
      std::vector<std::size_t> clustered(n, 0);  // table row -> clustered row
      for (std::size_t i = 0; i < ctx.rows.size(); ++i) clustered[ctx.rows[i]] = i;
      const detail::FeatureRow space = [&](std::size_t row, double* dst) { z.fill(clustered[row], dst); };
      auto reps =
          detail::representative_rows_of(z.width(), space, labels, profile_params.representatives, profile_params.comm);
      for (std::size_t s = 0; s < p.segments.size(); ++s) p.segments[s].representatives = std::move(reps[s]);
      result.methods[m].profiles = std::move(p);
    } else {
      result.methods[m].profiles =
          profile_segments(ctx.table, labels, profile_params,
                           results[m].rep_common ? ctx.prep.features.view() : results[m].rep_space.view(),
                           results[m].rep_centers.view());
    }
  }
  profiles_progress.finish();
  ctx.timings.lap("profiles");

  // ---- explanation: a surrogate on the encoded features, per method
  if (params.explain) {
    Progress progress("explanation (surrogate tree)", results.size(), "methods");
    for (std::size_t m = 0; m < results.size(); ++m, progress.advance()) {
      if (results[m].k < 2) continue;
      progress.note(fmt::format("{}: {} rows", results[m].name, ctx.table.rows()));
      ExplainParams ep;
      ep.surrogate.random_state = params.seed;
      ep.comm = &world();  // every rank runs this stage on the same rows
      result.methods[m].explanation =
          explain_segments(ctx.prep.features.view(), result.methods[m].segment_of_row, ep, &ctx.diag);
    }
    ctx.timings.lap("explain");
  }

  // ---- maps for the report
  if (params.maps) {
    Progress progress("maps", results.size(), "methods");
    for (std::size_t m = 0; m < results.size(); ++m, progress.advance()) {
      progress.note(results[m].name);
      result.methods[m].maps = detail::compute_maps(ctx, results[m]);
      // The spaces are not needed any more; give their memory back.
      results[m].map_d = MatrixD();
      results[m].map_f = MatrixF();
      results[m].mixed.reset();
    }
    ctx.timings.lap("maps");
  }
  for (auto& r : results) r.mixed.reset();

  // ---- comparison of methods in the common space
  if (results.size() > 1) {
    Progress progress("comparison of methods", results.size(), "methods");
    MethodComparison c;
    c.common_space = fmt::format("encoded features ({} columns)", ctx.prep.features.cols());
    {
      // The clustered rows in place in the common feature matrix, not a copy of them.
      const detail::ClusteredCommon common(ctx);
      for (const auto& r : results) {
        c.methods.push_back({r.name, r.k,
                             detail::score_labels<double>(common.view(), r.labels,
                                                          detail::silhouette_rows(params, common.view().rows()), params.seed)});
        progress.advance();
      }
    }
    for (const auto& a : results) {
      std::vector<double> row;
      for (const auto& b : results) row.push_back(adjusted_rand_score(a.labels, b.labels));
      c.adjusted_rand_index.push_back(std::move(row));
    }
    result.comparison = std::move(c);
    ctx.timings.lap("compare");
  }

  result.table = std::move(ctx.table);
  result.prep = std::move(ctx.prep.model);
  result.rows = std::move(ctx.rows);
  result.embedding = embed ? ctx.embedding : nlohmann::json();
  result.diagnostics = std::move(ctx.diag);
  result.timings = std::move(ctx.timings.items);
  return result;
}

}  // namespace segmenta
