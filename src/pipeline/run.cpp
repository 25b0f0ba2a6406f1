// The end-to-end run: load, prepare, flag outliers, run the method(s) (sweep k,
// cluster, evaluate), profile, explain, compare, write. Each stage's wall time goes
// into metrics.json and the manifest.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <numeric>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "context.hpp"
#include "model_io.hpp"
#include "outputs.hpp"
#include "report_stage.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta {
namespace {

using json = nlohmann::json;
using detail::MethodResult;
using detail::RunContext;

void validate(const RunParams& p) {
  if (p.data.empty()) throw InvalidArgument("DATA: no input file given");
  if (!(p.contamination > 0.0 && p.contamination <= 0.5))
    throw InvalidArgument(fmt::format("--contamination: must be in (0, 0.5], got {}", p.contamination));
  if (p.n_init > 1000) throw InvalidArgument(fmt::format("--n-init: must be in 1..1000 (0 = the default), got {}", p.n_init));
  if (p.max_iter < 1) throw InvalidArgument("--max-iter: must be at least 1");
  if (p.kproto_max_iter < 1) throw InvalidArgument("--kproto-max-iter: must be at least 1");
  if (!(p.tol >= 0.0)) throw InvalidArgument("--tol: must be >= 0");
  if (p.preset != "standard" && p.preset != "blog")
    throw InvalidArgument(fmt::format("--preset: expected standard or blog, got '{}'", p.preset));
  if (!p.kproto_init.empty() && p.kproto_init != "huang" && p.kproto_init != "cao")
    throw InvalidArgument(fmt::format("--init: expected huang or cao, got '{}'", p.kproto_init));
  if (p.gamma && !(std::isfinite(*p.gamma) && *p.gamma >= 0))
    throw InvalidArgument(fmt::format("--gamma: must be a finite number >= 0, got {}", *p.gamma));
  if (p.silhouette_sample == 1) throw InvalidArgument("--silhouette-sample: a sample needs at least 2 rows");
  parse_embed_precision(p.precision, "--precision");
  if (p.embed_batch < 1) throw InvalidArgument("--batch-size: must be at least 1");
  if (p.tsne_dims != 2 && p.tsne_dims != 3)
    throw InvalidArgument(fmt::format("--tsne-dims: must be 2 or 3, got {}", p.tsne_dims));
  if (!(std::isfinite(p.perplexity) && p.perplexity > 0))
    throw InvalidArgument(fmt::format("--perplexity: must be a positive number, got {}", p.perplexity));
}

std::string iso_time_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string policy_name(OutlierPolicy p) {
  return p == OutlierPolicy::drop ? "drop" : p == OutlierPolicy::flag ? "flag" : "none";
}

json params_json(const RunParams& p, bool blog) {
  json types = json::object();
  for (const auto& [c, t] : p.csv.types) types[c] = std::string(to_string(t));
  return json{{"data", p.data},
              {"method", std::string(to_string(p.method))},
              {"preset", p.preset},
              {"k", p.k.str()},
              {"columns", p.csv.columns},
              {"delimiter", p.csv.delimiter ? std::string(1, p.csv.delimiter) : std::string("auto")},
              {"types", types},
              {"contamination", p.contamination},
              {"outliers", policy_name(p.outliers)},
              {"seed", p.seed},
              {"threads", num_threads()},
              {"n_init", p.n_init ? p.n_init : (blog ? 30 : 10)},
              {"max_iter", p.max_iter},
              {"tol", p.tol},
              {"init", p.kproto_init.empty() ? (blog ? "huang" : "cao") : p.kproto_init},
              {"gamma", p.gamma ? json(*p.gamma) : json("default")},
              {"kproto_max_iter", p.kproto_max_iter},
              {"kproto_batch", p.kproto_batch},
              {"silhouette_sample", p.silhouette_sample},
              {"explain", p.explain},
              {"model", p.model},
              {"template", p.row_template.empty() ? (blog ? "blog" : "default") : p.row_template},
              {"precision", p.precision},
              {"batch_size", p.embed_batch},
              {"embed_cache", p.embed_cache},
              {"maps", p.maps},
              {"tsne_sample", p.tsne_sample},
              {"tsne_dims", p.tsne_dims},
              {"perplexity", p.perplexity},
              {"report", p.report}};
}

std::string fmt_seconds(double s) { return s < 10 ? fmt::format("{:.2f}s", s) : fmt::format("{:.1f}s", s); }

/// Flags outliers with ECOD on `space` (every table row) and selects the clustered rows.
void detect_outliers(RunContext& ctx, ViewD space, std::vector<std::string> feature_names, std::string description) {
  const std::size_t n = ctx.table.rows();
  ctx.outlier.assign(n, 0);
  ctx.outlier_score.assign(n, std::nan(""));
  ctx.outlier_features = std::move(feature_names);
  ctx.outlier_space = std::move(description);
  if (ctx.params.outliers != OutlierPolicy::none) {
    EcodParams ep;
    ep.contamination = ctx.params.contamination;
    ctx.ecod = fit_ecod(space, ep);
    ctx.outlier = ctx.ecod->labels();
    ctx.outlier_score = ctx.ecod->decision_scores();
  }
  ctx.rows.clear();
  for (std::size_t i = 0; i < n; ++i)
    if (!(ctx.params.outliers == OutlierPolicy::drop && ctx.outlier[i])) ctx.rows.push_back(i);
  if (ctx.rows.size() < 3)
    throw InvalidArgument(fmt::format("{}: only {} rows remain to cluster", ctx.params.data, ctx.rows.size()));
}

json outliers_json(const RunContext& ctx) {
  const std::size_t flagged = static_cast<std::size_t>(std::count(ctx.outlier.begin(), ctx.outlier.end(), 1));
  json j{{"method", "ecod"},
         {"space", ctx.outlier_space},
         {"policy", policy_name(ctx.params.outliers)},
         {"contamination", ctx.params.contamination},
         {"flagged", flagged},
         {"clustered_rows", ctx.rows.size()}};
  if (!ctx.ecod) return j;
  j["threshold"] = ctx.ecod->threshold();
  const std::vector<double> means = ctx.ecod->outlier_feature_means();
  json contrib = json::array();
  std::vector<std::size_t> order(means.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return means[a] > means[b]; });
  for (std::size_t j2 : order)
    contrib.push_back({{"feature", j2 < ctx.outlier_features.size() ? ctx.outlier_features[j2] : fmt::format("f{}", j2)},
                       {"mean_tail_score", means[j2]}});
  j["feature_contributions"] = contrib;
  // Score histogram for the report: 40 equal bins over [min, max].
  const auto& s = ctx.outlier_score;
  const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
  const std::size_t bins = 40;
  std::vector<std::size_t> counts(bins, 0);
  const double width = (*hi - *lo) / static_cast<double>(bins);
  for (double v : s) {
    std::size_t b = width > 0 ? static_cast<std::size_t>((v - *lo) / width) : 0;
    counts[std::min(b, bins - 1)]++;
  }
  j["score_histogram"] = {{"min", *lo}, {"max", *hi}, {"counts", counts}};
  return j;
}

}  // namespace

