#include "sweep.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "metrics/silhouette_engine.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta::detail {
namespace {

std::size_t distinct(std::span<const std::int32_t> labels, std::size_t k) {
  std::vector<char> seen(k, 0);
  for (auto l : labels) seen[static_cast<std::size_t>(l)] = 1;
  return static_cast<std::size_t>(std::count(seen.begin(), seen.end(), 1));
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The seed of k's silhouette sample: a stream of the run's seed per k.
std::uint64_t silhouette_seed(std::uint64_t seed, std::size_t k) { return Rng::stream(seed, 0x5117000u + k).next_u64(); }

// `comm` when it has several ranks, else null (this process computes everything).
const Communicator* shared_by(const Communicator* comm) { return comm != nullptr && comm->size() > 1 ? comm : nullptr; }

// silhouette_samples_many on the ranks of `comm` (exact; labelings already checked).
template <class T>
std::vector<std::vector<double>> exact_silhouettes(MatrixView<T> x, const std::vector<Labels>& labelings,
                                                   const Communicator* comm) {
  if (shared_by(comm) == nullptr) return silhouette_samples_many<T>(x, labelings);
  std::vector<EncodedLabels> enc;
  enc.reserve(labelings.size());
  for (const Labels& l : labelings) enc.push_back(encode_labels(l));
  std::vector<const EncodedLabels*> ptrs;
  for (const auto& e : enc) ptrs.push_back(&e);
  SilhouetteEngineOptions o;
  o.comm = comm;
  return silhouette_engine(x, ptrs, o);
}

}  // namespace

std::size_t sweep_rows(const RunParams& params, std::size_t n, std::size_t k_max) {
  if (n <= params.sweep_all_max) return 0;
  const std::size_t m = params.sweep_sample > 0 ? params.sweep_sample : std::max<std::size_t>(256 * k_max, 50000);
  return m < n ? m : 0;
}

std::vector<std::size_t> sweep_sample_rows(const RunParams& params, std::size_t n, std::size_t m) {
  Rng rng = Rng::stream(params.seed, 0x5ee90000u);
  std::vector<std::size_t> rows = rng.sample_without_replacement(n, m);
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::size_t silhouette_rows(const RunParams& params, std::size_t n) {
  if (params.silhouette_sample > 0) return params.silhouette_sample;
  return n <= params.silhouette_exact_max ? 0 : kSilhouetteEstimateRows;
}

KChoice k_choice(const RunParams& params, bool likelihood, SubsetFit fit) {
  KChoice c;
  c.criterion = std::string(to_string(params.k_criterion));
  c.likelihood = likelihood;
  c.pairs = effective_stability_pairs(params);
  c.fit = std::move(fit);
  c.seed = params.seed;
  c.comm = &world();
  return c;
}

std::vector<double> stability_scores(std::size_t n, const std::vector<std::size_t>& ks, const KChoice& choice) {
  std::vector<double> out(ks.size(), kNaN);
  if (choice.pairs == 0 || !choice.fit || n < 4) return out;
  const std::size_t core = std::min<std::size_t>(n, 2500);
  const std::size_t m = std::max<std::size_t>(2, core * 4 / 5);
  std::vector<double> sum(ks.size(), 0.0);
  std::vector<std::size_t> count(ks.size(), 0);
  // Task t = b * ks.size() + j (pair b, k = ks[j]) is this rank's when t mod N is its
  // rank; each task's outcome is (1, ARI) or (0, 0) when the pair does not count.
  const Communicator* comm = shared_by(choice.comm);
  const std::size_t ranks = comm ? static_cast<std::size_t>(comm->size()) : 1;
  const std::size_t rank = comm ? static_cast<std::size_t>(comm->rank()) : 0;
  const std::size_t tasks = choice.pairs * ks.size();
  std::vector<double> outcome(2 * tasks, 0.0);
  Progress progress("stability", 2 * ((tasks + ranks - 1 - rank) / ranks), "fits");
  auto run_pairs = [&] {
    for (std::size_t b = 0; b < choice.pairs; ++b) {
      Rng rng = Rng::stream(choice.seed, 0x57ab0000u + b);
      const std::vector<std::size_t> base = rng.sample_without_replacement(n, core);
      auto draw = [&] {
        std::vector<std::size_t> rows;
        for (std::size_t i : rng.sample_without_replacement(core, m)) rows.push_back(base[i]);
        std::sort(rows.begin(), rows.end());
        return rows;
      };
      const std::vector<std::size_t> a = draw(), c = draw();
      const std::uint64_t seed_a = rng.next_u64(), seed_c = rng.next_u64();
      // Positions of the common rows in a and in c (both sorted).
      std::vector<std::size_t> pa, pc;
      for (std::size_t i = 0, j = 0; i < a.size() && j < c.size();) {
        if (a[i] < c[j]) {
          ++i;
        } else if (c[j] < a[i]) {
          ++j;
        } else {
          pa.push_back(i++);
          pc.push_back(j++);
        }
      }
      for (std::size_t t = 0; t < ks.size(); ++t) {
        const std::size_t task = b * ks.size() + t;
        if (task % ranks != rank) continue;
        progress.note(fmt::format("pair {}/{}, k = {}", b + 1, choice.pairs, ks[t]));
        progress.advance(2);
        if (ks[t] > m) continue;
        std::vector<std::int32_t> la, lc;
        try {
          la = choice.fit(a, ks[t], seed_a);
          lc = choice.fit(c, ks[t], seed_c);
        } catch (const InvalidArgument&) {
          continue;  // a subsample the method cannot fit at this k: the pair does not count
        }
        std::vector<std::int32_t> x, y;
        for (std::size_t i = 0; i < pa.size(); ++i) {
          x.push_back(la[pa[i]]);
          y.push_back(lc[pc[i]]);
        }
        outcome[2 * task] = 1.0;
        outcome[2 * task + 1] = adjusted_rand_score(x, y);
      }
    }
  };
  if (comm == nullptr) {
    run_pairs();
  } else {
    // A fit's other errors are every rank's (the ranks wait for each other below).
    agree_on_failure(*comm, run_pairs);
    std::vector<double> mine;
    for (std::size_t task = rank; task < tasks; task += ranks)
      mine.insert(mine.end(), {outcome[2 * task], outcome[2 * task + 1]});
    const std::vector<double> all = comm->allgather(mine);
    if (all.size() != 2 * tasks) throw Error("stability: the ranks' task counts differ");
    // Rank r's tasks r, r + N, ... follow each other in the gathered values.
    std::size_t at = 0;
    for (std::size_t r = 0; r < ranks; ++r)
      for (std::size_t task = r; task < tasks; task += ranks, at += 2) {
        outcome[2 * task] = all[at];
        outcome[2 * task + 1] = all[at + 1];
      }
  }
  // The ARIs added in the one-process order: pair after pair.
  for (std::size_t b = 0; b < choice.pairs; ++b)
    for (std::size_t t = 0; t < ks.size(); ++t) {
      const std::size_t task = b * ks.size() + t;
      if (outcome[2 * task] == 0.0) continue;
      sum[t] += outcome[2 * task + 1];
      ++count[t];
    }
  for (std::size_t t = 0; t < ks.size(); ++t)
    if (count[t] > 0) out[t] = sum[t] / static_cast<double>(count[t]);
  return out;
}

KRecommendation recommend_k(const std::vector<SweepPoint>& points, Diagnostics& diag, const KChoice& choice) {
  KRecommendation rec;
  auto best = [&](auto better) {
    std::size_t b = 0;
    for (std::size_t i = 1; i < points.size(); ++i)
      if (better(points[i], points[b])) b = i;
    return points[b].k;
  };
  // NaN (undefined) criteria never win: comparisons with NaN are false.
  auto higher = [](double SweepPoint::*f) {
    return [f](const SweepPoint& a, const SweepPoint& b) { return std::isnan(b.*f) ? !std::isnan(a.*f) : a.*f > b.*f; };
  };
  auto lower = [](double SweepPoint::*f) {
    return [f](const SweepPoint& a, const SweepPoint& b) { return std::isnan(b.*f) ? !std::isnan(a.*f) : a.*f < b.*f; };
  };
  auto measured = [&](double SweepPoint::*f) {
    return std::any_of(points.begin(), points.end(), [f](const SweepPoint& p) { return !std::isnan(p.*f); });
  };
  rec.best_silhouette = best(higher(&SweepPoint::silhouette));
  rec.best_calinski_harabasz = best(higher(&SweepPoint::calinski_harabasz));
  rec.best_davies_bouldin = best(lower(&SweepPoint::davies_bouldin));
  if (measured(&SweepPoint::stability)) rec.best_stability = best(higher(&SweepPoint::stability));
  if (measured(&SweepPoint::bic)) rec.best_bic = best(lower(&SweepPoint::bic));
  if (measured(&SweepPoint::icl)) rec.best_icl = best(lower(&SweepPoint::icl));
  if (points.size() == 1) {
    rec.k = points[0].k;
    rec.criterion = "fixed";
    rec.reason = "fixed by --k";
    return rec;
  }
  std::vector<double> ks, objective;
  for (const auto& p : points) {
    ks.push_back(static_cast<double>(p.k));
    objective.push_back(p.inertia);
  }
  if (points.size() >= 3 && !choice.likelihood) {
    const KneeResult knee = find_knee(ks, objective, CurveNature::convex, CurveDirection::decreasing);
    if (knee.knee) rec.elbow = static_cast<std::size_t>(std::llround(*knee.knee));
  }
  const std::string range = fmt::format("k = {}..{}", points.front().k, points.back().k);
  auto value_at = [&](std::size_t k, double SweepPoint::*f) {
    for (const auto& p : points)
      if (p.k == k) return p.*f;
    return kNaN;
  };
  // Each criterion: its k, or nothing with the reason it found nothing.
  struct Verdict {
    std::optional<std::size_t> k;
    std::string why;
  };
  // Why a likelihood criterion has no k: the method has none, or (lca) every k's
  // BIC and ICL were left out because a class's variance sat at its floor.
  const auto no_likelihood = [&](std::string_view what) {
    return choice.likelihood ? fmt::format("every k's {} is left out (a class's variance at its floor: a spike on "
                                           "repeated values)", what)
                             : fmt::format("{} exists for the latent-class model (lca) only", what);
  };
  auto verdict = [&](const std::string& c) -> Verdict {
    if (c == "elbow") {
      if (choice.likelihood) return {std::nullopt, "the elbow is not used for a likelihood (BIC/ICL decide)"};
      if (rec.elbow) return {rec.elbow, fmt::format("the elbow (knee) of the {} curve", "objective")};
      return {std::nullopt, fmt::format("the objective curve over {} has no knee", range)};
    }
    if (c == "stability") {
      if (!rec.best_stability) return {std::nullopt, "stability was not measured (--stability-pairs 0)"};
      return {rec.best_stability,
              fmt::format("the highest stability (mean ARI {:.3f} between fits on {} pairs of subsamples)",
                          value_at(*rec.best_stability, &SweepPoint::stability), choice.pairs)};
    }
    if (c == "silhouette") {
      if (std::isnan(value_at(rec.best_silhouette, &SweepPoint::silhouette)))
        return {std::nullopt, "no k has a silhouette"};
      return {rec.best_silhouette,
              fmt::format("the highest silhouette ({:.4f})", value_at(rec.best_silhouette, &SweepPoint::silhouette))};
    }
    if (c == "calinski-harabasz") {
      if (std::isnan(value_at(rec.best_calinski_harabasz, &SweepPoint::calinski_harabasz)))
        return {std::nullopt, "no k has a Calinski-Harabasz index"};
      return {rec.best_calinski_harabasz, "the highest Calinski-Harabasz index"};
    }
    if (c == "davies-bouldin") {
      if (std::isnan(value_at(rec.best_davies_bouldin, &SweepPoint::davies_bouldin)))
        return {std::nullopt, "no k has a Davies-Bouldin index"};
      return {rec.best_davies_bouldin, "the lowest Davies-Bouldin index"};
    }
    if (c == "bic-plateau") {
      if (!rec.best_bic) return {std::nullopt, no_likelihood("BIC")};
      const double lowest = value_at(*rec.best_bic, &SweepPoint::bic);
      double highest = lowest;
      for (const auto& p : points)
        if (!std::isnan(p.bic)) highest = std::max(highest, p.bic);
      const double within = kBicPlateau * (highest - lowest);
      for (const auto& p : points)
        if (!std::isnan(p.bic) && p.bic - lowest <= within)
          return {p.k, fmt::format("the smallest k whose BIC is within {:.0f} % of the sweep's BIC range of the "
                                   "lowest BIC (k = {}): larger k gain less than that",
                                   100 * kBicPlateau, *rec.best_bic)};
    }
    if (c == "bic" || c == "icl") {
      const auto& b = c == "bic" ? rec.best_bic : rec.best_icl;
      if (!b)
        return {std::nullopt, no_likelihood(c == "bic" ? "BIC" : "ICL")};
      return {b, c == "bic" ? "the lowest BIC" : "the lowest ICL (BIC plus twice the classification entropy)"};
    }
    return {std::nullopt, fmt::format("unknown criterion '{}'", c)};
  };
  std::vector<std::string> order;
  if (choice.criterion != "auto") order.push_back(choice.criterion);
  if (choice.likelihood)
    order.insert(order.end(), {"bic-plateau", "bic", "stability", "silhouette"});
  else
    order.insert(order.end(), {"elbow", "stability", "silhouette"});
  std::vector<std::string> skipped;
  for (const std::string& c : order) {
    const Verdict v = verdict(c);
    if (!v.k) {
      skipped.push_back(v.why);
      if (c == choice.criterion || choice.criterion == "auto")
        diag.info("k", "criterion_found_nothing", fmt::format("{}: {}", c, v.why));
      continue;
    }
    rec.k = *v.k;
    rec.criterion = c;
    rec.reason = v.why;
    break;
  }
  if (rec.criterion.empty()) {  // nothing measured at all: the smallest k of the range
    rec.k = points.front().k;
    rec.criterion = "none";
    rec.reason = "no criterion found a k; the smallest k of the range";
    diag.warn("k", "no_criterion", fmt::format("no criterion chose a k over {}; k = {} is used", range, rec.k));
    return rec;
  }
  if (!skipped.empty()) rec.reason += fmt::format(" ({}, so {} decides)", skipped.front(), rec.criterion);
  if (rec.k == points.back().k && rec.criterion != "elbow")
    diag.warn("k", "k_at_range_end",
              fmt::format("{} chose k = {}, the largest k of the sweep: a larger k may be better (--k {}..N)",
                          rec.criterion, rec.k, points.front().k));
  // The criteria's choices side by side; a warning when they differ from the chosen k.
  std::vector<std::pair<std::string, std::size_t>> all;
  if (rec.elbow) all.emplace_back("elbow", *rec.elbow);
  if (rec.best_bic) all.emplace_back("BIC", *rec.best_bic);
  if (rec.best_icl) all.emplace_back("ICL", *rec.best_icl);
  if (rec.best_stability) all.emplace_back("stability", *rec.best_stability);
  if (!std::isnan(value_at(rec.best_silhouette, &SweepPoint::silhouette)))
    all.emplace_back("silhouette", rec.best_silhouette);
  if (!std::isnan(value_at(rec.best_calinski_harabasz, &SweepPoint::calinski_harabasz)))
    all.emplace_back("Calinski-Harabasz", rec.best_calinski_harabasz);
  if (!std::isnan(value_at(rec.best_davies_bouldin, &SweepPoint::davies_bouldin)))
    all.emplace_back("Davies-Bouldin", rec.best_davies_bouldin);
  bool differ = false;
  std::string list;
  for (const auto& [name, k] : all) {
    differ |= k != rec.k;
    list += fmt::format("{}{} k = {}", list.empty() ? "" : ", ", name, k);
  }
  if (differ)
    diag.warn(
        "k", "criteria_disagree",
        fmt::format("the k criteria disagree over {} ({}); k = {} is chosen by {}", range, list, rec.k, rec.criterion));
  return rec;
}

namespace {

/// k and the segment sizes of `labels`; the criteria NaN when there are fewer than two
/// segments or as many as rows (none of them is defined), else left for the caller.
SweepPoint sized_point(std::span<const std::int32_t> labels) {
  SweepPoint p;
  std::int32_t kmax = 0;
  for (auto l : labels) kmax = std::max(kmax, l);
  p.k = static_cast<std::size_t>(kmax) + 1;
  p.sizes.assign(p.k, 0);
  for (auto l : labels) ++p.sizes[static_cast<std::size_t>(l)];
  const std::size_t d = distinct(labels, p.k);
  if (d < 2 || d >= labels.size()) p.silhouette = p.calinski_harabasz = p.davies_bouldin = kNaN;
  return p;
}

}  // namespace

template <class T>
SweepPoint score_labels(MatrixView<T> space, std::span<const std::int32_t> labels, std::size_t silhouette_sample,
                        std::uint64_t seed, const Communicator* comm) {
  SweepPoint p = sized_point(labels);
  const std::size_t k = p.k;
  if (std::isnan(p.silhouette)) return p;
  comm = shared_by(comm);
  if (silhouette_sample) {
    const SilhouetteEstimate e = silhouette_estimate_rows<T>(RowSource<T>(space), labels, silhouette_sample,
                                                             silhouette_seed(seed, k), nullptr, comm);
    p.silhouette = e.mean;
    p.silhouette_se = e.standard_error;
    p.silhouette_rows = e.rows;
  } else if (comm != nullptr) {
    p.silhouette = silhouette_mean(exact_silhouettes<T>(space, {Labels(labels)}, comm).front());
  } else {
    p.silhouette = silhouette_score<T>(space, labels);
  }
  if (comm != nullptr) {
    p.calinski_harabasz = calinski_harabasz_rows<T>(RowSource<T>(space), labels, comm);
    p.davies_bouldin = davies_bouldin_rows<T>(RowSource<T>(space), labels, comm);
  } else {
    p.calinski_harabasz = calinski_harabasz_score<T>(space, labels);
    p.davies_bouldin = davies_bouldin_score<T>(space, labels);
  }
  return p;
}

SweepPoint score_labels_rows(const RowSource<double>& space, std::span<const std::int32_t> labels,
                             std::size_t silhouette_sample, std::uint64_t seed, const Communicator* comm) {
  SweepPoint p = sized_point(labels);
  const std::size_t k = p.k;
  if (std::isnan(p.silhouette)) return p;
  comm = shared_by(comm);
  if (silhouette_sample) {
    const SilhouetteEstimate e = silhouette_estimate_rows<double>(space, labels, silhouette_sample,
                                                                  silhouette_seed(seed, k), nullptr, comm);
    p.silhouette = e.mean;
    p.silhouette_se = e.standard_error;
    p.silhouette_rows = e.rows;
  } else {
    MatrixD full(space.rows(), space.cols());
    for (std::size_t i = 0; i < full.rows(); ++i) {
      const double* r = space.row(i, full.row(i));
      if (r != full.row(i)) std::copy(r, r + full.cols(), full.row(i));
    }
    if (comm != nullptr) {
      p.silhouette = silhouette_mean(exact_silhouettes<double>(full.view(), {Labels(labels)}, comm).front());
    } else {
      p.silhouette = silhouette_score<double>(full.view(), labels);
    }
  }
  p.calinski_harabasz = calinski_harabasz_rows<double>(space, labels, comm);
  p.davies_bouldin = davies_bouldin_rows<double>(space, labels, comm);
  return p;
}

namespace {

/// Per-k points, silhouette plot data and timings of fits, without a recommendation.
/// Each k's figures depend on its own fit only (the stability pairs' subsamples and
/// seeds do not depend on the other k), so a sweep can be measured in parts.
template <class T>
Evaluation measure_fits(MatrixView<T> space, const std::vector<KFit>& fits, std::size_t silhouette_sample,
                        std::uint64_t seed, const KChoice& choice) {
  Evaluation e;
  e.silhouette_profiles.assign(fits.size(), nullptr);
  for (const auto& f : fits) {
    SweepPoint p;
    p.k = f.k;
    p.inertia = f.objective;
    p.n_iter = f.n_iter;
    p.seconds = f.seconds;
    p.bic = f.bic;
    p.icl = f.icl;
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
    auto values = exact_silhouettes<T>(space, labelings, choice.comm);
    for (std::size_t w = 0; w < which.size(); ++w) {
      const std::size_t i = which[w];
      e.points[i].silhouette =
          std::accumulate(values[w].begin(), values[w].end(), 0.0) / static_cast<double>(values[w].size());
      e.silhouette_profiles[i] = silhouette_profile(values[w], fits[i].labels, fits[i].k);
    }
  } else {
    Progress progress("silhouette (estimated)", which.size(), "k");
    for (std::size_t w = 0; w < which.size(); ++w) {
      const std::size_t i = which[w];
      progress.note(fmt::format("k = {}: {} sampled rows against {} rows", fits[i].k, silhouette_sample, space.rows()));
      std::vector<SilhouetteSampleRow> sampled;
      const SilhouetteEstimate est =
          silhouette_estimate_rows<T>(RowSource<T>(space), labelings[w], silhouette_sample,
                                      silhouette_seed(seed, fits[i].k), &sampled, shared_by(choice.comm));
      e.points[i].silhouette = est.mean;
      e.points[i].silhouette_se = est.standard_error;
      e.points[i].silhouette_rows = est.rows;
      // The silhouette plot of the sampled rows (sizes: sampled rows per segment).
      std::vector<double> values;
      std::vector<std::int32_t> labels;
      for (const auto& s : sampled) {
        values.push_back(s.value);
        labels.push_back(fits[i].labels[s.row]);
      }
      e.silhouette_profiles[i] = silhouette_profile(values, labels, fits[i].k);
      progress.advance();
    }
  }
  e.silhouette_seconds = clock.seconds();
  clock.reset();
  {
    Progress progress("Calinski-Harabasz, Davies-Bouldin", which.size(), "k");
    // With several ranks each reads only its share of the row blocks (the same bits).
    const Communicator* comm = shared_by(choice.comm);
    for (std::size_t w = 0; w < which.size(); ++w) {
      SweepPoint& p = e.points[which[w]];
      if (comm != nullptr) {
        p.calinski_harabasz = calinski_harabasz_rows<T>(RowSource<T>(space), labelings[w], comm);
        p.davies_bouldin = davies_bouldin_rows<T>(RowSource<T>(space), labelings[w], comm);
      } else {
        p.calinski_harabasz = calinski_harabasz_score<T>(space, labelings[w]);
        p.davies_bouldin = davies_bouldin_score<T>(space, labelings[w]);
      }
      progress.advance();
    }
  }
  e.metrics_seconds = clock.seconds();
  if (choice.pairs > 0 && choice.fit) {
    clock.reset();
    std::vector<std::size_t> ks;
    for (const auto& f : fits) ks.push_back(f.k);
    const std::vector<double> st = stability_scores(space.rows(), ks, choice);
    for (std::size_t i = 0; i < fits.size(); ++i) e.points[i].stability = st[i];
    e.stability_seconds = clock.seconds();
  }
  return e;
}

/// Says so when the silhouettes of a sweep are estimates rather than exact.
void announce_estimate(const Evaluation& e, std::size_t rows, Diagnostics& diag) {
  for (const auto& p : e.points)
    if (p.silhouette_rows > 0) {
      diag.info("silhouette", "silhouette_estimated",
                fmt::format("the silhouette of each k is estimated on {} of the {} clustered rows (a seeded sample "
                            "stratified by segment, each sampled row's silhouette exact against all rows), shown with "
                            "its standard error; the exact silhouette, O(n²), is computed up to --silhouette-exact-max rows",
                            p.silhouette_rows, rows));
      return;
    }
}

}  // namespace

template <class T>
Evaluation evaluate_fits(MatrixView<T> space, const std::vector<KFit>& fits, std::size_t silhouette_sample,
                         std::uint64_t seed, Diagnostics& diag, const KChoice& choice) {
  // A single k has no stability to compare with.
  KChoice measured = choice;
  if (fits.size() < 2) measured.pairs = 0;
  Evaluation e = measure_fits<T>(space, fits, silhouette_sample, seed, measured);
  announce_estimate(e, space.rows(), diag);
  e.recommendation = recommend_k(e.points, diag, choice);
  return e;
}

std::size_t auto_k_bound(std::size_t rows, std::size_t hi) {
  const auto root = static_cast<std::size_t>(std::sqrt(static_cast<double>(rows) / 2.0));
  std::size_t bound = std::min<std::size_t>({kAutoKLimit, root, rows > 0 ? rows - 1 : 0});
  return std::max(bound, hi);
}

template <class T>
Evaluation sweep_k(MatrixView<T> space, const KSpec& ks, const FitKs& fit, std::vector<KFit>& fits,
                   std::size_t silhouette_sample, std::uint64_t seed, Diagnostics& diag, const KChoice& choice) {
  std::vector<std::size_t> batch;
  if (fits.empty()) {
    for (std::size_t k = ks.lo; k <= ks.hi; ++k) batch.push_back(k);
    fit(batch, fits);
  }
  KChoice measured = choice;
  if (fits.size() < 2) measured.pairs = 0;
  Evaluation e = measure_fits<T>(space, fits, silhouette_sample, seed, measured);
  const std::size_t bound = ks.automatic ? auto_k_bound(space.rows(), ks.hi) : ks.hi;
  std::size_t asked = ks.hi;
  std::string extended_by;
  while (ks.automatic && fits.size() >= 2 && asked < bound) {
    Diagnostics scratch;  // the final recommendation reports; these rounds only decide
    const KRecommendation rec = recommend_k(e.points, scratch, choice);
    if (rec.k != e.points.back().k || rec.criterion == "elbow" || rec.criterion == "none") break;
    extended_by = rec.criterion;
    batch.clear();
    for (std::size_t k = asked + 1; k <= std::min(bound, asked + kAutoKStep); ++k) batch.push_back(k);
    asked = batch.back();
    const std::size_t before = fits.size();
    fit(batch, fits);
    const std::vector<KFit> added(fits.begin() + static_cast<std::ptrdiff_t>(before), fits.end());
    Evaluation more = measure_fits<T>(space, added, silhouette_sample, seed, measured);
    for (std::size_t i = 0; i < added.size(); ++i) {
      e.points.push_back(std::move(more.points[i]));
      e.silhouette_profiles.push_back(std::move(more.silhouette_profiles[i]));
    }
    e.silhouette_seconds += more.silhouette_seconds;
    e.metrics_seconds += more.metrics_seconds;
    e.stability_seconds += more.stability_seconds;
  }
  announce_estimate(e, space.rows(), diag);
  if (asked > ks.hi)
    diag.info("k", "sweep_extended",
              fmt::format("{} still improved at k = {} (the end of the default sweep {}..{}), so the sweep went on "
                          "to k = {} (the bound for {} rows is {})",
                          extended_by, ks.hi, ks.lo, ks.hi, asked, space.rows(), bound));
  e.recommendation = recommend_k(e.points, diag, choice);
  return e;
}

template Evaluation evaluate_fits<double>(ViewD, const std::vector<KFit>&, std::size_t, std::uint64_t, Diagnostics&,
                                          const KChoice&);
template Evaluation evaluate_fits<float>(ViewF, const std::vector<KFit>&, std::size_t, std::uint64_t, Diagnostics&,
                                         const KChoice&);
template Evaluation sweep_k<double>(ViewD, const KSpec&, const FitKs&, std::vector<KFit>&, std::size_t, std::uint64_t,
                                    Diagnostics&, const KChoice&);
template Evaluation sweep_k<float>(ViewF, const KSpec&, const FitKs&, std::vector<KFit>&, std::size_t, std::uint64_t,
                                   Diagnostics&, const KChoice&);
template SweepPoint score_labels<double>(ViewD, std::span<const std::int32_t>, std::size_t, std::uint64_t,
                                        const Communicator*);
template SweepPoint score_labels<float>(ViewF, std::span<const std::int32_t>, std::size_t, std::uint64_t,
                                       const Communicator*);

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
      const std::size_t idx =
          m == 1 ? 0
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
  const bool r_measured_stability = e.recommendation.best_stability.has_value();
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
    if (r_measured_stability) j["stability"] = number_or_null(p.stability);
    if (p.silhouette_rows > 0) {
      j["silhouette_standard_error"] = number_or_null(p.silhouette_se);
      j["silhouette_sample_rows"] = p.silhouette_rows;
    }
    if (!std::isnan(p.bic)) j["bic"] = p.bic;
    if (!std::isnan(p.icl)) j["icl"] = p.icl;
    if (!e.silhouette_profiles[i].is_null()) j["silhouette_profile"] = e.silhouette_profiles[i];
    per_k.push_back(std::move(j));
  }
  const auto& r = e.recommendation;
  nlohmann::json rec{{"k", r.k},
                     {"reason", r.reason},
                     {"elbow", r.elbow ? nlohmann::json(*r.elbow) : nlohmann::json(nullptr)},
                     {"best_silhouette", r.best_silhouette},
                     {"best_calinski_harabasz", r.best_calinski_harabasz},
                     {"best_davies_bouldin", r.best_davies_bouldin},
                     {"criterion", r.criterion}};
  if (r.best_stability) rec["best_stability"] = *r.best_stability;
  if (r.best_bic) rec["best_bic"] = *r.best_bic;
  if (r.best_icl) rec["best_icl"] = *r.best_icl;
  nlohmann::json out{{"objective", objective_name}, {"per_k", per_k}, {"recommendation", rec}};
  if (e.sample_rows > 0)
    out["sample"] = {{"rows", e.sample_rows},
                     {"of_rows", e.all_rows},
                     {"note", "every k fitted and scored (objective, silhouette, Calinski-Harabasz, Davies-Bouldin, "
                              "stability) on a seeded uniform sample of the clustered rows; the chosen k fitted on "
                              "all rows from the sample fit's centres (k-means), prototypes (k-prototypes) or class "
                              "parameters (lca) ('final')"}};
  for (const auto& p : e.points)
    if (p.silhouette_rows > 0) {
      out["silhouette"] = {{"estimated", true},
                           {"sample_rows", p.silhouette_rows},
                           {"method", "mean of a seeded sample stratified by segment, each sampled row's silhouette "
                                      "exact against all rows; standard error from the within-segment variances"}};
      break;
    }
  return out;
}

