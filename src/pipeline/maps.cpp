// Maps of a method's clustered rows for the report: linear projections of every row
// (PCA; FAMD and MCA for kprototypes) and a t-SNE of a seeded sample.
//
// Under mpirun every rank computes the maps: the projections' passes over the rows
// are shared (each rank reads its share of the row blocks, the sums are added in the
// one-process order: the comm of their parameters), and each rank keeps the
// coordinates of the rows it projected, which are the rows it formats in maps.csv
// (detail::RowRounds; MethodMaps::rank_rows). The t-SNE of the 3,000-row sample is
// computed whole on every rank, and each keeps its rows' values.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include <fmt/format.h>

#include "context.hpp"
#include "core/block_share.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/reduce.hpp"

namespace segmenta::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void add_columns(MethodMaps& m, const std::string& prefix, ViewD coords) {
  for (std::size_t c = 0; c < coords.cols(); ++c) {
    std::vector<double> v(coords.rows());
    for (std::size_t i = 0; i < coords.rows(); ++i) v[i] = coords(i, c);
    m.columns.emplace_back(fmt::format("{}{}", prefix, c + 1), std::move(v));
  }
}

std::vector<std::string> names(const std::string& prefix, std::size_t k) {
  std::vector<std::string> v;
  for (std::size_t c = 0; c < k; ++c) v.push_back(fmt::format("{}{}", prefix, c + 1));
  return v;
}

nlohmann::json variance_json(const std::vector<double>& eigenvalues, const std::vector<double>& percent,
                             const std::vector<double>& cumulative) {
  std::vector<double> ratio;
  for (double p : percent) ratio.push_back(p / 100.0);
  return {{"eigenvalues", eigenvalues},
          {"explained_variance_ratio", ratio},
          {"percent_of_variance", percent},
          {"cumulative_percent", cumulative}};
}

// standardize: PCA of the columns rescaled to unit variance over the mapped rows
// (prince's default, which the blog used on its inliers).
template <class T>
void pca_map(MethodMaps& m, MatrixView<T> x, const std::string& space, bool standardize, Diagnostics& diag) {
  PcaParams pp;
  pp.n_components = std::min<std::size_t>({3, x.rows(), x.cols()});
  pp.standardize = standardize;
  pp.comm = &world();  // the rows' passes shared by the ranks (one process: all of them)
  const PcaModel model = fit_pca<T>(x, pp, &diag);
  add_columns(m, "pca", model.row_coordinates.view());
  nlohmann::json info{{"name", "pca"},
                      {"columns", names("pca", model.n_components())},
                      {"space", standardize ? space + ", columns standardised over the mapped rows" : space},
                      {"standardized", standardize},
                      {"rows", x.rows()},
                      {"sample_rate", 1.0}};
  info.update(variance_json(model.eigenvalues, model.percentage_of_variance, model.cumulative_percentage_of_variance));
  m.info.push_back(std::move(info));
}

// take(pick): the picked rows of the n mapped rows as a matrix.
template <class T, class Take>
void tsne_map(MethodMaps& m, std::size_t n, const Take& take, const RunParams& p, const std::string& space,
              Diagnostics& diag) {
  const std::size_t s = std::min(p.tsne_sample, n);
  if (s < 4) return;
  std::vector<std::size_t> pick;
  if (s == n) {
    pick.resize(n);
    for (std::size_t i = 0; i < n; ++i) pick[i] = i;
  } else {
    Rng rng = Rng::stream(p.seed, 0x75e5);
    pick = rng.sample_without_replacement(n, s);
    std::sort(pick.begin(), pick.end());
  }
  const Matrix<T> sample = take(pick);
  TsneParams tp;
  tp.n_components = p.tsne_dims;
  // scikit-learn requires perplexity < n; small samples get the largest sound value.
  tp.perplexity = std::min(p.perplexity, std::max(1.0, (static_cast<double>(s) - 1.0) / 3.0));
  tp.random_state = p.seed;
  const TsneResult t = fit_tsne<T>(sample.view(), tp, &diag);
  // This rank's rows (every row for one process), as the projections keep them.
  const RowRounds rounds = RowRounds::of(&world(), n);
  for (std::size_t c = 0; c < tp.n_components; ++c) {
    std::vector<double> v(rounds.own_rows(), kNaN);
    for (std::size_t i = 0; i < s; ++i)
      if (rounds.owns(pick[i])) v[rounds.local_row(pick[i])] = t.embedding(i, c);
    m.columns.emplace_back(fmt::format("tsne{}", c + 1), std::move(v));
  }
  m.info.push_back({{"name", "tsne"},
                    {"columns", names("tsne", tp.n_components)},
                    {"space", space},
                    {"rows", s},
                    {"sample_rate", static_cast<double>(s) / static_cast<double>(n)},
                    {"perplexity", tp.perplexity},
                    {"learning_rate", t.learning_rate},
                    {"n_iter", t.n_iter},
                    {"kl_divergence", t.kl_divergence},
                    {"method", t.method == TsneMethod::fft ? "fft" : t.method == TsneMethod::exact ? "exact" : "barnes_hut"},
                    {"seconds", t.seconds_neighbors + t.seconds_affinities + t.seconds_optimize}});
}

}  // namespace

