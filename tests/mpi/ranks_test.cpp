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
//    same functions without a communicator, on one and on two threads; the latent-class
//    model's posterior stays on the ranks: each holds its own rows' (its share of the
//    blocks, the ranks' rows in rank order making the n rows), the one process's bits,
//    and a fit receives per row only the labels (4 bytes), not the posterior;
//  * fit_lca (its starts' seeding included), fit_lca_from and fit_lca_from_model (EM
//    from a sample's class parameters, each rank computing its own rows' starting
//    posterior) read only the rank's own rows: with the other ranks' rows spoilt, the
//    one-process fit bit for bit;
//  * fit_kprototypes_from with the batch algorithm shares the rows of its passes:
//    each rank reads only its blocks' rows (the others are spoilt on purpose), and the
//    run, its empty clusters' refills included, is one process's bit for bit;
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
//  * the profiles (profile_segments, the representatives in a stored space and in
//    rows written on demand) with the world communicator: every field bit for bit
//    that of one process, on a table with numeric, categorical, binary and missing
//    values and rows outside the segments; each rank summed and searched about 1/N
//    of the rows and selected the quartiles among about 1/N of the values.
//  * the profiles' order statistics (minimum, quartiles, median, maximum of every
//    numeric column and group) selected among each rank's own rows: bit for bit one
//    process's and a sort's, on bank.csv and on ties, NaN, -0.0 and +0.0, denormals,
//    columns missing in a segment, segments of 1 to 3 rows on one rank or split;
//    each rank read about 1/N of the rows for them.
//  * the maps' projections (fit_pca, fit_famd, fit_mca with a communicator: the ranks
//    share the passes over the row blocks) return every field of the one-process
//    model bit for bit, on numeric and mixed data, and each rank projects about 1/N
//    of the rows and holds only their coordinates (its share of the writing's rounds,
//    detail::RowRounds, over one round and several), the one process's rows with the
//    one process's signs; a bad value in one rank's rows is every rank's error,
//    worded as one process words it. segments.csv and maps.csv written by the ranks
//    (each formatting the rows whose coordinates it holds) and report.html's map
//    points (fetched by rank 0) are those of one process holding every row.
//  * explain_segments with the world communicator (rank 0 fits the surrogate and
//    sends it, the ranks share the accuracies' row blocks and the SHAP rows): every
//    field of the explanation and the surrogate's bytes are those of one process, on
//    one and two threads; one rank fitted, and each predicted and explained about 1/N
//    of the rows.
//  * fit_prep with the world communicator (each rank encodes and transforms its nodes
//    of the scaler's pairwise tree; distinct values, sums and rows exchanged) returns
//    the one-process features, lambdas, means, scales, medians and diagnostics bit for
//    bit, on a table with missing values and skewed columns, standard and blog
//    presets, with rows enough for every rank and so few that some have none; each
//    rank prepared about 1/N of the rows; an infinite value, and values too large to
//    transform found on different ranks, are the same error on every rank.
//  * fit_mixed_plan (lca's and k-prototypes' columns: medians, power transform,
//    missing levels) from each rank's share of the rows: one process's plan, and the
//    same with the other ranks' rows spoilt;
//  * whether a numeric identifier's numbers are all distinct over the ranks
//    (io_detail::numbers_distinct_on_ranks): one process's sort-and-compare decision
//    on numbers in file order, shuffled, with a repeat within or across ranks, and
//    +0.0 against -0.0; no rank receives more than about 1/N of the numbers.
//  * the exact selection of order statistics over the ranks' values
//    (detail::select_order_statistics, medians_on_ranks) gives a sort's value at every
//    position asked, on sets with ties, NaN, -0.0 and +0.0, sets smaller than the rank
//    count; fit_ecod's columns (merged from each rank's sorted rows), skewness signs,
//    scores, threshold and labels, and fit_prep's medians (selected among each rank's
//    rows) are the one-process bits, on 1 and 2 threads, and each rank sorted or
//    selected among about 1/N of the values.
//  * read_csv_on_ranks (each rank splits and types its own rows, the columns'
//    summaries merged so that every type and level is the one process's, the typed
//    rows gathered) against CsvFileSource in one process, field by field and bit for
//    bit, with the provenance's bytes and hash and every diagnostic, on bank.csv, the
//    fixtures' CSV files and messy and bad files written here (decimal commas,
//    thousands separators, dates, markers, stray cells, quoted delimiters, quotes and
//    line ends, a quoted line end at every rank boundary for 2 and 3 ranks, BOM, CRLF,
//    lone CR, identifiers, ragged rows, bad quoting and UTF-8, empty files; a quoted line
//    end at one rank boundary only, the other ranks' parts unmoved): the same
//    table or the same error; the fast path was taken where it should be, and each
//    rank typed about 1/N of bank.csv's rows.
//  * the column plan (fit_prep's missing counts, the levels rows use, one-hot and
//    ordinal categories, the blog preset's distinct numbers, the columns left out)
//    counted on each rank's rows and merged: every block, feature name and
//    diagnostic of one process, on bank.csv and on a table with a level on one rank
//    only, a level no row uses, rare levels of tied counts, too many levels, all-missing
//    and constant columns and signed zeros; the blog preset's refusal names the first
//    missing row; each rank counted about 1/N of the rows. infer_types' warnings about
//    the columns' types, given from the ranks' merged summaries: the one-process lines
//    in the one-process order, for a file that triggers each of them.
//  * numbers written with commas and dates typed on the ranks (each rank's evidence
//    merged so that every rank takes the one-process decision): thousands separators,
//    decimal commas, comma evidence that differs between the ranks' rows (one rank's
//    "1,234", another's "1,5"), dates in every form with the order or a time decided
//    on one rank, and dates spoilt by one bad cell on one rank: the one-process table,
//    diagnostics and date readings, on the fast path, each rank typing about 1/N of
//    the rows.
//  * each column's warnings and notes in the one-process order on the fast path (the
//    type warning or a date's note, the number format's note, the stray cells), for a
//    file where one column draws all three.
//  * a source read by rank 0 alone (io_detail::read_on_root, a database under mpirun):
//    every rank holds the table, provenance, diagnostics and date readings one process
//    reads, field by field and bit for bit; rank 0 read and no other rank did; rank 0's
//    error is every rank's, with the one-process type and message.
//  * the Calinski-Harabasz and Davies-Bouldin criteria with the world communicator
//    (detail::calinski_harabasz_rows / davies_bouldin_rows): bit for bit the criteria
//    of one process, float and double, on 30,000 rows and a rank without blocks, with
//    unbalanced labels that are not 0..k-1, some present in one rank's rows only; every
//    row outside a rank's share of the blocks NaN and its label a value no row has, no
//    rank read one of them, each read about 1/N of the rows, and each received a few
//    running sums and label counts, not 8 bytes a row. A non-finite value in a later
//    rank's rows is the one-process error. The sweep's evaluation of every k
//    (evaluate_fits with KChoice::comm) gives the one-process criteria too.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <typeinfo>

#include <fmt/format.h>

#include "core/order_select.hpp"
#include "core/block_share.hpp"
#include "explain/representatives.hpp"
#include "io/internal.hpp"
#include "io/source_bytes.hpp"
#include "metrics/row_source.hpp"
#include "metrics/silhouette_engine.hpp"
#include "pipeline/outputs.hpp"
#include "prep/numeric.hpp"
#include "pipeline/sweep.hpp"
#include "segmenta/cluster.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/explain.hpp"
#include "segmenta/metrics.hpp"
#include "segmenta/outliers.hpp"
#include "segmenta/prep.hpp"
#include "segmenta/reduce.hpp"
#include "segmenta/report.hpp"
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

/// a: one process's model (every row's posterior); b: the same fit, maybe on the
/// ranks, holding the posterior of its rows [posterior_first_row, + rows) only.
void expect_same_lca(const LcaModel& a, const LcaModel& b) {
  EXPECT_EQ(a.labels, b.labels);
  ASSERT_EQ(a.posterior_first_row, 0u);
  ASSERT_EQ(a.posterior.rows(), a.labels.size());
  ASSERT_EQ(b.posterior.cols(), a.posterior.cols());
  ASSERT_LE(b.posterior_first_row + b.posterior.rows(), a.posterior.rows());
  EXPECT_TRUE(b.posterior.rows() == 0 || std::memcmp(a.posterior.row(b.posterior_first_row), b.posterior.data(),
                                                     b.posterior.rows() * b.posterior.cols() * sizeof(double)) == 0)
      << "posterior of rows " << b.posterior_first_row << ".." << b.posterior_first_row + b.posterior.rows();
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

/// A model fitted on the ranks holds the posterior of its own rows only: the ranks'
/// rows follow each other in rank order and make the n rows, and no rank holds more
/// than its share of the 1,024-row blocks (one process: every row).
void expect_own_posterior_rows(const LcaModel& m, std::size_t n) {
  const Communicator& comm = world();
  const std::int64_t mine[] = {static_cast<std::int64_t>(m.posterior_first_row),
                               static_cast<std::int64_t>(m.posterior.rows())};
  const std::vector<std::int64_t> all = comm.allgather(std::span<const std::int64_t>(mine));
  std::int64_t at = 0;
  for (std::size_t r = 0; r + 1 < all.size(); r += 2) {
    if (all[r + 1] > 0) EXPECT_EQ(all[r], at) << "rank " << r / 2 << "'s posterior rows";
    at += all[r + 1];
  }
  EXPECT_EQ(at, static_cast<std::int64_t>(n)) << "the ranks' posterior rows";
  const auto ranks = static_cast<std::size_t>(comm.size());
  const std::size_t blocks = (n + 1023) / 1024, most = std::min(n, (blocks + ranks - 1) / ranks * 1024);
  EXPECT_LE(m.posterior.rows(), most) << "a rank holds more than its share of the posterior";
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

/// The data with every row outside this rank's share of the blocks spoilt (numbers
/// moved far, codes rotated; nothing with one rank): a function of several ranks that
/// reads only its own rows returns what it returns on the clean data.
struct Spoilt {
  MatrixD x;
  Matrix<std::int32_t> codes;
};
Spoilt spoil_other_ranks_rows(const MatrixD& x, const Matrix<std::int32_t>& codes,
                                    const std::vector<std::int32_t>& levels, std::size_t block_rows = 4096) {
  Spoilt s{x, codes};
  const Blocks blocks{std::max(x.rows(), codes.rows()), block_rows};
  const detail::BlockShare share = detail::BlockShare::of(&world(), blocks.count());
  const std::size_t r0 = share.distributed() ? share.begin_row(blocks) : 0;
  const std::size_t r1 = share.distributed() ? share.end_row(blocks) : blocks.n;
  for (std::size_t i = 0; i < blocks.n; ++i) {
    if (i >= r0 && i < r1) continue;
    for (std::size_t j = 0; j < x.cols(); ++j) s.x(i, j) = 1e3 + 7.0 * static_cast<double>(j);
    for (std::size_t j = 0; j < codes.cols(); ++j) s.codes(i, j) = (std::max(codes(i, j), 0) + 1) % levels[j];
  }
  return s;
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
    expect_own_posterior_rows(shared, n);
    // The starts' seeding, EM and the columns' statistics read only the rank's own
    // rows: with the other ranks' rows spoilt, the same fit.
    const Spoilt spoilt = spoil_other_ranks_rows(d.x, d.codes, d.levels, 1024);
    expect_same_lca(alone, fit_lca(spoilt.x.view(), spoilt.codes.view(), d.levels, params));
    EXPECT_GE(alone.n_iter, 2u);  // the M-step ran on the E-step's exchanged sums
    // From given responsibilities (the final fit of a sampled sweep).
    LcaParams from = params;
    from.comm = nullptr;
    const LcaModel a2 = fit_lca_from(d.x.view(), d.codes.view(), d.levels, alone.posterior.view(), from);
    from.comm = &world();
    const LcaModel s2 = fit_lca_from(d.x.view(), d.codes.view(), d.levels, alone.posterior.view(), from);
    expect_same_lca(a2, s2);
    expect_own_posterior_rows(s2, n);
    // From given responsibilities too.
    expect_same_lca(a2, fit_lca_from(spoilt.x.view(), spoilt.codes.view(), d.levels, alone.posterior.view(), from));
    // From a model's class parameters (the final fit of a sampled sweep): one process's
    // fit_lca_from on the model's predict_proba, and on the ranks each computes its
    // own rows' starting posterior and reads no other rank's rows.
    LcaParams sub = params;
    sub.comm = nullptr;
    sub.n_init = 1;
    const std::size_t half = n / 2;
    const LcaModel start = fit_lca(MatrixView<double>(d.x.data(), half, d.x.cols()),
                                   MatrixView<std::int32_t>(d.codes.data(), half, d.codes.cols()), d.levels, sub);
    from.comm = nullptr;
    const LcaModel a3 =
        fit_lca_from(d.x.view(), d.codes.view(), d.levels, start.predict_proba(d.x.view(), d.codes.view()).view(), from);
    expect_same_lca(a3, fit_lca_from_model(d.x.view(), d.codes.view(), d.levels, start, from));
    from.comm = &world();
    const LcaModel s3 = fit_lca_from_model(spoilt.x.view(), spoilt.codes.view(), d.levels, start, from);
    expect_same_lca(a3, s3);
    expect_own_posterior_rows(s3, n);
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

// fit_kprototypes_from with the batch algorithm on several ranks: each rank assigns
// only the rows of its share of the 4,096-row blocks, the labels are gathered after
// each pass, and the cost, the means' sums and the level counts are folded along the
// ranks. The oracle is the same call without a communicator. On the ranks, every row
// outside this rank's share is spoilt first (numbers moved far, codes rotated): the
// fit must still be one process's on the clean rows, so a rank that read another
// rank's rows fails (with one rank nothing is spoilt).

TEST(KPrototypesOnRanks, BatchRunSharesTheRowsAndMatchesOneProcess) {
  const Mixed d = mixed(30000, 4, 3, 5, false, 33);  // 8 blocks
  const Spoilt spoilt = spoil_other_ranks_rows(d.x, d.codes, d.levels);
  const std::size_t k = 5;
  MatrixD c0(k, d.x.cols());
  Matrix<std::int32_t> m0(k, d.codes.cols());
  for (std::size_t l = 0; l < k; ++l) {  // rows from every rank's part of the table
    const std::size_t i = 17 + l * 6007;
    std::copy(d.x.row(i), d.x.row(i) + d.x.cols(), c0.row(l));
    std::copy(d.codes.row(i), d.codes.row(i) + d.codes.cols(), m0.row(l));
  }
  KPrototypesParams params;
  params.algorithm = KPrototypesAlgorithm::batch;
  params.n_clusters = k;
  params.gamma = 0.8;
  on_thread_counts([&] {
    params.comm = nullptr;
    const KPrototypesModel alone = fit_kprototypes_from(d.x.view(), d.codes.view(), c0.view(), m0.view(), params);
    EXPECT_GT(alone.n_iter, 1u);
    params.comm = &world();
    KPrototypesModel shared;
    const std::uint64_t received = received_during(
        [&] { shared = fit_kprototypes_from(spoilt.x.view(), spoilt.codes.view(), c0.view(), m0.view(), params); });
    expect_same_kproto(alone, shared);
    // What a rank receives per pass: the other ranks' labels (4 bytes a row), the
    // folds (cost and sums, twice at most) and the level counts: no row's numbers.
    const std::size_t passes = alone.n_iter + 2, n = d.x.rows();
    const std::size_t levels = static_cast<std::size_t>(d.levels[0] + d.levels[1] + d.levels[2]);
    EXPECT_LE(received, passes * (4 * n + 2 * 8 * (1 + k * d.x.cols()) +
                                  static_cast<std::size_t>(world().size()) * 8 * k * levels));
  });
}

// The batch run's refill of an empty cluster (the row farthest from its prototype,
// over every rank's rows) on the ranks. One numeric column, prototypes A = 0, C = 5,
// B = 10; 4,499 rows at 2.4 (A's), 4,499 at 7.6 (B's), and two rows C takes first,
// one near 2.5 and one near 7.5, in different ranks' blocks. After the first update
// A = 2.4 and B = 7.6 take C's two rows and C is empty: it takes the farther of the
// two, on the last rank's rows in one variant and on rank 0's in the other.
TEST(KPrototypesOnRanks, BatchRefillOfEmptyClustersMatchesOneProcess) {
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(::testing::Message() << "variant " << variant);
    const std::size_t n = 9000;  // 3 blocks
    MatrixD x(n, 1);
    Matrix<std::int32_t> codes(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
      x(i, 0) = i % 2 == 0 ? 2.4 : 7.6;
      codes(i, 0) = static_cast<std::int32_t>(i % 3 == 0);
    }
    const std::size_t low = variant == 0 ? 100 : 8500, high = variant == 0 ? 8500 : 100;
    x(low, 0) = variant == 0 ? 2.6 : 2.7;
    x(high, 0) = variant == 0 ? 7.3 : 7.4;
    MatrixD c0(3, 1);
    c0(0, 0) = 0;
    c0(1, 0) = 5;
    c0(2, 0) = 10;
    const Matrix<std::int32_t> m0(3, 1, 0);
    KPrototypesParams params;
    params.algorithm = KPrototypesAlgorithm::batch;
    params.n_clusters = 3;
    params.gamma = 1e-6;  // the codes only break no tie
    on_thread_counts([&] {
      params.comm = nullptr;
      const KPrototypesModel alone = fit_kprototypes_from(x.view(), codes.view(), c0.view(), m0.view(), params);
      EXPECT_GE(alone.empty_reseeds, 1u) << "the empty-cluster refill was not exercised";
      const Spoilt spoilt = spoil_other_ranks_rows(x, codes, {2});
      params.comm = &world();
      const KPrototypesModel shared =
          fit_kprototypes_from(spoilt.x.view(), spoilt.codes.view(), c0.view(), m0.view(), params);
      expect_same_kproto(alone, shared);
    });
  }
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
      // Per row, only the labels travel at the end (4 bytes a row), not the posterior
      // (k doubles a row), which stays on the rank that computed it.
      EXPECT_LE(static_cast<double>(lca_bytes[0]),
                6.0 * 2.0 * 8.0 * static_cast<double>(lca_width) + 4.0 * static_cast<double>(n))
          << "bytes received by a fit of 4 iterations (5 folds of the sums)";

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

// ---------------------------------------------------------------------------
// The profiles
// ---------------------------------------------------------------------------

void expect_same_profile(const SegmentProfile& a, const SegmentProfile& b) {
  EXPECT_EQ(a.segment, b.segment);
  EXPECT_EQ(a.size, b.size);
  EXPECT_TRUE(same_bits(a.share, b.share));
  ASSERT_EQ(a.columns.size(), b.columns.size());
  for (std::size_t c = 0; c < a.columns.size(); ++c) {
    const ColumnProfile &x = a.columns[c], &y = b.columns[c];
    SCOPED_TRACE(::testing::Message() << "segment " << a.segment << " column " << x.name);
    EXPECT_EQ(x.column, y.column);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.type, y.type);
    const NumericSummary &u = x.numeric, &v = y.numeric;
    EXPECT_EQ(u.count, v.count);
    EXPECT_EQ(u.missing, v.missing);
    for (const auto m : {&NumericSummary::mean, &NumericSummary::std, &NumericSummary::min, &NumericSummary::q1,
                         &NumericSummary::median, &NumericSummary::q3, &NumericSummary::max})
      EXPECT_TRUE(same_bits(u.*m, v.*m)) << u.*m << " vs " << v.*m;
    const CategoricalSummary &p = x.categorical, &q = y.categorical;
    EXPECT_EQ(p.count, q.count);
    EXPECT_EQ(p.missing, q.missing);
    EXPECT_EQ(p.mode, q.mode);
    EXPECT_TRUE(same_bits(p.mode_share, q.mode_share));
    ASSERT_EQ(p.levels.size(), q.levels.size());
    for (std::size_t l = 0; l < p.levels.size(); ++l) {
      EXPECT_EQ(p.levels[l].level, q.levels[l].level);
      EXPECT_EQ(p.levels[l].count, q.levels[l].count);
      EXPECT_TRUE(same_bits(p.levels[l].share, q.levels[l].share));
      EXPECT_TRUE(same_bits(p.levels[l].lift, q.levels[l].lift));
    }
  }
  ASSERT_EQ(a.distinguishing.size(), b.distinguishing.size());
  for (std::size_t f = 0; f < a.distinguishing.size(); ++f) {
    const DistinguishingFeature &x = a.distinguishing[f], &y = b.distinguishing[f];
    EXPECT_EQ(x.column, y.column);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.level, y.level);
    EXPECT_TRUE(same_bits(x.score, y.score));
    EXPECT_TRUE(same_bits(x.segment_value, y.segment_value));
    EXPECT_TRUE(same_bits(x.population_value, y.population_value));
  }
  EXPECT_EQ(a.representatives, b.representatives);
}

void expect_same_profiles(const Profiles& a, const Profiles& b) {
  expect_same_profile(a.population, b.population);
  ASSERT_EQ(a.segments.size(), b.segments.size());
  for (std::size_t s = 0; s < a.segments.size(); ++s) expect_same_profile(a.segments[s], b.segments[s]);
  ASSERT_EQ(a.unassigned.has_value(), b.unassigned.has_value());
  if (a.unassigned) expect_same_profile(*a.unassigned, *b.unassigned);
  EXPECT_TRUE(profiles_to_csv(a) == profiles_to_csv(b)) << "profiles.csv differs";
}

/// n rows: numeric columns with missing values, ties and magnitudes whose sum
/// depends on the order of additions (1e16 beside ones), a column missing in every
/// row of one segment, categorical and binary columns with missing values, an id.
Table profile_table(std::size_t n, const std::vector<std::int32_t>& labels) {
  Rng rng(41);
  std::vector<double> a(n), b(n), c(n), d(n);
  std::vector<std::string> job(n), flag(n), id(n);
  const char* jobs[] = {"admin", "blue", "retired", "student", "tech"};
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = rng.uniform() < 0.03 ? std::nan("") : 40.0 + 10.0 * rng.normal() + labels[i % labels.size()];
    b[i] = static_cast<double>(rng.below(7));  // ties
    c[i] = i % 211 == 0 ? 1e16 : 1.0 + 0.1 * rng.uniform();
    d[i] = labels[i] == 2 ? std::nan("") : rng.normal();
    job[i] = rng.uniform() < 0.05 ? "" : jobs[(rng.below(5) + static_cast<std::size_t>(labels[i] + 1)) % 5];
    flag[i] = rng.uniform() < 0.01 ? "" : (rng.uniform() < 0.3 + 0.1 * labels[i] ? "yes" : "no");
    id[i] = "r" + std::to_string(i);
  }
  std::vector<Column> cols;
  cols.push_back(test::numeric("age", std::move(a)));
  cols.push_back(test::categorical("job", job));
  cols.push_back(test::numeric("visits", std::move(b)));
  cols.push_back(test::categorical("id", id, ColumnType::id));
  cols.push_back(test::numeric("balance", std::move(c)));
  cols.push_back(test::categorical("flag", flag, ColumnType::binary));
  cols.push_back(test::numeric("score", std::move(d)));
  return Table("profiles", std::move(cols));
}

