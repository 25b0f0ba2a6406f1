// The communicator and k-means on several ranks. Run as one process and under
// `mpirun -np 3` (tests/CMakeLists.txt): every assertion holds for any rank count.
//  * allreduce_sum_in_order adds the ranks' values in rank order: compared with a
//    left fold written out here, on values where another order gives another sum;
//  * rank_blocks partitions the blocks in order;
//  * agree_on_failure: one rank's error is every rank's, with its type and message;
//  * fit_kmeans with the world communicator returns bit for bit what one process
//    computes alone (the oracle is the same function without a communicator: its own
//    tests compare it with a naive Lloyd), on both kernels, float and double, with
//    restarts, random and k-means++ seeding, and empty clusters relocated;
//  * fit_lca / fit_lca_from (EM's row blocks on the ranks) and fit_kprototypes /
//    sweep_kprototypes (the restarts on the ranks) likewise, bit for bit against the
//    same functions without a communicator, on one and on two threads;
//  * fold_in_rank_order adds the ranks' parts in rank order from the given start, and
//    the fits' traffic per iteration does not grow with n: k-means and the latent-class
//    model fitted on n and 8n rows receive the same bytes per iteration on every rank
//    (at most two running totals of the fit's width), and stay bit for bit the fits
//    of one process.
//  * SentenceEncoder::encode / encode_ids with the world communicator (each rank runs
//    its share of the batches, the vectors gathered) return the one-process bits, in
//    fp32 and int8, for batch sizes that leave ranks without a batch; the ranks' counts
//    add up to the sentences encoded; a cache written on the ranks is read back whole.
//  * the stages after the fits: the exact silhouette engine (symmetric and
//    streaming), the silhouette estimate, the criteria of one labeling
//    (score_labels, score_labels_rows), the stability fits and ECOD's row scores, bit
//    for bit against one process, and each rank's share of the rows (or fits) is
//    about 1/N of them: a rank that computed everything would fail.
//  * fit_prep with the world communicator (each rank encodes and transforms its nodes
//    of the scaler's pairwise tree; distinct values, sums and rows exchanged) returns
//    the one-process features, lambdas, means, scales, medians and diagnostics bit for
//    bit, on a table with missing values and skewed columns, standard and blog
//    presets, with rows enough for every rank and so few that some have none; each
//    rank prepared about 1/N of the rows; an infinite value is the same error on
//    every rank.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <span>

#include "metrics/row_source.hpp"
#include "metrics/silhouette_engine.hpp"
#include "pipeline/sweep.hpp"
#include "segmenta/cluster.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/metrics.hpp"
#include "segmenta/outliers.hpp"
#include "segmenta/prep.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

TEST(Communicator, SumsInRankOrder) {
  const Communicator& comm = world();
  const int size = comm.size(), rank = comm.rank();
  // Rank r gives {1e16 if r == 0, else 1.0} and {r + 0.5}: summed in rank order
  // 1e16 + 1 + 1 = 1e16 (each 1 is lost), while 1 + 1 + 1e16 would be 1e16 + 2.
  const std::vector<double> mine{rank == 0 ? 1e16 : 1.0, rank + 0.5};
  const std::vector<double> sum = comm.allreduce_sum_in_order(mine);
  double fold0 = 0.0, fold1 = 0.0;
  for (int r = 0; r < size; ++r) {
    fold0 = r == 0 ? (r == 0 ? 1e16 : 1.0) : fold0 + 1.0;
    fold1 = r == 0 ? 0.5 : fold1 + (r + 0.5);
  }
  ASSERT_EQ(sum.size(), 2u);
  EXPECT_EQ(std::memcmp(&sum[0], &fold0, sizeof(double)), 0) << sum[0] << " vs " << fold0;
  EXPECT_EQ(sum[1], fold1);
  if (size > 2) EXPECT_EQ(sum[0], 1e16);  // the small terms are lost, as in order they must be

  const std::vector<std::int64_t> ints = comm.allreduce_sum(std::vector<std::int64_t>{rank, 1});
  EXPECT_EQ(ints[0], static_cast<std::int64_t>(size) * (size - 1) / 2);
  EXPECT_EQ(ints[1], size);
  EXPECT_EQ(comm.allreduce_max(rank * 7), (size - 1) * 7);

  const std::vector<std::string> bytes = comm.allgather_bytes(std::string(static_cast<std::size_t>(rank), 'x'));
  ASSERT_EQ(bytes.size(), static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r) EXPECT_EQ(bytes[static_cast<std::size_t>(r)], std::string(static_cast<std::size_t>(r), 'x'));

  std::string b = rank == 0 ? "from rank 0" : "";
  comm.broadcast(b, 0);
  EXPECT_EQ(b, "from rank 0");
}

TEST(Communicator, FoldsInRankOrder) {
  const Communicator& comm = world();
  const int size = comm.size(), rank = comm.rank();
  // Rank r adds {1.0 (r > 0) or 1e16 (r == 0), r + 0.25} to a start of {0, 0.5}: in
  // rank order the ones are lost after 1e16; `arrived` is the sum of the ranks before.
  std::vector<double> running{0.0, 0.5}, arrived;
  const std::uint64_t bytes0 = comm.bytes_gathered();
  comm.fold_in_rank_order(
      running,
      [&](std::span<double> v) {
        v[0] += rank == 0 ? 1e16 : 1.0;
        v[1] += rank + 0.25;
      },
      &arrived);
  const std::uint64_t received = comm.bytes_gathered() - bytes0;
  double total0 = 0.0, total1 = 0.5, before0 = 0.0, before1 = 0.5;
  for (int r = 0; r < size; ++r) {
    if (r == rank) {
      before0 = total0;
      before1 = total1;
    }
    total0 += r == 0 ? 1e16 : 1.0;
    total1 += r + 0.25;
  }
  EXPECT_TRUE(std::memcmp(&running[0], &total0, sizeof(double)) == 0) << running[0] << " vs " << total0;
  EXPECT_EQ(running[1], total1);
  ASSERT_EQ(arrived.size(), 2u);
  EXPECT_EQ(arrived[0], before0);
  EXPECT_EQ(arrived[1], before1);
  // From the rank before and the last rank's broadcast: two values at most.
  if (size > 1) {
    EXPECT_GT(received, 0u);
    EXPECT_LE(received, 2 * 2 * sizeof(double));
  }
  // Nothing to add: the start values everywhere.
  std::vector<double> none{3.0};
  comm.fold_in_rank_order(none, [](std::span<double>) {});
  EXPECT_EQ(none[0], 3.0);
}

