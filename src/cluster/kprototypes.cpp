// k-prototypes: public entry points (validation, restarts in parallel, k sweeps,
// prediction). The algorithm itself is in kprototypes_run.cpp.
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "cluster/kprototypes_internal.hpp"

namespace segmenta {
namespace {

constexpr const char* kStage = "kprototypes";
// Codes index per-cluster count arrays, so they must stay reasonably small.
constexpr std::int32_t kMaxCode = (1 << 24) - 1;

void check_numeric(ViewD x, const char* what) {
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const double* r = x.row(i);
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (!std::isfinite(r[j]))
        throw InvalidArgument(fmt::format("{}: value at row {}, column {} is not finite", what, i, j));
  }
}

void check_inputs(ViewD numeric, MatrixView<std::int32_t> categorical) {
  if (numeric.rows() != categorical.rows())
    throw InvalidArgument(fmt::format("categorical: {} rows, but numeric has {}", categorical.rows(), numeric.rows()));
  if (numeric.rows() == 0) throw InvalidArgument("numeric: k-prototypes needs at least one row");
  if (categorical.cols() == 0)
    throw InvalidArgument("categorical: k-prototypes needs at least one categorical column (all-numeric data: use k-means)");
  check_numeric(numeric, "numeric");
  for (std::size_t i = 0; i < categorical.rows(); ++i) {
    const std::int32_t* r = categorical.row(i);
    for (std::size_t j = 0; j < categorical.cols(); ++j) {
      if (r[j] < 0)
        throw InvalidArgument(fmt::format(
            "categorical: code {} at row {}, column {} (missing values must be encoded as a category of their own)",
            r[j], i, j));
      if (r[j] > kMaxCode)
        throw InvalidArgument(fmt::format("categorical: code {} at row {}, column {} exceeds {}", r[j], i, j, kMaxCode));
    }
  }
}

void check_params(const KPrototypesParams& params) {
  if (params.n_init < 1) throw InvalidArgument("n_init: must be >= 1");
  if (params.max_iter < 1) throw InvalidArgument("max_iter: must be >= 1");
  if (params.gamma && (!std::isfinite(*params.gamma) || *params.gamma < 0.0))
    throw InvalidArgument(fmt::format("gamma: must be finite and >= 0, got {}", *params.gamma));
}

double default_gamma(const std::vector<double>& std) {
  return 0.5 * (kproto::pairwise_sum(std.data(), std.size()) / static_cast<double>(std.size()));
}

// k-modes (no numeric column) runs on one column of zeros, which adds nothing to any
// dissimilarity and never moves a row; the models hand back no numeric part.
struct KModesStandIn {
  MatrixD zeros;
  bool active = false;
  KModesStandIn(ViewD numeric) : active(numeric.cols() == 0) {
    if (active) zeros = MatrixD(numeric.rows(), 1, 0.0);
  }
  ViewD numeric(ViewD given) const { return active ? zeros.view() : given; }
  KPrototypesParams params(const KPrototypesParams& given) const {
    KPrototypesParams p = given;
    if (active && !p.gamma) p.gamma = 1.0;  // the cost is the number of mismatches
    return p;
  }
  void strip(KPrototypesModel& m) const {
    if (active) m.centroids = MatrixD(m.centroids.rows(), 0);
  }
};

double resolve_gamma(const kproto::Data& d, const KPrototypesParams& params, Diagnostics* diag, bool kmodes = false) {
  const double gamma = params.gamma ? *params.gamma : default_gamma(d.std);
  if (diag) {
    for (std::size_t j = 0; j < d.q; ++j) {
      std::size_t present = 0;
      for (std::int32_t v = 0; v < d.levels[j]; ++v) present += d.level_count[d.offset[j] + static_cast<std::size_t>(v)] > 0;
      if (present == 1)
        diag->info(kStage, "constant_categorical",
                   fmt::format("categorical column {} has a single value; it never adds to the cost", j));
    }
    for (std::size_t j = 0; j < d.p && !kmodes; ++j)
      if (d.std[j] == 0.0)
        diag->info(kStage, "constant_numeric", fmt::format("numeric column {} is constant", j));
    if (gamma == 0.0)
      diag->warn(kStage, "gamma_zero",
                 "gamma is 0: categorical mismatches carry no weight and only the numeric columns shape the clusters");
  }
  return gamma;
}

KPrototypesModel degenerate_model(const kproto::Data& d, double gamma, KPrototypesAlgorithm algorithm) {
  KPrototypesModel m;
  const std::size_t k = d.n_distinct;
  m.centroids = MatrixD(k, d.p);
  m.modes = Matrix<std::int32_t>(k, d.q);
  for (std::size_t l = 0; l < k; ++l) {
    const std::size_t r = d.distinct_first[l];
    std::copy(d.num.row(r), d.num.row(r) + d.p, m.centroids.row(l));
    std::copy(d.cat.row(r), d.cat.row(r) + d.q, m.modes.row(l));
  }
  m.labels = d.distinct_of_row;
  m.cost = 0.0;
  m.gamma = gamma;
  m.n_iter = 0;
  m.epoch_costs = {0.0};
  m.init_costs = {0.0};
  m.n_categories = d.levels;
  m.converged = true;
  m.algorithm = algorithm;
  return m;
}

KPrototypesModel to_model(kproto::RunResult&& r, const kproto::Data& d, double gamma, KPrototypesAlgorithm algorithm) {
  KPrototypesModel m;
  m.centroids = std::move(r.centroids);
  m.modes = std::move(r.modes);
  m.labels = std::move(r.labels);
  m.cost = r.cost;
  m.gamma = gamma;
  m.n_iter = r.n_iter;
  m.epoch_costs = std::move(r.epoch_costs);
  m.n_categories = d.levels;
  m.converged = r.converged;
  m.empty_reseeds = r.reseeds;
  m.algorithm = algorithm;
  return m;
}

struct TaskSummary {
  double cost = std::numeric_limits<double>::infinity();
  std::size_t init_tries = 0;
  bool random_fallback = false;
  bool failed = false;
};

// One restart's outcome as bytes (for the rank that ran a winner to give it to the
// others) and back; k, p, q and n are known to both sides.
template <class T>
void put(std::string& out, const T* v, std::size_t count) {
  out.append(reinterpret_cast<const char*>(v), count * sizeof(T));
}
template <class T>
void take(std::string_view& in, T* v, std::size_t count) {
  if (in.size() < count * sizeof(T)) throw Error("kprototypes: a restart's result arrived truncated");
  if (count) std::memcpy(v, in.data(), count * sizeof(T));
  in.remove_prefix(count * sizeof(T));
}

std::string encode_run(const kproto::RunResult& r) {
  std::string out;
  put(out, r.centroids.data(), r.centroids.rows() * r.centroids.cols());
  put(out, r.modes.data(), r.modes.rows() * r.modes.cols());
  put(out, r.labels.data(), r.labels.size());
  const std::uint64_t counts[] = {r.n_iter, r.epoch_costs.size(), r.init_tries, r.reseeds,
                                  static_cast<std::uint64_t>(r.converged) | static_cast<std::uint64_t>(r.failed) << 1 |
                                      static_cast<std::uint64_t>(r.random_fallback) << 2};
  put(out, counts, std::size(counts));
  put(out, &r.cost, 1);
  put(out, r.epoch_costs.data(), r.epoch_costs.size());
  return out;
}

kproto::RunResult decode_run(std::string_view in, std::size_t k, std::size_t p, std::size_t q, std::size_t n) {
  kproto::RunResult r;
  r.centroids = MatrixD(k, p);
  r.modes = Matrix<std::int32_t>(k, q);
  r.labels.resize(n);
  take(in, r.centroids.data(), k * p);
  take(in, r.modes.data(), k * q);
  take(in, r.labels.data(), n);
  std::uint64_t counts[5];
  take(in, counts, 5);
  r.n_iter = counts[0];
  r.epoch_costs.resize(counts[1]);
  r.init_tries = counts[2];
  r.reseeds = counts[3];
  r.converged = counts[4] & 1;
  r.failed = counts[4] & 2;
  r.random_fallback = counts[4] & 4;
  take(in, &r.cost, 1);
  take(in, r.epoch_costs.data(), r.epoch_costs.size());
  if (!in.empty()) throw Error("kprototypes: a restart's result arrived with extra bytes");
  return r;
}

KPrototypesSweep sweep_prepared(const kproto::Data& d, std::span<const std::size_t> ks, const KPrototypesParams& params,
                                double gamma, Diagnostics* diag) {
  const std::size_t nk = ks.size(), n_init = params.n_init;
  KPrototypesSweep out;
  out.k.assign(ks.begin(), ks.end());
  out.cost.assign(nk, 0.0);
  out.models.resize(nk);

  // Every k below the number of distinct rows gets n_init restarts; the others are
  // degenerate (the distinct rows are the prototypes).
  std::size_t max_k = 0;
  std::vector<std::pair<std::size_t, std::size_t>> tasks;  // (index into ks, restart)
  for (std::size_t ki = 0; ki < nk; ++ki) {
    if (ks[ki] >= d.n_distinct) continue;
    max_k = std::max(max_k, ks[ki]);
    for (std::size_t r = 0; r < n_init; ++r) tasks.emplace_back(ki, r);
  }
  // Largest k first: the longest tasks start early, which evens out the threads.
  std::stable_sort(tasks.begin(), tasks.end(), [&](const auto& a, const auto& b) { return ks[a.first] > ks[b.first]; });

  Matrix<std::int32_t> cao;
  if (params.init == KPrototypesInit::cao && max_k > 0) cao = kproto::init_cao(d, max_k);

  std::vector<std::vector<TaskSummary>> summary(nk, std::vector<TaskSummary>(n_init));
  std::vector<kproto::RunResult> best(nk);
  std::vector<std::size_t> best_r(nk, n_init);
  std::mutex mutex;
  // With several ranks the tasks are dealt out in turn (task t to rank t mod size).
  const Communicator* comm = params.comm != nullptr && params.comm->size() > 1 ? params.comm : nullptr;
  const std::size_t ranks = comm ? static_cast<std::size_t>(comm->size()) : 1;
  const std::size_t rank = comm ? static_cast<std::size_t>(comm->rank()) : 0;
  std::vector<std::size_t> mine;
  for (std::size_t t = rank; t < tasks.size(); t += ranks) mine.push_back(t);
  Progress progress(nk == 1 ? fmt::format("kprototypes k = {}", ks[0])
                            : fmt::format("k sweep kprototypes k = {}..{}", ks.front(), ks.back()),
                    mine.size(), "restarts");  // this rank's (rank 0's on the terminal)
  progress.note(fmt::format("{} rows", d.n));
  parallel_for(mine.size(), [&](std::size_t u) {
    const auto [ki, r] = tasks[mine[u]];
    kproto::RunResult res = kproto::run_restart(d, ks[ki], gamma, params, r, &cao);
    progress.advance();
    std::lock_guard<std::mutex> lock(mutex);
    summary[ki][r] = TaskSummary{res.cost, res.init_tries, res.random_fallback, res.failed};
    if (res.failed) return;
    if (best_r[ki] == n_init || res.cost < best[ki].cost || (res.cost == best[ki].cost && r < best_r[ki])) {
      best[ki] = std::move(res);
      best_r[ki] = r;
    }
  });
  if (comm) {
    // Every task's summary on every rank, then each k's winner (the same rule: lowest
    // cost, lowest restart on ties) from the rank that ran it.
    std::vector<double> packed;
    for (std::size_t t : mine) {
      const auto [ki, r] = tasks[t];
      const TaskSummary& s = summary[ki][r];
      packed.insert(packed.end(), {static_cast<double>(t), s.cost, static_cast<double>(s.init_tries),
                                   static_cast<double>(s.random_fallback) + 2.0 * static_cast<double>(s.failed)});
    }
    const std::vector<double> all = comm->allgather(packed);
    if (all.size() != 4 * tasks.size()) throw Error("kprototypes: the ranks' restart counts differ");
    std::vector<std::size_t> task_of(nk * n_init, 0);
    for (std::size_t t = 0; t < tasks.size(); ++t) task_of[tasks[t].first * n_init + tasks[t].second] = t;
    for (std::size_t at = 0; at < all.size(); at += 4) {
      const auto [ki, r] = tasks[static_cast<std::size_t>(all[at])];
      const int flags = static_cast<int>(all[at + 3]);
      summary[ki][r] = TaskSummary{all[at + 1], static_cast<std::size_t>(all[at + 2]), (flags & 1) != 0, (flags & 2) != 0};
    }
    for (std::size_t ki = 0; ki < nk; ++ki) {
      if (ks[ki] >= d.n_distinct) continue;
      std::size_t win = n_init;
      for (std::size_t r = 0; r < n_init; ++r)
        if (!summary[ki][r].failed && (win == n_init || summary[ki][r].cost < summary[ki][win].cost)) win = r;
      if (win == n_init) continue;  // no restart initialised: the error below, on every rank
      const int owner = static_cast<int>(task_of[ki * n_init + win] % ranks);
      std::string bytes;
      if (owner == comm->rank()) {
        if (best_r[ki] != win) throw Error("kprototypes: a rank's winning restart differs from the ranks' choice");
        bytes = encode_run(best[ki]);
      }
      comm->broadcast(bytes, owner);
      if (owner != comm->rank()) best[ki] = decode_run(bytes, ks[ki], d.p, d.q, d.n);
      best_r[ki] = win;
    }
  }

  for (std::size_t ki = 0; ki < nk; ++ki) {
    const std::size_t k = ks[ki];
    if (k >= d.n_distinct) {
      out.models[ki] = degenerate_model(d, gamma, params.algorithm);
      if (diag) {
        if (k > d.n_distinct)
          diag->warn(kStage, "k_reduced",
                     fmt::format("n_clusters {} exceeds the {} distinct rows: k reduced to {}, every distinct row is a "
                                 "prototype (cost 0)",
                                 k, d.n_distinct, d.n_distinct));
        else
          diag->info(kStage, "k_reduced",
                     fmt::format("n_clusters {} equals the number of distinct rows: every distinct row is a prototype "
                                 "(cost 0)",
                                 k));
      }
      continue;
    }
    std::size_t retried = 0, fallback = 0, failed = 0;
    for (const TaskSummary& s : summary[ki]) {
      retried += s.init_tries > 1;
      fallback += s.random_fallback;
      failed += s.failed;
    }
    if (best_r[ki] == n_init)
      throw InvalidArgument(fmt::format(
          "n_clusters: no restart could initialise {} clusters without an empty one after 100 tries each", k));
    KPrototypesModel m = to_model(std::move(best[ki]), d, gamma, params.algorithm);
    m.best_init = best_r[ki];
    for (const TaskSummary& s : summary[ki]) m.init_costs.push_back(s.cost);
    if (diag) {
      if (retried)
        diag->info(kStage, "init_retried",
                   fmt::format("k={}: {} of {} restarts drew their init again because a cluster was empty", k, retried,
                               n_init));
      if (fallback)
        diag->warn(kStage, "init_random_fallback",
                   fmt::format("k={}: {} restarts fell back to random rows as initial prototypes after 20 tries", k,
                               fallback));
      if (failed)
        diag->warn(kStage, "restart_failed",
                   fmt::format("k={}: {} of {} restarts could not initialise without an empty cluster and were dropped",
                               k, failed, n_init));
      if (m.empty_reseeds)
        diag->info(kStage, "empty_cluster_reseeded",
                   fmt::format("k={}: an empty cluster was refilled {} times in the winning restart", k,
                               m.empty_reseeds));
      if (!m.converged)
        diag->warn(kStage, "not_converged",
                   fmt::format("k={}: the winning restart stopped at max_iter={} without converging", k,
                               params.max_iter));
    }
    out.cost[ki] = m.cost;
    out.models[ki] = std::move(m);
  }
  for (std::size_t ki = 0; ki < nk; ++ki) out.cost[ki] = out.models[ki].cost;

  bool increasing = nk >= 3;
  for (std::size_t ki = 1; ki < nk && increasing; ++ki) increasing = ks[ki] > ks[ki - 1];
  if (increasing) {
    std::vector<double> x(ks.begin(), ks.end());
    const KneeResult knee = find_knee(x, out.cost, CurveNature::convex, CurveDirection::decreasing);
    if (knee.knee) out.elbow_k = static_cast<std::size_t>(std::llround(*knee.knee));
  }
  return out;
}

}  // namespace

