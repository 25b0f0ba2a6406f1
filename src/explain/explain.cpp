// explain_segments: surrogate + TreeSHAP aggregated the way shap's summary bar plot does.
#include <fmt/format.h>

#include <cmath>
#include <numeric>

#include "core/block_share.hpp"
#include "explain/treeshap.hpp"
#include "segmenta/explain.hpp"

namespace segmenta {

namespace {

// Distinct labels >= 0 (ascending) and each row's class index (-1 for unclustered rows).
struct ClassIndex {
  std::vector<std::int32_t> classes;
  std::vector<std::int32_t> of_row;
  std::vector<std::vector<std::size_t>> rows;  // rows of each class, ascending
};

ClassIndex index_classes(std::span<const std::int32_t> labels) {
  ClassIndex ci;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < -1)
      throw InvalidArgument(fmt::format("labels: {} at row {} (segments are >= 0, -1 = not clustered)", labels[i], i));
    if (labels[i] >= 0) ci.classes.push_back(labels[i]);
  }
  std::sort(ci.classes.begin(), ci.classes.end());
  ci.classes.erase(std::unique(ci.classes.begin(), ci.classes.end()), ci.classes.end());
  ci.of_row.assign(labels.size(), -1);
  ci.rows.resize(ci.classes.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) continue;
    const auto c = std::lower_bound(ci.classes.begin(), ci.classes.end(), labels[i]) - ci.classes.begin();
    ci.of_row[i] = static_cast<std::int32_t>(c);
    ci.rows[static_cast<std::size_t>(c)].push_back(i);
  }
  return ci;
}

std::vector<std::size_t> order_descending(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] > v[b]; });
  return order;
}

}  // namespace

std::vector<std::size_t> stratified_training_sample(std::span<const std::int32_t> labels, std::size_t max_rows,
                                                    std::uint64_t random_state) {
  return stratified_label_sample(labels, max_rows, random_state);
}