TEST(ProfilesOnRanks, MatchOneProcess) {
  const std::size_t n = 30000, q = 5, k = 4;
  std::vector<std::int32_t> labels = some_labels(n, k, 12);
  for (std::size_t i = 0; i < n; i += 13) labels[i] = -1;  // rows left out of the segments
  const Table table = profile_table(n, labels);
  MatrixD x = blobs<double>(n, q, k, 64);
  for (std::size_t i = 100; i < n; i += 1000) std::memcpy(x.row(i), x.row(i - 100), q * sizeof(double));  // tied rows
  MatrixD centres(k, q);
  for (std::size_t s = 0; s < k; ++s)
    for (std::size_t j = 0; j < q; ++j) centres(s, j) = 3.0 * static_cast<double>((s * 7 + j * 3) % 5);
  const detail::FeatureRow row = [&](std::size_t i, double* dst) { std::memcpy(dst, x.row(i), q * sizeof(double)); };
  std::size_t clustered = 0, values = 0;
  for (const std::int32_t l : labels) clustered += l >= 0;
  on_thread_counts([&] {
    for (const bool given_centres : {false, true}) {
      SCOPED_TRACE(given_centres ? "given centres" : "centres the segments' means");
      const ViewD centers = given_centres ? centres.view() : ViewD{};
      ProfileParams pp;
      pp.representatives = 7;
      const Profiles alone = profile_segments(table, labels, pp, x.view(), centers);
      detail::ProfileWork work;
      pp.comm = &world();
      const Profiles shared = detail::profile_segments_counted(table, labels, pp, x.view(), centers, &work);
      expect_same_profiles(alone, shared);
      // The oracle of the representatives: the public search on one process.
      const auto reps = representative_rows(x.view(), labels, 7, centers);
      for (std::size_t s = 0; s < k; ++s) EXPECT_EQ(alone.segments[s].representatives, reps[s]);
      // Each rank's share: rows by blocks of 4,096, for the sums and the order
      // statistics (a block's rows give two values a numeric column: its segment's or
      // the unassigned rows', and the population's).
      expect_share(work.summed_rows, n, 4096, "summed rows");
      expect_share(work.searched_rows, clustered, 4096, "searched rows");
      expect_share(work.ordered_rows, n, 4096, "rows read for the order statistics");
      values = 0;
      std::size_t numeric = 0;
      for (const SegmentProfile* sp : {&alone.population, &*alone.unassigned})
        for (const ColumnProfile& cp : sp->columns) values += cp.numeric.count;
      for (const SegmentProfile& sp : alone.segments)
        for (const ColumnProfile& cp : sp.columns) values += cp.numeric.count;
      for (const ColumnProfile& cp : alone.population.columns) numeric += cp.type == ColumnType::numeric;
      expect_share(work.ordered_values, values, 2 * numeric * 4096, "ordered values");
    }
    // The mixed methods' path: rows written on demand.
    detail::ProfileWork work;
    const auto alone = detail::representative_rows_of(q, row, labels, 6);
    const auto shared = detail::representative_rows_of(q, row, labels, 6, &world(), &work);
    EXPECT_EQ(alone, shared);
    EXPECT_EQ(alone, representative_rows(x.view(), labels, 6));
    expect_share(work.searched_rows, clustered, 4096, "searched rows (rows on demand)");
  });
}

// ---- Writing the per-row files on the ranks (gather_bytes, write_rows) ----------
// Rank 0 receives every rank's bytes in rank order (gather_bytes); write_rows has
// each rank format its share of every round's row blocks and rank 0 write the text
// in row order: the file is compared with a naive loop over the rows, on 1 and 2
// threads and with rounds of one and of 16 blocks a rank, and each rank formatted
// about 1/N of the rows. A failure while formatting on the last rank, or while writing
// on rank 0, is every rank's (no rank left waiting). render_outputs with the world's
// share gives the one process's segments.csv and maps.csv (maps.csv's rows shared
// too, as in a run, where every rank holds the maps).

/// The files of a stream, whole, by name.
class TextFiles final : public detail::OutputStream {
 public:
  void begin(const std::string& name) override { files_.emplace_back(name, std::string()); }
  void write(std::string_view piece) override {
    if (fail_after_ != 0 && files_.back().second.size() + piece.size() > fail_after_)
      throw IoError("out.csv: write failed: No space left on device");
    files_.back().second.append(piece);
  }
  void end() override {}
  const std::string& file(const std::string& name) const {
    for (const auto& [n, text] : files_)
      if (n == name) return text;
    throw std::runtime_error("no file " + name);
  }
  std::size_t fail_after_ = 0;  // a write past this many bytes of a file fails (0: never)

 private:
  std::vector<std::pair<std::string, std::string>> files_;
};

/// Where two texts first differ (npos when they are equal): for a failure that says
/// where, without gtest's line diff of two files of megabytes.
std::size_t first_difference(const std::string& a, const std::string& b) {
  const auto m = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return m.first == a.end() && m.second == b.end() ? std::string::npos : static_cast<std::size_t>(m.first - a.begin());
}

/// A row's text whose length varies with the row, a formatted double in it.
void test_row(std::size_t i, std::string& out) {
  out += std::to_string(i);
  out += ',';
  out += format_double(std::sin(static_cast<double>(i)) * 1e3);
  out.append(i % 7, 'x');
  out += '\n';
}

TEST(WriteOnRanks, GatherBytesReachOneRankInRankOrder) {
  const Communicator& comm = world();
  const int size = comm.size(), rank = comm.rank();
  for (const int root : {0, size - 1}) {
    SCOPED_TRACE(::testing::Message() << "root " << root);
    const std::uint64_t before = comm.bytes_gathered();
    const std::string mine(static_cast<std::size_t>(3 * rank + 1), static_cast<char>('a' + rank));
    const std::vector<std::string> parts = comm.gather_bytes(mine, root);
    if (rank != root) {
      EXPECT_TRUE(parts.empty());
      continue;
    }
    ASSERT_EQ(parts.size(), static_cast<std::size_t>(size));
    std::uint64_t others = 0;
    for (int r = 0; r < size; ++r) {
      EXPECT_EQ(parts[static_cast<std::size_t>(r)],
                std::string(static_cast<std::size_t>(3 * r + 1), static_cast<char>('a' + r)));
      if (r != root) others += static_cast<std::uint64_t>(3 * r + 1);
    }
    EXPECT_EQ(comm.bytes_gathered() - before, others);
  }
  // Empty parts: root gets N empty strings.
  const std::vector<std::string> none = comm.gather_bytes({}, 0);
  if (rank == 0) {
    ASSERT_EQ(none.size(), static_cast<std::size_t>(size));
    for (const auto& part : none) EXPECT_TRUE(part.empty());
  }
}

TEST(WriteOnRanks, RowsAreTheOneProcessFile) {
  const Communicator& comm = world();
  const std::size_t size = static_cast<std::size_t>(comm.size());
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, detail::kRowFileBlock, std::size_t{200'003}}) {
    std::string naive;
    for (std::size_t i = 0; i < n; ++i) test_row(i, naive);
    on_thread_counts([&] {
      for (const std::size_t per_rank : {std::size_t{1}, std::size_t{16}}) {
        SCOPED_TRACE(::testing::Message() << "n " << n << ", " << per_rank << " block(s) a rank a round");
        std::atomic<std::size_t> formatted{0}, own_bytes{0};
        const detail::RowFormatter format = [&](std::size_t b, std::size_t e, std::string& out) {
          formatted += e - b;
          const std::size_t before = out.size();
          for (std::size_t i = b; i < e; ++i) test_row(i, out);
          own_bytes += out.size() - before;
        };
        TextFiles alone, shared;
        alone.begin("rows.csv");
        detail::write_rows(nullptr, n, format, &alone, nullptr, per_rank);
        EXPECT_EQ(formatted.exchange(0), n);
        own_bytes = 0;
        EXPECT_EQ(first_difference(alone.file("rows.csv"), naive), std::string::npos);

        shared.begin("rows.csv");
        detail::RowWriteCounts counts;
        detail::write_rows(&comm, n, format, comm.rank() == 0 ? &shared : nullptr, &counts, per_rank);
        if (comm.rank() == 0) {
          EXPECT_EQ(first_difference(shared.file("rows.csv"), naive), std::string::npos);
        }
        EXPECT_EQ(counts.rows_formatted, formatted.load());
        EXPECT_EQ(summed(counts.rows_formatted), static_cast<std::int64_t>(n));
        // Each rank's share of a round is within a block of 1/N of it.
        EXPECT_LE(counts.rows_formatted, n / size + counts.rounds * detail::kRowFileBlock);
        const std::size_t blocks = (n + detail::kRowFileBlock - 1) / detail::kRowFileBlock;
        if (size > 1) {
          const std::size_t per_round = std::max<std::size_t>(per_rank, static_cast<std::size_t>(num_threads())) * size;
          EXPECT_EQ(counts.rounds, (blocks + per_round - 1) / per_round);
          if (n > 100'000) {
            EXPECT_LT(counts.rows_formatted, n / size + n / 10) << "this rank formatted more than about 1/N";
          }
          // Rank 0 received the others' text and no more.
          if (comm.rank() == 0) {
            EXPECT_EQ(counts.bytes_received, naive.size() - own_bytes.load());
          }
        }
      }
    });
  }
}

TEST(WriteOnRanks, FailureOnAnyRankIsEveryRanks) {
  const Communicator& comm = world();
  const int last = comm.size() - 1;
  const std::size_t n = 100'000;
  const detail::RowFormatter format = [&](std::size_t b, std::size_t e, std::string& out) {
    if (comm.rank() == last && b >= 5 * detail::kRowFileBlock)
      throw DataError("rows.csv: cannot format a row");
    for (std::size_t i = b; i < e; ++i) test_row(i, out);
  };
  TextFiles out;
  out.begin("rows.csv");
  try {
    detail::write_rows(&comm, n, format, comm.rank() == 0 ? &out : nullptr, nullptr, 1);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()), "rows.csv: cannot format a row");
  }
  // Rank 0's write fails past 300 kB: every rank stops with its error.
  TextFiles small;
  small.fail_after_ = 300'000;
  small.begin("rows.csv");
  const detail::RowFormatter fine = [](std::size_t b, std::size_t e, std::string& text) {
    for (std::size_t i = b; i < e; ++i) test_row(i, text);
  };
  try {
    detail::write_rows(&comm, n, fine, comm.rank() == 0 ? &small : nullptr, nullptr, 1);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), "out.csv: write failed: No space left on device");
  }
  // And afterwards the ranks still exchange alike.
  EXPECT_NO_THROW(agree_on_failure(comm, [] {}));
}

