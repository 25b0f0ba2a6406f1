// The kmeans method: k-means on the encoded (power-transformed) feature matrix.
#include <fmt/format.h>

#include "context.hpp"
#include "model_io.hpp"
#include "segmenta/cluster.hpp"

namespace segmenta::detail {

MethodResult run_kmeans(RunContext& ctx) {
  const RunParams& params = ctx.params;
  MethodResult r;
  r.name = "kmeans";
  r.objective = "inertia";
  r.space = fmt::format("encoded features ({} columns)", ctx.prep.features.cols());
  MatrixD x = ctx.common_clustered();
  const KSpec ks = ctx.k_range();

  KMeansParams kp;
  kp.n_init = params.n_init ? params.n_init : (ctx.blog ? 30 : 10);
  kp.max_iter = params.max_iter;
  kp.tol = params.tol;
  kp.random_state = params.seed;
  std::vector<KFit> fits;
  std::vector<KMeansModel<double>> models;
  Stopwatch clock;
  for (std::size_t k = ks.lo; k <= ks.hi; ++k) {
    Stopwatch fit_clock;
    kp.n_clusters = k;
    models.push_back(fit_kmeans<double>(x.view(), kp, &ctx.diag));
    const auto& m = models.back();
    fits.push_back({k, m.labels, m.inertia, m.n_iter, fit_clock.seconds()});
  }
  ctx.timings.add("kmeans", clock.seconds());
  r.eval = evaluate_fits<double>(x.view(), fits, params.silhouette_sample, params.seed, ctx.diag);
  ctx.timings.add("silhouette", r.eval.silhouette_seconds);
  ctx.timings.add("metrics", r.eval.metrics_seconds);

  r.k = r.eval.recommendation.k;
  const std::size_t chosen = r.k - ks.lo;
  r.labels = models[chosen].labels;
  MatrixD centers = models[chosen].centers;
  number_by_size(r, &centers);
  r.details = {{"n_init", kp.n_init}, {"max_iter", kp.max_iter}, {"tol", kp.tol}, {"converged", models[chosen].converged}};
  r.model = {{"k", r.k}, {"centers", matrix_to_json(centers.view())}};
  r.rep_space = ctx.prep.features;
  r.rep_centers = std::move(centers);
  r.map_d = std::move(x);
  r.map_space = r.space;
  return r;
}

}  // namespace segmenta::detail