TEST(Communicator, RankBlocksPartitionInOrder) {
  for (std::size_t count : {0u, 1u, 2u, 3u, 7u, 40u, 64u})
    for (int size = 1; size <= 5; ++size) {
      std::size_t next = 0;
      for (int r = 0; r < size; ++r) {
        const RankBlocks rb = rank_blocks(count, r, size);
        EXPECT_EQ(rb.first, next);
        EXPECT_LE(rb.first, rb.last);
        next = rb.last;
      }
      EXPECT_EQ(next, count);
    }
}

TEST(Communicator, OneRanksFailureIsEveryRanks) {
  const Communicator& comm = world();
  const int last = comm.size() - 1;
  try {
    agree_on_failure(comm, [&] {
      if (comm.rank() == last) throw ParseError("data.csv", 12, 3, "invalid UTF-8 byte sequence");
    });
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(std::string(e.what()), "data.csv:12:3: invalid UTF-8 byte sequence");
    EXPECT_EQ(e.line(), 12u);
  }
  // The lowest failing rank's error wins.
  try {
    agree_on_failure(comm, [&] {
      if (comm.rank() == 0) throw IoError("x.csv: cannot open: No such file or directory");
      throw DataError("never seen unless alone");
    });
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), "x.csv: cannot open: No such file or directory");
  }
  EXPECT_NO_THROW(agree_on_failure(comm, [] {}));
}

/// Deterministic data: `groups` blobs in p columns, n rows (the same on every rank).
template <class T>
Matrix<T> blobs(std::size_t n, std::size_t p, std::size_t groups, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<T> x(n, p);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t g = i % groups;
    for (std::size_t f = 0; f < p; ++f)
      x(i, f) = static_cast<T>(3.0 * static_cast<double>((g * 7 + f * 3) % 5) + rng.normal());
  }
  return x;
}

template <class T>
void expect_same_model(const KMeansModel<T>& a, const KMeansModel<T>& b) {
  EXPECT_EQ(a.labels, b.labels);
  ASSERT_EQ(a.centers.size(), b.centers.size());
  EXPECT_EQ(std::memcmp(a.centers.data(), b.centers.data(), a.centers.size() * sizeof(T)), 0);
  EXPECT_EQ(std::memcmp(&a.inertia, &b.inertia, sizeof(double)), 0) << a.inertia << " vs " << b.inertia;
  EXPECT_EQ(a.n_iter, b.n_iter);
  EXPECT_EQ(a.best_init, b.best_init);
  EXPECT_EQ(a.init_inertias, b.init_inertias);
  EXPECT_EQ(a.inertia_history, b.inertia_history);
}

template <class T>
void check_ranks_match_one_process(std::size_t n, std::size_t p, std::size_t k, std::size_t n_init, KMeansInit init) {
  SCOPED_TRACE(::testing::Message() << "n " << n << " p " << p << " k " << k << " n_init " << n_init);
  const Matrix<T> x = blobs<T>(n, p, 4, 17 + n + p);
  KMeansParams params;
  params.n_clusters = k;
  params.n_init = n_init;
  params.random_state = 3;
  params.init = init;
  const KMeansModel<T> alone = fit_kmeans<T>(x.view(), params);
  params.comm = &world();
  const KMeansModel<T> shared = fit_kmeans<T>(x.view(), params);
  expect_same_model(alone, shared);
  // From given centres (the path a sampled sweep takes for the chosen k).
  KMeansParams from = params;
  from.comm = nullptr;
  const KMeansModel<T> a2 = fit_kmeans_from<T>(x.view(), alone.centers.view(), from);
  from.comm = &world();
  const KMeansModel<T> s2 = fit_kmeans_from<T>(x.view(), alone.centers.view(), from);
  expect_same_model(a2, s2);
  // Rows centred block by block in each pass instead of one centred copy (the path of
  // fits on many rows): still the model of one process with the copy.
  from.copy_max_rows = 0;
  const KMeansModel<T> s3 = fit_kmeans_from<T>(x.view(), alone.centers.view(), from);
  expect_same_model(a2, s3);
}

TEST(KMeansOnRanks, PanelKernelDouble) {
  check_ranks_match_one_process<double>(40691, 8, 5, 10, KMeansInit::kmeans_plus_plus);
  check_ranks_match_one_process<double>(5000, 3, 7, 3, KMeansInit::random);
  // Two blocks: with three ranks one of them has no rows.
  check_ranks_match_one_process<double>(1500, 6, 4, 2, KMeansInit::kmeans_plus_plus);
}

TEST(KMeansOnRanks, DotTileKernel) {
  check_ranks_match_one_process<double>(9000, 40, 6, 4, KMeansInit::kmeans_plus_plus);
  check_ranks_match_one_process<float>(12000, 48, 5, 3, KMeansInit::kmeans_plus_plus);
}