/// A copy of `r` whose maps hold every row, as one process's do: the ranks' rows
/// (each rank's share of the rounds of blocks, detail::RowRounds) gathered.
SegmentationResult with_whole_maps(const SegmentationResult& r) {
  SegmentationResult w = r;
  const Communicator& comm = world();
  const std::size_t n = r.rows.size();
  for (auto& m : w.methods) {
    if (!m.maps || !m.maps->rank_rows) continue;
    m.maps->rank_rows = false;
    for (auto& [name, values] : m.maps->columns) {
      const std::vector<std::string> parts = comm.allgather_bytes(
          std::string_view(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double)));
      std::vector<double> whole(n, -1.0);
      for (int q = 0; q < comm.size(); ++q) {
        detail::RowRounds rounds = detail::RowRounds::of(&comm, n);
        rounds.rank = q;
        const std::string& part = parts[static_cast<std::size_t>(q)];
        EXPECT_EQ(part.size(), rounds.own_rows() * sizeof(double)) << name << " of rank " << q;
        rounds.for_each_own_block([&](std::size_t b, std::size_t e, std::size_t, std::size_t local) {
          if ((local + e - b) * sizeof(double) <= part.size())
            std::memcpy(whole.data() + b, part.data() + local * sizeof(double), (e - b) * sizeof(double));
        });
      }
      values = std::move(whole);
    }
  }
  return w;
}

TEST(WriteOnRanks, SegmentsAndMapsAreTheOneProcessFiles) {
  const Communicator& comm = world();
  RunParams p;
  p.method = Method::kmeans;
  p.k = KSpec::parse("3");
  p.quiet = true;
  p.explain = false;
  p.report = true;  // its maps are drawn from the points rank 0 fetches
  p.maps = true;
  const SegmentationResult r = segment(read_csv(test::bank_small()), p);
  ASSERT_TRUE(r.methods.front().maps.has_value());
  // Under mpirun each rank holds only the coordinates of its rows (PCA and t-SNE's).
  const MethodMaps& maps = *r.methods.front().maps;
  const std::size_t n = r.rows.size();
  const detail::RowRounds rounds = detail::RowRounds::of(&comm, n);
  EXPECT_EQ(maps.rank_rows, comm.size() > 1);
  ASSERT_GE(maps.columns.size(), 4u);
  for (const auto& [name, values] : maps.columns) {
    // (Its 4,069 clustered rows are one block: on 3 ranks, the last rank's; MapsOnRanks
    // checks the shares of more rows.)
    EXPECT_EQ(values.size(), rounds.own_rows()) << name;
    EXPECT_EQ(summed(values.size()), static_cast<std::int64_t>(n)) << name;
  }
  const SegmentationResult whole = with_whole_maps(r);
  TextFiles alone;
  detail::render_outputs(whole, &alone, nullptr);
  if (comm.size() > 1) {
    // Maps on the ranks cannot be written by one rank alone.
    TextFiles lone;
    EXPECT_THROW(detail::render_outputs(r, &lone, nullptr), Error);
  }
  detail::RowShare share;
  share.comm = &comm;
  TextFiles shared;
  detail::render_outputs(r, comm.rank() == 0 ? &shared : nullptr, &share);
  if (comm.rank() != 0) return;
  for (const char* name : {"segments.csv", "maps.csv", "profiles.csv", "model.json"})
    EXPECT_EQ(first_difference(shared.file(name), alone.file(name)), std::string::npos) << name;
  EXPECT_EQ(shared.file("segments.csv").rfind("row,segment,outlier,outlier_score\n0,", 0), 0u);
  // The report draws the same map points with the same coordinates.
  const nlohmann::json drawn = extract_report_data(shared.file("report.html"))["maps"];
  EXPECT_EQ(drawn, extract_report_data(alone.file("report.html"))["maps"]);
  EXPECT_EQ(drawn["kmeans"].size(), 2u) << "PCA and t-SNE";
  if (comm.size() > 1) {
    EXPECT_TRUE(share.rows_done);
    EXPECT_GE(share.rounds, 2u);
    // Rank 0 received the others' rows of segments.csv and maps.csv.
    EXPECT_GT(share.bytes_received, 0u);
    EXPECT_LT(share.bytes_received, shared.file("segments.csv").size() + shared.file("maps.csv").size());
  }
}

// ---------------------------------------------------------------------------
// The maps' projections
// ---------------------------------------------------------------------------

bool same_bits(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) { return a == b; }

/// This rank's rows of `whole` (one process: all of them): the rows a model fitted
/// with the world communicator keeps (detail::RowRounds), the rows it formats in
/// maps.csv.
MatrixD own_rows_of(const MatrixD& whole) {
  const detail::RowRounds rounds = detail::RowRounds::of(&world(), whole.rows());
  MatrixD out(rounds.own_rows(), whole.cols());
  rounds.for_each_own_block([&](std::size_t b, std::size_t e, std::size_t, std::size_t local) {
    std::copy(whole.row(b), whole.row(b) + (e - b) * whole.cols(), out.row(local));
  });
  return out;
}

/// A rank's coordinates: only its rows, about 1/N of them, and `projected` of them.
void expect_own_rows(const MatrixD& alone, const MatrixD& shared, std::size_t projected, const char* what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(shared.rows(), projected) << "the coordinates held are not the rows projected";
  const detail::RowRounds rounds = detail::RowRounds::of(&world(), alone.rows());
  EXPECT_EQ(shared.rows(), rounds.own_rows());
  EXPECT_TRUE(same_bits(own_rows_of(alone), shared)) << "row coordinates";
  // At most a block a round above 1/N; a rank holding every row fails.
  expect_share(shared.rows(), alone.rows(), 4096 * rounds.rounds(), what);
}

void expect_same_pca(const PcaModel& a, const PcaModel& b) {
  EXPECT_TRUE(same_bits(a.mean, b.mean)) << "mean";
  EXPECT_TRUE(same_bits(a.scale, b.scale)) << "scale";
  EXPECT_TRUE(same_bits(a.components, b.components)) << "components";
  EXPECT_TRUE(same_bits(a.singular_values, b.singular_values)) << "singular values";
  EXPECT_TRUE(same_bits(a.eigenvalues, b.eigenvalues)) << "eigenvalues";
  EXPECT_TRUE(same_bits(a.explained_variance, b.explained_variance)) << "explained variance";
  EXPECT_TRUE(same_bits(a.explained_variance_ratio, b.explained_variance_ratio)) << "explained variance ratio";
  EXPECT_TRUE(same_bits(a.percentage_of_variance, b.percentage_of_variance));
  EXPECT_TRUE(same_bits(a.cumulative_percentage_of_variance, b.cumulative_percentage_of_variance));
  EXPECT_TRUE(same_bits(a.total_inertia, b.total_inertia)) << a.total_inertia << " vs " << b.total_inertia;
  EXPECT_TRUE(same_bits(a.column_correlations, b.column_correlations)) << "column correlations";
}

template <class T>
void check_pca(const Matrix<T>& x, bool standardize) {
  SCOPED_TRACE(::testing::Message() << "pca p " << x.cols() << (standardize ? " standardised" : "")
                                    << (sizeof(T) == 4 ? " float" : " double"));
  on_thread_counts([&] {
    PcaParams pp;
    pp.n_components = 3;
    pp.standardize = standardize;
    const PcaModel alone = fit_pca<T>(x.view(), pp);
    std::size_t projected = 0;
    pp.comm = &world();
    pp.projected_rows = &projected;
    const PcaModel shared = fit_pca<T>(x.view(), pp);
    expect_same_pca(alone, shared);
    expect_own_rows(alone.row_coordinates, shared.row_coordinates, projected, "PCA rows");
    // The projection of the fit is the model's transform of the same rows.
    EXPECT_TRUE(same_bits(own_rows_of(shared.transform<T>(x.view())), shared.row_coordinates));
  });
}

TEST(MapsOnRanks, PcaMatchesOneProcess) {
  // 5 blocks of 4,096 rows (3 covariance chunks of 8,192), the last one short; 6
  // columns (plain loops) and 40 (BLAS), one of them constant.
  const std::size_t n = 4 * 4096 + 1234;
  for (const std::size_t p : {std::size_t{6}, std::size_t{40}}) {
    MatrixD x = blobs<double>(n, p, 4, 61 + p);
    for (std::size_t i = 0; i < n; ++i) x(i, p - 1) = 2.5;
    check_pca(x, false);
    check_pca(x, true);
  }
  check_pca(blobs<float>(n, 12, 3, 62), true);  // the embed method's float rows
  // Two rounds of blocks and more on 3 ranks (16 blocks a rank a round): a rank's
  // rows are not contiguous.
  check_pca(blobs<double>(2 * 16 * 3 * 4096 + 3000, 5, 4, 63), true);
}

TEST(MapsOnRanks, FamdAndMcaMatchOneProcess) {
  // One round of blocks, and (on 3 ranks) more than two: a rank's rows are not
  // contiguous and FAMD's barycentres are added along the ranks round after round.
  for (const std::size_t n : {std::size_t{4 * 4096 + 777}, std::size_t{2 * 16 * 3 * 4096 + 777}}) {
  SCOPED_TRACE(::testing::Message() << "n " << n);
  Mixed d = mixed(n, 5, 4, 3, false, 71);
  for (std::size_t i = 0; i < n; ++i) d.x(i, 4) = 0.0;  // a constant (zero) numeric column
  for (std::size_t i = 0; i < n; i += 3) d.codes(i, 3) = 9;  // codes 3..8 of column 3 unused
  on_thread_counts([&] {
    FamdParams fp;
    fp.n_components = 3;
    const FamdModel alone = fit_famd(d.x.view(), d.codes.view(), fp);
    std::size_t projected = 0;
    fp.comm = &world();
    fp.projected_rows = &projected;
    const FamdModel shared = fit_famd(d.x.view(), d.codes.view(), fp);
    EXPECT_TRUE(same_bits(alone.numeric_mean, shared.numeric_mean)) << "numeric mean";
    EXPECT_TRUE(same_bits(alone.numeric_scale, shared.numeric_scale)) << "numeric scale";
    EXPECT_TRUE(same_bits(alone.indicator_variable, shared.indicator_variable));
    EXPECT_TRUE(same_bits(alone.indicator_code, shared.indicator_code));
    EXPECT_TRUE(same_bits(alone.indicator_proportions, shared.indicator_proportions));
    EXPECT_TRUE(same_bits(alone.eigenvalues, shared.eigenvalues)) << "eigenvalues";
    EXPECT_TRUE(same_bits(alone.percentage_of_variance, shared.percentage_of_variance)) << "explained variance";
    EXPECT_TRUE(same_bits(alone.cumulative_percentage_of_variance, shared.cumulative_percentage_of_variance));
    EXPECT_TRUE(same_bits(alone.total_inertia, shared.total_inertia));
    EXPECT_TRUE(same_bits(alone.loadings, shared.loadings)) << "loadings";
    expect_own_rows(alone.row_coordinates, shared.row_coordinates, projected, "FAMD rows");
    EXPECT_TRUE(same_bits(alone.numeric_correlations, shared.numeric_correlations));
    EXPECT_TRUE(same_bits(alone.variable_coordinates, shared.variable_coordinates)) << "variable coordinates";
    EXPECT_TRUE(same_bits(alone.category_coordinates, shared.category_coordinates)) << "category coordinates";
    for (std::size_t t = 0; t < shared.n_components(); ++t) EXPECT_EQ(shared.loadings(4, t), 0.0);  // the zero column
    // The coordinates are the model's transform of the same rows.
    EXPECT_TRUE(same_bits(own_rows_of(shared.transform(d.x.view(), d.codes.view())), shared.row_coordinates));

    McaParams mp;
    mp.n_components = 3;
    const McaModel ma = fit_mca(d.codes.view(), mp);
    projected = 0;
    mp.comm = &world();
    mp.projected_rows = &projected;
    const McaModel ms = fit_mca(d.codes.view(), mp);
    EXPECT_TRUE(same_bits(ma.column_masses, ms.column_masses)) << "column masses";
    EXPECT_TRUE(same_bits(ma.eigenvalues, ms.eigenvalues)) << "eigenvalues";
    EXPECT_TRUE(same_bits(ma.percentage_of_variance, ms.percentage_of_variance)) << "explained variance";
    EXPECT_TRUE(same_bits(ma.cumulative_percentage_of_variance, ms.cumulative_percentage_of_variance));
    EXPECT_TRUE(same_bits(ma.total_inertia, ms.total_inertia));
    expect_own_rows(ma.row_coordinates, ms.row_coordinates, projected, "MCA rows");
    EXPECT_TRUE(same_bits(ma.column_coordinates, ms.column_coordinates)) << "column coordinates";
    EXPECT_TRUE(same_bits(ma.column_standard_coordinates, ms.column_standard_coordinates));
    EXPECT_TRUE(same_bits(own_rows_of(ms.transform(d.codes.view())), ms.row_coordinates));
  });
  }
}

