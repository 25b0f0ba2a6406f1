#include "sweep.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "segmenta/metrics.hpp"

namespace segmenta::detail {
namespace {

std::size_t distinct(std::span<const std::int32_t> labels, std::size_t k) {
  std::vector<char> seen(k, 0);
  for (auto l : labels) seen[static_cast<std::size_t>(l)] = 1;
  return static_cast<std::size_t>(std::count(seen.begin(), seen.end(), 1));
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

KRecommendation recommend_k(const std::vector<SweepPoint>& points, Diagnostics& diag) {
  KRecommendation rec;
  auto best = [&](auto better) {
    std::size_t b = 0;
    for (std::size_t i = 1; i < points.size(); ++i)
      if (better(points[i], points[b])) b = i;
    return points[b].k;
  };
  // NaN (undefined) criteria never win: comparisons with NaN are false.
  rec.best_silhouette = best([](const SweepPoint& a, const SweepPoint& b) {
    return std::isnan(b.silhouette) ? !std::isnan(a.silhouette) : a.silhouette > b.silhouette;
  });
  rec.best_calinski_harabasz = best([](const SweepPoint& a, const SweepPoint& b) {
    return std::isnan(b.calinski_harabasz) ? !std::isnan(a.calinski_harabasz) : a.calinski_harabasz > b.calinski_harabasz;
  });
  rec.best_davies_bouldin = best([](const SweepPoint& a, const SweepPoint& b) {
    return std::isnan(b.davies_bouldin) ? !std::isnan(a.davies_bouldin) : a.davies_bouldin < b.davies_bouldin;
  });
  if (points.size() == 1) {
    rec.k = points[0].k;
    rec.reason = "fixed by --k";
    return rec;
  }
  std::vector<double> ks, objective;
  for (const auto& p : points) {
    ks.push_back(static_cast<double>(p.k));
    objective.push_back(p.inertia);
  }
  if (points.size() >= 3) {
    const KneeResult knee = find_knee(ks, objective, CurveNature::convex, CurveDirection::decreasing);
    if (knee.knee) rec.elbow = static_cast<std::size_t>(std::llround(*knee.knee));
  }
  if (rec.elbow) {
    rec.k = *rec.elbow;
    rec.reason = "elbow of the objective curve";
  } else {
    rec.k = rec.best_silhouette;
    rec.reason = "highest silhouette (no elbow found)";
    diag.warn("k", "no_elbow",
              fmt::format("the objective curve over k = {}..{} has no knee; k = {} is chosen by the highest silhouette",
                          points.front().k, points.back().k, rec.k));
  }
  return rec;
}

template <class T>
SweepPoint score_labels(MatrixView<T> space, std::span<const std::int32_t> labels, std::size_t silhouette_sample,
                        std::uint64_t seed) {
  SweepPoint p;
  std::int32_t kmax = 0;
  for (auto l : labels) kmax = std::max(kmax, l);
  const std::size_t k = static_cast<std::size_t>(kmax) + 1, d = distinct(labels, k);
  p.k = k;
  p.sizes.assign(k, 0);
  for (auto l : labels) ++p.sizes[static_cast<std::size_t>(l)];
  if (d < 2 || d >= labels.size()) {
    p.silhouette = p.calinski_harabasz = p.davies_bouldin = kNaN;
    return p;
  }
  p.silhouette = silhouette_sample ? silhouette_score_sampled<T>(space, labels, silhouette_sample, seed)
                                   : silhouette_score<T>(space, labels);
  p.calinski_harabasz = calinski_harabasz_score<T>(space, labels);
  p.davies_bouldin = davies_bouldin_score<T>(space, labels);
  return p;
}

template <class T>
Evaluation evaluate_fits(MatrixView<T> space, const std::vector<KFit>& fits, std::size_t silhouette_sample,
                         std::uint64_t seed, Diagnostics& diag) {
  Evaluation e;
  e.silhouette_profiles.assign(fits.size(), nullptr);
  for (const auto& f : fits) {
    SweepPoint p;
    p.k = f.k;
    p.inertia = f.objective;
    p.n_iter = f.n_iter;
    p.seconds = f.seconds;
    p.sizes.assign(f.k, 0);
    for (auto l : f.labels) ++p.sizes[static_cast<std::size_t>(l)];
    p.silhouette = p.calinski_harabasz = p.davies_bouldin = kNaN;
    e.points.push_back(std::move(p));
  }
  // Labelings with a single distinct label (degenerate data) have no silhouette.
  std::vector<Labels> labelings;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < fits.size(); ++i) {
    const std::size_t d = distinct(fits[i].labels, fits[i].k);
    if (d >= 2 && d < space.rows()) {
      labelings.emplace_back(fits[i].labels);
      which.push_back(i);
    }
  }
  Stopwatch clock;
  if (silhouette_sample == 0) {
    auto values = silhouette_samples_many<T>(space, labelings);
    for (std::size_t w = 0; w < which.size(); ++w) {
      const std::size_t i = which[w];
      e.points[i].silhouette = std::accumulate(values[w].begin(), values[w].end(), 0.0) / static_cast<double>(values[w].size());
      e.silhouette_profiles[i] = silhouette_profile(values[w], fits[i].labels, fits[i].k);
    }
  } else {
    for (std::size_t w = 0; w < which.size(); ++w)
      e.points[which[w]].silhouette = silhouette_score_sampled<T>(space, labelings[w], silhouette_sample, seed);
  }
  e.silhouette_seconds = clock.seconds();
  clock.reset();
  for (std::size_t w = 0; w < which.size(); ++w) {
    e.points[which[w]].calinski_harabasz = calinski_harabasz_score<T>(space, labelings[w]);
    e.points[which[w]].davies_bouldin = davies_bouldin_score<T>(space, labelings[w]);
  }
  e.recommendation = recommend_k(e.points, diag);
  e.metrics_seconds = clock.seconds();
  return e;
}

template Evaluation evaluate_fits<double>(ViewD, const std::vector<KFit>&, std::size_t, std::uint64_t, Diagnostics&);
template Evaluation evaluate_fits<float>(ViewF, const std::vector<KFit>&, std::size_t, std::uint64_t, Diagnostics&);
template SweepPoint score_labels<double>(ViewD, std::span<const std::int32_t>, std::size_t, std::uint64_t);
template SweepPoint score_labels<float>(ViewF, std::span<const std::int32_t>, std::size_t, std::uint64_t);

nlohmann::json silhouette_profile(const std::vector<double>& values, std::span<const std::int32_t> labels,
                                  std::size_t k, std::size_t points) {
  std::vector<std::vector<double>> per(k);
  for (std::size_t i = 0; i < values.size(); ++i) per[static_cast<std::size_t>(labels[i])].push_back(values[i]);
  nlohmann::json clusters = nlohmann::json::array();
  for (std::size_t c = 0; c < k; ++c) {
    auto& v = per[c];
    std::sort(v.begin(), v.end(), std::greater<>());
    const double mean = v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    // Values at evenly spaced ranks of the descending order (all of them for a small
    // cluster): enough to draw the silhouette "knife" of the cluster.
    std::vector<double> q;
    const std::size_t m = std::min(points, v.size());
    for (std::size_t t = 0; t < m; ++t) {
      const std::size_t idx = m == 1 ? 0
                                     : static_cast<std::size_t>(std::llround(static_cast<double>(t) * static_cast<double>(v.size() - 1) /
                                                                             static_cast<double>(m - 1)));
      q.push_back(v[idx]);
    }
    clusters.push_back({{"cluster", c}, {"size", v.size()}, {"mean", mean}, {"values_desc", q}});
  }
  return clusters;
}

namespace {
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

nlohmann::json sweep_json(const Evaluation& e, const std::string& objective_name) {
  nlohmann::json per_k = nlohmann::json::array();
  for (std::size_t i = 0; i < e.points.size(); ++i) {
    const SweepPoint& p = e.points[i];
    nlohmann::json j{{"k", p.k},
                     {objective_name, p.inertia},
                     {"silhouette", number_or_null(p.silhouette)},
                     {"calinski_harabasz", number_or_null(p.calinski_harabasz)},
                     {"davies_bouldin", number_or_null(p.davies_bouldin)},
                     {"n_iter", p.n_iter},
                     {"sizes", p.sizes},
                     {"seconds", p.seconds}};
    if (!e.silhouette_profiles[i].is_null()) j["silhouette_profile"] = e.silhouette_profiles[i];
    per_k.push_back(std::move(j));
  }
  const auto& r = e.recommendation;
  nlohmann::json rec{{"k", r.k},
                     {"reason", r.reason},
                     {"elbow", r.elbow ? nlohmann::json(*r.elbow) : nlohmann::json(nullptr)},
                     {"best_silhouette", r.best_silhouette},
                     {"best_calinski_harabasz", r.best_calinski_harabasz},
                     {"best_davies_bouldin", r.best_davies_bouldin}};
  return {{"objective", objective_name}, {"per_k", per_k}, {"recommendation", rec}};
}

std::string sweep_table(const Evaluation& e, const std::string& objective_name) {
  if (e.points.size() < 2) return {};
  std::string s = fmt::format("k sweep   {:>3} {:>14} {:>10} {:>12} {:>8}\n", "k", objective_name, "silhouette",
                              "Calinski-H.", "Davies-B.");
  const auto& r = e.recommendation;
  for (const auto& p : e.points) {
    std::string marks;
    if (r.elbow && *r.elbow == p.k) marks += " elbow";
    if (r.best_silhouette == p.k) marks += " best-silhouette";
    if (r.best_calinski_harabasz == p.k) marks += " best-CH";
    if (r.best_davies_bouldin == p.k) marks += " best-DB";
    s += fmt::format("          {:>3} {:>14.3f} {:>10.4f} {:>12.1f} {:>8.4f}{}\n", p.k, p.inertia, p.silhouette,
                     p.calinski_harabasz, p.davies_bouldin, marks);
  }
  return s;
}

std::vector<std::int32_t> order_by_size(std::span<const std::int32_t> labels, std::size_t k) {
  std::vector<std::size_t> sizes(k, 0);
  for (auto l : labels) ++sizes[static_cast<std::size_t>(l)];
  std::vector<std::int32_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return sizes[static_cast<std::size_t>(a)] > sizes[static_cast<std::size_t>(b)];
  });
  std::vector<std::int32_t> rename(k);
  for (std::size_t s = 0; s < k; ++s) rename[static_cast<std::size_t>(order[s])] = static_cast<std::int32_t>(s);
  return rename;
}

}  // namespace segmenta::detail