std::string_view to_string(KPrototypesInit init) noexcept { return init == KPrototypesInit::huang ? "huang" : "cao"; }

KPrototypesInit parse_kprototypes_init(std::string_view text, std::string_view what) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "huang") return KPrototypesInit::huang;
  if (lower == "cao") return KPrototypesInit::cao;
  throw InvalidArgument(fmt::format("{}: expected huang or cao, got '{}'", what, text));
}

double kprototypes_default_gamma(ViewD numeric) {
  if (numeric.rows() == 0 || numeric.cols() == 0) throw InvalidArgument("numeric: needs at least one row and one column");
  check_numeric(numeric, "numeric");
  std::vector<double> mean, std;
  kproto::column_mean_std(numeric, mean, std);
  return default_gamma(std);
}

double kprototypes_pooled_gamma(ViewD numeric) {
  if (numeric.rows() == 0 || numeric.cols() == 0) throw InvalidArgument("numeric: needs at least one row and one column");
  check_numeric(numeric, "numeric");
  // numpy reduces the whole contiguous (n, p) array in one pairwise sum.
  const std::size_t n = numeric.rows() * numeric.cols();
  std::vector<double> v(n);
  for (std::size_t i = 0; i < numeric.rows(); ++i)
    std::copy(numeric.row(i), numeric.row(i) + numeric.cols(), v.begin() + static_cast<std::ptrdiff_t>(i * numeric.cols()));
  const double mean = kproto::pairwise_sum(v.data(), n) / static_cast<double>(n);
  for (double& x : v) x = (x - mean) * (x - mean);
  return 0.5 * std::sqrt(kproto::pairwise_sum(v.data(), n) / static_cast<double>(n));
}

