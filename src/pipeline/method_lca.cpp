// The lca method: a latent-class model (finite mixture for mixed data) on the
// numeric columns (Yeo-Johnson + standardised by the mixed plan, fitted on the
// clustered rows) and the categorical and binary columns (codes of their sorted
// levels). Missing cells are left out of the likelihood, not imputed. k is chosen
// by --k-criterion (default: the BIC plateau, sweep.hpp; BIC, ICL on request); silhouette,
// Calinski-Harabasz and Davies-Bouldin are measured in the k-prototypes space so
// that the sweep and the report read as for the other methods.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <span>

#include <fmt/format.h>

#include "method.hpp"
#include "model_io.hpp"
#include "segmenta/cluster.hpp"
#include "segmenta/comm.hpp"

namespace segmenta::detail {
namespace {

/// The model's view of a table: numbers after the plan with NaN where the table's
/// cell is missing; codes with -1 for a missing value, the plan's missing level or
/// an unseen level; the level count of each categorical column. The views refer to
/// the plan's transform itself where it needs no change (no missing cell), to a copy
/// otherwise.
struct LcaData {
  MatrixD numeric_copy;
  Matrix<std::int32_t> codes_copy;
  ViewD numeric;
  MatrixView<std::int32_t> codes;
  std::vector<std::int32_t> levels;
};

/// numeric, codes: the plan's transform of `rows` of t (every row when rows is empty).
LcaData lca_data(const MixedPlan& plan, ViewD numeric, MatrixView<std::int32_t> codes, const Table& t,
                 std::span<const std::size_t> rows = {}) {
  LcaData out;
  const std::size_t n = codes.rows();
  auto row = [&](std::size_t i) { return rows.empty() ? i : rows[i]; };
  out.numeric = numeric;
  for (std::size_t c = 0; c < plan.numeric_names.size(); ++c) {
    const Column& col = t.column(t.index_of(plan.numeric_names[c]));
    for (std::size_t i = 0; i < n; ++i)
      if (std::isnan(col.numbers[row(i)])) {
        if (out.numeric_copy.empty()) {
          out.numeric_copy = MatrixD(numeric.rows(), numeric.cols());
          for (std::size_t r = 0; r < numeric.rows(); ++r)
            std::copy(numeric.row(r), numeric.row(r) + numeric.cols(), out.numeric_copy.row(r));
          out.numeric = out.numeric_copy.view();
        }
        out.numeric_copy(i, c) = std::nan("");
      }
  }
  out.codes = codes;
  for (std::size_t c = 0; c < plan.levels.size(); ++c) {
    const auto n_levels = static_cast<std::int32_t>(plan.levels[c].size());
    out.levels.push_back(n_levels);
    for (std::size_t i = 0; i < n; ++i)
      if (codes(i, c) >= n_levels) {
        if (out.codes_copy.empty()) {
          out.codes_copy = Matrix<std::int32_t>(codes.rows(), codes.cols());
          for (std::size_t r = 0; r < codes.rows(); ++r)
            std::copy(codes.row(r), codes.row(r) + codes.cols(), out.codes_copy.row(r));
          out.codes = out.codes_copy.view();
        }
        out.codes_copy(i, c) = -1;
      }
  }
  return out;
}

/// Scores rows by their posterior under the frozen plan and class parameters.
class FittedLca final : public FittedMethod {
 public:
  FittedLca(MixedPlan plan, LcaModel model) : plan_(std::move(plan)), model_(std::move(model)) {}
  Method method() const noexcept override { return Method::lca; }
  std::size_t k() const noexcept override { return model_.n_components(); }
  nlohmann::json to_json() const override {
    nlohmann::json j = mixed_plan_to_json(plan_);
    j["k"] = k();
    j["weights"] = model_.weights;
    j["means"] = matrix_to_json(model_.means.view());
    j["variances"] = matrix_to_json(model_.variances.view());
    nlohmann::json probs = nlohmann::json::array();
    for (const auto& t : model_.probabilities) probs.push_back(matrix_to_json(t.view()));
    j["probabilities"] = probs;
    return j;
  }
  std::vector<std::int32_t> predict(const ScoringInput& in) const override {
    const MixedPlan::Data t = plan_.transform(in.table);
    const LcaData d = lca_data(plan_, t.numeric.view(), t.codes.view(), in.table);
    return model_.predict(d.numeric, d.codes);
  }
  std::vector<double> probability(const ScoringInput& in) const override {
    const MixedPlan::Data t = plan_.transform(in.table);
    const LcaData d = lca_data(plan_, t.numeric.view(), t.codes.view(), in.table);
    const MatrixD post = model_.predict_proba(d.numeric, d.codes);
    std::vector<double> p(post.rows());
    for (std::size_t i = 0; i < post.rows(); ++i) p[i] = *std::max_element(post.row(i), post.row(i) + post.cols());
    return p;
  }