TEST(MapsOnRanks, ABadRowOnOneRankIsEveryRanksError) {
  // The last block's rows are the last rank's: the message is the one process's.
  const std::size_t n = 3 * 4096;
  Mixed d = mixed(n, 3, 2, 3, false, 81);
  d.x(n - 5, 1) = std::nan("");
  d.codes(n - 3, 0) = -4;
  auto message = [](auto&& fit) -> std::string {
    try {
      fit();
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "no error";
  };
  FamdParams fp;
  McaParams mp;
  PcaParams pp;
  const std::string famd = message([&] { fit_famd(d.x.view(), d.codes.view(), fp); });
  const std::string mca = message([&] { fit_mca(d.codes.view(), mp); });
  const std::string pca = message([&] { fit_pca<double>(d.x.view(), pp); });
  EXPECT_NE(famd.find("row 12283, column 1 is not finite"), std::string::npos) << famd;
  EXPECT_NE(mca.find("code -4 at row 12285, column 0"), std::string::npos) << mca;
  EXPECT_NE(pca.find("NaN or infinite"), std::string::npos) << pca;
  fp.comm = mp.comm = pp.comm = &world();
  EXPECT_EQ(message([&] { fit_famd(d.x.view(), d.codes.view(), fp); }), famd);
  EXPECT_EQ(message([&] { fit_mca(d.codes.view(), mp); }), mca);
  EXPECT_EQ(message([&] { fit_pca<double>(d.x.view(), pp); }), pca);
}

// The explanation on ranks
// ---------------------------------------------------------------------------

void expect_same_explanation(const SurrogateExplanation& a, const SurrogateExplanation& b, ViewD x) {
  EXPECT_EQ(a.model.to_bytes(), b.model.to_bytes()) << "the surrogates differ";
  EXPECT_EQ(a.model.to_json(), b.model.to_json());
  EXPECT_EQ(a.model.n_trees(), b.model.n_trees());
  // The trees each rank evaluates (parsed from the model it received) give the same margins.
  const std::vector<std::size_t> probe{0, 1, 2, x.rows() / 2, x.rows() - 1};
  const MatrixD px = take_rows<double, std::size_t>(x, probe);
  const MatrixD ma = a.model.margins(px.view(), ShapEngine::native),
                mb = b.model.margins(px.view(), ShapEngine::native);
  EXPECT_EQ(std::memcmp(ma.data(), mb.data(), ma.size() * sizeof(double)), 0);
  EXPECT_EQ(a.classes, b.classes);
  EXPECT_EQ(a.n_features, b.n_features);
  ASSERT_EQ(a.mean_abs_shap.rows(), b.mean_abs_shap.rows());
  ASSERT_EQ(a.mean_abs_shap.cols(), b.mean_abs_shap.cols());
  EXPECT_EQ(std::memcmp(a.mean_abs_shap.data(), b.mean_abs_shap.data(), a.mean_abs_shap.size() * sizeof(double)), 0)
      << "mean |SHAP| differs";
  EXPECT_TRUE(same_bits(a.feature_importance, b.feature_importance));
  EXPECT_EQ(a.feature_order, b.feature_order);
  EXPECT_EQ(a.class_order, b.class_order);
  EXPECT_TRUE(same_bits(a.bias, b.bias));
  EXPECT_TRUE(same_bits(std::vector<double>{a.train_accuracy, a.additivity_max_abs_error},
                        std::vector<double>{b.train_accuracy, b.additivity_max_abs_error}))
      << a.train_accuracy << " vs " << b.train_accuracy << ", " << a.additivity_max_abs_error << " vs "
      << b.additivity_max_abs_error;
  ASSERT_EQ(a.holdout_accuracy.has_value(), b.holdout_accuracy.has_value());
  if (a.holdout_accuracy) EXPECT_TRUE(same_bits(std::vector<double>{*a.holdout_accuracy}, {*b.holdout_accuracy}));
  EXPECT_EQ(a.shap_rows, b.shap_rows);
  EXPECT_EQ(a.n_clustered, b.n_clustered);
  EXPECT_EQ(a.n_train, b.n_train);
}

TEST(ExplanationOnRanks, MatchesOneProcess) {
  struct Case {
    const char* name;
    std::size_t n, p, k, shap_max_rows;
    double holdout;
  };
  // 150,000 rows: three blocks of 65,536 clustered rows for the accuracies; 1,000
  // sampled SHAP rows in blocks of 64. A binary model (its own sign convention) with
  // every row explained and a held-out share.
  for (const Case& c : {Case{"five segments", 150000, 5, 5, 1000, 0.0}, Case{"two segments", 4000, 4, 2, 0, 0.1}}) {
    SCOPED_TRACE(c.name);
    MatrixD x = blobs<double>(c.n, c.p, c.k, 41 + c.k);
    for (std::size_t i = 0; i < c.n; i += 37) x(i, i % c.p) = std::nan("");  // missing values: default children
    std::vector<std::int32_t> labels = some_labels(c.n, c.k, 14 + c.k);
    for (std::size_t i = 5; i < c.n; i += 101) labels[i] = -1;  // rows left out (outliers)
    ExplainParams ep;
    ep.surrogate.n_estimators = 8;
    ep.surrogate.random_state = 6;
    ep.train_max_rows = 3000;  // the sampled training set; the other rows are held out
    ep.shap_max_rows = c.shap_max_rows;
    ep.holdout_fraction = c.holdout;
    on_thread_counts([&] {
      ep.comm = nullptr;
      ExplainParams::Work alone_work;
      ep.work = &alone_work;
      const SurrogateExplanation alone = explain_segments(x.view(), labels, ep);
      EXPECT_TRUE(alone_work.fitted);
      EXPECT_EQ(alone_work.predicted_rows, alone.n_clustered);
      EXPECT_EQ(alone_work.shap_rows, alone.shap_rows.size());
      ASSERT_TRUE(alone.holdout_accuracy.has_value());
      EXPECT_GT(alone.train_accuracy, 0.5);  // a real fit of separable blobs
      EXPECT_LT(alone.additivity_max_abs_error, 1e-4);
      // The model's bytes rebuild the same model (what the other ranks receive).
      const SurrogateModel back = SurrogateModel::from_bytes(alone.model.to_bytes());
      EXPECT_EQ(back.to_bytes(), alone.model.to_bytes());
      const std::string bytes = alone.model.to_bytes();
      EXPECT_THROW(SurrogateModel::from_bytes(std::string_view(bytes).substr(0, bytes.size() - 1)), ModelFormatError);
      EXPECT_THROW(SurrogateModel::from_bytes("a model"), ModelFormatError);

      ExplainParams::Work work;
      ep.comm = &world();
      ep.work = &work;
      const SurrogateExplanation shared = explain_segments(x.view(), labels, ep);
      expect_same_explanation(alone, shared, x.view());
      EXPECT_EQ(summed(work.fitted ? 1 : 0), 1) << "one rank fits the surrogate";
      EXPECT_EQ(work.fitted, world().rank() == 0);
      expect_share(work.shap_rows, alone.shap_rows.size(), 64, "SHAP rows");
      if (alone.n_clustered > 2 * 65536)
        expect_share(work.predicted_rows, alone.n_clustered, 65536, "predicted rows");
      else
        EXPECT_EQ(summed(work.predicted_rows), static_cast<std::int64_t>(alone.n_clustered));
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

/// fit_prep's error on `table` ("" if none) in one process and with the world
/// communicator.
std::pair<std::string, std::string> prep_errors(const Table& table) {
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
  return {alone, shared};
}

TEST(PrepOnRanks, AnInfiniteValueIsTheSameErrorOnEveryRank) {
  // Only a table built in memory can hold one (the CSV reader refuses them).
  std::vector<double> v(5000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 97) * 0.5;
  v[4321] = std::numeric_limits<double>::infinity();
  const Table table("inf.csv", {test::numeric("x", v), test::numeric("y", std::vector<double>(5000, 2.0))});
  const auto [alone, shared] = prep_errors(table);
  EXPECT_NE(alone, "");
  EXPECT_EQ(alone, shared);
}

// Values too large to transform and standardise, on the last rank's rows of the
// second column: each rank checks the rows it prepared (a standardised column with
// such values is not finite anywhere, so every rank finds it), and the error is one
// process's on every rank: the column, the first row and the number it holds.
TEST(PrepOnRanks, ValuesTooLargeAreTheSameErrorOnEveryRank) {
  const std::size_t n = 6000;
  std::vector<double> a(n), b(n), c(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = static_cast<double>(i % 89) * 0.25;
    b[i] = static_cast<double>(i % 31) - 3.0;
    c[i] = static_cast<double>(i % 7);
  }
  b[5500] = 1e308;
  b[5600] = -1.5e308;
  c[5700] = 1.25e308;
  const Table table("huge.csv", {test::numeric("a", a), test::numeric("b", b), test::numeric("c", c)});
  const auto [alone, shared] = prep_errors(table);
  EXPECT_NE(alone.find("column 'b'"), std::string::npos) << alone;
  EXPECT_EQ(alone, shared);
}

// fit_mixed_plan (lca's and k-prototypes' columns) with the world communicator: each
// rank reads its share of the rows (the preparation's tree nodes) for the medians and
// the power transform, and of the table's rows for the missing levels. Every field is
// one process's, on a table with missing numbers, a skewed column, a constant one, a
// category missing in one rank's rows only, and clustered rows that skip some;
// with the other ranks' rows spoilt the plan is the same.
void expect_same_plan(const MixedPlan& a, const MixedPlan& b) {
  EXPECT_EQ(a.numeric_names, b.numeric_names);
  EXPECT_EQ(a.categorical_names, b.categorical_names);
  ASSERT_EQ(a.impute.size(), b.impute.size());
  EXPECT_EQ(0, std::memcmp(a.impute.data(), b.impute.data(), a.impute.size() * sizeof(double))) << "medians";
  EXPECT_EQ(a.power.lambdas, b.power.lambdas);
  ASSERT_EQ(a.power.scaler.mean.size(), b.power.scaler.mean.size());
  EXPECT_EQ(0, std::memcmp(a.power.scaler.mean.data(), b.power.scaler.mean.data(),
                           a.power.scaler.mean.size() * sizeof(double)));
  EXPECT_EQ(0, std::memcmp(a.power.scaler.scale.data(), b.power.scaler.scale.data(),
                           a.power.scaler.scale.size() * sizeof(double)));
  EXPECT_EQ(a.levels, b.levels);
  EXPECT_EQ(a.missing_level, b.missing_level);
}

TEST(PlanOnRanks, MixedPlanFromEachRanksRowsMatchesOneProcess) {
  const std::size_t n = 20000;
  Rng rng(77);
  std::vector<double> skewed(n), plain(n), constant(n, 4.5);
  std::vector<std::string> colour(n), size(n);
  const char* colours[] = {"red", "green", "blue"};
  const char* sizes[] = {"S", "M", "L", "XL"};
  for (std::size_t i = 0; i < n; ++i) {
    skewed[i] = std::exp(2.0 * rng.normal());
    plain[i] = rng.uniform() < 0.05 ? std::nan("") : 10.0 * rng.normal();
    colour[i] = colours[rng.below(3)];
    size[i] = sizes[rng.below(4)];
  }
  // A missing colour only in the last fifth of the rows (the last rank's).
  colour[n - 7] = "";
  const Table table("plan.csv", {test::numeric("skewed", skewed), test::numeric("plain", plain),
                                 test::numeric("constant", constant), test::categorical("colour", colour),
                                 test::categorical("size", size)});
  // Clustered rows: all but every seventh.
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < n; ++i)
    if (i % 7 != 3) rows.push_back(i);
  // The table spoilt outside this rank's rows: numbers (at the positions of `rows`
  // outside its share) and codes (outside its share of the table's rows).
  const detail::PrepShare share = detail::PrepShare::of(rows.size(), &world());
  const detail::PrepShare table_share = detail::PrepShare::of(n, &world());
  std::vector<double> s_skewed = skewed, s_plain = plain;
  for (std::size_t r = 0; r < rows.size(); ++r)
    if (r < share.begin_row() || r >= share.end_row()) {
      s_skewed[rows[r]] = 1e6;
      s_plain[rows[r]] = std::nan("");
    }
  Table spoilt("plan.csv", {test::numeric("skewed", s_skewed), test::numeric("plain", s_plain),
                            test::numeric("constant", constant), test::categorical("colour", colour),
                            test::categorical("size", size)});
  for (std::size_t c : {std::size_t{3}, std::size_t{4}}) {
    Column& col = spoilt.column(c);
    for (std::size_t i = 0; i < n; ++i)
      if (i < table_share.begin_row() || i >= table_share.end_row()) col.codes[i] = i % 5 == 0 ? -1 : 0;
  }
  for (NumericTransform t : {NumericTransform::yeo_johnson, NumericTransform::standard}) {
    SCOPED_TRACE(::testing::Message() << to_string(t));
    on_thread_counts([&] {
      Diagnostics da, ds;
      const MixedPlan alone = fit_mixed_plan(table, rows, &da, t);
      EXPECT_TRUE(alone.missing_level[0]) << "the missing colour on the last rows";
      EXPECT_FALSE(alone.missing_level[1]);
      expect_same_plan(alone, fit_mixed_plan(table, rows, &ds, t, &world()));
      EXPECT_EQ(da.size(), ds.size()) << "the constant column's warning";
      expect_same_plan(alone, fit_mixed_plan(spoilt, rows, nullptr, t, &world()));
    });
  }
}

// ---- order statistics, ECOD's columns and the medians from each rank's rows ---------

/// This rank's share of `all`: the r-th share of its blocks of `block` values.
std::span<const double> rank_part(const std::vector<double>& all, std::size_t block) {
  const Blocks blocks{all.size(), block};
  const RankBlocks rb = rank_blocks(blocks.count(), world().rank(), world().size());
  if (rb.first >= rb.last) return {};
  return std::span<const double>(all).subspan(blocks.begin(rb.first), blocks.end(rb.last - 1) - blocks.begin(rb.first));
}

TEST(OrderStatisticsOnRanks, SelectionIsTheSortsValue) {
  // Sets of values spread over the ranks: ties, NaN (left out), -0.0 beside +0.0,
  // negative and huge magnitudes, subnormals, a set with no value, one of a single
  // value (the other ranks have none of it) and sets smaller than the rank count.
  Rng rng(97);
  std::vector<std::vector<double>> sets(8);
  for (std::size_t i = 0; i < 5000; ++i) sets[0].push_back(static_cast<double>(rng.below(40)) - 20.0);  // ties
  for (std::size_t i = 0; i < 4001; ++i) {
    const double u = rng.uniform();
    sets[1].push_back(u < 0.1 ? std::nan("") : u < 0.3 ? 0.0 : u < 0.5 ? -0.0 : rng.normal() * 1e300);
  }
  for (std::size_t i = 0; i < 3000; ++i) sets[2].push_back(rng.normal() * std::pow(10.0, rng.below(40)) - 1e-310);
  sets[3] = {std::nan(""), std::nan("")};  // no value
  sets[4] = {-0.0};
  sets[5] = {0.0, -0.0};
  for (std::size_t i = 0; i < 999; ++i) sets[6].push_back(i % 2 ? -0.0 : 0.0);
  for (std::size_t i = 0; i < 2000; ++i) sets[7].push_back(rng.uniform() < 0.5 ? 1.5 : std::nextafter(1.5, 2.0));
  std::vector<std::span<const double>> parts;
  for (const auto& v : sets) parts.push_back(rank_part(v, 7));
  // The oracle: the set's non-NaN values sorted by order key (by value, -0.0 first).
  std::vector<std::vector<double>> sorted(sets.size());
  for (std::size_t s = 0; s < sets.size(); ++s) {
    std::vector<std::uint64_t> keys;
    for (double v : sets[s])
      if (!std::isnan(v)) keys.push_back(detail::order_key(v));
    std::sort(keys.begin(), keys.end());
    for (std::uint64_t k : keys) sorted[s].push_back(detail::key_value(k));
  }
  // Every position of the small sets, a few spread positions (ties included) of the others.
  auto positions = [&](std::size_t s, std::uint64_t count) {
    std::vector<std::uint64_t> at;
    if (count <= 16) {
      for (std::uint64_t k = 0; k < count; ++k) at.push_back(k);
    } else {
      for (std::uint64_t k : {std::uint64_t{0}, count / 4, count / 2 - 1, count / 2, count / 2 + 1, count - 1,
                              (count * 7 + s) / 11})
        at.push_back(k);
    }
    return at;
  };
  std::vector<std::uint64_t> counts;
  const auto found = detail::select_order_statistics(&world(), parts, positions, &counts);
  const auto alone = detail::select_order_statistics(nullptr, std::span<const std::span<const double>>(), positions);
  EXPECT_TRUE(alone.empty());
  ASSERT_EQ(found.size(), sets.size());
  for (std::size_t s = 0; s < sets.size(); ++s) {
    SCOPED_TRACE(::testing::Message() << "set " << s);
    ASSERT_EQ(counts[s], sorted[s].size());
    const std::vector<std::uint64_t> at = positions(s, counts[s]);
    ASSERT_EQ(found[s].size(), at.size());
    for (std::size_t t = 0; t < at.size(); ++t) {
      EXPECT_TRUE(same_bits(found[s][t], sorted[s][at[t]])) << "position " << at[t] << ": " << found[s][t];
      // std::nth_element by value agrees up to the sign of a zero (its ties are unordered).
      std::vector<double> v;
      for (double x : sets[s])
        if (!std::isnan(x)) v.push_back(x);
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(at[t]), v.end());
      EXPECT_EQ(found[s][t], v[at[t]]);
    }
  }
  // The medians (numpy's: the mean of the two middle values for an even count).
  const std::vector<double> medians = detail::medians_on_ranks(&world(), parts);
  for (std::size_t s = 0; s < sets.size(); ++s) {
    const std::vector<double>& v = sorted[s];
    const std::size_t m = v.size();
    const double expected = m == 0 ? std::nan("") : m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
    EXPECT_TRUE(same_bits(medians[s], expected) || (std::isnan(expected) && std::isnan(medians[s])))
        << "set " << s << ": " << medians[s] << " vs " << expected;
  }
  // A position beyond the values is an error on every rank.
  EXPECT_THROW(detail::select_order_statistics(&world(), parts, [](std::size_t, std::uint64_t c) {
    return std::vector<std::uint64_t>{c};
  }), InvalidArgument);
}

TEST(EcodOnRanks, ColumnsMergedFromEachRanksRowsMatchOneProcess) {
  // Each rank sorts only its rows' values; the ranks' distinct values and counts are
  // merged. Columns with ties shared across the ranks, -0.0 and +0.0 (one value, the
  // merged column keeping -0.0 wherever it is), a constant column (sign 0), a
  // symmetric one (skewness exactly 0), negative values, a column whose sums depend on
  // the order of the additions; n from a block on one rank only to several per rank,
  // p of one tile per column and of tiles of 8.
  for (const std::size_t n : {std::size_t{5}, std::size_t{1500}, std::size_t{10000}}) {
    for (const std::size_t p : {std::size_t{7}, std::size_t{70}}) {
      if (n == 10000 && p == 70) continue;
      SCOPED_TRACE(::testing::Message() << "n " << n << " p " << p);
      MatrixD x = blobs<double>(n, p, 3, 71 + n + p);
      Rng rng(5 + n);
      for (std::size_t i = 0; i < n; ++i) {
        x(i, 0) = static_cast<double>(rng.below(9)) - 4.0;               // ties
        x(i, 1) = i % 3 == 0 ? 0.0 : i % 3 == 1 ? -0.0 : 2.5;            // both zeros
        x(i, 2) = 3.25;                                                  // constant
        x(i, 3) = n % 2 && i == n - 1 ? 0.0 : i % 2 ? 1.0 : -1.0;        // symmetric
        x(i, 4) = i % 211 == 0 ? 1e16 : 1.0 + 0.1 * rng.uniform();       // order-dependent sums
        x(i, 5) = i < n / 2 ? -0.0 : 0.0;                                // -0.0 only on the first ranks
        x(i, 6) = -std::exp(rng.normal());                               // negative, skewed
      }
      on_thread_counts([&] {
        EcodParams ep;
        ep.contamination = 0.1;
        const EcodModel alone = fit_ecod(x.view(), ep);
        std::size_t sorted = 0, scored = 0;
        ep.comm = &world();
        ep.sorted_values = &sorted;
        ep.scored_rows = &scored;
        const EcodModel shared = fit_ecod(x.view(), ep);
        EXPECT_EQ(alone.skew_sign(), shared.skew_sign());
        for (std::size_t j = 0; j < p; ++j) {
          ASSERT_EQ(alone.column(j).values.size(), shared.column(j).values.size()) << "column " << j;
          EXPECT_EQ(std::memcmp(alone.column(j).values.data(), shared.column(j).values.data(),
                                alone.column(j).values.size() * sizeof(double)), 0) << "column " << j;
          EXPECT_EQ(alone.column(j).upto, shared.column(j).upto) << "column " << j;
        }
        EXPECT_TRUE(same_bits(alone.decision_scores(), shared.decision_scores()));
        EXPECT_TRUE(same_bits(alone.threshold(), shared.threshold()));
        EXPECT_EQ(alone.labels(), shared.labels());
        EXPECT_TRUE(same_bits(alone.outlier_feature_means(), shared.outlier_feature_means()));
        // The oracle's own columns: -0.0 kept for column 1, the counts those of the rows.
        EXPECT_TRUE(std::signbit(alone.column(1).values[0]) && alone.column(1).values[0] == 0.0);
        EXPECT_EQ(alone.column(2).values.size(), 1u);
        EXPECT_EQ(alone.skew_sign()[2], 0);
        EXPECT_EQ(alone.skew_sign()[3], 0);
        // Each rank sorted the values of its share of the 1,024-row blocks only (one
        // block: one rank's alone, the others none).
        if (n > 3 * 1024) {
          expect_share(sorted, n * p, 1024 * p, "sorted values");
          expect_share(scored, n, 1024, "scored rows");
        } else {
          EXPECT_EQ(summed(sorted), static_cast<std::int64_t>(n * p));
          if (n <= 1024) EXPECT_TRUE(sorted == 0 || sorted == n * p) << sorted;  // one rank's block
        }
      });
    }
  }
}

/// A table whose numeric columns test the medians: ties across the ranks' rows, an
/// even and an odd count of present values, missing values (left out), -0.0 and
/// +0.0 at the middle, negative values, a column missing everywhere but one row.
Table median_table(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> ties(n), even(n), zeros(n), negative(n), lone(n, std::nan(""));
  for (std::size_t i = 0; i < n; ++i) {
    ties[i] = i % 7 == 3 ? std::nan("") : static_cast<double>(rng.below(5));
    even[i] = i == 0 && n % 2 == 1 ? std::nan("") : rng.normal() * 10.0;  // an even count present
    zeros[i] = i % 4 == 0 ? std::nan("") : i % 3 == 0 ? -0.0 : i % 3 == 1 ? 0.0 : (i % 2 ? 1.0 : -1.0);
    negative[i] = -std::exp(rng.normal()) - static_cast<double>(i % 3);
  }
  lone[n / 2] = 42.5;
  std::vector<std::string> kind(n);
  for (std::size_t i = 0; i < n; ++i) kind[i] = i % 3 ? "a" : "b";
  return Table("medians.csv", {test::numeric("ties", ties), test::numeric("even", even), test::numeric("zeros", zeros),
                               test::categorical("kind", kind), test::numeric("negative", negative),
                               test::numeric("lone", lone)});
}

TEST(PrepOnRanks, MediansSelectedFromEachRanksRowsMatchOneProcess) {
  for (const std::size_t n : {std::size_t{20011}, std::size_t{1000}, std::size_t{3}}) {
    SCOPED_TRACE(::testing::Message() << "n " << n);
    const Table table = median_table(n, 300 + n);
    on_thread_counts([&] {
      PrepParams pp;
      const PrepResult alone = fit_prep(table, pp);
      std::size_t selected = 0;
      pp.comm = &world();
      pp.median_values = &selected;
      const PrepResult shared = fit_prep(table, pp);
      expect_same_prep(alone, shared);
      // The oracle's medians are numpy's: the middle of the sorted present values.
      for (const FeatureBlock& b : alone.model.blocks) {
        if (b.kind != FeatureBlock::Kind::power) continue;
        std::vector<double> v;
        for (double x : table.column(table.index_of(b.column, "test")).numbers)
          if (!std::isnan(x)) v.push_back(x);
        std::sort(v.begin(), v.end());
        const std::size_t m = v.size();
        EXPECT_EQ(b.impute, m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2) << b.column;
      }
      // Each rank selected among its nodes' rows only (5 numeric columns).
      if (n > 10000) expect_share(selected, 5 * n, 5 * (n / 64 + 64), "median values");
      EXPECT_EQ(summed(selected), static_cast<std::int64_t>(5 * n));
    });
  }
}

// ---- Reading a CSV file on the ranks ------------------------------------------------

/// What reading a file gives: the table and provenance, or the error's type and text,
/// and the diagnostics.
struct ReadOutcome {
  SourceData data;
  std::string error;
  std::vector<Diagnostic> diagnostics;
};

ReadOutcome read_outcome(const std::string& path, CsvOptions options, bool on_ranks) {
  ReadOutcome out;
  Diagnostics diagnostics;
  options.diagnostics = &diagnostics;
  try {
    out.data = on_ranks ? read_csv_on_ranks(path, options, world()) : CsvFileSource(path, options).read();
  } catch (const Error& e) {
    out.error = std::string(typeid(e).name()) + ": " + e.what();
  }
  out.diagnostics = diagnostics.items();
  return out;
}

/// read_csv_on_ranks against the one-process reader: the same table, provenance bytes
/// and hash, diagnostics, or the same error. Returns whether the ranks took the fast
/// path (each typing its own rows).
bool expect_read_like_one_process(const std::string& path, const CsvOptions& options = {}) {
  const ReadOutcome want = read_outcome(path, options, false);
  const ReadOutcome got = read_outcome(path, options, true);
  const io_detail::RanksReadCount count = io_detail::last_read_on_ranks();
  EXPECT_EQ(got.error, want.error) << path;
  if (want.error.empty() && got.error.empty()) {
    test::expect_same_table(got.data.table, want.data.table, path);
    EXPECT_EQ(got.data.provenance.bytes, want.data.provenance.bytes) << path;
    EXPECT_EQ(got.data.provenance.fnv1a64, want.data.provenance.fnv1a64) << path;
  }
  EXPECT_EQ(got.diagnostics.size(), want.diagnostics.size()) << path;
  for (std::size_t i = 0; i < std::min(got.diagnostics.size(), want.diagnostics.size()); ++i) {
    EXPECT_EQ(got.diagnostics[i].level, want.diagnostics[i].level) << path;
    EXPECT_EQ(got.diagnostics[i].code, want.diagnostics[i].code) << path;
    EXPECT_EQ(got.diagnostics[i].message, want.diagnostics[i].message) << path;
  }
  // The ranks' rows typed on the fast path add up to the table's.
  const std::int64_t mine[] = {count.fast ? 1 : 0, static_cast<std::int64_t>(count.rows_typed)};
  const std::vector<std::int64_t> all = world().allgather(std::span<const std::int64_t>(mine, 2));
  std::int64_t typed = 0;
  for (int r = 0; r < world().size(); ++r) {
    EXPECT_EQ(all[2 * static_cast<std::size_t>(r)], mine[0]) << path;  // every rank took the same path
    typed += all[2 * static_cast<std::size_t>(r) + 1];
  }
  if (count.fast) EXPECT_EQ(static_cast<std::size_t>(typed), want.data.table.rows()) << path;
  return count.fast;
}

/// A directory every rank sees, written by rank 0 (the others wait for it).
std::string shared_test_dir() {
  const std::string dir = std::string(SEGMENTA_TEST_OUTPUT_DIR) + "/mpi-read-on-ranks";
  if (world().rank() == 0) std::filesystem::create_directories(dir);
  world().allgather(std::span<const std::int64_t>());
  return dir;
}

std::string write_test_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  if (world().rank() == 0) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw IoError("cannot write " + path);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  world().allgather(std::span<const std::int64_t>());  // written before any rank reads
  return path;
}

/// True when the cut that read_csv_on_ranks makes at the nominal offset of rank r of
/// `size` (the line start at or after n r / size) follows a line end inside quotes.
bool cut_inside_quotes(const std::string& text, int r, int size) {
  const std::size_t pos = text.size() * static_cast<std::size_t>(r) / static_cast<std::size_t>(size);
  std::size_t nl = pos == 0 ? 0 : text.find('\n', pos - 1);
  if (nl == std::string::npos) return false;
  bool in_quotes = false;
  for (std::size_t i = 0; i < nl; ++i)
    if (text[i] == '"') in_quotes = !in_quotes;
  return in_quotes;
}

TEST(ReadOnRanks, BankIsTypedOnTheRanksLikeOneProcess) {
  const std::string bank = test::shared_path("data/bank.csv");
  EXPECT_TRUE(expect_read_like_one_process(bank));
  // Each rank split and typed about 1/N of the rows (a rank that typed all fails).
  const std::size_t rows = CsvFileSource(bank).read().table.rows();
  const std::size_t typed = io_detail::last_read_on_ranks().rows_typed;
  const double share = static_cast<double>(rows) / world().size();
  EXPECT_NEAR(static_cast<double>(typed), share, 0.05 * share + 2);
  // The blog preset's first eight columns, a column selection that fails, declared types.
  CsvOptions first_eight;
  first_eight.columns = "0:8";
  EXPECT_TRUE(expect_read_like_one_process(bank, first_eight));
  CsvOptions bad_columns;
  bad_columns.columns = "age,nope";
  expect_read_like_one_process(bank, bad_columns);
  CsvOptions semicolon;  // the delimiter given rather than sniffed
  semicolon.delimiter = ';';
  EXPECT_TRUE(expect_read_like_one_process(bank, semicolon));
  CsvOptions no_header;  // the header line read as a row: its names are stray cells of the numeric columns
  no_header.header = false;
  expect_read_like_one_process(bank, no_header);
  CsvOptions markers;  // other missing-value markers: "unknown" is missing
  markers.na_values = {"", "unknown"};
  EXPECT_TRUE(expect_read_like_one_process(bank, markers));
  CsvOptions typed_columns;
  typed_columns.types = {{"day", ColumnType::categorical}};
  expect_read_like_one_process(bank, typed_columns);
  for (const char* fixture : {"train.csv", "new.csv", "segments_v1.csv", "scored_train_v1.csv"})
    expect_read_like_one_process(std::string(SEGMENTA_SOURCE_DIR) + "/tests/fixtures/ecod_v1/" + fixture);
}

TEST(ReadOnRanks, MessyExportsAndBadFilesAreTheOneProcessOutcome) {
  const std::string dir = shared_test_dir();
  const int size = world().size();
  std::vector<std::pair<std::string, std::string>> files;
  // A clean mixed file: ids, integers, decimals with markers, categorical levels that
  // first appear late, quoted fields with delimiters, quotes and line ends, binary,
  // integer codes, text, a unique text identifier.
  {
    std::string t = "customer,age,balance,job,note,flag,region,comment,code\n";
    for (int i = 0; i < 240; ++i) {
      const std::string job = i < 200 ? (i % 3 == 0 ? "admin" : "tech") : (i % 2 ? "late level" : "later");
      const std::string balance = i % 17 == 0 ? "NA" : i % 23 == 0 ? "" : fmt::format("{}.{}", 100 + i * 7, i % 10);
      const std::string note = i % 5 == 0 ? fmt::format("\"has, a comma and \"\"quotes\"\"\n and a line {}\"", i % 4) : "plain";
      t += fmt::format("C{:05},{},{},{},{},{},{},\"{} words in a long free comment {}\",{}\n", i * 3, 20 + i % 50,
                       balance, job, note, i % 2 ? "yes" : "no", 1 + i % 3, i, i * 7 % 11, i % 7 == 0 ? "n/a" : "x");
    }
    files.emplace_back("mixed.csv", t);
    std::string crlf;
    for (char c : t) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    files.emplace_back("bom_crlf.csv", "\xEF\xBB\xBF" + crlf);
    std::string lone_cr;
    for (char c : t) lone_cr += c == '\n' ? '\r' : c;
    files.emplace_back("lone_cr.csv", lone_cr);
  }
  // Numbers with commas and dates (merged on the ranks), stray cells and identifiers;
  // an infinite value is read whole (its error at its place).
  auto rows_of = [](const std::string& header, int n, auto row) {
    std::string t = header + "\n";
    for (int i = 0; i < n; ++i) t += row(i) + "\n";
    return t;
  };
  files.emplace_back("decimal_comma.csv", rows_of("a;b", 120, [](int i) { return fmt::format("{},{};x{}", i, i % 10, i % 3); }));
  files.emplace_back("thousands.csv",
                     rows_of("a,b", 120, [](int i) { return fmt::format("\"{},{:03}.5\",x{}", 1 + i, i, i % 3); }));
  files.emplace_back("dates.csv", rows_of("d,b", 120, [](int i) { return fmt::format("2024-{:02}-{:02},{}", 1 + i % 12, 1 + i % 28, i); }));
  files.emplace_back("strays.csv", rows_of("a,b", 300, [](int i) { return fmt::format("{},{}", i % 97 == 5 ? "oops" : std::to_string(i), i % 4); }));
  files.emplace_back("strays_few.csv", rows_of("a,b", 300, [](int i) { return fmt::format("{},{}", i == 250 ? "  a long stray cell, longer than forty bytes, shortened" : std::to_string(i), i % 4); }));
  files.emplace_back("strays_too_many.csv", rows_of("a,b", 300, [](int i) { return fmt::format("{},{}", i % 13 == 0 ? "x" : std::to_string(i), i % 4); }));
  files.emplace_back("numeric_id.csv", rows_of("customer_id,b", 120, [](int i) { return fmt::format("{},{}", 1000 + i, i % 4); }));
  files.emplace_back("numeric_id_repeated.csv",
                     rows_of("customer_id,b", 120, [](int i) { return fmt::format("{},{}", i == 110 ? 1003 : 1000 + i, i % 4); }));
  files.emplace_back("infinite.csv", rows_of("a,b", 120, [](int i) { return fmt::format("{},{}", i == 110 ? "1e999" : std::to_string(i), i % 4); }));
  files.emplace_back("duplicate_names.csv", rows_of("a,a,,b", 60, [](int i) { return fmt::format("{},{},{},x{}", i, i * 2, i % 5, i % 3); }));
  // Bad files: the first error one process reports, with its line and column.
  files.emplace_back("empty.csv", "");
  files.emplace_back("blank_lines.csv", "\n\n\r\n\n");
  files.emplace_back("header_only.csv", "a,b,c\n");
  files.emplace_back("ragged_late.csv", rows_of("a,b", 200, [](int i) { return i == 190 ? std::string("1,2,3") : fmt::format("{},{}", i, i); }));
  files.emplace_back("ragged_early_and_late.csv", rows_of("a,b", 200, [](int i) { return i == 3 || i == 190 ? std::string("1") : fmt::format("{},{}", i, i); }));
  files.emplace_back("unterminated.csv", rows_of("a,b", 200, [](int i) { return i == 150 ? std::string("1,\"open") : fmt::format("{},{}", i, i); }));
  files.emplace_back("after_quote.csv", rows_of("a,b", 200, [](int i) { return i == 170 ? std::string("1,\"q\"x") : fmt::format("{},{}", i, i); }));
  files.emplace_back("invalid_utf8_late.csv", rows_of("a,b", 200, [](int i) { return i == 180 ? std::string("1,\xC3\x28") : fmt::format("{},{}", i, i); }));
  files.emplace_back("utf16.csv", std::string("\xFF\xFE" "a\0,\0b\0\n\0", 10));
  // A quoted line end at every rank boundary for 2 and 3 ranks (and this run's count):
  // the cut moves past the quoted field and the ranks still type their rows.
  {
    std::string pad;
    std::string t;
    for (int attempt = 0; attempt < 400; ++attempt) {
      t = "id,text,n\n";
      for (int i = 0; i < 300; ++i)
        t += fmt::format("r{},\"first {}{}\nsecond, \"\"part\"\"\n third\",{}\n", i, i, i == 0 ? pad : "", i % 9);
      bool all_inside = true;
      for (int s : {2, 3, size})
        for (int r = 1; r < s; ++r) all_inside = all_inside && cut_inside_quotes(t, r, s);
      if (all_inside) break;
      pad += "x";
    }
    for (int s : {2, 3, size})
      for (int r = 1; r < s; ++r) ASSERT_TRUE(cut_inside_quotes(t, r, s)) << "no padding puts the cut inside quotes";
    files.emplace_back("quoted_newline_at_cut.csv", t);
  }
  // A quoted line end at the first rank boundary only (3 ranks or more): the ranks
  // whose parts do not move still take part in the others' reading again.
  if (size >= 3) {
    std::string pad, t;
    for (int attempt = 0; attempt < 400; ++attempt) {
      t = "id,text,n\n";
      for (int i = 0; i < 400; ++i)
        t += i < 100 ? fmt::format("r{},\"first {}{}\nsecond\n third\",{}\n", i, i, i == 0 ? pad : "", i % 9)
                     : fmt::format("r{},plain {},{}\n", i, i % 5, i % 9);
      if (cut_inside_quotes(t, 1, size) && !cut_inside_quotes(t, size - 1, size)) break;
      pad += "x";
    }
    ASSERT_TRUE(cut_inside_quotes(t, 1, size) && !cut_inside_quotes(t, size - 1, size));
    files.emplace_back("quoted_newline_at_one_cut.csv", t);
  }
  for (const auto& [name, text] : files) {
    const std::string path = write_test_file(dir, name, text);
    const bool fast = expect_read_like_one_process(path);
    if (name == "mixed.csv" || name == "bom_crlf.csv" || name.starts_with("quoted_newline_at") ||
        name == "duplicate_names.csv" || name.starts_with("numeric_id"))
      EXPECT_TRUE(fast) << name;
    if (name == "strays.csv") EXPECT_TRUE(fast) << name;  // the warning's first strays merged in rank order
    // Number formats and dates are merged on the ranks (NumberFormatsAndDates...).
    if (name == "decimal_comma.csv" || name == "thousands.csv" || name == "dates.csv") EXPECT_TRUE(fast) << name;
    if (name.starts_with("ragged") || name == "infinite.csv") EXPECT_FALSE(fast) << name;
  }
}

// ---- the column plan and the reading's type warnings from each rank's rows ---------

/// Every field of two fitted column plans (and what expect_same_prep compares).
void expect_same_plan(const PrepResult& a, const PrepResult& b) {
  expect_same_prep(a, b);
  const PrepModel &x = a.model, &y = b.model;
  EXPECT_EQ(x.preset, y.preset);
  EXPECT_EQ(x.unknown, y.unknown);
  ASSERT_EQ(x.blocks.size(), y.blocks.size());
  for (std::size_t k = 0; k < x.blocks.size(); ++k) {
    const FeatureBlock &p = x.blocks[k], &q = y.blocks[k];
    SCOPED_TRACE(p.column);
    EXPECT_EQ(p.kind, q.kind);
    EXPECT_EQ(p.column, q.column);
    EXPECT_EQ(p.first_feature, q.first_feature);
    EXPECT_EQ(p.n_features, q.n_features);
    EXPECT_EQ(p.ordinal.column, q.ordinal.column);
    EXPECT_EQ(p.ordinal.numeric, q.ordinal.numeric);
    EXPECT_TRUE(same_bits(p.ordinal.number_categories, q.ordinal.number_categories)) << "ordinal numbers";
    EXPECT_EQ(p.ordinal.categories, q.ordinal.categories);
    EXPECT_EQ(p.onehot.column, q.onehot.column);
    EXPECT_EQ(p.onehot.categories, q.onehot.categories);
    EXPECT_EQ(p.onehot.drop_first, q.onehot.drop_first);
    EXPECT_EQ(p.onehot.missing_indicator, q.onehot.missing_indicator);
  }
  for (std::size_t k = 0; k < std::min(a.diagnostics.size(), b.diagnostics.size()); ++k) {
    EXPECT_EQ(a.diagnostics.items()[k].level, b.diagnostics.items()[k].level);
    EXPECT_EQ(a.diagnostics.items()[k].stage, b.diagnostics.items()[k].stage);
    EXPECT_EQ(a.diagnostics.items()[k].code, b.diagnostics.items()[k].code);
  }
}

/// A table whose column plan depends on counts of every rank's rows: a level only in
/// the first rows (rank 0's: the other ranks have no row of it), one only in the last
/// rows and a level no row uses; rare levels of tied counts (one row each, far apart)
/// and common ones of equal counts, first met out of their sorted order; a column of
/// 7 levels (more than the test's max_onehot_levels of 6) whose seventh is in the
/// last rows only; an all-missing categorical and numeric column, constant ones;
/// missing cells in one stretch of rows (one rank's); numbers with -0.0 and +0.0 (integers, which
/// the ordinal encoding counts, non-integers, which it sorts) and integers of a range
/// too wide to count; missing cells in the first and the last rows (the blog preset's
/// error names the first). `missing` false: the columns with missing cells are left out
/// (the blog preset refuses them).
Table plan_table(std::size_t n, bool missing) {
  const std::size_t edge = std::max<std::size_t>(1, std::min<std::size_t>(100, n / 10));
  std::vector<std::string> early(n), late(n), ties(n), many(n), flat(n, "same"), none(n, ""), gaps(n);
  std::vector<double> amount(n), zeros_int(n), zeros_real(n), wide(n), constant(n, 3.0),
      empty(n, std::nan(""));
  for (std::size_t i = 0; i < n; ++i) {
    early[i] = i < edge ? "first" : i % 2 ? "b" : "a";
    late[i] = i >= n - edge ? "last" : i % 3 == 0 ? "x" : i % 3 == 1 ? "y" : "z";
    ties[i] = i % 2 ? "mm" : "zz";
    many[i] = i >= n - std::min<std::size_t>(10, edge) ? "m6" : "m" + std::to_string(i % 6);
    gaps[i] = i >= n - std::min<std::size_t>(50, edge) || i == n / 4 ? "" : i % 4 ? "on" : "off";
    amount[i] = i >= n / 2 && i < n / 2 + std::min<std::size_t>(30, edge) ? std::nan("") : 1.5 + static_cast<double>(i % 37) * 2.25;
    zeros_int[i] = i % 5 == 2 ? (i < n / 2 ? -0.0 : 0.0) : static_cast<double>(i % 5) - 2.0;
    zeros_real[i] = i % 4 == 0 ? (i < n / 3 ? 0.0 : -0.0) : static_cast<double>(i % 29) * 0.37 - 5.5;
    wide[i] = static_cast<double>(i % 50) * 1e7 - 3e8;
  }
  if (n > 10) {
    ties[n > 20 ? 7 : 1] = "rb";
    ties[n / 2] = "ra";
    ties[n - 3] = "rc";
  }
  Column late_col = test::categorical("late", late);
  late_col.levels.push_back("never");  // a level no row uses (a table taken from a larger one)
  std::vector<Column> cols{test::categorical("early", early), std::move(late_col), test::categorical("ties", ties),
                           test::categorical("many", many), test::categorical("flat", flat),
                           test::numeric("constant", constant), test::numeric("zeros_int", zeros_int),
                           test::numeric("zeros_real", zeros_real), test::numeric("wide", wide)};
  if (missing) {
    cols.push_back(test::categorical("none", none));
    cols.push_back(test::numeric("empty", empty));
    cols.push_back(test::categorical("gaps", gaps));
    cols.push_back(test::numeric("amount", amount));
  }
  return Table("plan.csv", std::move(cols));
}

/// fit_prep with and without the world communicator: the same plan, field by field;
/// each rank counted about 1/N of the rows.
PrepResult check_plan(const Table& table, PrepParams pp, bool share_expected) {
  const PrepResult alone = fit_prep(table, pp);
  std::size_t counted = 0;
  pp.comm = &world();
  pp.counted_rows = &counted;
  const PrepResult shared = fit_prep(table, pp);
  expect_same_plan(alone, shared);
  const std::size_t n = table.rows();
  EXPECT_EQ(summed(counted), static_cast<std::int64_t>(n)) << "the ranks' counted rows do not add up";
  if (share_expected) expect_share(counted, n, n / 64 + 64, "rows counted for the plan");
  // The oracle: the per-column encoders of the public interface on the whole column.
  for (const FeatureBlock& b : alone.model.blocks) {
    const Column& col = table.column(table.index_of(b.column, "test"));
    if (b.kind == FeatureBlock::Kind::onehot) EXPECT_EQ(b.onehot.categories, fit_onehot(col).categories) << b.column;
    if (b.kind == FeatureBlock::Kind::ordinal_power) {
      const OrdinalEncoding e = fit_ordinal(col);
      EXPECT_EQ(b.ordinal.categories, e.categories) << b.column;
      EXPECT_TRUE(same_bits(b.ordinal.number_categories, e.number_categories)) << b.column;
    }
  }
  return alone;
}

bool has_diagnostic(const Diagnostics& d, const std::string& code, const std::string& text) {
  return std::any_of(d.items().begin(), d.items().end(), [&](const Diagnostic& x) {
    return x.code == code && x.message.find(text) != std::string::npos;
  });
}

TEST(PlanOnRanks, CountedOnEachRanksRowsMatchesOneProcess) {
  for (const std::size_t n : {std::size_t{20011}, std::size_t{1000}, std::size_t{50}}) {
    SCOPED_TRACE(::testing::Message() << "n " << n);
    on_thread_counts([&] {
      PrepParams pp;
      pp.max_onehot_levels = 6;
      const PrepResult standard = check_plan(plan_table(n, true), pp, n > 10000);
      // The decisions the test is about, on the one-process oracle.
      const auto block = [&](const PrepResult& r, const std::string& name) -> const FeatureBlock& {
        for (const FeatureBlock& b : r.model.blocks)
          if (b.column == name) return b;
        throw InvalidArgument("no block " + name);
      };
      EXPECT_EQ(block(standard, "early").onehot.categories, (std::vector<std::string>{"a", "b", "first"}));
      EXPECT_EQ(block(standard, "late").onehot.categories, (std::vector<std::string>{"last", "x", "y", "z"}));
      if (n > 10)
        EXPECT_EQ(block(standard, "ties").onehot.categories, (std::vector<std::string>{"mm", "ra", "rb", "rc", "zz"}));
      EXPECT_EQ(block(standard, "many").kind, FeatureBlock::Kind::excluded);
      EXPECT_TRUE(has_diagnostic(standard.diagnostics, "too_many_levels", "'many' has 7 levels"));
      EXPECT_EQ(block(standard, "none").kind, FeatureBlock::Kind::excluded);
      EXPECT_EQ(block(standard, "empty").kind, FeatureBlock::Kind::excluded);
      EXPECT_TRUE(block(standard, "gaps").onehot.missing_indicator);
      EXPECT_TRUE(has_diagnostic(standard.diagnostics, "imputed_missing", "'amount'"));
      EXPECT_TRUE(has_diagnostic(standard.diagnostics, "constant_column", "constant"));

      pp.preset = PrepPreset::blog;
      const PrepResult blog = check_plan(plan_table(n, false), pp, n > 10000);
      // Counted integers: the zero is +0.0; sorted numbers holding both zeros: -0.0.
      const std::vector<double> ints = block(blog, "zeros_int").ordinal.number_categories;
      ASSERT_EQ(ints.size(), 5u);
      EXPECT_FALSE(std::signbit(ints[2]));
      const std::vector<double> reals = block(blog, "zeros_real").ordinal.number_categories;
      const auto zero = std::find(reals.begin(), reals.end(), 0.0);
      ASSERT_NE(zero, reals.end());
      if (n > 12) EXPECT_TRUE(std::signbit(*zero));
      EXPECT_EQ(block(blog, "wide").ordinal.number_categories.size(), std::min<std::size_t>(n, 50));

      // The blog preset's refusal of missing cells names the first one's row: rank 0's
      // (row n / 4), though the last rank holds missing cells too.
      const Table with_gaps = plan_table(n, true).select({0, 2, 11});
      std::string alone, shared;
      pp.comm = nullptr;
      try {
        fit_prep(with_gaps, pp);
      } catch (const Error& e) {
        alone = e.what();
      }
      pp.comm = &world();
      try {
        fit_prep(with_gaps, pp);
      } catch (const Error& e) {
        shared = e.what();
      }
      const std::size_t gap = std::min<std::size_t>(50, std::max<std::size_t>(1, std::min<std::size_t>(100, n / 10)));
      EXPECT_NE(alone.find(fmt::format("column 'gaps' has {} missing values (first at row {})", gap + 1, n / 4)),
                std::string::npos)
          << alone;
      EXPECT_EQ(alone, shared);
    });
  }
}

TEST(PlanOnRanks, BankPlanMatchesOneProcess) {
  const Table bank = CsvFileSource(test::shared_path("data/bank.csv")).read().table;
  on_thread_counts([&] {
    PrepParams pp;
    check_plan(bank, pp, false);
    pp.max_onehot_levels = 4;  // job, education, month... left out by their level counts
    check_plan(bank, pp, false);
    pp = {};
    pp.preset = PrepPreset::blog;
    check_plan(bank.select({0, 1, 2, 3, 4, 5, 6, 7}), pp, false);
    pp.numeric = NumericTransform::standard;
    check_plan(bank, pp, false);
  });
  // Each rank counted about 1/N of bank.csv's rows (its nodes of the pairwise tree).
  std::size_t counted = 0;
  PrepParams pp;
  pp.comm = &world();
  pp.counted_rows = &counted;
  fit_prep(bank, pp);
  const double share = static_cast<double>(bank.rows()) / world().size();
  EXPECT_NEAR(static_cast<double>(counted), share, 0.1 * share + 128);
}

/// A file whose columns trigger each of infer_types' warnings about a column's type,
/// with the facts they read spread over the ranks' rows: integer codes of which one
/// is met only in the last rows and zero is written "0" and "-0"; integers with 11
/// distinct values over the file but at most 6 in a half (no warning), and with 10
/// (a warning listing all ten); few codes among too few present rows (none); a text
/// identifier and a numeric one; free text; a value longer than a category can be, in
/// the last rows; stray cells in a column of integer codes (its codes warning, then
/// the strays').
std::string warnings_csv(int n) {
  std::string t = "region,eleven,ten,sparse,customer,account_id,comment,blob,coded,amount\n";
  for (int i = 0; i < n; ++i) {
    const std::string region = i >= n - 20 ? "4" : i == 5 ? "0" : i == n / 2 ? "-0" : std::to_string(1 + i % 3);
    const int half = i < n / 2 ? 0 : 1;
    const std::string sparse = i % 100 == 0 ? std::to_string(i % 3) : "NA";
    const std::string blob = i == n - 7 ? std::string(1200, 'q') : fmt::format("b{}", i % 5);
    const std::string coded = i == 3 || i == n - 11 ? "n/k" : std::to_string(7 + i % 4);
    const std::string amount = i == n / 3 ? "oops" : fmt::format("{}.{}", 10 + i % 91, i % 7);
    t += fmt::format("{},{},{},{},C{:05},{},\"the customer said something about item {}\",{},{},{}\n", region,
                     half * 5 + i % 6, half * 5 + i % 5, sparse, i, 1000 + i, i, blob, coded, amount);
  }
  return t;
}

TEST(ReadOnRanks, TypeWarningsComeFromTheMergedSummaries) {
  const std::string dir = shared_test_dir();
  for (const int n : {300, 3001}) {
    SCOPED_TRACE(::testing::Message() << "rows " << n);
    const std::string path = write_test_file(dir, fmt::format("warnings_{}.csv", n), warnings_csv(n));
    // The same warning lines (level, code, text) in the same order as one process,
    // which gives each of them here.
    EXPECT_TRUE(expect_read_like_one_process(path)) << "the ranks read this file on the fast path";
    Diagnostics diagnostics;
    CsvOptions options;
    options.diagnostics = &diagnostics;
    CsvFileSource(path, options).read();
    std::vector<std::string> lines;
    for (const Diagnostic& d : diagnostics.items()) lines.push_back(d.code + ": " + d.message);
    std::string all;
    for (const std::string& line : lines) all += line + "\n";
    ASSERT_EQ(lines.size(), 9u) << all;
    EXPECT_NE(lines[0].find("integer_codes: column 'region' has only 5 distinct integers (0, 1, 2, 3, 4)"), std::string::npos)
        << lines[0];
    EXPECT_NE(lines[1].find("integer_codes: column 'ten' has only 10 distinct integers (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)"),
              std::string::npos)
        << lines[1];
    EXPECT_NE(lines[2].find("identifier_column: column 'customer'"), std::string::npos) << lines[2];
    EXPECT_NE(lines[3].find("identifier_column: column 'account_id'"), std::string::npos) << lines[3];
    EXPECT_NE(lines[4].find("text_column: column 'comment'"), std::string::npos) << lines[4];
    EXPECT_NE(lines[5].find("long_value: column 'blob' has a value of 1200 bytes"), std::string::npos) << lines[5];
    EXPECT_NE(lines[6].find(fmt::format("integer_codes: column 'coded' has only 4 distinct integers (7, 8, 9, 10) in {} rows", n - 2)),
              std::string::npos)
        << lines[6];
    EXPECT_NE(lines[7].find("non_numeric_cells: column 'coded' is numeric but 2 cells are not numbers"), std::string::npos)
        << lines[7];
    EXPECT_NE(lines[8].find("non_numeric_cells: column 'amount'"), std::string::npos) << lines[8];
  }
}

// ---- numbers written with commas and dates typed on the ranks ---------

/// The rows of a test file: `n` rows of `row(i)` under `header`.
template <class Row>
std::string csv_rows(const std::string& header, int n, Row row) {
  std::string t = header + "\n";
  for (int i = 0; i < n; ++i) t += row(i) + "\n";
  return t;
}

TEST(ReadOnRanks, NumberFormatsAndDatesAreMergedOnTheRanks) {
  const std::string dir = shared_test_dir();
  const int size = world().size();
  // Row i of n falls in about the (i * size / n)-th rank's share of the bytes: the
  // files below put different evidence in different ranks' rows.
  const int n = 600;
  auto third = [&](int i) { return i * 3 / n; };  // 0, 1, 2: the thirds of the rows
  std::vector<std::pair<std::string, std::string>> files;
  // Thousands separators (the cells quoted), with a point, with markers and a stray.
  files.emplace_back("grouped.csv", csv_rows("amount,b", n, [&](int i) {
                       return fmt::format("\"{},{:03}.{}\",x{}", 1 + i % 40, (i * 37) % 1000, i % 10, i % 3);
                     }));
  files.emplace_back("grouped_markers_stray.csv", csv_rows("amount,b", n, [&](int i) {
                       return i == 450 ? std::string("oops,x0")
                                       : i % 11 == 0 ? std::string("NA,x1")
                                                     : fmt::format("\"{},{:03}\",x{}", 1 + i % 9, (i * 7) % 1000, i % 3);
                     }));
  // Decimal commas (semicolons between fields), with points between groups of three.
  files.emplace_back("decimal_comma_grouped.csv", csv_rows("a;b", n, [&](int i) {
                       return fmt::format("{}.{:03},{};x{}", 1 + i % 7, (i * 13) % 1000, i % 100, i % 3);
                     }));
  // Mixed comma evidence on different ranks: "1,234" alone reads both ways (grouped,
  // ambiguous); a later "1,5" decides for the decimal comma. The first third of the
  // rows holds only "d,ddd", the others only "d,d" (or plain integers).
  files.emplace_back("mixed_evidence.csv", csv_rows("a,b", n, [&](int i) {
                       return third(i) == 0   ? fmt::format("\"{},{:03}\",x{}", 1 + i % 9, (i * 11) % 1000, i % 3)
                              : third(i) == 1 ? fmt::format("\"{},{}\",x{}", i % 9, i % 10, i % 3)
                                              : fmt::format("{},x{}", i, i % 3);
                     }));
  // Only "d,ddd" everywhere: ambiguous, read with a thousands separator (a warning).
  files.emplace_back("ambiguous_commas.csv", csv_rows("a,b", n, [&](int i) {
                       return fmt::format("\"{},{:03}\",x{}", 1 + i % 9, (i * 11) % 1000, i % 3);
                     }));
  // Commas on the last third only, plain numbers before: the note's example is the
  // first cell with a comma, on a later rank; a plain number with a point on the
  // first rank rules out the decimal comma for it ("1.5" is a stray there).
  files.emplace_back("late_commas.csv", csv_rows("a,b", n, [&](int i) {
                       return third(i) < 2 ? fmt::format("{}.{},x{}", i, i % 10, i % 3)
                                           : fmt::format("\"{},{:03}.5\",x{}", 1 + i % 9, i % 1000, i % 3);
                     }));
  // Commas that make no number on any reading: a text column.
  files.emplace_back("commas_text.csv", csv_rows("a,b", n, [&](int i) {
                       return fmt::format("\"{}, {}\",x{}", third(i) == 2 ? "late" : "word", i % 7, i % 3);
                     }));
  // A decimal-comma reading with a few strays, one on each third: the warning's first
  // strays named in rank order.
  files.emplace_back("decimal_comma_strays.csv", csv_rows("a;b", n, [&](int i) {
                       return fmt::format("{};x{}", i % 200 == 50 ? std::string("bad") : fmt::format("{},{}", i, i % 10), i % 3);
                     }));
  // A numeric identifier written with thousands separators.
  files.emplace_back("grouped_id.csv", csv_rows("customer_id,b", n, [&](int i) {
                       return fmt::format("\"{},{:03}\",x{}", 1 + i / 1000, i % 1000, i % 3);
                     }));
  // Dates in each supported form, with markers; orders decided by a day or month above
  // 12 on one rank only; ambiguous; with times and zones.
  files.emplace_back("dates_iso.csv", csv_rows("d,b", n, [&](int i) {
                       return fmt::format("{},{}", i % 13 == 0 ? "NA" : fmt::format("20{:02}-{:02}-{:02}", 10 + i % 9, 1 + i % 12, 1 + i % 28), i % 4);
                     }));
  files.emplace_back("dates_iso_slash.csv", csv_rows("d,b", n, [&](int i) {
                       return fmt::format("20{:02}/{:02}/{:02},{}", 10 + i % 9, 1 + i % 12, 1 + i % 28, i % 4);
                     }));
  files.emplace_back("dates_dmy_late.csv", csv_rows("d,b", n, [&](int i) {  // a day above 12 on the last third only
                       return fmt::format("{:02}/{:02}/20{:02},{}", third(i) == 2 ? 13 + i % 16 : 1 + i % 12, 1 + i % 12, 10 + i % 9, i % 4);
                     }));
  files.emplace_back("dates_mdy_late.csv", csv_rows("d,b", n, [&](int i) {  // a day second above 12, last third only
                       return fmt::format("{}-{}-20{:02},{}", 1 + i % 12, third(i) == 2 ? 13 + i % 16 : 1 + i % 12, 10 + i % 9, i % 4);
                     }));
  files.emplace_back("dates_dotted_ambiguous.csv", csv_rows("d,b", n, [&](int i) {
                       return fmt::format("{}.{}.19{:02},{}", 1 + i % 12, 1 + (i * 5) % 12, 50 + i % 40, i % 4);
                     }));
  files.emplace_back("dates_times.csv", csv_rows("d,b", n, [&](int i) {
                       const std::string zone = i % 3 == 0 ? "Z" : i % 3 == 1 ? "+02:00" : "";
                       return fmt::format("2024-{:02}-{:02}T{:02}:{:02}:{:02}.{}{},{}", 1 + i % 12, 1 + i % 28, i % 24, i % 60,
                                          (i * 7) % 60, i % 1000, zone, i % 4);
                     }));
  files.emplace_back("dates_time_late.csv", csv_rows("d,b", n, [&](int i) {  // a time on the last third only
                       return fmt::format("2024-{:02}-{:02}{},{}", 1 + i % 12, 1 + i % 28, third(i) == 2 ? " 10:30" : "", i % 4);
                     }));
  files.emplace_back("dates_earliest_late.csv", csv_rows("d,b", n, [&](int i) {  // the reference date on the last rank
                       return fmt::format("{},{}", i == n - 3 ? std::string("1999-12-31") : fmt::format("2020-{:02}-{:02}", 1 + i % 12, 1 + i % 28), i % 4);
                     }));
  // Not dates after all, each for a reason seen on one rank only: a bad cell, a day
  // above 12 first and a month above 12 second, another separator, year first.
  files.emplace_back("dates_bad_cell.csv", csv_rows("d,b", n, [&](int i) {
                       return fmt::format("{},{}", i == 500 ? std::string("2020-13-01") : fmt::format("2020-{:02}-{:02}", 1 + i % 12, 1 + i % 28), i % 4);
                     }));
  files.emplace_back("dates_stray_text.csv", csv_rows("d,b", n, [&](int i) {
                       return fmt::format("{},{}", i == 300 ? std::string("soon") : fmt::format("2020-{:02}-{:02}", 1 + i % 12, 1 + i % 28), i % 4);
                     }));
  files.emplace_back("dates_both_orders.csv", csv_rows("d,b", n, [&](int i) {
                       return fmt::format("{:02}/{:02}/2020,{}", third(i) == 0 && i % 5 == 0 ? 25 : 1 + i % 12,
                                          third(i) == 2 && i % 5 == 0 ? 25 : 1 + i % 12, i % 4);
                     }));
  files.emplace_back("dates_separators.csv", csv_rows("d,b", n, [&](int i) {
                       const char* sep = third(i) == 1 ? "-" : "/";
                       return fmt::format("{:02}{}{:02}{}2020,{}", 1 + i % 12, sep, 1 + i % 12, sep, i % 4);
                     }));
  files.emplace_back("dates_year_position.csv", csv_rows("d,b", n, [&](int i) {
                       return third(i) == 2 ? fmt::format("2020-{:02}-{:02},{}", 1 + i % 12, 1 + i % 28, i % 4)
                                            : fmt::format("{:02}-{:02}-2020,{}", 1 + i % 12, 1 + i % 12, i % 4);
                     }));
  // A first present cell that is no date, the rest dates: a text column.
  files.emplace_back("dates_after_text.csv", csv_rows("d,b", n, [&](int i) {
                       return fmt::format("{},{}", i == 0 ? std::string("unknown") : fmt::format("2020-{:02}-{:02}", 1 + i % 12, 1 + i % 28), i % 4);
                     }));
  // Dates with a comma in their time's fraction and an all-missing column.
  files.emplace_back("dates_comma_fraction.csv", csv_rows("d,b,e", n, [&](int i) {
                       return fmt::format("\"2024-{:02}-{:02} 10:{:02}:{:02},{}\",{},", 1 + i % 12, 1 + i % 28, i % 60, i % 60, i % 10, i % 4);
                     }));
  for (const auto& [name, text] : files) {
    const std::string path = write_test_file(dir, name, text);
    EXPECT_TRUE(expect_read_like_one_process(path)) << name;
    // Each rank typed about 1/N of the rows (a rank that typed all fails; the rows of
    // some files are longer in one third than in the others, hence the margin).
    const double share = static_cast<double>(n) / size;
    EXPECT_NEAR(static_cast<double>(io_detail::last_read_on_ranks().rows_typed), share, 0.35 * share + 2) << name;
    // The columns read from dates, with their order and reference, as one process records them.
    DateReadings want, got;
    CsvOptions with_want, with_got;
    with_want.dates_read = &want;
    with_got.dates_read = &got;
    CsvFileSource(path, with_want).read();
    read_csv_on_ranks(path, with_got, world());
    EXPECT_EQ(got.size(), want.size()) << name;
    for (std::size_t k = 0; k < std::min(got.size(), want.size()); ++k) {
      EXPECT_EQ(got[k].first, want[k].first) << name;
      EXPECT_EQ(got[k].second.order, want[k].second.order) << name;
      EXPECT_EQ(got[k].second.reference, want[k].second.reference) << name;
    }
  }
  // The decisions these files stand for, as one process takes them (so that the
  // comparison above is not between two readers that both read text).
  auto one = [&](const std::string& name, std::size_t j) {
    return CsvFileSource(dir + "/" + name).read().table.column(j);
  };
  EXPECT_EQ(one("grouped.csv", 0).decimal, '.');
  EXPECT_TRUE(one("grouped.csv", 0).is_numeric());
  EXPECT_EQ(one("mixed_evidence.csv", 0).decimal, ',');
  EXPECT_EQ(one("ambiguous_commas.csv", 0).decimal, '.');
  EXPECT_EQ(one("decimal_comma_grouped.csv", 0).decimal, ',');
  EXPECT_EQ(one("decimal_comma_strays.csv", 0).decimal, ',');
  EXPECT_EQ(one("grouped_id.csv", 0).type, ColumnType::id);
  EXPECT_FALSE(one("commas_text.csv", 0).is_numeric());
  for (const char* dated : {"dates_iso.csv", "dates_iso_slash.csv", "dates_dmy_late.csv", "dates_mdy_late.csv",
                            "dates_dotted_ambiguous.csv", "dates_times.csv", "dates_time_late.csv",
                            "dates_earliest_late.csv", "dates_comma_fraction.csv"}) {
    const Column c = one(dated, 0);
    EXPECT_TRUE(c.is_numeric() && c.decimal == 0) << dated;
  }
  for (const char* text : {"dates_bad_cell.csv", "dates_stray_text.csv", "dates_both_orders.csv",
                           "dates_separators.csv", "dates_year_position.csv", "dates_after_text.csv"})
    EXPECT_FALSE(one(text, 0).is_numeric()) << text;
}

// ---- The profiles' order statistics from each rank's rows ------------------------
// The minimum, quartiles, median and maximum of every (numeric column, group) are
// selected among the ranks' own rows (select_order_statistics). Compared bit for bit
// with one process and with a sort of each group's values (numpy's linear quantiles,
// the median the mean of the two middle values, -0.0 sorted before +0.0), on bank.csv
// and on a table with ties, NaN, -0.0 and +0.0, denormals and huge values, a column
// with only zeros, columns missing in a segment or almost everywhere, and segments of
// 1 to 3 rows (one within rank 0's rows, one within the last rank's, one split
// between the first and the last); each rank read about 1/N of the rows.

/// The order statistics of `profile`'s numeric columns against a sort of the rows'
/// values (rows where in_group holds).
template <class InGroup>
void expect_sorted_statistics(const Table& table, const SegmentProfile& profile, InGroup&& in_group) {
  for (const ColumnProfile& cp : profile.columns) {
    if (cp.type != ColumnType::numeric) continue;
    SCOPED_TRACE(::testing::Message() << "segment " << profile.segment << " column " << cp.name);
    const std::vector<double>& x = table.column(cp.column).numbers;
    std::vector<double> v;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (in_group(i) && !std::isnan(x[i])) v.push_back(x[i]);
    std::sort(v.begin(), v.end(),
              [](double a, double b) { return detail::order_key(a) < detail::order_key(b); });
    const NumericSummary& s = cp.numeric;
    ASSERT_EQ(s.count, v.size());
    const std::size_t m = v.size();
    if (m == 0) {
      for (double f : {s.min, s.q1, s.median, s.q3, s.max}) EXPECT_TRUE(std::isnan(f));
      continue;
    }
    EXPECT_TRUE(same_bits(s.min, v.front())) << s.min << " vs " << v.front();
    EXPECT_TRUE(same_bits(s.max, v.back())) << s.max << " vs " << v.back();
    EXPECT_TRUE(same_bits(s.q1, quantile_linear(v, 0.25))) << s.q1 << " vs " << quantile_linear(v, 0.25);
    EXPECT_TRUE(same_bits(s.q3, quantile_linear(v, 0.75))) << s.q3 << " vs " << quantile_linear(v, 0.75);
    const double median = m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2.0;
    EXPECT_TRUE(same_bits(s.median, median)) << s.median << " vs " << median;
  }
}

void expect_order_statistics_on_ranks(const Table& table, const std::vector<std::int32_t>& labels) {
  std::size_t numeric = 0, present = 0, clustered_present = 0;
  for (std::size_t j = 0; j < table.cols(); ++j) {
    const Column& c = table.column(j);
    if (c.type != ColumnType::numeric) continue;
    ++numeric;
    for (std::size_t i = 0; i < table.rows(); ++i) {
      if (std::isnan(c.numbers[i])) continue;
      ++present;
      clustered_present += labels[i] >= 0;
    }
  }
  on_thread_counts([&] {
    ProfileParams pp;
    const Profiles alone = profile_segments(table, labels, pp);
    pp.comm = &world();
    detail::ProfileWork work;
    const Profiles shared = detail::profile_segments_counted(table, labels, pp, {}, {}, &work);
    expect_same_profiles(alone, shared);
    expect_sorted_statistics(table, alone.population, [&](std::size_t i) { return labels[i] >= 0; });
    for (const SegmentProfile& sp : alone.segments)
      expect_sorted_statistics(table, sp, [&](std::size_t i) { return labels[i] == sp.segment; });
    ASSERT_TRUE(alone.unassigned.has_value());
    expect_sorted_statistics(table, *alone.unassigned, [&](std::size_t i) { return labels[i] < 0; });
    // Each rank read its share of the rows (blocks of 4,096): a rank reading every
    // row, or every value of a (column, group), fails.
    expect_share(work.ordered_rows, table.rows(), 4096, "rows read for the order statistics");
    expect_share(work.ordered_values, present + clustered_present, 2 * numeric * 4096,
                 "values the order statistics were selected among");
  });
}

TEST(ProfilesOnRanks, OrderStatisticsFromEachRanksRows) {
  {
    SCOPED_TRACE("bank.csv");
    const Table bank = CsvFileSource(test::shared_path("data/bank.csv")).read().table;
    std::vector<std::int32_t> labels = some_labels(bank.rows(), 5, 17);
    for (std::size_t i = 0; i < labels.size(); i += 29) labels[i] = -1;
    expect_order_statistics_on_ranks(bank, labels);
  }
  const std::size_t n = 20000;
  std::vector<std::int32_t> labels = some_labels(n, 4, 23);
  for (std::size_t i = 0; i < n; i += 17) labels[i] = -1;
  for (std::size_t i : {3, 4, 5}) labels[i] = 7;  // three rows, all in the first block (rank 0's)
  labels[n - 2] = 8;                              // one row, in the last block (the last rank's)
  labels[100] = labels[n - 100] = 9;              // two rows, in the first and the last block
  Rng rng(97);
  std::vector<double> ties(n), zeros(n), only_zeros(n), sparse(n), gap(n), wide(n);
  const double signed_values[] = {-0.0, 0.0, -1.0, 1.0, 2.5};
  const double wide_values[] = {1e300, -1e300, 5e-324, -5e-324, 1e-310, 3.0, -0.0, 0.0};
  for (std::size_t i = 0; i < n; ++i) {
    ties[i] = static_cast<double>(rng.below(5));
    zeros[i] = rng.uniform() < 0.05 ? std::nan("") : signed_values[rng.below(5)];
    only_zeros[i] = rng.uniform() < 0.5 ? -0.0 : 0.0;
    sparse[i] = rng.uniform() < 0.02 ? rng.normal() : std::nan("");
    gap[i] = labels[i] == 1 ? std::nan("") : 1e3 * rng.normal();
    wide[i] = rng.uniform() < 0.5 ? wide_values[rng.below(8)] : rng.normal() * 1e-5;
  }
  sparse[4] = 2.0;  // the three-row segment: one present value
  std::vector<std::string> kind(n);
  for (std::size_t i = 0; i < n; ++i) kind[i] = i % 3 ? "a" : "b";
  std::vector<Column> cols;
  cols.push_back(test::numeric("ties", std::move(ties)));
  cols.push_back(test::numeric("zeros", std::move(zeros)));
  cols.push_back(test::categorical("kind", kind));
  cols.push_back(test::numeric("only_zeros", std::move(only_zeros)));
  cols.push_back(test::numeric("sparse", std::move(sparse)));
  cols.push_back(test::numeric("gap", std::move(gap)));
  cols.push_back(test::numeric("wide", std::move(wide)));
  const Table table("order statistics", std::move(cols));
  SCOPED_TRACE("generated");
  expect_order_statistics_on_ranks(table, labels);
}

// ---- one column's type warning, number format note and strays, in one order -------

/// A file whose columns each draw several of infer_types' warnings and notes: integer
/// codes written with thousands separators (the type warning, the ambiguous-comma
/// warning and a stray cell, in that order), grouped and decimal-comma numbers, dates
/// whose order only the last rows decide, an identifier, free text, strays and
/// integer codes.
std::string warnings_and_formats_csv(int n) {
  std::string t = "codes,price,when,customer,comment,amount,ratio,region\n";
  for (int i = 0; i < n; ++i) {
    const std::string codes = i == n / 2 ? "n/k" : fmt::format("\"{},000\"", 1 + i % 4);
    const int day = i >= n - 10 ? 13 + i % 15 : 1 + i % 12;
    const std::string amount = i == n / 3 ? "oops" : fmt::format("{}.{}", 10 + i % 91, i % 7);
    t += fmt::format("{},\"{},{:03}.{}\",{:02}/{:02}/20{:02},C{:05},\"the customer said something about item {}\",{},"
                     "\"{},{}\",{}\n",
                     codes, 1 + i % 40, (i * 37) % 1000, i % 10, day, 1 + (i * 5) % 12, 10 + i % 9, i, i, amount,
                     i % 17, i % 9, 1 + i % 3);
  }
  return t;
}

TEST(ReadOnRanks, EachColumnsWarningsAndNotesComeInTheOneProcessOrder) {
  const std::string dir = shared_test_dir();
  for (const int n : {600, 3001}) {
    SCOPED_TRACE(::testing::Message() << "rows " << n);
    const std::string path = write_test_file(dir, fmt::format("warnings_formats_{}.csv", n), warnings_and_formats_csv(n));
    // The same lines (level, code, text) in the same order as one process, on the fast path.
    EXPECT_TRUE(expect_read_like_one_process(path)) << "the ranks read this file on the fast path";
    const double share = static_cast<double>(n) / world().size();
    EXPECT_NEAR(static_cast<double>(io_detail::last_read_on_ranks().rows_typed), share, 0.35 * share + 2);
    // One process gives each of them, column after column (so that the comparison is
    // not between two readers that give none).
    Diagnostics diagnostics;
    DateReadings dates;
    CsvOptions options;
    options.diagnostics = &diagnostics;
    options.dates_read = &dates;
    CsvFileSource(path, options).read();
    std::vector<std::string> codes;
    for (const Diagnostic& d : diagnostics.items()) codes.push_back(d.code);
    const std::vector<std::string> want = {"integer_codes", "thousands_separator", "non_numeric_cells",
                                           "number_format", "date_column",         "identifier_column",
                                           "text_column",   "non_numeric_cells",   "number_format",
                                           "integer_codes"};
    EXPECT_EQ(codes, want);
    ASSERT_EQ(dates.size(), 1u);
    EXPECT_EQ(dates[0].first, "when");
    EXPECT_EQ(dates[0].second.order, DateOrder::dmy);
  }
}

// ---- A source read by rank 0 alone (a database under mpirun) ------------------------

TEST(ReadOnRoot, RankZeroReadsAndEveryRankHoldsWhatOneProcessReads) {
  const Communicator& comm = world();
  const std::string dir = shared_test_dir();
  // bank.csv, and a file whose reading gives warnings, notes and a date reading.
  for (const std::string& path : {test::shared_path("data/bank.csv"),
                                  write_test_file(dir, "read_on_root.csv", warnings_and_formats_csv(600))}) {
    SCOPED_TRACE(path);
    // The oracle: one process reading the file itself.
    Diagnostics want_diagnostics;
    DateReadings want_dates;
    CsvOptions options;
    options.diagnostics = &want_diagnostics;
    options.dates_read = &want_dates;
    const SourceData want = CsvFileSource(path, options).read();

    Diagnostics diagnostics;
    DateReadings dates;
    options.diagnostics = &diagnostics;
    options.dates_read = &dates;
    std::int64_t reads = 0;
    std::size_t sent = 0;
    const SourceData got = io_detail::read_on_root(
        [&] {
          ++reads;
          return CsvFileSource(path, options).read();
        },
        comm, diagnostics, dates, &sent);
    test::expect_same_table(got.table, want.table, path);
    EXPECT_EQ(got.provenance.kind, want.provenance.kind);
    EXPECT_EQ(got.provenance.name, want.provenance.name);
    EXPECT_EQ(got.provenance.bytes, want.provenance.bytes);
    EXPECT_EQ(got.provenance.fnv1a64, want.provenance.fnv1a64);
    EXPECT_EQ(got.provenance.extra, want.provenance.extra);
    test::expect_same_diagnostics(diagnostics, want_diagnostics);
    test::expect_same_dates(dates, want_dates);
    // Rank 0 alone read; every rank knows the size of what it sent.
    const std::int64_t mine[] = {reads, static_cast<std::int64_t>(sent)};
    const std::vector<std::int64_t> all = comm.allgather(std::span<const std::int64_t>(mine, 2));
    for (int r = 0; r < comm.size(); ++r) {
      EXPECT_EQ(all[2 * static_cast<std::size_t>(r)], r == 0 ? 1 : 0) << "rank " << r << "'s reads";
      EXPECT_EQ(all[2 * static_cast<std::size_t>(r) + 1], all[1]) << "rank " << r;
    }
    if (comm.size() > 1) EXPECT_GT(sent, want.table.rows() * want.table.cols());
  }

  // Rank 0's failure is every rank's, with the one-process type and message.
  const std::string missing = dir + "/no_such_file.csv";
  std::string want_error, got_error;
  try {
    CsvFileSource(missing).read();
  } catch (const Error& e) {
    want_error = std::string(typeid(e).name()) + ": " + e.what();
  }
  Diagnostics diagnostics;
  DateReadings dates;
  try {
    io_detail::read_on_root([&] { return CsvFileSource(missing).read(); }, comm, diagnostics, dates);
  } catch (const Error& e) {
    got_error = std::string(typeid(e).name()) + ": " + e.what();
  }
  EXPECT_FALSE(want_error.empty());
  EXPECT_EQ(got_error, want_error);
}

}  // namespace

// ---- whether an identifier's numbers are distinct, without gathering them ----

/// One process's decision on the concatenation of every rank's numbers (the oracle):
/// a sort and a look for two equal neighbours.
bool distinct_as_one_process(const std::vector<std::vector<double>>& parts) {
  std::vector<double> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  std::sort(all.begin(), all.end());
  return std::adjacent_find(all.begin(), all.end()) == all.end();
}

TEST(ReadOnRanks, IdentifierDistinctnessWithoutGatheringTheNumbers) {
  const Communicator& comm = world();
  const int size = comm.size();
  const auto rank = static_cast<std::size_t>(comm.rank());
  const std::size_t n = 30000;
  // Every case deals the same n numbers to the ranks in contiguous parts (as the file's
  // rows are), then the decision must be one process's on all of them.
  std::mt19937_64 rng(7);
  std::vector<double> shuffled(n);
  for (std::size_t i = 0; i < n; ++i) shuffled[i] = 1000.0 + static_cast<double>(i) * 3.0;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::vector<double> in_order(n);
  for (std::size_t i = 0; i < n; ++i) in_order[i] = static_cast<double>(i) - 5000.0;
  struct Case {
    const char* name;
    std::vector<double> values;
  };
  std::vector<Case> cases;
  cases.push_back({"numbered in file order", in_order});
  cases.push_back({"shuffled, all distinct", shuffled});
  {
    std::vector<double> v = shuffled;
    v[n - 1] = v[3];  // the first part's value again in the last part
    cases.push_back({"shuffled, a repeat between the first and last parts", v});
  }
  {
    std::vector<double> v = shuffled;
    v[11] = v[10];  // a repeat inside the first part
    cases.push_back({"shuffled, a repeat inside one part", v});
  }
  {
    std::vector<double> v = shuffled;
    v[5] = 0.0;
    v[n - 2] = -0.0;  // equal to +0.0 as one process compares them
    cases.push_back({"+0.0 in the first part and -0.0 in the last", v});
  }
  {
    std::vector<double> v = in_order;
    v[n - 1] = v[0];  // ranges that touch because of one repeat
    cases.push_back({"in order but the last number repeats the first", v});
  }
  cases.push_back({"no numbers", {}});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::size_t m = c.values.size();
    std::vector<std::vector<double>> parts(static_cast<std::size_t>(size));
    for (int r = 0; r < size; ++r) {
      const std::size_t begin = m * static_cast<std::size_t>(r) / static_cast<std::size_t>(size);
      const std::size_t end = m * static_cast<std::size_t>(r + 1) / static_cast<std::size_t>(size);
      parts[static_cast<std::size_t>(r)].assign(c.values.begin() + static_cast<std::ptrdiff_t>(begin),
                                                c.values.begin() + static_cast<std::ptrdiff_t>(end));
    }
    const std::uint64_t before = comm.bytes_gathered();
    const bool got = io_detail::numbers_distinct_on_ranks(parts[rank], comm);
    const std::uint64_t received = comm.bytes_gathered() - before;
    EXPECT_EQ(got, distinct_as_one_process(parts));
    // No rank receives the numbers of all: about 1/N of them where they are dealt out
    // (a tenth more for the hash's unevenness), a few bytes where the ranges decide.
    if (size > 1)
      EXPECT_LE(received, static_cast<std::uint64_t>(1.1 * static_cast<double>(m * sizeof(double)) / size) + 1024)
          << "this rank received " << received << " bytes";
  }
}