std::string sweep_table(const Evaluation& e, const std::string& objective_name) {
  if (e.points.size() < 2) return {};
  const auto& r = e.recommendation;
  const bool stab = r.best_stability.has_value(), lik = r.best_bic.has_value() || r.best_icl.has_value();
  std::string s = fmt::format("k sweep   {:>3} {:>14} {:>10} {:>12} {:>8}", "k", objective_name, "silhouette",
                              "Calinski-H.", "Davies-B.");
  if (stab) s += fmt::format(" {:>9}", "stability");
  if (lik) s += fmt::format(" {:>14}", "ICL");
  s += "\n";
  if (e.sample_rows > 0)
    s += fmt::format("          (every k fitted and scored on a sample of {} of {} rows; the chosen k then on all rows)\n",
                     e.sample_rows, e.all_rows);
  for (const auto& p : e.points) {
    std::string marks;
    if (r.elbow && *r.elbow == p.k) marks += " elbow";
    if (r.best_silhouette == p.k) marks += " best-silhouette";
    if (r.best_calinski_harabasz == p.k) marks += " best-CH";
    if (r.best_davies_bouldin == p.k) marks += " best-DB";
    if (r.best_stability && *r.best_stability == p.k) marks += " most-stable";
    if (r.best_bic && *r.best_bic == p.k) marks += " best-BIC";
    if (r.best_icl && *r.best_icl == p.k) marks += " best-ICL";
    if (r.k == p.k) marks += " <- chosen";
    s += fmt::format("          {:>3} {:>14.3f} {:>10.4f} {:>12.1f} {:>8.4f}", p.k, p.inertia, p.silhouette,
                     p.calinski_harabasz, p.davies_bouldin);
    if (p.silhouette_rows > 0) s += fmt::format(" (silhouette ± {:.4f})", p.silhouette_se);
    if (stab) s += fmt::format(" {:>9.4f}", p.stability);
    if (lik) s += fmt::format(" {:>14.3f}", p.icl);
    s += marks + "\n";
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
