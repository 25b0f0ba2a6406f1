// The kprototypes method: Huang's k-prototypes on the numeric columns
// (Yeo-Johnson + standardised, fitted on the clustered rows, as the blog does) and
// the categorical columns (codes of their sorted levels).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "method.hpp"
#include "model_io.hpp"
#include "segmenta/cluster.hpp"

namespace segmenta::detail {

// The materialised space: the methods make its rows on demand (MixedRows below); this
// form is their tests' reference.
MatrixD mixed_space(const MixedPlan& plan, const MixedPlan::Data& d, double gamma) {
  const std::size_t n = d.numeric.rows(), p = d.numeric.cols();
  std::vector<std::size_t> offset;
  std::size_t width = p;
  for (std::size_t c = 0; c < plan.levels.size(); ++c) {
    offset.push_back(width);
    width += plan.levels[c].size() + (plan.missing_level[c] ? 1 : 0);
  }
  const double w = std::sqrt(gamma / 2.0);
  MatrixD z(n, width, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    std::copy(d.numeric.row(i), d.numeric.row(i) + p, z.row(i));
    for (std::size_t c = 0; c < plan.levels.size(); ++c) {
      const std::int32_t code = d.codes(i, c);
      if (code >= 0) z(i, offset[c] + static_cast<std::size_t>(code)) = w;
    }
  }
  return z;
}

MixedRows::MixedRows(const MixedPlan& plan, MixedPlan::Data d, double gamma)
    : d_(std::move(d)), n_(d_.codes.rows()), width_(d_.numeric.cols()) {
  if (d_.numeric.cols() > 0) n_ = d_.numeric.rows();
  for (std::size_t c = 0; c < plan.levels.size(); ++c) {
    offset_.push_back(width_);
    width_ += plan.levels[c].size() + (plan.missing_level[c] ? 1 : 0);
  }
  set_gamma(gamma);
}

void MixedRows::set_gamma(double gamma) { w_ = std::sqrt(gamma / 2.0); }

void MixedRows::fill(std::size_t i, double* dst) const {
  const std::size_t p = d_.numeric.cols();
  std::fill(dst, dst + width_, 0.0);
  if (p) std::copy(d_.numeric.row(i), d_.numeric.row(i) + p, dst);
  for (std::size_t c = 0; c < offset_.size(); ++c) {
    const std::int32_t code = d_.codes(i, c);
    if (code >= 0) dst[offset_[c] + static_cast<std::size_t>(code)] = w_;
  }
}

MatrixD MixedRows::take(std::span<const std::size_t> rows) const {
  MatrixD z(rows.size(), width_);
  for (std::size_t r = 0; r < rows.size(); ++r) fill(rows[r], z.row(r));
  return z;
}

MatrixD MixedRows::all() const {
  MatrixD z(n_, width_);
  for (std::size_t i = 0; i < n_; ++i) fill(i, z.row(i));
  return z;
}

RowSource<double> MixedRows::source() const {
  return RowSource<double>(n_, width_, [this](std::size_t i, double* dst) { fill(i, dst); });
}

namespace {

/// The nearest prototype by the k-prototypes dissimilarity, after the frozen mixed
/// plan (an unseen category mismatches every mode).
class FittedKPrototypes final : public FittedMethod {
 public:
  FittedKPrototypes(MixedPlan plan, KPrototypesModel model) : plan_(std::move(plan)), model_(std::move(model)) {
    model_.n_categories = plan_.n_categories();
  }
  Method method() const noexcept override { return Method::kprototypes; }
  std::size_t k() const noexcept override { return model_.centroids.rows(); }
  nlohmann::json to_json() const override {
    nlohmann::json j = mixed_plan_to_json(plan_);
    MatrixD modes(model_.modes.rows(), model_.modes.cols());
    for (std::size_t i = 0; i < modes.size(); ++i) modes.data()[i] = model_.modes.data()[i];
    j["k"] = k();
    j["gamma"] = model_.gamma;
    j["centroids"] = matrix_to_json(model_.centroids.view());
    j["modes"] = matrix_to_json(modes.view());
    return j;
  }
  std::vector<std::int32_t> predict(const ScoringInput& in) const override {
    const MixedPlan::Data d = plan_.transform(in.table);
    return model_.predict(d.numeric.view(), d.codes.view());
  }