// ---------------------------------------------------------------------------
// The Calinski-Harabasz and Davies-Bouldin criteria on each rank's rows
// ---------------------------------------------------------------------------

/// Labels of n rows for the criteria: unbalanced, values that are not 0..k-1, some
/// present in one rank's blocks only (of 3 ranks' shares of 4,096-row blocks).
std::vector<std::int32_t> criteria_labels(std::size_t n, int kind, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int32_t> l(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double u = rng.uniform();
    if (kind == 0) {
      l[i] = u < 0.9 ? 0 : 1;  // two clusters, one of a tenth of the rows
    } else if (kind == 1) {  // sparse values (sorted codes), one in the first block, one in the last rows
      if (i < 4096 && i % 50 == 0)
        l[i] = 2000000000;
      else if (i + 2000 >= n && i % 3 == 0)
        l[i] = -7;
      else
        l[i] = u < 0.6 ? 3 : u < 0.85 ? 100 : u < 0.95 ? 41 : 42;
    } else {  // dense values 5..8, 8 only in rows [10000, 11000) (the middle rank's of 3)
      l[i] = i >= 10000 && i < 11000 && i % 4 == 0 ? 8 : u < 0.7 ? 5 : u < 0.9 ? 6 : 7;
    }
  }
  return l;
}

