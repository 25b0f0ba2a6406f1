// The kmeans method: k-means on the encoded (power-transformed) feature matrix.
#include <algorithm>

#include <fmt/format.h>

#include "method.hpp"
#include "model_io.hpp"
#include "segmenta/cluster.hpp"

namespace segmenta::detail {

template <class T>
std::vector<KMeansModel<T>> sweep_kmeans(RunContext& ctx, MatrixView<T> x, std::size_t n_init, MethodResult& r) {
  const RunParams& params = ctx.params;
  const KSpec ks = ctx.k_range();
  KMeansParams kp;
  kp.n_init = n_init;
  kp.max_iter = params.max_iter;
  kp.tol = params.tol;
  kp.random_state = params.seed;
  // Under mpirun every rank holds the same rows; each computes its share of the
  // row blocks of every fit of the sweep and of the final fit (docs/USAGE.md "Many machines").
  if (world().size() > 1) kp.comm = &world();
  std::vector<KFit> fits;
  std::vector<KMeansModel<T>> models;
  // A large table: the sweep runs on a seeded uniform sample of the rows.
  const std::size_t all = x.rows(), m = sweep_rows(params, all, ks.hi);
  Matrix<T> sample;
  const MatrixView<T> full = x;
  if (m > 0) {
    sample = take_rows<T, std::size_t>(x, sweep_sample_rows(params, all, m));
    x = sample.view();
    ctx.diag.info("k", "sweep_sample",
                  fmt::format("k = {}..{} fitted and scored on a seeded sample of {} of the {} clustered rows; the "
                              "chosen k is then fitted on all rows (--sweep-all-max, --sweep-sample)",
                              ks.lo, ks.hi, m, all));
  }
  double fit_seconds = 0;
  const FitKs fit_ks = [&](std::span<const std::size_t> batch, std::vector<KFit>& out) {
    Stopwatch clock;
    Progress progress(fmt::format("k sweep {}", r.name), batch.size(), "k");
    for (std::size_t k : batch) {
      progress.note(fmt::format("k = {} ({} restarts on {} rows)", k, kp.n_init, x.rows()));
      Stopwatch fit_clock;
      kp.n_clusters = k;
      models.push_back(fit_kmeans<T>(x, kp, &ctx.diag));
      const auto& fitted = models.back();
      out.push_back({k, fitted.labels, fitted.inertia, fitted.n_iter, fit_clock.seconds()});
      progress.advance();
    }
    fit_seconds += clock.seconds();
  };
  // Stability: k-means with fewer restarts on subsamples of the same rows.
  const SubsetFit subset_fit = [&](std::span<const std::size_t> rows, std::size_t k, std::uint64_t seed) {
    const Matrix<T> sub = take_rows<T, std::size_t>(x, rows);
    KMeansParams sp = kp;
    sp.n_clusters = k;
    sp.n_init = std::min(kp.n_init, kStabilityRestarts);
    sp.random_state = seed;
    sp.comm = nullptr;  // small fits, computed whole on every rank
    return fit_kmeans<T>(sub.view(), sp).labels;
  };
  r.eval = sweep_k<T>(x, ks, fit_ks, fits, silhouette_rows(params, x.rows()), params.seed, ctx.diag,
                      k_choice(params, false, subset_fit));
  ctx.timings.add("kmeans", fit_seconds);
  ctx.timings.add("silhouette", r.eval.silhouette_seconds);
  ctx.timings.add("metrics", r.eval.metrics_seconds);
  if (r.eval.stability_seconds > 0) ctx.timings.add("stability", r.eval.stability_seconds);
  r.k = r.eval.recommendation.k;
  if (m > 0) {
    // The chosen k on every row, from the sample fit's centres; its criteria on every
    // row (the silhouette estimated above --silhouette-exact-max rows).
    Stopwatch all_clock;
    KMeansParams fp = kp;
    fp.n_clusters = r.k;
    KMeansModel<T>& chosen = models[r.k - ks.lo];  // the sweep fits k in increasing order from ks.lo
    const Matrix<T> init = chosen.centers;
    {
      Progress progress(fmt::format("final fit {} k = {}", r.name, r.k));
      progress.note(fmt::format("{} rows", all));
      progress.count_iterations(fp.max_iter);
      chosen = fit_kmeans_from<T>(full, init.view(), fp, &ctx.diag);
    }
    ctx.timings.add("kmeans_all_rows", all_clock.seconds());
    all_clock.reset();
    Progress progress(fmt::format("criteria of k = {} on all rows", r.k));
    SweepPoint p = score_labels<T>(full, chosen.labels, silhouette_rows(params, all), params.seed, &world());
    progress.finish();
    p.inertia = chosen.inertia;
    p.n_iter = chosen.n_iter;
    r.eval.final_all_rows = p;
    r.eval.sample_rows = m;
    r.eval.all_rows = all;
    ctx.timings.add("metrics_all_rows", all_clock.seconds());
  }
  r.details = {
      {"n_init", kp.n_init}, {"max_iter", kp.max_iter}, {"tol", kp.tol}, {"converged", models[r.k - ks.lo].converged}};
  return models;
}

template std::vector<KMeansModel<double>> sweep_kmeans<double>(RunContext&, ViewD, std::size_t, MethodResult&);
template std::vector<KMeansModel<float>> sweep_kmeans<float>(RunContext&, ViewF, std::size_t, MethodResult&);

namespace {

/// Nearest centre in the encoded feature space.
class FittedKMeans final : public FittedMethod {
 public:
  FittedKMeans(MatrixD centers, std::string origin) : centers_(std::move(centers)), origin_(std::move(origin)) {}
  Method method() const noexcept override { return Method::kmeans; }
  std::size_t k() const noexcept override { return centers_.rows(); }
  nlohmann::json to_json() const override { return {{"k", k()}, {"centers", matrix_to_json(centers_.view())}}; }
  std::vector<std::int32_t> predict(const ScoringInput& in) const override {
    return predict_nearest_center(centers_.view(), in.features, origin_);
  }

 private:
  MatrixD centers_;
  std::string origin_;
};

MethodResult fit(RunContext& ctx) {
  MethodResult r;
  r.id = Method::kmeans;
  r.name = "kmeans";
  r.objective = "inertia";
  r.space = fmt::format("encoded features ({} columns)", ctx.prep.features.cols());
  std::vector<KMeansModel<double>> models;
  {
    // The clustered rows in place in the common feature matrix, not a copy (353 bytes a row).
    const ClusteredCommon x(ctx);
    models = sweep_kmeans<double>(ctx, x.view(), effective_n_init(ctx.params, Method::kmeans), r);
  }
  const KMeansModel<double>& chosen = models[r.k - ctx.k_range().lo];
  r.labels = chosen.labels;
  MatrixD centers = chosen.centers;
  number_by_size(r, &centers);
  r.fitted = std::make_shared<FittedKMeans>(centers, "the fitted model");
  r.rep_common = true;  // ctx.prep.features, not a copy of it
  r.rep_centers = std::move(centers);
  r.map_common = true;  // the maps take the clustered rows of ctx.prep.features in place
  r.map_space = r.space;
  return r;
}

std::shared_ptr<const FittedMethod> load(const nlohmann::json& part, const std::string& file) {
  return std::make_shared<FittedKMeans>(matrix_from_json(part.at("centers"), "kmeans.centers"), file);
}

}  // namespace

extern const MethodSpec kmeans_method{Method::kmeans, false, fit, load};

}  // namespace segmenta::detail