TEST(KMeansOnRanks, EmptyClustersRelocated) {
  // Many duplicate rows and more centres than groups: random seeding picks duplicate
  // starting centres, whose clusters empty and are relocated to the farthest rows.
  const std::size_t n = 6000, p = 2;
  Matrix<double> x(n, p);
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 0) = static_cast<double>(i % 3);
    x(i, 1) = i % 997 == 0 ? 50.0 + static_cast<double>(i % 5) : 0.0;
  }
  KMeansParams params;
  params.n_clusters = 6;
  params.n_init = 4;
  params.init = KMeansInit::random;
  params.random_state = 11;
  Diagnostics d1, d2;
  const KMeansModel<double> alone = fit_kmeans<double>(x.view(), params, &d1);
  params.comm = &world();
  const KMeansModel<double> shared = fit_kmeans<double>(x.view(), params, &d2);
  expect_same_model(alone, shared);
  bool relocated = false;
  for (const auto& item : d1.items()) relocated |= item.code == "empty_cluster_relocated";
  EXPECT_TRUE(relocated) << "the data should make k-means relocate an empty cluster";
}

/// Mixed data for the latent-class model and k-prototypes: p numeric columns in
/// `groups` blobs, with a few missing cells (NaN) when `missing`, and q categorical
/// columns whose levels follow the blob with noise (a few codes missing: -1).
struct Mixed {
  MatrixD x;
  Matrix<std::int32_t> codes;
  std::vector<std::int32_t> levels;
};
Mixed mixed(std::size_t n, std::size_t p, std::size_t q, std::size_t groups, bool missing, std::uint64_t seed) {
  Mixed m;
  m.x = blobs<double>(n, p, groups, seed);
  m.codes = Matrix<std::int32_t>(n, q);
  Rng rng(seed + 1);
  for (std::size_t c = 0; c < q; ++c) m.levels.push_back(static_cast<std::int32_t>(3 + c));
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t g = i % groups;
    for (std::size_t c = 0; c < q; ++c) {
      const std::int32_t L = m.levels[c];
      std::int32_t v = static_cast<std::int32_t>((g + c) % static_cast<std::size_t>(L));
      if (rng.uniform() < 0.3) v = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(L)));
      if (missing && rng.uniform() < 0.02) v = -1;
      m.codes(i, c) = v;
    }
    if (missing && p > 0 && rng.uniform() < 0.02) m.x(i, i % p) = std::nan("");
  }
  return m;
}

bool same_bits(const MatrixD& a, const MatrixD& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), a.rows() * a.cols() * sizeof(double)) == 0;
}
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

void expect_same_lca(const LcaModel& a, const LcaModel& b) {
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_TRUE(same_bits(a.posterior, b.posterior)) << "posterior";
  EXPECT_TRUE(same_bits(a.means, b.means)) << "means";
  EXPECT_TRUE(same_bits(a.variances, b.variances)) << "variances";
  ASSERT_EQ(a.probabilities.size(), b.probabilities.size());
  for (std::size_t c = 0; c < a.probabilities.size(); ++c)
    EXPECT_TRUE(same_bits(a.probabilities[c], b.probabilities[c])) << "probabilities of column " << c;
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_TRUE(same_bits(a.log_likelihood, b.log_likelihood)) << a.log_likelihood << " vs " << b.log_likelihood;
  EXPECT_TRUE(same_bits(a.bic, b.bic));
  EXPECT_TRUE(same_bits(a.icl, b.icl));
  EXPECT_TRUE(same_bits(a.entropy, b.entropy));
  EXPECT_EQ(a.n_iter, b.n_iter);
  EXPECT_EQ(a.best_start, b.best_start);
  EXPECT_EQ(a.converged, b.converged);
  EXPECT_EQ(a.objective_trace, b.objective_trace);
}

/// Runs check once per thread count (1 and 2), restoring the default.
template <class Check>
void on_thread_counts(Check&& check) {
  const int before = num_threads();
  for (int threads : {1, 2}) {
    SCOPED_TRACE(::testing::Message() << threads << " thread(s)");
    set_num_threads(threads);
    check();
  }
  set_num_threads(before);
}

void check_lca(std::size_t n, std::size_t p, std::size_t q, std::size_t k, std::size_t n_init, bool missing) {
  SCOPED_TRACE(::testing::Message() << "lca n " << n << " p " << p << " q " << q << " k " << k);
  const Mixed d = mixed(n, p, q, 3, missing, 5 + n);
  LcaParams params;
  params.n_components = k;
  params.n_init = n_init;
  params.short_iter = 5;
  params.max_iter = 40;
  params.random_state = 9;
  on_thread_counts([&] {
    params.comm = nullptr;
    const LcaModel alone = fit_lca(d.x.view(), d.codes.view(), d.levels, params);
    params.comm = &world();
    const LcaModel shared = fit_lca(d.x.view(), d.codes.view(), d.levels, params);
    expect_same_lca(alone, shared);
    EXPECT_GE(alone.n_iter, 2u);  // the M-step ran on the E-step's exchanged sums
    // From given responsibilities (the final fit of a sampled sweep).
    LcaParams from = params;
    from.comm = nullptr;
    const LcaModel a2 = fit_lca_from(d.x.view(), d.codes.view(), d.levels, alone.posterior.view(), from);
    from.comm = &world();
    const LcaModel s2 = fit_lca_from(d.x.view(), d.codes.view(), d.levels, alone.posterior.view(), from);
    expect_same_lca(a2, s2);
  });
}

TEST(LcaOnRanks, MixedColumnsMatchOneProcess) {
  check_lca(10000, 3, 3, 4, 3, true);  // 10 blocks of 1024 rows
  check_lca(7000, 2, 0, 3, 2, false);  // numeric only
  check_lca(5000, 0, 4, 3, 2, true);   // categorical only
  check_lca(1500, 2, 2, 2, 2, false);  // two blocks: with three ranks one has no rows
}