template <class T>
void check_criteria_on_ranks(std::size_t n, std::size_t p, int kind, std::uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "criteria n " << n << " p " << p << " labels " << kind << " "
                                    << (sizeof(T) == 4 ? "float" : "double"));
  const Communicator& comm = world();
  const Matrix<T> x = blobs<T>(n, p, 4, seed);
  const std::vector<std::int32_t> labels = criteria_labels(n, kind, seed + 1);
  const std::size_t k = [&] {
    std::vector<std::int32_t> v = labels;
    std::sort(v.begin(), v.end());
    return static_cast<std::size_t>(std::unique(v.begin(), v.end()) - v.begin());
  }();
  // The oracle: the same functions without a communicator, and the public ones.
  const double ch = detail::calinski_harabasz_rows<T>(detail::RowSource<T>(x.view()), labels);
  const double db = detail::davies_bouldin_rows<T>(detail::RowSource<T>(x.view()), labels);
  EXPECT_TRUE(same_bits(ch, calinski_harabasz_score<T>(x.view(), labels)));
  EXPECT_TRUE(same_bits(db, davies_bouldin_score<T>(x.view(), labels)));
  ASSERT_TRUE(std::isfinite(ch) && std::isfinite(db));

  // Every row outside this rank's share of the blocks is NaN and its label a value no
  // row has: a rank that read one of them would change k or the sums.
  const Blocks blocks{n, 4096};
  const detail::BlockShare share = detail::BlockShare::of(&comm, blocks.count());
  const std::size_t r0 = share.distributed() ? share.begin_row(blocks) : 0;
  const std::size_t r1 = share.distributed() ? share.end_row(blocks) : n;
  Matrix<T> spoilt = x;
  std::vector<std::int32_t> spoilt_labels = labels;
  for (std::size_t i = 0; i < n; ++i) {
    if (i >= r0 && i < r1) continue;
    for (std::size_t j = 0; j < p; ++j) spoilt(i, j) = std::numeric_limits<T>::quiet_NaN();
    spoilt_labels[i] = 123456789 + static_cast<std::int32_t>(i % 7);
  }
  std::vector<std::atomic<unsigned char>> seen(n);
  std::atomic<std::size_t> outside{0};
  const detail::RowSource<T> counted(n, p, [&](std::size_t i, T* dst) {
    if (i < r0 || i >= r1) ++outside;
    seen[i] = 1;
    std::memcpy(dst, spoilt.row(i), p * sizeof(T));
  });
  const detail::RowSource<T> view(spoilt.view());
  on_thread_counts([&] {
    for (const detail::RowSource<T>* src : {&view, &counted}) {
      for (auto& s : seen) s = 0;
      const std::uint64_t before = comm.bytes_gathered();
      const double sch = detail::calinski_harabasz_rows<T>(*src, spoilt_labels, &comm);
      const double sdb = detail::davies_bouldin_rows<T>(*src, spoilt_labels, &comm);
      const std::uint64_t received = comm.bytes_gathered() - before;
      EXPECT_TRUE(same_bits(ch, sch)) << ch << " vs " << sch;
      EXPECT_TRUE(same_bits(db, sdb)) << db << " vs " << sdb;
      // What travels is not 8 bytes a row: the running sums of the two criteria's
      // folds ((k + 1) p and k, then k p and k values, each received at most twice)
      // and each call's labels (each rank's distinct values and k counts).
      const auto size = static_cast<std::uint64_t>(comm.size());
      EXPECT_LE(received, 8 * (2 * ((2 * k + 1) * p + 2 * k) + 4 * k * size) + 256)
          << "this rank received " << received << " bytes for " << n << " rows";
      if (src == &counted) {
        std::size_t rows = 0;
        for (auto& s : seen) rows += s.load();
        expect_share(rows, n, 4096, "rows read by the criteria");
      }
    }
  });
  EXPECT_EQ(outside.load(), 0u) << "this rank read rows outside its share";
}

