// The kmeans method: k-means on the encoded (power-transformed) feature matrix.
#include <fmt/format.h>

#include "context.hpp"
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
  std::vector<KFit> fits;
  std::vector<KMeansModel<T>> models;
  Stopwatch clock;
  for (std::size_t k = ks.lo; k <= ks.hi; ++k) {
    Stopwatch fit_clock;
    kp.n_clusters = k;
    models.push_back(fit_kmeans<T>(x, kp, &ctx.diag));
    const auto& m = models.back();
    fits.push_back({k, m.labels, m.inertia, m.n_iter, fit_clock.seconds()});
  }
  ctx.timings.add("kmeans", clock.seconds());
  r.eval = evaluate_fits<T>(x, fits, params.silhouette_sample, params.seed, ctx.diag);
  ctx.timings.add("silhouette", r.eval.silhouette_seconds);
  ctx.timings.add("metrics", r.eval.metrics_seconds);
  r.k = r.eval.recommendation.k;
  r.details = {{"n_init", kp.n_init}, {"max_iter", kp.max_iter}, {"tol", kp.tol},
               {"converged", models[r.k - ks.lo].converged}};
  return models;
}

template std::vector<KMeansModel<double>> sweep_kmeans<double>(RunContext&, ViewD, std::size_t, MethodResult&);
template std::vector<KMeansModel<float>> sweep_kmeans<float>(RunContext&, ViewF, std::size_t, MethodResult&);

MethodResult run_kmeans(RunContext& ctx) {
  MethodResult r;
  r.name = "kmeans";
  r.objective = "inertia";
  r.space = fmt::format("encoded features ({} columns)", ctx.prep.features.cols());
  MatrixD x = ctx.common_clustered();
  const std::vector<KMeansModel<double>> models =
      sweep_kmeans<double>(ctx, x.view(), ctx.params.n_init ? ctx.params.n_init : (ctx.blog ? 30 : 10), r);
  const KMeansModel<double>& chosen = models[r.k - ctx.k_range().lo];
  r.labels = chosen.labels;
  MatrixD centers = chosen.centers;
  number_by_size(r, &centers);
  r.model = {{"k", r.k}, {"centers", matrix_to_json(centers.view())}};
  r.rep_space = ctx.prep.features;
  r.rep_centers = std::move(centers);
  r.map_d = std::move(x);
  r.map_space = r.space;
  return r;
}

}  // namespace segmenta::detail