 private:
  MixedPlan plan_;
  LcaModel model_;
};

std::shared_ptr<const FittedMethod> load(const nlohmann::json& part, const std::string& file) {
  MixedPlan plan = mixed_plan_from_json(part, file);
  LcaModel m;
  try {
    m.weights = part.at("weights").get<std::vector<double>>();
    m.means = matrix_from_json(part.at("means"), "lca.means");
    m.variances = matrix_from_json(part.at("variances"), "lca.variances");
    for (const auto& t : part.at("probabilities")) m.probabilities.push_back(matrix_from_json(t, "lca.probabilities"));
  } catch (const nlohmann::json::exception& e) {
    throw ModelFormatError(fmt::format("{}: lca: {}", file, e.what()));
  }
  const std::size_t k = m.weights.size();
  bool ok = k > 0 && m.means.rows() == k && m.variances.rows() == k && m.means.cols() == plan.numeric_names.size() &&
            m.variances.cols() == m.means.cols() && m.probabilities.size() == plan.categorical_names.size();
  for (std::size_t c = 0; ok && c < m.probabilities.size(); ++c)
    ok = m.probabilities[c].rows() == k && m.probabilities[c].cols() == plan.levels[c].size();
  for (std::size_t i = 0; ok && i < m.variances.size(); ++i) ok = m.variances.data()[i] > 0;
  for (std::size_t i = 0; ok && i < k; ++i) ok = std::isfinite(m.weights[i]) && m.weights[i] > 0;
  for (std::size_t c = 0; ok && c < m.probabilities.size(); ++c)
    for (std::size_t i = 0; ok && i < m.probabilities[c].size(); ++i)
      ok = m.probabilities[c].data()[i] >= 0 && m.probabilities[c].data()[i] <= 1;
  if (!ok) throw ModelFormatError(fmt::format("{}: lca class parameters do not fit its columns", file));
  return std::make_shared<FittedLca>(std::move(plan), std::move(m));
}

/// Renumbers the model's classes old -> rename[old] in place (the posterior row by
/// row, without a second n x k copy).
void renumber(LcaModel& m, const std::vector<std::int32_t>& rename) {
  LcaModel was;
  was.weights = m.weights;
  was.means = m.means;
  was.variances = m.variances;
  was.probabilities = m.probabilities;
  const std::size_t k = m.n_components();
  for (std::size_t old = 0; old < k; ++old) {
    const auto j = static_cast<std::size_t>(rename[old]);
    m.weights[j] = was.weights[old];
    std::copy(was.means.row(old), was.means.row(old) + was.means.cols(), m.means.row(j));
    std::copy(was.variances.row(old), was.variances.row(old) + was.variances.cols(), m.variances.row(j));
    for (std::size_t c = 0; c < m.probabilities.size(); ++c)
      std::copy(was.probabilities[c].row(old), was.probabilities[c].row(old) + was.probabilities[c].cols(),
                m.probabilities[c].row(j));
  }
  std::vector<double> row(k);
  for (std::size_t i = 0; i < m.posterior.rows(); ++i) {
    for (std::size_t old = 0; old < k; ++old) row[static_cast<std::size_t>(rename[old])] = m.posterior(i, old);
    std::copy(row.begin(), row.end(), m.posterior.row(i));
  }
  for (auto& l : m.labels) l = rename[static_cast<std::size_t>(l)];
}

/// Per class: its weight; per numeric column the model's mean, variance and standard
/// deviation on the Yeo-Johnson + standardised scale the model works on, and the
/// posterior-weighted mean and standard deviation of the column's original values
/// (present cells of the clustered rows); per categorical column the level
/// probabilities. Fitted on several ranks (`comm`), each holds the posterior of its
/// own rows (LcaModel::posterior_first_row, the ranks' rows in rank order): the
/// weighted sums, running sums in row order, are carried along the ranks by the
/// ordered fold (2 k p, then k p doubles), so each takes the additions of one process.
nlohmann::json classes_json(const MixedPlan& plan, const LcaModel& m, const Table& t,
                            const std::vector<std::size_t>& rows, const Communicator* comm) {
  const std::size_t k = m.n_components();
  const std::size_t p = plan.numeric_names.size(), nk = k * p;
  const std::size_t first = m.posterior_first_row, own = m.posterior.rows();
  if (first + own > rows.size()) throw Error("lca: the posterior's rows are not among the clustered rows");
  std::vector<const Column*> cols;
  for (std::size_t d = 0; d < p; ++d) cols.push_back(&t.column(t.index_of(plan.numeric_names[d])));
  auto fold = [&](std::span<double> total, const std::function<void(std::span<double>)>& add) {
    if (total.empty()) return;  // no numeric column (every rank alike)
    if (comm != nullptr && comm->size() > 1)
      comm->fold_in_rank_order(total, add);
    else
      add(total);
  };
  // Original-scale moments weighted by the posterior: the weights and weighted sums
  // (w, s1), then the weighted squared deviations from the means (s2).
  std::vector<double> ws(2 * nk, 0.0), s2(nk, 0.0);
  fold(ws, [&](std::span<double> acc) {
    double* w = acc.data();
    double* s1 = acc.data() + nk;
    for (std::size_t d = 0; d < p; ++d)
      for (std::size_t r = 0; r < own; ++r) {
        const double v = cols[d]->numbers[rows[first + r]];
        if (std::isnan(v)) continue;
        for (std::size_t j = 0; j < k; ++j) {
          const double p_rj = m.posterior(r, j);
          w[d * k + j] += p_rj;
          s1[d * k + j] += p_rj * v;
        }
      }
  });
  const double* w = ws.data();
  const double* s1 = ws.data() + nk;
  fold(s2, [&](std::span<double> acc) {
    for (std::size_t d = 0; d < p; ++d)
      for (std::size_t r = 0; r < own; ++r) {
        const double v = cols[d]->numbers[rows[first + r]];
        if (std::isnan(v)) continue;
        for (std::size_t j = 0; j < k; ++j) {
          const std::size_t a = d * k + j;
          const double mean = w[a] > 0 ? s1[a] / w[a] : 0.0;
          acc[a] += m.posterior(r, j) * (v - mean) * (v - mean);
        }
      }
  });
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t j = 0; j < k; ++j) {
    nlohmann::json num = nlohmann::json::object(), cat = nlohmann::json::object();
    for (std::size_t d = 0; d < plan.numeric_names.size(); ++d) {
      const std::size_t a = d * k + j;
      nlohmann::json o{{"mean", m.means(j, d)}, {"variance", m.variances(j, d)}, {"sd", std::sqrt(m.variances(j, d))}};
      if (w[a] > 0) {
        o["original_mean"] = s1[a] / w[a];
        o["original_sd"] = std::sqrt(s2[a] / w[a]);
      }
      num[plan.numeric_names[d]] = std::move(o);
    }
    for (std::size_t c = 0; c < plan.categorical_names.size(); ++c) {
      nlohmann::json probs = nlohmann::json::object();
      for (std::size_t l = 0; l < plan.levels[c].size(); ++l)
        probs[shown_text(plan.levels[c][l])] = m.probabilities[c](j, l);
      cat[plan.categorical_names[c]] = std::move(probs);
    }
    out.push_back({{"segment", j}, {"weight", m.weights[j]}, {"numeric", num}, {"categorical", cat}});
  }
  return out;
}

MethodResult fit(RunContext& ctx) {
  const RunParams& params = ctx.params;
  MethodResult r;
  r.id = Method::lca;
  r.name = "lca";
  r.objective = "bic";
  const Table& t = ctx.table;
  // Under mpirun each rank fits the plan from its share of the rows.
  const MixedPlan plan = fit_mixed_plan(t, ctx.rows, &ctx.diag, params.numeric, &world());
  if (plan.numeric_names.empty() && plan.categorical_names.empty())
    throw ParameterError("method", fmt::format("lca needs a numeric, categorical or binary column; {} has none", t.source()));
  // The plan's transform of the clustered rows, kept once: the model's view of it,
  // the k-prototypes space of the criteria, the representatives and the maps are made
  // from it (the space row by row, never for every row at once).
  auto mixed = std::make_shared<MixedRows>(plan, plan.transform(t, ctx.rows));
  LcaData data = lca_data(plan, mixed->numeric().view(), mixed->codes().view(), t, ctx.rows);
  const ViewD numeric = data.numeric;
  const MatrixView<std::int32_t> codes = data.codes;
  const KSpec ks = ctx.k_range();

  LcaParams lp;
  lp.n_init = effective_n_init(params, Method::lca);
  lp.random_state = params.seed;
  // Under mpirun each rank runs EM over its share of the row blocks (docs/USAGE.md "Many machines").
  if (world().size() > 1) lp.comm = &world();

  // A large table: EM of every k and the criteria on a seeded uniform sample of the
  // clustered rows; the chosen k is then refitted on all rows from the sample's class
  // parameters.
  const std::size_t n_all = numeric.rows(), sweep_m = sweep_rows(params, n_all, ks.hi);
  std::vector<std::size_t> sample_rows;
  MatrixD sample_numeric;
  Matrix<std::int32_t> sample_codes;
  if (sweep_m > 0) {
    sample_rows = sweep_sample_rows(params, n_all, sweep_m);
    sample_numeric = take_rows<double, std::size_t>(numeric, sample_rows);
    sample_codes = take_rows<std::int32_t, std::size_t>(codes, sample_rows);
    ctx.diag.info("k", "sweep_sample",
                  fmt::format("k = {}..{} fitted (EM) and scored (BIC, ICL, silhouette, stability) on a seeded sample "
                              "of {} of the {} clustered rows; the chosen k is then refitted on all rows from the "
                              "sample's class parameters (--sweep-all-max, --sweep-sample)",
                              ks.lo, ks.hi, sweep_m, n_all));
  }
  const ViewD fit_numeric = sweep_m > 0 ? sample_numeric.view() : numeric;
  const MatrixView<std::int32_t> fit_codes = sweep_m > 0 ? sample_codes.view() : codes;

  std::vector<LcaModel> models;
  std::vector<KFit> fits;
  nlohmann::json per_k = nlohmann::json::array();
  double fit_seconds = 0;
  auto fit_one_k = [&](std::size_t k, std::vector<KFit>& out) {
    Stopwatch one;
    lp.n_components = k;
    LcaModel m = fit_lca(fit_numeric, fit_codes, data.levels, lp, &ctx.diag);
    // A class whose variance in some numeric column sits at the floor is a spike on
    // repeated values (integer ages or balances), a spurious maximum of the
    // likelihood: its BIC and ICL are unbounded in the floor, so that k is left out
    // of the likelihood criteria.
    std::string spike;
    for (std::size_t j = 0; j < k && spike.empty(); ++j)
      for (std::size_t c = 0; c < plan.numeric_names.size(); ++c)
        if (m.weights[j] > 0 && m.variances(j, c) <= m.variance_floors[c]) {
          spike = plan.numeric_names[c];
          break;
        }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    out.push_back(
        {k, m.labels, m.bic, m.n_iter, one.seconds(), spike.empty() ? m.bic : nan, spike.empty() ? m.icl : nan});
    if (!spike.empty())
      ctx.diag.info("lca", "variance_at_floor",
                    fmt::format("k = {}: a class's variance of column '{}' is at the floor (a spike on repeated "
                                "values); BIC and ICL of this k are left out of the choice of k",
                                k, spike));
    per_k.push_back({{"k", k},
                     {"degenerate", !spike.empty()},
                     {"log_likelihood", m.log_likelihood},
                     {"bic", m.bic},
                     {"icl", m.icl},
                     {"aic", m.aic},
                     {"entropy_r2", m.entropy_r2},
                     {"n_parameters", m.n_parameters},
                     {"n_iter", m.n_iter},
                     {"converged", m.converged}});
    models.push_back(std::move(m));
  };
  const FitKs fit_ks = [&](std::span<const std::size_t> batch, std::vector<KFit>& out) {
    Stopwatch clock;
    Progress progress("k sweep lca", batch.size(), "k");
    for (std::size_t k : batch) {
      progress.note(fmt::format("k = {} (EM, {} starts on {} rows)", k, lp.n_init, fit_numeric.rows()));
      fit_one_k(k, out);
      progress.advance();
    }
    fit_seconds += clock.seconds();
  };

  const double gamma = mixed->numeric().cols() > 0 ? kprototypes_default_gamma(mixed->numeric().view()) : 1.0;
  mixed->set_gamma(gamma);
  r.space = fmt::format(
      "numeric columns + categorical indicators scaled by sqrt(gamma/2), gamma = {:.6g} "
      "(the k-prototypes space)",
      gamma);
  // The sweep's space: the sample's rows, or every row when the sweep runs on all
  // (at most --sweep-all-max rows); freed after the sweep.
  MatrixD sweep_z = sweep_m > 0 ? mixed->take(sample_rows) : mixed->all();
  const ViewD sweep_space = sweep_z.view();
  // Stability: the same model with fewer starts on subsamples of the same rows.
  const SubsetFit subset_fit = [&](std::span<const std::size_t> rows, std::size_t k, std::uint64_t seed) {
    const MatrixD sn = take_rows<double, std::size_t>(fit_numeric, rows);
    const Matrix<std::int32_t> sc = take_rows<std::int32_t, std::size_t>(fit_codes, rows);
    LcaParams sp = lp;
    sp.n_components = k;
    sp.n_init = std::min(lp.n_init, kStabilityRestarts);
    sp.random_state = seed;
    sp.comm = nullptr;  // small fits, computed whole on every rank
    return fit_lca(sn.view(), sc.view(), data.levels, sp).labels;
  };
  // The knee of the BIC curve means nothing: BIC (its plateau by default) or ICL decide.
  r.eval = sweep_k<double>(sweep_space, ks, fit_ks, fits, silhouette_rows(params, sweep_space.rows()), params.seed,
                           ctx.diag, k_choice(params, true, subset_fit));
  ctx.timings.add("lca", fit_seconds);
  ctx.timings.add("silhouette", r.eval.silhouette_seconds);
  ctx.timings.add("metrics", r.eval.metrics_seconds);
  if (r.eval.stability_seconds > 0) ctx.timings.add("stability", r.eval.stability_seconds);
  sweep_z = MatrixD();

  const KRecommendation& rec = r.eval.recommendation;
  std::size_t chosen = 0, best_icl = 0;
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (fits[i].k == rec.k) chosen = i;
    if (models[i].icl < models[best_icl].icl) best_icl = i;
  }
  r.k = rec.k;
  if (sweep_m > 0) {
    // EM on every row from the sample fit's class parameters (its posterior of every
    // row is the first M-step's input); the chosen k's criteria on every row.
    Stopwatch all_clock;
    LcaParams fp = lp;
    fp.n_components = models[chosen].n_components();
    Progress progress(fmt::format("final fit lca k = {}", fp.n_components));
    progress.note(fmt::format("EM on {} rows", n_all));
    progress.count_iterations(fp.max_iter);
    LcaModel full;
    full = fit_lca_from_model(numeric, codes, data.levels, models[chosen], fp);
    progress.finish();
    if (!full.converged)
      ctx.diag.info("lca", "not_converged",
                    fmt::format("k = {} on all rows: EM stopped after max_iter = {} iterations before converging",
                                fp.n_components, fp.max_iter));
    models[chosen] = std::move(full);
    ctx.timings.add("lca_all_rows", all_clock.seconds());
    all_clock.reset();
    Progress scoring(fmt::format("criteria of k = {} on all rows", fp.n_components));
    SweepPoint p =
        score_labels_rows(mixed->source(), models[chosen].labels, silhouette_rows(params, n_all), params.seed,
                          &world());
    scoring.finish();
    p.inertia = models[chosen].bic;
    p.n_iter = models[chosen].n_iter;
    p.bic = models[chosen].bic;
    p.icl = models[chosen].icl;
    r.eval.final_all_rows = p;
    r.eval.sample_rows = sweep_m;
    r.eval.all_rows = n_all;
    ctx.timings.add("metrics_all_rows", all_clock.seconds());
  }
  // The model's view of the rows is not needed any more (the space is made from
  // `mixed`).
  data = LcaData();
  r.labels = models[chosen].labels;
  const std::vector<std::int32_t> rename = number_by_size(r, nullptr);
  LcaModel model = std::move(models[chosen]);
  models.clear();
  renumber(model, rename);