TEST(CriteriaOnRanks, EachRankReadsItsOwnRowsAndMatchesOneProcess) {
  check_criteria_on_ranks<double>(30000, 5, 0, 501);
  check_criteria_on_ranks<double>(30000, 12, 1, 502);
  check_criteria_on_ranks<double>(30001, 8, 2, 503);
  check_criteria_on_ranks<float>(30000, 7, 1, 504);
  check_criteria_on_ranks<float>(30001, 9, 2, 505);
  check_criteria_on_ranks<double>(5000, 6, 2, 506);  // 2 blocks: a rank of 3 has none
}

TEST(CriteriaOnRanks, ANonFiniteValueIsTheOneProcessError) {
  const std::size_t n = 30000, p = 4;
  MatrixD x = blobs<double>(n, p, 3, 510);
  const std::vector<std::int32_t> labels = criteria_labels(n, 0, 511);
  x(25000, 1) = std::numeric_limits<double>::infinity();  // the last rank's of 3
  x(12000, 3) = std::numeric_limits<double>::quiet_NaN();  // the middle rank's: the first
  std::string alone, shared;
  try {
    detail::davies_bouldin_rows<double>(detail::RowSource<double>(x.view()), labels);
  } catch (const InvalidArgument& e) {
    alone = e.what();
  }
  try {
    detail::davies_bouldin_rows<double>(detail::RowSource<double>(x.view()), labels, &world());
  } catch (const InvalidArgument& e) {
    shared = e.what();
  }
  EXPECT_NE(alone.find("row 12000, column 3"), std::string::npos) << alone;
  EXPECT_EQ(alone, shared);
}