KPrototypesSweep sweep_kprototypes(ViewD numeric, MatrixView<std::int32_t> categorical,
                                   std::span<const std::size_t> ks, const KPrototypesParams& params,
                                   Diagnostics* diag) {
  check_inputs(numeric, categorical);
  check_params(params);
  if (ks.empty()) throw InvalidArgument("k: the sweep needs at least one value");
  for (std::size_t k : ks)
    if (k < 1) throw InvalidArgument("k: every number of clusters must be >= 1");
  const KModesStandIn kmodes(numeric);
  const KPrototypesParams p = kmodes.params(params);
  const kproto::Data d = kproto::prepare(kmodes.numeric(numeric), categorical);
  const double gamma = resolve_gamma(d, p, diag, kmodes.active);
  KPrototypesSweep s = sweep_prepared(d, ks, p, gamma, diag);
  for (KPrototypesModel& m : s.models) kmodes.strip(m);
  return s;
}

KPrototypesModel fit_kprototypes(ViewD numeric, MatrixView<std::int32_t> categorical, const KPrototypesParams& params,
                                 Diagnostics* diag) {
  if (params.n_clusters < 1) throw InvalidArgument("n_clusters: must be >= 1");
  check_inputs(numeric, categorical);
  check_params(params);
  const KModesStandIn kmodes(numeric);
  const KPrototypesParams p = kmodes.params(params);
  const kproto::Data d = kproto::prepare(kmodes.numeric(numeric), categorical);
  const double gamma = resolve_gamma(d, p, diag, kmodes.active);
  const std::size_t k = p.n_clusters;
  KPrototypesSweep s = sweep_prepared(d, std::span<const std::size_t>(&k, 1), p, gamma, diag);
  kmodes.strip(s.models.front());
  return std::move(s.models.front());
}