  // Each row's probability of its segment, from the rows' posterior where it is held
  // (fitted on ranks: each rank's own rows, gathered in rank order, 8 bytes a row).
  {
    std::vector<double> own(model.posterior.rows());
    for (std::size_t i = 0; i < own.size(); ++i)
      own[i] = *std::max_element(model.posterior.row(i), model.posterior.row(i) + model.posterior.cols());
    r.probability = lp.comm != nullptr ? lp.comm->allgather(own) : std::move(own);
    if (r.probability.size() != r.labels.size())
      throw Error("lca: the ranks' posterior rows do not add up to the rows");
  }

  r.details = {{"log_likelihood", model.log_likelihood},
               {"bic", model.bic},
               {"icl", model.icl},
               {"aic", model.aic},
               {"entropy_r2", model.entropy_r2},
               {"n_parameters", model.n_parameters},
               {"n_init", lp.n_init},
               {"n_iter", model.n_iter},
               {"converged", model.converged},
               {"tol", lp.tol},
               {"max_iter", lp.max_iter},
               {"variance_floor", {{"relative", lp.variance_floor}, {"absolute", nlohmann::json::object()}}},
               {"category_smoothing", lp.smoothing},
               {"numeric_space", "Yeo-Johnson + standardised (fitted on the clustered rows)"},
               {"best_icl_k", fits[best_icl].k},
               {"per_k", per_k},
               {"classes_scale",
                "numeric mean, variance, sd: Yeo-Johnson + standardised scale of the model; original_mean, "
                "original_sd: the column's values weighted by each row's posterior"},
               {"classes", classes_json(plan, model, t, ctx.rows, lp.comm)}};
  for (std::size_t c = 0; c < plan.numeric_names.size(); ++c)
    r.details["variance_floor"]["absolute"][plan.numeric_names[c]] = model.variance_floors[c];
  model.posterior = MatrixD();  // the outputs need only r.probability from it

  LcaModel frozen;
  frozen.weights = model.weights;
  frozen.means = model.means;
  frozen.variances = model.variances;
  frozen.probabilities = model.probabilities;
  r.fitted = std::make_shared<FittedLca>(plan, std::move(frozen));
  r.map_space = "k-prototypes space (numeric columns + scaled categorical indicators)";
  r.mixed_famd = !plan.numeric_names.empty() && !plan.categorical_names.empty();
  r.mixed = std::move(mixed);
  return r;
}

}  // namespace

extern const MethodSpec lca_method{Method::lca, false, fit, load};

}  // namespace segmenta::detail