MethodMaps compute_maps(RunContext& ctx, const MethodResult& r) {
  MethodMaps m;
  m.rank_rows = world().size() > 1;
  Diagnostics& diag = ctx.diag;
  // A map is a picture, not a result: a projection that cannot be computed (e.g. a
  // single distinct row) is reported and the run goes on.
  auto guarded = [&](const char* what, auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      diag.warn("maps", "map_failed", fmt::format("{} map of {}: {}", what, r.name, e.what()));
    }
  };
  // A method of mixed data hands over its clustered rows' plan transform (r.mixed)
  // and makes its space's rows from it when they are needed.
  const bool mixed = r.mixed != nullptr;
  // For a method clustering the common feature matrix (kmeans), its clustered rows are
  // put in place for the maps only (PCA and t-SNE), and back when the maps are done.
  std::optional<ClusteredCommon> common;
  const ViewD famd_numeric = mixed && r.mixed_famd ? r.mixed->numeric().view() : r.map_numeric.view();
  const MatrixView<std::int32_t> famd_codes = mixed && r.mixed_famd ? r.mixed->codes().view() : r.map_codes.view();
  if (famd_codes.rows() * famd_codes.cols() > 0) {
    if (famd_numeric.cols() > 0) guarded("FAMD", [&] {  // k-modes has no numeric part: MCA alone
      FamdParams fp;
      fp.n_components = std::min<std::size_t>(3, famd_numeric.rows() - 1);
      fp.comm = &world();
      const FamdModel f = fit_famd(famd_numeric, famd_codes, fp, &diag);
      add_columns(m, "famd", f.row_coordinates.view());
      nlohmann::json info{{"name", "famd"},
                          {"columns", names("famd", f.n_components())},
                          {"space", "numeric columns (standardised) and categorical indicators (FAMD)"},
                          {"rows", f.n_rows},
                          {"sample_rate", 1.0}};
      info.update(variance_json(f.eigenvalues, f.percentage_of_variance, f.cumulative_percentage_of_variance));
      m.info.push_back(std::move(info));
    });
    guarded("MCA", [&] {
      McaParams mp;
      mp.n_components = 3;
      mp.comm = &world();
      const McaModel mc = fit_mca(famd_codes, mp, &diag);
      add_columns(m, "mca", mc.row_coordinates.view());
      nlohmann::json info{{"name", "mca"},
                          {"columns", names("mca", mc.n_components())},
                          {"space", "categorical columns (indicator matrix, MCA)"},
                          {"rows", mc.n_rows},
                          {"sample_rate", 1.0}};
      info.update(variance_json(mc.eigenvalues, mc.percentage_of_variance, mc.cumulative_percentage_of_variance));
      m.info.push_back(std::move(info));
    });
  } else if (!r.map_f.empty()) {
    guarded("PCA", [&] { pca_map<float>(m, r.map_f.view(), r.map_space, false, diag); });
  } else {
    if (r.map_common) common.emplace(ctx);
    const ViewD x = common ? common->view() : r.map_d.view();
    // The blog mapped its prepared inliers with prince's PCA, which standardises the
    // columns first (48.37 % of the variance in three components on bank-full).
    guarded("PCA", [&] {
      const MatrixD whole = mixed ? r.mixed->all() : MatrixD();
      pca_map<double>(m, mixed ? whole.view() : x, r.map_space, ctx.blog, diag);
    });
  }
  if (ctx.params.tsne_sample > 0) {
    auto rows_of = [](auto x) {
      using T = std::remove_const_t<std::remove_reference_t<decltype(*x.data())>>;
      return [x](const std::vector<std::size_t>& pick) { return take_rows<T, std::size_t>(x, pick); };
    };
    if (!r.map_f.empty())
      guarded("t-SNE", [&] { tsne_map<float>(m, r.map_f.rows(), rows_of(r.map_f.view()), ctx.params, r.map_space, diag); });
    else if (mixed)
      guarded("t-SNE", [&] {
        tsne_map<double>(m, r.mixed->rows(), [&](const std::vector<std::size_t>& pick) { return r.mixed->take(pick); },
                         ctx.params, r.map_space, diag);
      });
    else {
      const ViewD x = common ? common->view() : r.map_d.view();
      guarded("t-SNE", [&] { tsne_map<double>(m, x.rows(), rows_of(x), ctx.params, r.map_space, diag); });
    }
  }
  return m;
}

}  // namespace segmenta::detail