KPrototypesModel fit_kprototypes_from(ViewD numeric, MatrixView<std::int32_t> categorical, ViewD init_centroids,
                                      MatrixView<std::int32_t> init_modes, const KPrototypesParams& params,
                                      Diagnostics* diag) {
  check_inputs(numeric, categorical);
  if (numeric.cols() == 0) throw InvalidArgument("numeric: initial prototypes need at least one numeric column");
  check_params(params);
  const std::size_t k = init_centroids.rows();
  if (k < 1) throw InvalidArgument("init_centroids: needs at least one row");
  if (init_centroids.cols() != numeric.cols())
    throw InvalidArgument(fmt::format("init_centroids: {} columns, but numeric has {}", init_centroids.cols(),
                                      numeric.cols()));
  if (init_modes.rows() != k || init_modes.cols() != categorical.cols())
    throw InvalidArgument(fmt::format("init_modes: shape ({}, {}), expected ({}, {})", init_modes.rows(),
                                      init_modes.cols(), k, categorical.cols()));
  check_numeric(init_centroids, "init_centroids");
  const kproto::Data d = kproto::prepare(numeric, categorical);
  for (std::size_t l = 0; l < k; ++l)
    for (std::size_t j = 0; j < d.q; ++j)
      if (init_modes(l, j) < 0 || init_modes(l, j) >= d.levels[j])
        throw InvalidArgument(fmt::format("init_modes: code {} at row {}, column {} is outside 0..{}", init_modes(l, j),
                                          l, j, d.levels[j] - 1));
  const double gamma = resolve_gamma(d, params, diag);
  kproto::RunResult r = kproto::run_from(d, MatrixD(init_centroids), Matrix<std::int32_t>(init_modes), gamma, params);
  if (r.failed)
    throw InvalidArgument(
        "init_centroids: a cluster receives no row in the initial assignment with the given prototypes");
  KPrototypesModel m = to_model(std::move(r), d, gamma, params.algorithm);
  m.init_costs = {m.cost};
  if (diag) {
    if (m.empty_reseeds)
      diag->info(kStage, "empty_cluster_reseeded", fmt::format("an empty cluster was refilled {} times", m.empty_reseeds));
    if (!m.converged)
      diag->warn(kStage, "not_converged", fmt::format("stopped at max_iter={} without converging", params.max_iter));
  }
  return m;
}