void expect_same_kproto(const KPrototypesModel& a, const KPrototypesModel& b) {
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_TRUE(same_bits(a.centroids, b.centroids)) << "centroids";
  EXPECT_EQ(std::vector<std::int32_t>(a.modes.data(), a.modes.data() + a.modes.rows() * a.modes.cols()),
            std::vector<std::int32_t>(b.modes.data(), b.modes.data() + b.modes.rows() * b.modes.cols()));
  EXPECT_TRUE(same_bits(a.cost, b.cost)) << a.cost << " vs " << b.cost;
  EXPECT_EQ(a.n_iter, b.n_iter);
  EXPECT_EQ(a.epoch_costs, b.epoch_costs);
  EXPECT_EQ(a.best_init, b.best_init);
  EXPECT_EQ(a.init_costs, b.init_costs);
  EXPECT_EQ(a.converged, b.converged);
  EXPECT_EQ(a.empty_reseeds, b.empty_reseeds);
}

TEST(KPrototypesOnRanks, RestartsMatchOneProcess) {
  const Mixed d = mixed(6000, 3, 3, 4, false, 21);
  for (KPrototypesAlgorithm algorithm : {KPrototypesAlgorithm::online, KPrototypesAlgorithm::batch})
    for (KPrototypesInit init : {KPrototypesInit::cao, KPrototypesInit::huang}) {
      SCOPED_TRACE(::testing::Message() << (algorithm == KPrototypesAlgorithm::batch ? "batch " : "online ")
                                        << to_string(init));
      KPrototypesParams params;
      params.n_clusters = 4;
      params.n_init = 5;  // not a multiple of 3: the ranks run different numbers of restarts
      params.random_state = 4;
      params.algorithm = algorithm;
      params.init = init;
      on_thread_counts([&] {
        params.comm = nullptr;
        const KPrototypesModel alone = fit_kprototypes(d.x.view(), d.codes.view(), params);
        params.comm = &world();
        const KPrototypesModel shared = fit_kprototypes(d.x.view(), d.codes.view(), params);
        expect_same_kproto(alone, shared);
        const std::vector<std::size_t> ks{2, 3, 5, 6};
        params.comm = nullptr;
        const KPrototypesSweep sa = sweep_kprototypes(d.x.view(), d.codes.view(), ks, params);
        params.comm = &world();
        const KPrototypesSweep ss = sweep_kprototypes(d.x.view(), d.codes.view(), ks, params);
        ASSERT_EQ(sa.models.size(), ss.models.size());
        for (std::size_t i = 0; i < sa.models.size(); ++i) expect_same_kproto(sa.models[i], ss.models[i]);
        EXPECT_EQ(sa.cost, ss.cost);
        EXPECT_EQ(sa.elbow_k, ss.elbow_k);
      });
    }
}

/// Bytes this rank receives from the other ranks during `fit`.
template <class Fit>
std::uint64_t received_during(Fit&& fit) {
  const std::uint64_t before = world().bytes_gathered();
  fit();
  return world().bytes_gathered() - before;
}

// Traffic per iteration independent of n. Each fit runs twice on the same rows, with
// max_iter a and a + 3 (tol 0, data on which neither converges that soon): the
// difference is three iterations' traffic, without what a fit exchanges once (every
// row's label or posterior for the returned model, 4 or 8 k bytes a row). It must be
// the same at n and 8n rows, and at most the two running totals of the fold a rank
// receives per iteration; and each fit is that of one process.
TEST(TrafficOnRanks, PerIterationDoesNotGrowWithRows) {
  const Communicator& comm = world();
  const std::size_t k = 5;
  on_thread_counts([&] {
    std::vector<double> lca_per_iter, kmeans_per_iter;
    for (std::size_t n : {10000u, 80000u}) {
      SCOPED_TRACE(::testing::Message() << "n " << n);
      // The latent-class model (1,024-row blocks: 10 and 79 of them).
      const Mixed d = mixed(n, 3, 2, 3, true, 40 + n);
      std::size_t total_levels = 0;
      for (std::int32_t l : d.levels) total_levels += static_cast<std::size_t>(l);
      const MatrixD init = lca_initial_responsibilities(d.x.view(), d.codes.view(), d.levels, k, 7, 0);
      LcaParams lp;
      lp.n_components = k;
      lp.tol = 0;
      std::uint64_t lca_bytes[2] = {0, 0};
      for (std::size_t run = 0; run < 2; ++run) {
        lp.max_iter = 4 + 3 * run;
        lp.comm = nullptr;
        const LcaModel alone = fit_lca_from(d.x.view(), d.codes.view(), d.levels, init.view(), lp);
        ASSERT_EQ(alone.n_iter, lp.max_iter) << "EM converged early: the comparison needs whole iterations";
        lp.comm = &comm;
        LcaModel shared;
        lca_bytes[run] =
            received_during([&] { shared = fit_lca_from(d.x.view(), d.codes.view(), d.levels, init.view(), lp); });
        expect_same_lca(alone, shared);
      }
      lca_per_iter.push_back(static_cast<double>(lca_bytes[1] - lca_bytes[0]) / 3.0);
      const std::size_t lca_width = k + 3 * k * 3 + k * total_levels + 2;
      EXPECT_LE(lca_per_iter.back(), 2.0 * 8.0 * static_cast<double>(lca_width));

      // k-means from given centres on rows without clusters (Lloyd moves the centres
      // for many iterations); one restart, so one run's sums per pass.
      const std::size_t p = 4;
      Matrix<double> x(n, p);
      Rng rng(60 + n);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t f = 0; f < p; ++f) x(i, f) = rng.uniform();
      Matrix<double> start(k, p);
      for (std::size_t j = 0; j < k; ++j)
        for (std::size_t f = 0; f < p; ++f) start(j, f) = x(j * 7, f);
      KMeansParams kp;
      kp.n_clusters = k;
      kp.tol = 0;
      std::uint64_t km_bytes[2] = {0, 0};
      for (std::size_t run = 0; run < 2; ++run) {
        kp.max_iter = 4 + 3 * run;
        kp.comm = nullptr;
        const KMeansModel<double> alone = fit_kmeans_from<double>(x.view(), start.view(), kp);
        ASSERT_EQ(alone.n_iter, kp.max_iter) << "k-means converged early: the comparison needs whole iterations";
        kp.comm = &comm;
        KMeansModel<double> shared;
        km_bytes[run] = received_during([&] { shared = fit_kmeans_from<double>(x.view(), start.view(), kp); });
        expect_same_model(alone, shared);
      }
      kmeans_per_iter.push_back(static_cast<double>(km_bytes[1] - km_bytes[0]) / 3.0);
      EXPECT_LE(kmeans_per_iter.back(), 2.0 * 8.0 * static_cast<double>(2 + k + k * p));

      // Seeded with k-means++ and restarts (its potentials are folded too): still the
      // fit of one process.
      KMeansParams pp;
      pp.n_clusters = k;
      pp.n_init = 3;
      pp.random_state = 5;
      const KMeansModel<double> a = fit_kmeans<double>(x.view(), pp);
      pp.comm = &comm;
      const KMeansModel<double> s = fit_kmeans<double>(x.view(), pp);
      expect_same_model(a, s);
    }
    if (comm.size() > 1) {
      EXPECT_GT(lca_per_iter[0], 0.0);
      EXPECT_GT(kmeans_per_iter[0], 0.0);
    }
    // Eight times the rows, the same traffic per iteration.
    EXPECT_EQ(lca_per_iter[1], lca_per_iter[0]);
    EXPECT_EQ(kmeans_per_iter[1], kmeans_per_iter[0]);
  });
}