SurrogateExplanation explain_segments(ViewD x, std::span<const std::int32_t> labels, const ExplainParams& params,
                                      Diagnostics* diag) {
  if (!(params.holdout_fraction >= 0.0 && params.holdout_fraction <= 0.5))
    throw InvalidArgument("holdout_fraction: must be in [0, 0.5]");
  if (labels.size() != x.rows())
    throw InvalidArgument(fmt::format("labels: {} labels for {} rows of x", labels.size(), x.rows()));
  const ClassIndex ci = index_classes(labels);
  const std::size_t k = ci.classes.size();
  if (k < 2) throw InvalidArgument(fmt::format("labels: the surrogate needs at least 2 segments, found {}", k));

  SurrogateExplanation ex;
  ex.classes = ci.classes;
  ex.n_features = x.cols();
  ex.engine = params.engine;
  for (const auto& r : ci.rows) ex.n_clustered += r.size();

  // Held-out rows: a stratified draw from each segment, keeping at least one
  // training row per segment; they are relabelled -1 for training.
  std::vector<std::int32_t> train_labels(labels.begin(), labels.end());
  std::vector<std::uint8_t> held(labels.size(), 0);
  if (params.holdout_fraction > 0.0) {
    for (std::size_t c = 0; c < k; ++c) {
      const auto& rows = ci.rows[c];
      const auto want = static_cast<std::size_t>(std::floor(params.holdout_fraction * static_cast<double>(rows.size())));
      const std::size_t h = std::min(want, rows.size() - 1);
      Rng rng = Rng::stream(params.surrogate.random_state, 1000003 + c);
      for (const std::size_t s : rng.sample_without_replacement(rows.size(), h)) {
        held[rows[s]] = 1;
        train_labels[rows[s]] = -1;
      }
    }
  }

  // A large table: train on a stratified sample of the remaining rows; the others are
  // predicted as held-out rows.
  std::size_t trainable = 0;
  for (const std::int32_t l : train_labels) trainable += l >= 0;
  const bool train_sampled = params.train_max_rows > 0 && trainable > params.train_max_rows;
  if (train_sampled) {
    const std::vector<std::size_t> keep =
        stratified_training_sample(train_labels, params.train_max_rows, params.surrogate.random_state ^ 0x7a11);
    std::vector<std::uint8_t> kept(labels.size(), 0);
    for (const std::size_t i : keep) kept[i] = 1;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (train_labels[i] >= 0 && !kept[i]) {
        train_labels[i] = -1;
        held[i] = 1;
      }
  }

  const Stopwatch total_clock;
  Stopwatch clock;
  // On ranks: rank 0 fits (XGBoost's single-threaded fit cannot be divided without
  // changing its sums) and sends the model; the others rebuild it from its bytes.
  const Communicator* comm = params.comm != nullptr && params.comm->size() > 1 ? params.comm : nullptr;
  if (comm) {
    // The other ranks wait sleeping (agree_on_root_outcome), not spinning in MPI's
    // progress loop: on a machine the ranks share, their cores stay free.
    std::string bytes;
    agree_on_root_outcome(*comm, 0, [&] {
      ex.model = fit_surrogate(x, train_labels, params.surrogate, diag);
      bytes = ex.model.to_bytes();
    });
    comm->broadcast(bytes, 0);
    agree_on_failure(*comm, [&] {
      if (comm->rank() != 0) ex.model = SurrogateModel::from_bytes(bytes);
    });
  } else {
    ex.model = fit_surrogate(x, train_labels, params.surrogate, diag);
  }
  ex.fit_seconds = clock.seconds();
  ExplainParams::Work work;
  work.fitted = comm == nullptr || comm->rank() == 0;
  for (const std::int32_t l : train_labels) ex.n_train += l >= 0;

  // Accuracy from the margins of every clustered row, evaluated natively: the
  // parallel double-precision walk costs a fraction of XGBoost's predictor here.
  // A block of rows at a time (each row's margins depend on that row alone), so that
  // neither a copy of the clustered rows nor their margins are held whole.
  // On ranks, each tallies its share of the blocks and the counts are added (exact).
  constexpr std::size_t kMarginBlock = 65536;
  const Blocks margin_blocks{ex.n_clustered, kMarginBlock};
  const detail::BlockShare margin_share = detail::BlockShare::of(comm, margin_blocks.count());
  const std::size_t own_first = margin_share.begin_row(margin_blocks), own_last = margin_share.end_row(margin_blocks);
  std::vector<std::size_t> clustered;
  clustered.reserve(std::min(labels.size(), kMarginBlock));
  std::int64_t train_hits = 0, held_hits = 0, held_total = 0;
  auto tally = [&] {
    work.predicted_rows += clustered.size();
    const MatrixD bx = take_rows(x, std::span<const std::size_t>(clustered));
    const MatrixD margins = ex.model.margins(bx, ShapEngine::native);
    for (std::size_t r = 0; r < clustered.size(); ++r) {
      std::size_t best = 0;
      for (std::size_t c = 1; c < k; ++c)
        if (margins(r, c) > margins(r, best)) best = c;
      const bool hit = static_cast<std::int32_t>(best) == ci.of_row[clustered[r]];
      if (held[clustered[r]]) {
        ++held_total;
        held_hits += hit;
      } else {
        train_hits += hit;
      }
    }
    clustered.clear();
  };
  auto tally_own_blocks = [&] {
    std::size_t seen = 0;  // clustered rows before row i
    for (std::size_t i = 0; i < labels.size() && seen < own_last; ++i) {
      if (ci.of_row[i] < 0) continue;
      if (seen++ < own_first) continue;
      clustered.push_back(i);
      if (clustered.size() == kMarginBlock) tally();
    }
    if (!clustered.empty()) tally();
  };
  if (comm) {
    agree_on_failure(*comm, tally_own_blocks);
    const std::int64_t mine[] = {train_hits, held_hits, held_total};
    const std::vector<std::int64_t> all = comm->allreduce_sum(mine);
    train_hits = all[0];
    held_hits = all[1];
    held_total = all[2];
  } else {
    tally_own_blocks();
  }
  ex.train_accuracy = static_cast<double>(train_hits) / static_cast<double>(ex.n_train);
  if (held_total > 0) ex.holdout_accuracy = static_cast<double>(held_hits) / static_cast<double>(held_total);

  // TreeSHAP on the stratified sample. Each row's values depend on that row alone
  // (its branch patterns in each tree), so on ranks each takes a contiguous share of
  // the sampled rows in blocks; the post-stratified sums are added row after row in
  // sample order by an ordered fold along the ranks, as one process adds them.
  clock.reset();
  ex.shap_rows = stratified_training_sample(labels, params.shap_max_rows, params.surrogate.random_state);
  const std::size_t p = x.cols(), width = p + 1, m = ex.shap_rows.size();
  constexpr std::size_t kShapBlock = 64;
  const Blocks shap_blocks{m, kShapBlock};
  const detail::BlockShare shap_share = detail::BlockShare::of(comm, shap_blocks.count());
  const std::size_t s0 = shap_share.begin_row(shap_blocks), s1 = shap_share.end_row(shap_blocks);
  const std::span<const std::size_t> own_rows(ex.shap_rows.data() + s0, s1 - s0);
  MatrixD phi, shap_margins;
  auto shap_own_rows = [&] {
    work.shap_rows = own_rows.size();
    const MatrixD sx = take_rows(x, own_rows);
    phi = ex.model.contributions(sx, params.engine);
    ex.shap_seconds = clock.seconds();
    // Additivity is checked against XGBoost's own margins, independent of both engines' trees.
    shap_margins = ex.model.margins(sx, ShapEngine::xgboost);
  };
  if (comm)
    agree_on_failure(*comm, shap_own_rows);
  else
    shap_own_rows();
  ex.bias = ex.model.bias();

  // Post-stratified mean |SHAP| (explain_detail: compiled per instruction set, as TreeSHAP).
  std::vector<std::int32_t> segment_of_sample(m);
  for (std::size_t r = 0; r < m; ++r) segment_of_sample[r] = ci.of_row[ex.shap_rows[r]];
  std::vector<std::size_t> segment_rows(k);
  for (std::size_t c = 0; c < k; ++c) segment_rows[c] = ci.rows[c].size();
  if (comm) {
    const std::vector<double> weight =
        explain_detail::post_stratified_weights(segment_of_sample, segment_rows, ex.n_clustered);
    ex.mean_abs_shap = MatrixD(k, p, 0.0);
    comm->fold_in_rank_order(std::span<double>(ex.mean_abs_shap.data(), k * p), [&](std::span<double> running) {
      explain_detail::add_post_stratified(phi, std::span<const std::int32_t>(segment_of_sample).subspan(s0, s1 - s0),
                                          weight, p, running.data());
    });
  } else {
    ex.mean_abs_shap =
        explain_detail::post_stratified_mean_abs(phi, segment_of_sample, segment_rows, ex.n_clustered, p);
  }
  for (std::size_t r = 0; r < s1 - s0; ++r)
    for (std::size_t c = 0; c < k; ++c) {
      const double* block = phi.row(r) + c * width;
      double total = block[p];
      for (std::size_t j = 0; j < p; ++j) total += block[j];
      ex.additivity_max_abs_error = std::max(ex.additivity_max_abs_error, std::fabs(total - shap_margins(r, c)));
    }
  if (comm) {
    // A maximum does not depend on the order it is taken in (the values are >= 0, never NaN).
    const std::vector<double> all = comm->allgather(std::span<const double>(&ex.additivity_max_abs_error, 1));
    for (const double e : all) ex.additivity_max_abs_error = std::max(ex.additivity_max_abs_error, e);
  }

  ex.feature_importance.assign(p, 0.0);
  std::vector<double> class_total(k, 0.0);
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < p; ++j) {
      ex.feature_importance[j] += ex.mean_abs_shap(c, j);
      class_total[c] += ex.mean_abs_shap(c, j);
    }
  ex.feature_order = order_descending(ex.feature_importance);
  ex.class_order = order_descending(class_total);

  ex.total_seconds = total_clock.seconds();
  if (params.work) *params.work = work;
  if (diag) {
    diag->info("explain", "shap_rows",
               m < ex.n_clustered
                   ? fmt::format("TreeSHAP on a stratified sample of {} of {} clustered rows", m, ex.n_clustered)
                   : fmt::format("TreeSHAP on all {} clustered rows", m));
    if (train_sampled)
      diag->info("explain", "surrogate_sample",
                 fmt::format("the surrogate trained on a stratified sample of {} of {} clustered rows; it "
                             "reproduces {:.1f} % of the segments of the other rows",
                             ex.n_train, ex.n_clustered, 100.0 * ex.holdout_accuracy.value_or(0.0)));
    if (ex.train_accuracy < 0.9)
      diag->warn("explain", "weak_surrogate",
                 fmt::format("the surrogate classifier reproduces only {:.1f} % of the segment labels; its "
                             "explanation is a rough account of the segments",
                             100.0 * ex.train_accuracy));
  }
  return ex;
}

}  // namespace segmenta