MatrixD KPrototypesModel::dissimilarities(ViewD numeric, MatrixView<std::int32_t> categorical) const {
  if (centroids.rows() == 0) throw NotFitted("k-prototypes model: not fitted");
  if (numeric.rows() != categorical.rows())
    throw InvalidArgument(fmt::format("categorical: {} rows, but numeric has {}", categorical.rows(), numeric.rows()));
  if (numeric.cols() != centroids.cols())
    throw InvalidArgument(fmt::format("numeric: {} columns, the model has {}", numeric.cols(), centroids.cols()));
  if (categorical.cols() != modes.cols())
    throw InvalidArgument(fmt::format("categorical: {} columns, the model has {}", categorical.cols(), modes.cols()));
  check_numeric(numeric, "numeric");
  MatrixD out(numeric.rows(), centroids.rows());
  if (centroids.cols() == 0) {  // k-modes: the zero column stands in on both sides
    const MatrixD zeros(numeric.rows(), 1, 0.0), zero_centroids(centroids.rows(), 1, 0.0);
    kproto::dissimilarities(zeros.view(), categorical, zero_centroids, modes, gamma, out.data());
    return out;
  }
  kproto::dissimilarities(numeric, categorical, centroids, modes, gamma, out.data());
  return out;
}

std::vector<std::int32_t> KPrototypesModel::predict(ViewD numeric, MatrixView<std::int32_t> categorical) const {
  const MatrixD d = dissimilarities(numeric, categorical);
  std::vector<std::int32_t> labels(d.rows());
  for (std::size_t i = 0; i < d.rows(); ++i) {
    const double* r = d.row(i);
    std::size_t best = 0;
    for (std::size_t l = 1; l < d.cols(); ++l)
      if (r[l] < r[best]) best = l;
    labels[i] = static_cast<std::int32_t>(best);
  }
  return labels;
}

}  // namespace segmenta