/// Sentences of varied lengths, some repeated.
std::vector<std::string> encoder_sentences(std::size_t n) {
  static const char* jobs[] = {"technician", "blue-collar worker", "retired", "management", "student"};
  std::vector<std::string> s;
  for (std::size_t i = 0; i < n; ++i) {
    std::string t = std::string("A customer aged ") + std::to_string(20 + i % 50) + " works as a " + jobs[i % 5];
    for (std::size_t w = 0; w < i % 7; ++w) t += ", holds " + std::to_string((i * 37 + w) % 1000) + " euros";
    s.push_back(i % 9 == 8 ? s[i / 2] : t);  // every ninth a repeat
  }
  return s;
}

void expect_same_bits(const MatrixF& a, const MatrixF& b) {
  ASSERT_EQ(a.rows(), b.rows());
  ASSERT_EQ(a.cols(), b.cols());
  for (std::size_t i = 0; i < a.rows(); ++i)
    ASSERT_EQ(std::memcmp(a.row(i), b.row(i), a.cols() * sizeof(float)), 0) << "row " << i;
}

void expect_shares(const EncodeStats& st, std::size_t batch) {
  const Communicator& comm = world();
  if (comm.size() == 1) {
    EXPECT_TRUE(st.encoded_by_rank.empty());
    return;
  }
  ASSERT_EQ(st.encoded_by_rank.size(), static_cast<std::size_t>(comm.size()));
  ASSERT_EQ(st.seconds_by_rank.size(), static_cast<std::size_t>(comm.size()));
  const Blocks blocks{st.encoded, batch};
  std::size_t sum = 0;
  for (int r = 0; r < comm.size(); ++r) {
    // Whole batches, in order: rank r ran batches rank_blocks(...) of the sorted sentences.
    const RankBlocks rb = rank_blocks(blocks.count(), r, comm.size());
    const std::size_t expected = std::min(st.encoded, rb.last * batch) - std::min(st.encoded, rb.first * batch);
    EXPECT_EQ(st.encoded_by_rank[static_cast<std::size_t>(r)], expected) << "rank " << r;
    sum += st.encoded_by_rank[static_cast<std::size_t>(r)];
  }
  EXPECT_EQ(sum, st.encoded);
  const std::size_t others = st.encoded - st.encoded_by_rank[static_cast<std::size_t>(comm.rank())];
  EXPECT_EQ(st.bytes_received, others * 32 * sizeof(float));
}