TEST(CriteriaOnRanks, SweepEvaluationMatchesOneProcess) {
  // evaluate_fits with KChoice::comm: every k's criteria on the ranks' rows.
  const std::size_t n = 20000, p = 6;
  const MatrixD x = blobs<double>(n, p, 4, 520);
  std::vector<detail::KFit> fits;
  for (const std::size_t k : {std::size_t{2}, std::size_t{3}, std::size_t{5}}) {
    detail::KFit f;
    f.k = k;
    f.labels = some_labels(n, k, 521 + k);
    fits.push_back(std::move(f));
  }
  detail::KChoice choice;
  Diagnostics diag_alone, diag_shared;
  const detail::Evaluation alone = detail::evaluate_fits<double>(x.view(), fits, 500, 7, diag_alone, choice);
  choice.comm = &world();
  const detail::Evaluation shared = detail::evaluate_fits<double>(x.view(), fits, 500, 7, diag_shared, choice);
  ASSERT_EQ(alone.points.size(), shared.points.size());
  for (std::size_t i = 0; i < alone.points.size(); ++i) {
    EXPECT_TRUE(same_bits(alone.points[i].calinski_harabasz, shared.points[i].calinski_harabasz)) << "k " << fits[i].k;
    EXPECT_TRUE(same_bits(alone.points[i].davies_bouldin, shared.points[i].davies_bouldin)) << "k " << fits[i].k;
    EXPECT_TRUE(same_bits(alone.points[i].silhouette, shared.points[i].silhouette)) << "k " << fits[i].k;
    EXPECT_TRUE(std::isfinite(alone.points[i].calinski_harabasz));
  }
}

int main(int argc, char** argv) {
  if (launched_by_mpi()) start_mpi(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  // Every rank must pass; the launcher reports a failing one.
  finish_mpi();
  return rc;
}