namespace detail {
KSpec RunContext::k_range() const {
  KSpec ks = params.k;
  if (ks.hi >= rows.size()) ks.hi = rows.size() - 1;
  if (ks.lo > ks.hi)
    throw InvalidArgument(fmt::format("--k: {} segments need more than {} clustered rows", params.k.str(), rows.size()));
  return ks;
}
}  // namespace detail

RunSummary run(const RunParams& params) {
  validate(params);
  set_num_threads(params.threads);
  Progress::set_enabled(!params.quiet);
  Stopwatch total_clock;
  RunContext ctx(params);
  ctx.blog = params.preset == "blog";

  std::vector<Method> methods;
  if (params.method == Method::all)
    methods = {Method::kmeans, Method::kprototypes, Method::embed};
  else
    methods = {params.method};
  const bool embed = std::find(methods.begin(), methods.end(), Method::embed) != methods.end();
  // Fail before any work when the encoder's weights are not there.
  if (embed) resolve_model_dir(params.model);

  // ---- load
  CsvOptions csv = params.csv;
  if (ctx.blog && csv.columns.empty()) csv.columns = "0:8";  // the blog keeps the first eight columns
  ctx.raw = read_file(params.data);
  ctx.table = parse_csv(ctx.raw, params.data, csv);
  ctx.timings.lap("load");

  // ---- prepare: the encoded feature matrix is the common space of every method
  PrepParams pp;
  pp.preset = ctx.blog ? PrepPreset::blog : PrepPreset::standard;
  ctx.prep = fit_prep(ctx.table, pp);
  ctx.diag.append(ctx.prep.diagnostics);
  ctx.timings.lap("prep");

  // ---- embeddings
  if (embed) {
    detail::embed_rows(ctx);
    ctx.timings.clock.reset();
  }

  // ---- outliers: in the method's space when one method runs, in the common space
  // (so that every method clusters the same rows) when several do
  if (params.method == Method::embed) {
    MatrixD v(ctx.vectors.rows(), ctx.vectors.cols());
    for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] = ctx.vectors.data()[i];
    std::vector<std::string> dims;
    for (std::size_t j = 0; j < v.cols(); ++j) dims.push_back(fmt::format("dim{}", j));
    detect_outliers(ctx, v.view(), std::move(dims), fmt::format("sentence embeddings ({} dimensions)", v.cols()));
  } else {
    detect_outliers(ctx, ctx.prep.features.view(), ctx.prep.model.feature_names,
                    fmt::format("encoded features ({} columns)", ctx.prep.features.cols()));
  }
  ctx.timings.lap("outliers");

  // ---- methods
  std::vector<MethodResult> results;
  for (Method m : methods) {
    ctx.timings.clock.reset();
    results.push_back(m == Method::kmeans        ? detail::run_kmeans(ctx)
                      : m == Method::kprototypes ? detail::run_kprototypes(ctx)
                                                 : detail::run_embed(ctx));
    ctx.timings.clock.reset();
  }

  const std::size_t n = ctx.table.rows();
  std::vector<std::vector<std::int32_t>> segment_of_row;
  for (const auto& r : results) {
    std::vector<std::int32_t> s(n, -1);
    for (std::size_t i = 0; i < ctx.rows.size(); ++i) s[ctx.rows[i]] = r.labels[i];
    segment_of_row.push_back(std::move(s));
  }

  // ---- profiles on the original columns; representatives in each method's space
  std::vector<Profiles> profiles;
  for (std::size_t m = 0; m < results.size(); ++m)
    profiles.push_back(profile_segments(ctx.table, segment_of_row[m], {}, results[m].rep_space.view(),
                                        results[m].rep_centers.view()));
  ctx.timings.lap("profiles");

  // ---- explanation: a surrogate on the encoded features, per method
  std::vector<json> explanations(results.size());
  if (params.explain) {
    for (std::size_t m = 0; m < results.size(); ++m) {
      if (results[m].k < 2) continue;
      ExplainParams ep;
      ep.surrogate.random_state = params.seed;
      const SurrogateExplanation e = explain_segments(ctx.prep.features.view(), segment_of_row[m], ep, &ctx.diag);
      explanations[m] = detail::explanation_json(e, ctx.prep.model.feature_names);
    }
    ctx.timings.lap("explain");
  }

  // ---- maps for the report
  std::vector<detail::MethodMaps> maps;
  if (params.maps) {
    for (auto& r : results) {
      maps.push_back(detail::compute_maps(ctx, r));
      // The spaces are not needed any more; give their memory back.
      r.map_d = MatrixD();
      r.map_f = MatrixF();
    }
    ctx.timings.lap("maps");
  }

  // ---- comparison of methods in the common space
  json comparison;
  if (results.size() > 1) {
    const MatrixD common = ctx.common_clustered();
    json per = json::array();
    for (const auto& r : results) {
      const SweepPoint c = detail::score_labels<double>(common.view(), r.labels, params.silhouette_sample, params.seed);
      per.push_back({{"method", r.name},
                     {"k", r.k},
                     {"sizes", r.final.sizes},
                     {"own_space", {{"space", r.space},
                                    {"silhouette", r.final.silhouette},
                                    {"calinski_harabasz", r.final.calinski_harabasz},
                                    {"davies_bouldin", r.final.davies_bouldin}}},
                     {"common_space", {{"silhouette", c.silhouette},
                                       {"calinski_harabasz", c.calinski_harabasz},
                                       {"davies_bouldin", c.davies_bouldin}}}});
    }
    json ari = json::array();
    for (const auto& a : results) {
      json row = json::array();
      for (const auto& b : results) row.push_back(adjusted_rand_score(a.labels, b.labels));
      ari.push_back(std::move(row));
    }
    std::vector<std::string> names;
    for (const auto& r : results) names.push_back(r.name);
    comparison = {{"common_space", fmt::format("encoded features ({} columns)", ctx.prep.features.cols())},
                  {"methods", per},
                  {"adjusted_rand_index", {{"methods", names}, {"matrix", ari}}}};
    ctx.timings.lap("compare");
  }

  // ---- outputs
  detail::OutputSet out(params.out_dir);
  const bool single = results.size() == 1;
  std::string segments_csv;
  {
    std::optional<std::size_t> id_col;
    for (std::size_t j = 0; j < ctx.table.cols() && !id_col; ++j)
      if (ctx.table.column(j).type == ColumnType::id) id_col = j;
    std::string s = "row";
    if (id_col) s += "," + csv_escape(ctx.table.column(*id_col).name);
    for (const auto& r : results) s += single ? ",segment" : ",segment_" + r.name;
    s += ",outlier,outlier_score\n";
    for (std::size_t i = 0; i < n; ++i) {
      s += std::to_string(i);
      if (id_col) s += "," + csv_escape(ctx.table.column(*id_col).text(i));
      for (const auto& seg : segment_of_row) {
        s += ",";
        if (seg[i] >= 0) s += std::to_string(seg[i]);
      }
      s += ctx.outlier[i] ? ",1," : ",0,";
      if (!std::isnan(ctx.outlier_score[i])) s += format_double(ctx.outlier_score[i]);
      s += "\n";
    }
    out.add("segments.csv", s);
    segments_csv = std::move(s);
  }
  for (std::size_t m = 0; m < results.size(); ++m)
    out.add(single ? "profiles.csv" : "profiles_" + results[m].name + ".csv", profiles_to_csv(profiles[m]));
  std::string maps_csv;
  json maps_json;
  if (!maps.empty()) {
    std::vector<std::string> header{"row"};
    std::vector<const std::vector<double>*> cols;
    maps_json = {{"methods", json::object()}};
    for (std::size_t m = 0; m < maps.size(); ++m) {
      const std::string prefix = single ? "" : results[m].name + "_";
      for (const auto& [name, values] : maps[m].columns) {
        header.push_back(prefix + name);
        cols.push_back(&values);
      }
      json info = maps[m].info;
      for (auto& i : info)
        for (auto& c : i["columns"]) c = prefix + c.get<std::string>();
      maps_json["methods"][results[m].name] = std::move(info);
    }
    for (std::size_t c = 0; c < header.size(); ++c) maps_csv += (c ? "," : "") + header[c];
    maps_csv += "\n";
    for (std::size_t i = 0; i < ctx.rows.size(); ++i) {
      maps_csv += std::to_string(ctx.rows[i]);
      for (const auto* col : cols) {
        maps_csv += ",";
        if (!std::isnan((*col)[i])) maps_csv += format_double((*col)[i]);
      }
      maps_csv += "\n";
    }
    out.add("maps.csv", maps_csv);
  }

  json metrics;
  metrics["segmenta"] = std::string(version());
  metrics["input"] = {{"file", params.data},
                      {"rows", n},
                      {"preset", params.preset},
                      {"columns", json::array()},
                      {"features", ctx.prep.model.feature_names}};
  for (const auto& c : ctx.table.columns())
    metrics["input"]["columns"].push_back({{"name", c.name},
                                           {"type", std::string(to_string(c.type))},
                                           {"missing", c.missing},
                                           {"distinct", c.is_numeric() ? json(nullptr) : json(c.levels.size())}});
  metrics["outliers"] = outliers_json(ctx);
  metrics["method"] = std::string(to_string(params.method));
  metrics["methods"] = json::object();
  for (std::size_t m = 0; m < results.size(); ++m) {
    const MethodResult& r = results[m];
    json block{{"objective", r.objective},
               {"space", r.space},
               {"sweep", detail::sweep_json(r.eval, r.objective)},
               {"final",
                {{"k", r.k},
                 {r.objective, r.final.inertia},
                 {"silhouette", r.final.silhouette},
                 {"calinski_harabasz", r.final.calinski_harabasz},
                 {"davies_bouldin", r.final.davies_bouldin},
                 {"n_iter", r.final.n_iter},
                 {"sizes", r.final.sizes}}},
               {"details", r.details},
               {"profiles", detail::profiles_json(profiles[m])}};
    if (!explanations[m].is_null()) block["explanation"] = explanations[m];
    metrics["methods"][r.name] = std::move(block);
  }
  if (!comparison.is_null()) metrics["comparison"] = comparison;
  if (!maps_json.is_null()) metrics["maps"] = maps_json;
  if (embed) metrics["embedding"] = ctx.embedding;
  metrics["diagnostics"] = detail::diagnostics_json(ctx.diag);
  metrics["timings"] = ctx.timings.to_json();

  json model{{"format", "segmenta-model"},
             {"version", 1},
             {"segmenta", std::string(version())},
             {"method", results.front().name},
             {"columns", json::array()},
             {"prep", detail::prep_to_json(ctx.prep.model)},
             {"outlier_policy", policy_name(params.outliers)},
             {"outlier_space", params.method == Method::embed ? "embeddings" : "features"},
             {"methods", json::object()}};
  for (const auto& c : ctx.table.columns())
    model["columns"].push_back({{"name", c.name}, {"type", std::string(to_string(c.type))}});
  if (ctx.ecod) model["outliers"] = detail::ecod_to_json(*ctx.ecod);
  for (const auto& r : results) model["methods"][r.name] = r.model;

  out.add("metrics.json", metrics.dump(2) + "\n");
  out.add("model.json", model.dump() + "\n");
  ctx.timings.lap("write");

  json manifest{{"segmenta", std::string(version())},
                {"started", iso_time_utc()},
                {"command_line", params.command_line},
                {"parameters", params_json(params, ctx.blog)},
                {"input",
                 {{"file", params.data}, {"bytes", ctx.raw.size()}, {"fnv1a64", fmt::format("{:016x}", fnv1a64(ctx.raw))}}},
                {"timings", ctx.timings.to_json()},
                {"files", out.names()}};
  if (params.report) {
    // The report is built from the same outputs `segmenta report` reads back.
    Stopwatch report_clock;
    out.add("report.html", detail::report_html(metrics, manifest, segments_csv, maps_csv, &ctx.table));
    ctx.timings.add("report", report_clock.seconds());
    manifest["files"] = out.names();
  }
  out.add("run.json", manifest.dump(2) + "\n");
  out.commit();

  // ---- summary
  RunSummary summary;
  summary.out_dir = params.out_dir;
  summary.files = out.names();
  summary.rows = n;
  summary.clustered = ctx.rows.size();
  summary.outliers = static_cast<std::size_t>(std::count(ctx.outlier.begin(), ctx.outlier.end(), 1));
  summary.k = results.front().k;
  summary.sweep = results.front().eval.points;
  summary.recommendation = results.front().eval.recommendation;
  summary.final = results.front().final;
  summary.timings = ctx.timings.items;
  summary.diagnostics = ctx.diag;

  std::string text = fmt::format("segmenta {} — {} on {} ({} rows, {} columns, preset {})\n", version(),
                                 to_string(params.method), params.data, n, ctx.table.cols(), params.preset);
  if (ctx.ecod)
    text += fmt::format("outliers  ECOD, contamination {}: {} flagged (threshold {:.4f}), {} rows clustered\n",
                        params.contamination, summary.outliers, ctx.ecod->threshold(), ctx.rows.size());
  if (embed) {
    const json& e = ctx.embedding;
    text += fmt::format("embedded  {} sentences ({} distinct, {} from the cache, {} encoded) with {} on {} in {}: {:.0f} "
                        "sentences/s\n",
                        e["sentences"].get<std::size_t>(), e["unique"].get<std::size_t>(), e["cached"].get<std::size_t>(),
                        e["encoded"].get<std::size_t>(), e["precision"].get<std::string>(), e["kernel"].get<std::string>(),
                        fmt_seconds(e["seconds"].get<double>()), e["sentences_per_second"].get<double>());
  }
  for (std::size_t m = 0; m < results.size(); ++m) {
    const MethodResult& r = results[m];
    if (!single) text += fmt::format("\n== {} ==\n", r.name);
    text += detail::sweep_table(r.eval, r.objective);
    text += fmt::format("segments  k = {} ({}): silhouette {:.4f}, Calinski-Harabasz {:.1f}, Davies-Bouldin {:.4f}\n", r.k,
                        r.eval.recommendation.reason, r.final.silhouette, r.final.calinski_harabasz,
                        r.final.davies_bouldin);
    std::string sizes;
    for (std::size_t c = 0; c < r.final.sizes.size(); ++c)
      sizes += fmt::format("{}{}: {} ({:.1f}%)", c ? ", " : "", c, r.final.sizes[c],
                           100.0 * static_cast<double>(r.final.sizes[c]) / static_cast<double>(ctx.rows.size()));
    text += "sizes     " + sizes + "\n";
    for (const auto& seg : profiles[m].segments) {
      std::string traits;
      for (std::size_t t = 0; t < std::min<std::size_t>(3, seg.distinguishing.size()); ++t) {
        const auto& d = seg.distinguishing[t];
        if (!traits.empty()) traits += ", ";
        if (d.level.empty())
          traits += fmt::format("{} {} ({:.4g} vs {:.4g})", d.name, d.score > 0 ? "high" : "low", d.segment_value,
                                d.population_value);
        else
          traits += fmt::format("{}={} {:.0f}% (vs {:.0f}%)", d.name, d.level, 100 * d.segment_value,
                                100 * d.population_value);
      }
      text += fmt::format("segment {} {}\n", seg.segment, traits);
    }
    if (!explanations[m].is_null()) {
      const json& e = explanations[m];
      std::string top;
      for (std::size_t t = 0; t < std::min<std::size_t>(5, e["feature_order"].size()); ++t)
        top += (t ? ", " : "") + e["features"][e["feature_order"][t].get<std::size_t>()].get<std::string>();
      text += fmt::format("explained surrogate accuracy {:.4f}; most important: {}\n", e["train_accuracy"].get<double>(), top);
    }
    if (m < maps.size())
      for (const auto& i : maps[m].info) {
        const std::string name = i["name"].get<std::string>();
        if (i.contains("cumulative_percent") && !i["cumulative_percent"].empty())
          text += fmt::format("map       {}: {} components explain {:.1f}% of the variance\n", name,
                              i["columns"].size(), i["cumulative_percent"].back().get<double>());
        else if (name == "tsne")
          text += fmt::format("map       t-SNE {}D of {} rows: KL divergence {:.4f} after {} iterations\n",
                              i["columns"].size(), i["rows"].get<std::size_t>(), i["kl_divergence"].get<double>(),
                              i["n_iter"].get<std::size_t>());
      }
  }
  if (!comparison.is_null()) {
    text += "\n== comparison (common space: encoded features) ==\n";
    for (const auto& c : comparison["methods"])
      text += fmt::format("{:<12} k = {}  silhouette {:.4f}  Calinski-Harabasz {:.1f}  Davies-Bouldin {:.4f}\n",
                          c["method"].get<std::string>(), c["k"].get<std::size_t>(),
                          c["common_space"]["silhouette"].get<double>(),
                          c["common_space"]["calinski_harabasz"].get<double>(),
                          c["common_space"]["davies_bouldin"].get<double>());
    const auto& names = comparison["adjusted_rand_index"]["methods"];
    const auto& mat = comparison["adjusted_rand_index"]["matrix"];
    for (std::size_t a = 0; a < names.size(); ++a)
      for (std::size_t b = a + 1; b < names.size(); ++b)
        text += fmt::format("ARI {} vs {}: {:.3f}\n", names[a].get<std::string>(), names[b].get<std::string>(),
                            mat[a][b].get<double>());
  }
  for (const auto& d : ctx.diag.items())
    if (d.level == Diagnostic::Level::warning) text += fmt::format("warning   [{}] {}\n", d.stage, d.message);
  std::string files;
  for (const auto& f : out.names()) files += (files.empty() ? "" : ", ") + f;
  text += fmt::format("wrote     {}/: {}\n", params.out_dir, files);
  std::string times;
  for (const auto& [stage, s] : ctx.timings.items) times += fmt::format("{}{} {}", times.empty() ? "" : ", ", stage, fmt_seconds(s));
  text += fmt::format("time      {} ({})\n", fmt_seconds(total_clock.seconds()), times);
  summary.text = std::move(text);
  return summary;
}

}  // namespace segmenta