 private:
  MixedPlan plan_;
  KPrototypesModel model_;
};

std::shared_ptr<const FittedMethod> load(const nlohmann::json& part, const std::string& file) {
  MixedPlan plan = mixed_plan_from_json(part, file);
  KPrototypesModel model;
  model.centroids = matrix_from_json(part.at("centroids"), "kprototypes.centroids");
  model.gamma = part.at("gamma").get<double>();
  const MatrixD modes = matrix_from_json(part.at("modes"), "kprototypes.modes");
  if (model.centroids.cols() != plan.numeric_names.size() || modes.cols() != plan.categorical_names.size() ||
      modes.rows() != model.centroids.rows())
    throw ModelFormatError(fmt::format("{}: kprototypes prototypes do not fit its columns", file));
  model.modes.resize(modes.rows(), modes.cols());
  for (std::size_t i = 0; i < modes.size(); ++i) {
    // A level code: a whole number that fits the codes (casting 1e300 would be undefined).
    const double v = modes.data()[i];
    if (!(v >= -1.0 && v <= 2147483647.0) || v != std::floor(v))
      throw ModelFormatError(fmt::format("{}: kprototypes.modes holds {}, which is not a level code", file, v));
    model.modes.data()[i] = static_cast<std::int32_t>(v);
  }
  return std::make_shared<FittedKPrototypes>(std::move(plan), std::move(model));
}

MethodResult fit(RunContext& ctx) {
  const RunParams& params = ctx.params;
  MethodResult r;
  r.id = Method::kprototypes;
  r.name = "kprototypes";
  r.objective = "cost";
  const Table& t = ctx.table;
  {
    bool numeric = false, categorical = false;
    for (const auto& c : t.columns()) {
      numeric |= c.type == ColumnType::numeric;
      categorical |= c.type == ColumnType::categorical || c.type == ColumnType::binary;
    }
    if (!categorical)
      throw ParameterError("method", fmt::format("kprototypes needs categorical columns, but {} has only numeric ones "
                                                 "(use the kmeans or lca method, or declare column types)",
                                                 t.source()));
    // Categorical columns only: k-prototypes without its numeric part is k-modes.
    if (!numeric)
      ctx.diag.info("kprototypes", "k_modes",
                    fmt::format("{} has no numeric column: k-modes (the cost counts the categories that differ from "
                                "the segment's modes; gamma 1 unless given)",
                                t.source()));
  }
  // Under mpirun each rank fits the plan from its share of the rows.
  const MixedPlan plan = fit_mixed_plan(t, ctx.rows, &ctx.diag, params.numeric, &world());
  for (std::size_t c = 0; c < plan.categorical_names.size(); ++c)
    if (plan.missing_level[c])
      ctx.diag.info("kprototypes", "missing_category",
                    fmt::format("column '{}': missing values form a category of their own", plan.categorical_names[c]));
  // The plan's transform of the clustered rows, kept once: the fits read it, and the
  // k-prototypes space of the criteria, the representatives and the maps is made from
  // it row by row (never for every row at once).
  auto mixed = std::make_shared<MixedRows>(plan, plan.transform(t, ctx.rows));
  const MatrixD& numeric = mixed->numeric();
  const Matrix<std::int32_t>& codes = mixed->codes();
  const KSpec ks = ctx.k_range();

  KPrototypesParams kp;
  kp.n_init = effective_n_init(params, Method::kprototypes);
  kp.max_iter = params.kproto_max_iter;
  kp.random_state = params.seed;
  kp.gamma = params.gamma;
  kp.init = effective_kproto_init(params);
  kp.algorithm = params.kproto_batch ? KPrototypesAlgorithm::batch : KPrototypesAlgorithm::online;
  // Under mpirun the ranks share the restarts of the sweep (docs/USAGE.md "Many machines").
  if (world().size() > 1) kp.comm = &world();

  // A large table: the sweep runs on a seeded uniform sample of the clustered rows, at
  // the gamma of all rows (the space of the final fit), and the chosen k is then fitted
  // on all rows from the sample's prototypes.
  const std::size_t n_all = numeric.rows(), sweep_m = sweep_rows(params, n_all, ks.hi);
  std::vector<std::size_t> sample_rows;
  MatrixD sample_numeric;
  Matrix<std::int32_t> sample_codes;
  if (sweep_m > 0) {
    sample_rows = sweep_sample_rows(params, n_all, sweep_m);
    sample_numeric = take_rows<double, std::size_t>(numeric.view(), sample_rows);
    sample_codes = take_rows<std::int32_t, std::size_t>(codes.view(), sample_rows);
    if (!kp.gamma && numeric.cols() > 0) kp.gamma = kprototypes_default_gamma(numeric.view());
    ctx.diag.info("k", "sweep_sample",
                  fmt::format("k = {}..{} fitted and scored on a seeded sample of {} of the {} clustered rows; the "
                              "chosen k is then fitted on all rows from the sample's prototypes (--sweep-all-max, "
                              "--sweep-sample)",
                              ks.lo, ks.hi, sweep_m, n_all));
  }
  const ViewD fit_numeric = sweep_m > 0 ? sample_numeric.view() : numeric.view();
  const MatrixView<std::int32_t> fit_codes = sweep_m > 0 ? sample_codes.view() : codes.view();

  std::vector<KPrototypesModel> models;
  std::optional<std::size_t> elbow_k;
  double fit_seconds = 0;
  const FitKs fit_ks = [&](std::span<const std::size_t> batch, std::vector<KFit>& out) {
    Stopwatch clock;
    const std::vector<std::size_t> k_values(batch.begin(), batch.end());
    KPrototypesSweep sweep = sweep_kprototypes(fit_numeric, fit_codes, k_values, kp, &ctx.diag);  // shows progress
    if (models.empty()) elbow_k = sweep.elbow_k;  // the elbow of the default range, as the blog reads it
    for (std::size_t i = 0; i < sweep.k.size(); ++i) {
      const auto& m = sweep.models[i];
      // k may have been reduced (fewer distinct rows than k): record the real count.
      out.push_back({m.n_clusters(), m.labels, m.cost, m.n_iter, 0.0});
      models.push_back(std::move(sweep.models[i]));
    }
    fit_seconds += clock.seconds();
  };
  // The default range is fitted here: its first model's gamma (when not given) sets
  // the space of the silhouette, the stability fits and any k past the default range.
  std::vector<KFit> fits;
  std::vector<std::size_t> default_ks;
  for (std::size_t k = ks.lo; k <= ks.hi; ++k) default_ks.push_back(k);
  fit_ks(default_ks, fits);
  const double gamma = models.front().gamma;
  kp.gamma = gamma;
  r.space = fmt::format(
      "numeric columns + categorical indicators scaled by sqrt(gamma/2), gamma = {:.6g} "
      "(Euclidean distance there = sqrt of the k-prototypes dissimilarity)",
      gamma);
  mixed->set_gamma(gamma);
  // The sweep's space: the sample's rows, or every row when the sweep runs on all
  // (at most --sweep-all-max rows); freed after the sweep.
  MatrixD sweep_z = sweep_m > 0 ? mixed->take(sample_rows) : mixed->all();
  const ViewD sweep_space = sweep_z.view();
  // Stability: k-prototypes with fewer restarts on subsamples of the same rows, at the
  // gamma of the full fit.
  const SubsetFit subset_fit = [&](std::span<const std::size_t> rows, std::size_t k, std::uint64_t seed) {
    const MatrixD sn = take_rows<double, std::size_t>(fit_numeric, rows);
    const Matrix<std::int32_t> sc = take_rows<std::int32_t, std::size_t>(fit_codes, rows);
    KPrototypesParams sp = kp;
    sp.n_clusters = k;
    sp.n_init = std::min(kp.n_init, kStabilityRestarts);
    sp.random_state = seed;
    sp.gamma = gamma;
    sp.comm = nullptr;  // small fits, computed whole on every rank
    return fit_kprototypes(sn.view(), sc.view(), sp).labels;
  };
  r.eval = sweep_k<double>(sweep_space, ks, fit_ks, fits, silhouette_rows(params, sweep_space.rows()), params.seed,
                           ctx.diag, k_choice(params, false, subset_fit));
  ctx.timings.add("kprototypes", fit_seconds);
  ctx.timings.add("silhouette", r.eval.silhouette_seconds);
  ctx.timings.add("metrics", r.eval.metrics_seconds);
  if (r.eval.stability_seconds > 0) ctx.timings.add("stability", r.eval.stability_seconds);
  sweep_z = MatrixD();

  r.k = r.eval.recommendation.k;
  std::size_t chosen = 0;
  while (chosen + 1 < fits.size() && fits[chosen].k != r.k) ++chosen;
  if (sweep_m > 0) {
    // The chosen k on every row, from the sample fit's prototypes; its criteria on
    // every row (the silhouette estimated above --silhouette-exact-max rows).
    Stopwatch all_clock;
    KPrototypesModel& sampled = models[chosen];
    KPrototypesParams fp = kp;
    fp.n_clusters = sampled.n_clusters();
    fp.gamma = gamma;
    KPrototypesModel full;
    Progress progress(fmt::format("final fit kprototypes k = {}", r.k));
    progress.note(fmt::format("{} rows", n_all));
    progress.count_iterations(fp.max_iter);
    bool from_sample = numeric.cols() > 0;
    if (from_sample) {
      try {
        full = fit_kprototypes_from(numeric.view(), codes.view(), sampled.centroids.view(), sampled.modes.view(), fp,
                                    &ctx.diag);
      } catch (const InvalidArgument&) {
        from_sample = false;  // a prototype no row of the whole table is nearest to
      }
    }
    if (!from_sample) {
      // k-modes (no numeric column) or prototypes that leave a segment empty on all
      // rows: the chosen k fitted afresh on all rows.
      ctx.diag.info("kprototypes", "final_fit_restarted",
                    fmt::format("k = {} fitted afresh on all {} rows ({} restarts) rather than from the sample's "
                                "prototypes{}",
                                fp.n_clusters, n_all, fp.n_init,
                                numeric.cols() == 0 ? " (k-modes starts from prototypes only with numeric columns)"
                                                    : " (one of them is nearest to no row)"));
      full = fit_kprototypes(numeric.view(), codes.view(), fp, &ctx.diag);
    }
    sampled = std::move(full);
    progress.finish();
    ctx.timings.add("kprototypes_all_rows", all_clock.seconds());
    all_clock.reset();
    Progress scoring(fmt::format("criteria of k = {} on all rows", r.k));
    SweepPoint p = score_labels_rows(mixed->source(), sampled.labels, silhouette_rows(params, n_all), params.seed,
                                   &world());
    scoring.finish();
    p.inertia = sampled.cost;
    p.n_iter = sampled.n_iter;
    r.eval.final_all_rows = p;
    r.eval.sample_rows = sweep_m;
    r.eval.all_rows = n_all;
    ctx.timings.add("metrics_all_rows", all_clock.seconds());
  }
  const KPrototypesModel& model = models[chosen];
  r.labels = model.labels;
  MatrixD centroids = model.centroids;
  // Modes follow the renumbering of the centroids' rows.
  MatrixD modes_d(model.modes.rows(), model.modes.cols());
  for (std::size_t i = 0; i < modes_d.size(); ++i) modes_d.data()[i] = model.modes.data()[i];
  const std::vector<std::int32_t> rename = number_by_size(r, &centroids);
  {
    MatrixD reordered(modes_d.rows(), modes_d.cols());
    for (std::size_t old = 0; old < rename.size(); ++old)
      std::copy(modes_d.row(old), modes_d.row(old) + modes_d.cols(),
                reordered.row(static_cast<std::size_t>(rename[old])));
    modes_d = std::move(reordered);
  }

  nlohmann::json modes = nlohmann::json::array();
  for (std::size_t seg = 0; seg < modes_d.rows(); ++seg) {
    nlohmann::json row = nlohmann::json::array();
    for (std::size_t c = 0; c < modes_d.cols(); ++c) {
      const auto code = static_cast<std::size_t>(modes_d(seg, c));
      row.push_back(code < plan.levels[c].size() ? nlohmann::json(plan.levels[c][code]) : nlohmann::json(nullptr));
    }
    modes.push_back(std::move(row));
  }
  r.details = {{"init", std::string(to_string(kp.init))},
               {"algorithm", params.kproto_batch ? "batch" : "online"},
               {"gamma", gamma},
               {"n_init", kp.n_init},
               {"converged", model.converged},
               {"elbow_k", elbow_k ? nlohmann::json(*elbow_k) : nlohmann::json(nullptr)},
               {"modes", modes}};
  KPrototypesModel fitted;
  fitted.centroids = std::move(centroids);
  fitted.gamma = gamma;
  fitted.modes.resize(modes_d.rows(), modes_d.cols());
  for (std::size_t i = 0; i < modes_d.size(); ++i)
    fitted.modes.data()[i] = static_cast<std::int32_t>(modes_d.data()[i]);
  r.fitted = std::make_shared<FittedKPrototypes>(plan, std::move(fitted));
  r.map_space = "k-prototypes space (numeric columns + scaled categorical indicators)";
  r.mixed = std::move(mixed);
  r.mixed_famd = true;
  return r;
}

}  // namespace

extern const MethodSpec kprototypes_method{Method::kprototypes, false, fit, load};

}  // namespace segmenta::detail