TEST(EncoderOnRanks, SameBitsAsOneProcess) {
  const Communicator& comm = world();
  // Each rank writes its own copy of the same model (seeded), hidden size 32.
  const std::string dir = test::temp_dir("mpi_encoder_" + std::to_string(comm.size()) + "_" + std::to_string(comm.rank()));
  BertConfig c;
  c.hidden_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 128;
  write_random_model(dir, c, 7, test::shared_path("models/paraphrase-MiniLM-L6-v2"), 64, {}, true);
  const SentenceEncoder encoder = SentenceEncoder::load(dir);
  const std::vector<std::string> sentences = encoder_sentences(150);
  for (EmbedPrecision precision : {EmbedPrecision::fp32, EmbedPrecision::int8})
    for (std::size_t batch : {1, 7, 16, 100, 500}) {  // 100 and 500: fewer batches than 3 ranks
      SCOPED_TRACE(::testing::Message() << to_string(precision) << ", batch " << batch);
      EncodeOptions o;
      o.precision = precision;
      o.batch_size = batch;
      o.progress = false;
      const MatrixF alone = encoder.encode(sentences, o);
      o.comm = &comm;
      EncodeStats st;
      const MatrixF shared = encoder.encode(sentences, o, &st);
      expect_same_bits(alone, shared);
      EXPECT_EQ(st.encoded, st.unique);
      expect_shares(st, batch);
      // encode_ids goes through the same batches.
      std::vector<std::vector<std::int32_t>> ids;
      for (const auto& t : sentences) ids.push_back(encoder.tokenizer().encode(t, 64));
      o.comm = nullptr;
      const MatrixF ids_alone = encoder.encode_ids(ids, o);
      o.comm = &comm;
      const MatrixF ids_shared = encoder.encode_ids(ids, o, &st);
      expect_same_bits(ids_alone, ids_shared);
      expect_shares(st, batch);
    }

  // The cache: rank 0 makes the directory, every rank reads it, rank 0 writes it.
  std::string cache = comm.rank() == 0 ? test::temp_dir("mpi_encoder_cache_" + std::to_string(comm.size())) : "";
  comm.broadcast(cache, 0);
  EncodeOptions o;
  o.batch_size = 16;
  o.progress = false;
  o.cache_dir = cache;
  o.comm = &comm;
  const MatrixF alone = [&] {
    EncodeOptions plain = o;
    plain.cache_dir.clear();
    plain.comm = nullptr;
    return encoder.encode(sentences, plain);
  }();
  EncodeStats first, second;
  const MatrixF written = encoder.encode(sentences, o, &first);
  const MatrixF read = encoder.encode(sentences, o, &second);
  expect_same_bits(alone, written);
  expect_same_bits(alone, read);
  EXPECT_EQ(first.cached, 0u);
  EXPECT_EQ(second.cached, second.unique);
  EXPECT_EQ(second.encoded, 0u);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(cache)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

// ---------------------------------------------------------------------------
// The stages after the fits
// ---------------------------------------------------------------------------

/// Labels of n rows in k groups, every group present (row i mod k, with a seeded
/// share of rows moved to another group so the silhouettes are not trivial).
std::vector<std::int32_t> some_labels(std::size_t n, std::size_t k, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int32_t> l(n);
  for (std::size_t i = 0; i < n; ++i)
    l[i] = static_cast<std::int32_t>(rng.uniform() < 0.2 ? rng.below(k) : (i * 7 / 3) % k);
  return l;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

/// Sum over the ranks of one count per rank.
std::int64_t summed(std::size_t mine) {
  return world().allreduce_sum(std::vector<std::int64_t>{static_cast<std::int64_t>(mine)})[0];
}

/// A rank's share of `total` items dealt in blocks of `block`: at most its 1/N plus
/// one block, and all of them only when alone.
void expect_share(std::size_t mine, std::size_t total, std::size_t block, const char* what) {
  const auto size = static_cast<std::size_t>(world().size());
  EXPECT_EQ(summed(mine), static_cast<std::int64_t>(total)) << what << ": the ranks' shares do not add up";
  EXPECT_LE(mine, total / size + block) << what << ": this rank computed more than its share";
  if (size > 1) {
    EXPECT_LT(mine, total) << what << ": one rank computed everything";
  }
}

void check_engine(std::size_t n, std::size_t p, bool streaming) {
  SCOPED_TRACE(::testing::Message() << "engine n " << n << " p " << p << (streaming ? " streaming" : " symmetric"));
  const MatrixD x = blobs<double>(n, p, 4, 31 + p);
  const std::vector<std::int32_t> l3 = some_labels(n, 3, 5), l5 = some_labels(n, 5, 6);
  const detail::EncodedLabels e3 = detail::encode_labels(l3), e5 = detail::encode_labels(l5);
  std::vector<const detail::EncodedLabels*> labs{&e3};
  if (!streaming) labs.push_back(&e5);  // two labelings evaluated together
  on_thread_counts([&] {
    detail::SilhouetteEngineOptions o;
    o.streaming = streaming;
    const auto alone = detail::silhouette_engine<double>(x.view(), labs, o);
    std::size_t units = 0;
    o.comm = &world();
    o.computed_units = &units;
    const auto shared = detail::silhouette_engine<double>(x.view(), labs, o);
    ASSERT_EQ(alone.size(), shared.size());
    for (std::size_t l = 0; l < alone.size(); ++l) EXPECT_TRUE(same_bits(alone[l], shared[l])) << "labeling " << l;
    // The rows have no duplicates, so units are rows; superblocks or row tiles of at
    // most 2,048 units.
    expect_share(units, n, 2048, "silhouette rows");
  });
}

TEST(StagesOnRanks, ExactSilhouetteMatchesOneProcess) {
  check_engine(9000, 5, false);   // direct differences, 35 superblocks of 256 units
  check_engine(6000, 40, false);  // GEMM tiles
  check_engine(5000, 5, true);    // streaming: row tiles
}

TEST(StagesOnRanks, SilhouetteEstimateMatchesOneProcess) {
  for (const std::size_t p : {std::size_t{6}, std::size_t{40}}) {
    SCOPED_TRACE(::testing::Message() << "p " << p);
    const std::size_t n = 8000, m = 900;
    const MatrixD x = blobs<double>(n, p, 4, 77 + p);
    const std::vector<std::int32_t> labels = some_labels(n, 4, 8);
    on_thread_counts([&] {
      std::vector<SilhouetteSampleRow> ra, rs;
      const SilhouetteEstimate alone =
          detail::silhouette_estimate_rows<double>(detail::RowSource<double>(x.view()), labels, m, 3, &ra);
      std::size_t computed = 0;
      const SilhouetteEstimate shared = detail::silhouette_estimate_rows<double>(
          detail::RowSource<double>(x.view()), labels, m, 3, &rs, &world(), &computed);
      EXPECT_TRUE(same_bits(alone.mean, shared.mean)) << alone.mean << " vs " << shared.mean;
      EXPECT_TRUE(same_bits(alone.standard_error, shared.standard_error));
      EXPECT_EQ(alone.rows, shared.rows);
      ASSERT_EQ(ra.size(), rs.size());
      for (std::size_t i = 0; i < ra.size(); ++i) {
        EXPECT_EQ(ra[i].row, rs[i].row);
        EXPECT_TRUE(same_bits(ra[i].value, rs[i].value)) << "sampled row " << i;
      }
      expect_share(computed, alone.rows, 64, "sampled rows");
      // The public function is the oracle of the one-process path.
      const SilhouetteEstimate pub = silhouette_estimate<double>(x.view(), labels, m, 3);
      EXPECT_TRUE(same_bits(pub.mean, alone.mean));
    });
  }
}

TEST(StagesOnRanks, CriteriaOfOneLabelingMatchOneProcess) {
  const std::size_t n = 5000, p = 7;
  const MatrixD x = blobs<double>(n, p, 3, 99);
  const std::vector<std::int32_t> labels = some_labels(n, 3, 10);
  const detail::RowSource<double> rows(
      n, p, [&](std::size_t i, double* dst) { std::memcpy(dst, x.row(i), p * sizeof(double)); });
  on_thread_counts([&] {
    for (const std::size_t sample : {std::size_t{0}, std::size_t{600}}) {
      SCOPED_TRACE(::testing::Message() << "silhouette sample " << sample);
      const SweepPoint a = detail::score_labels<double>(x.view(), labels, sample, 12);
      const SweepPoint s = detail::score_labels<double>(x.view(), labels, sample, 12, &world());
      const SweepPoint r = detail::score_labels_rows(rows, labels, sample, 12, &world());
      for (const SweepPoint* q : {&s, &r}) {
        EXPECT_TRUE(same_bits(a.silhouette, q->silhouette)) << a.silhouette << " vs " << q->silhouette;
        EXPECT_TRUE(same_bits(a.silhouette_se, q->silhouette_se));
        EXPECT_TRUE(same_bits(a.calinski_harabasz, q->calinski_harabasz));
        EXPECT_TRUE(same_bits(a.davies_bouldin, q->davies_bouldin));
        EXPECT_EQ(a.sizes, q->sizes);
      }
      // The exact mean is scikit-learn's (silhouette_score), the oracle of one process.
      if (sample == 0) EXPECT_TRUE(same_bits(a.silhouette, silhouette_score<double>(x.view(), labels)));
    }
  });
}

TEST(StagesOnRanks, StabilityFitsMatchOneProcess) {
  const std::size_t n = 3000, p = 4;
  const MatrixD x = blobs<double>(n, p, 3, 123);
  const std::vector<std::size_t> ks{2, 3, 4, 5, 7};
  std::size_t fits = 0;
  detail::KChoice choice;
  choice.pairs = 4;
  choice.seed = 9;
  choice.fit = [&](std::span<const std::size_t> rows, std::size_t k, std::uint64_t seed) {
    ++fits;
    const MatrixD sub = take_rows<double, std::size_t>(x.view(), rows);
    KMeansParams kp;
    kp.n_clusters = k;
    kp.n_init = 2;
    kp.random_state = seed;
    return fit_kmeans<double>(sub.view(), kp).labels;
  };
  on_thread_counts([&] {
    choice.comm = nullptr;
    fits = 0;
    const std::vector<double> alone = detail::stability_scores(n, ks, choice);
    EXPECT_EQ(fits, 2 * choice.pairs * ks.size());
    choice.comm = &world();
    fits = 0;
    const std::vector<double> shared = detail::stability_scores(n, ks, choice);
    EXPECT_TRUE(same_bits(alone, shared));
    for (double v : alone) EXPECT_TRUE(v > 0.0 && v <= 1.0) << v;  // mean ARIs of real fits
    // Tasks dealt in turn: at most ceil(tasks / N) of the 20 (pair, k) tasks here.
    const auto size = static_cast<std::size_t>(world().size());
    const std::size_t tasks = choice.pairs * ks.size();
    EXPECT_EQ(summed(fits), static_cast<std::int64_t>(2 * tasks));
    EXPECT_LE(fits, 2 * ((tasks + size - 1) / size));
  });
}

TEST(StagesOnRanks, EcodScoresMatchOneProcess) {
  // 6 columns (one a tile) and 70 (tiles of 8): the columns are sorted on the ranks
  // that own their tiles and gathered.
  for (const std::size_t p : {std::size_t{6}, std::size_t{70}}) {
    SCOPED_TRACE(::testing::Message() << "p " << p);
    const std::size_t n = p > 10 ? 3000 : 10000;
    MatrixD x = blobs<double>(n, p, 3, 55);
    for (std::size_t i = 0; i < n; i += 97) x(i, i % p) += 25.0;  // a few far rows
    for (std::size_t i = 0; i < n; i += 5) x(i, 1) = 1.0;         // ties in a column
    on_thread_counts([&] {
      EcodParams ep;
      ep.contamination = 0.05;
      const EcodModel alone = fit_ecod(x.view(), ep);
      std::size_t scored = 0;
      ep.comm = &world();
      ep.scored_rows = &scored;
      const EcodModel shared = fit_ecod(x.view(), ep);
      EXPECT_TRUE(same_bits(alone.decision_scores(), shared.decision_scores()));
      EXPECT_EQ(alone.labels(), shared.labels());
      EXPECT_TRUE(same_bits(alone.threshold(), shared.threshold()));
      EXPECT_TRUE(same_bits(alone.outlier_feature_means(), shared.outlier_feature_means()));
      // The gathered scores are the ones the model recomputes in-sample on any rank.
      EXPECT_TRUE(same_bits(shared.score_training(x.view()), shared.decision_scores()));
      EXPECT_EQ(alone.skew_sign(), shared.skew_sign());
      for (std::size_t j = 0; j < p; ++j) EXPECT_TRUE(same_bits(alone.sorted_column(j), shared.sorted_column(j)));
      expect_share(scored, n, 1024, "scored rows");
    });
  }
}


// ---- the preparation (fit_prep) on ranks ------------------------------------------

/// A customer table of n rows: an id, a skewed amount (log-normal, every 13th
/// missing: imputed by the median), a signed continuous score (sorted distinct
/// values, both Yeo-Johnson branches), an integer age, a constant, a binary and a
/// 4-level categorical with missing values (an indicator). `missing` false: none.
Table prep_table(std::size_t n, bool missing, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::string> ids, loan, tier;
  std::vector<double> amount, score, age, flat;
  const char* tiers[] = {"bronze", "silver", "gold", "platinum"};
  for (std::size_t i = 0; i < n; ++i) {
    ids.push_back("c" + std::to_string(i));
    amount.push_back(missing && i % 13 == 5 ? std::nan("") : std::round(std::exp(2.0 + 1.5 * rng.normal()) * 100) / 100);
    score.push_back(rng.normal() * 3.0 - 0.5);
    age.push_back(static_cast<double>(18 + static_cast<int>(rng.uniform() * 60)));
    flat.push_back(5.0);
    loan.push_back(rng.uniform() < 0.2 ? "yes" : "no");
    tier.push_back(missing && i % 17 == 3 ? "" : tiers[static_cast<std::size_t>(rng.uniform() * 4)]);
  }
  return Table("prep.csv", {test::categorical("id", ids, ColumnType::id), test::numeric("amount", amount),
                            test::numeric("score", score), test::numeric("age", age), test::numeric("flat", flat),
                            test::categorical("loan", loan, ColumnType::binary), test::categorical("tier", tier)});
}

void expect_same_prep(const PrepResult& a, const PrepResult& b) {
  EXPECT_TRUE(same_bits(a.features, b.features)) << "features";
  EXPECT_EQ(a.model.feature_names, b.model.feature_names);
  EXPECT_TRUE(same_bits(a.model.power.lambdas, b.model.power.lambdas)) << "lambdas";
  EXPECT_TRUE(same_bits(a.model.power.scaler.mean, b.model.power.scaler.mean)) << "means";
  EXPECT_TRUE(same_bits(a.model.power.scaler.scale, b.model.power.scaler.scale)) << "scales";
  ASSERT_EQ(a.model.blocks.size(), b.model.blocks.size());
  for (std::size_t k = 0; k < a.model.blocks.size(); ++k) EXPECT_TRUE(same_bits(a.model.blocks[k].impute, b.model.blocks[k].impute));
  ASSERT_EQ(a.diagnostics.size(), b.diagnostics.size());
  for (std::size_t k = 0; k < a.diagnostics.size(); ++k)
    EXPECT_EQ(a.diagnostics.items()[k].message, b.diagnostics.items()[k].message);
}

TEST(PrepOnRanks, FeaturesAndModelMatchOneProcess) {
  struct Case {
    PrepPreset preset;
    NumericTransform numeric;
    bool missing;
  };
  const Case cases[] = {{PrepPreset::standard, NumericTransform::yeo_johnson, true},
                        {PrepPreset::standard, NumericTransform::standard, true},
                        {PrepPreset::blog, NumericTransform::yeo_johnson, false}};
  for (const std::size_t n : {std::size_t{20011}, std::size_t{301}, std::size_t{50}}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(::testing::Message() << "n " << n << " preset " << to_string(c.preset) << " numeric "
                                        << to_string(c.numeric));
      const Table table = prep_table(n, c.missing, 40 + n);
      on_thread_counts([&] {
        PrepParams pp;
        pp.preset = c.preset;
        pp.numeric = c.numeric;
        const PrepResult alone = fit_prep(table, pp);
        // The one-process oracle's lambdas are those of the public fit on each column.
        if (c.numeric == NumericTransform::yeo_johnson && c.preset == PrepPreset::standard) {
          const std::size_t j = 1;  // "score": no missing value
          EXPECT_TRUE(same_bits(alone.model.power.lambdas[j],
                                fit_yeo_johnson_lambda(table.column(2).numbers.data(), n)));
        }
        std::size_t prepared = 0;
        pp.comm = &world();
        pp.prepared_rows = &prepared;
        pp.transform_every_row = false;  // each rank transforms its share; rows gathered
        const PrepResult shared = fit_prep(table, pp);
        expect_same_prep(alone, shared);
        // Nodes of the pairwise tree: at most 64, of n / 64 rows and a little more.
        if (n > 10000) expect_share(prepared, n, n / 64 + 64, "prepared rows");
        EXPECT_EQ(summed(prepared), static_cast<std::int64_t>(n));
        // The model transforms the table into the same features on every rank.
        EXPECT_TRUE(same_bits(shared.model.transform(table), shared.features));
        // Every row transformed on every rank (nothing gathered, the default): the same bits.
        pp.transform_every_row = true;
        prepared = 0;
        expect_same_prep(alone, fit_prep(table, pp));
        EXPECT_EQ(summed(prepared), static_cast<std::int64_t>(n));
      });
    }
  }
}

TEST(PrepOnRanks, AnInfiniteValueIsTheSameErrorOnEveryRank) {
  // Only a table built in memory can hold one (the CSV reader refuses them).
  std::vector<double> v(5000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 97) * 0.5;
  v[4321] = std::numeric_limits<double>::infinity();
  const Table table("inf.csv", {test::numeric("x", v), test::numeric("y", std::vector<double>(5000, 2.0))});
  std::string alone, shared;
  PrepParams pp;
  try {
    fit_prep(table, pp);
  } catch (const Error& e) {
    alone = e.what();
  }
  pp.comm = &world();
  try {
    fit_prep(table, pp);
  } catch (const Error& e) {
    shared = e.what();
  }
  EXPECT_NE(alone, "");
  EXPECT_EQ(alone, shared);
}

}  // namespace

int main(int argc, char** argv) {
  if (launched_by_mpi()) start_mpi(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  // Every rank must pass; the launcher reports a failing one.
  finish_mpi();
  return rc;
}
