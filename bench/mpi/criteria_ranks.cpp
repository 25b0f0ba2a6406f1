// The Calinski-Harabasz and Davies-Bouldin criteria on MPI ranks, timed per rank.
// Reads a CSV (types inferred), prepares it (fit_prep) and labels it by a short
// k-means fit (one process, on every rank), then on every rank, alternating, `reps`
// times:
//   alone:  detail::calinski_harabasz_rows and davies_bouldin_rows without a
//           communicator (every row read by every rank);
//   shared: the same with the world communicator (each rank reads its share of the
//           4,096-row blocks, the running sums passed along the ranks), and the bytes
//           it received.
// Checks that the shared results are the one-process bits. Built with SEGMENTA_MPI.
//   mpirun -np N build/default/bench/bench_mpi_criteria_ranks DATA.csv [k] [reps] [threads]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "metrics/row_source.hpp"
#include "segmenta/cluster.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"
#include "segmenta/prep.hpp"

using namespace segmenta;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

}  // namespace

int main(int argc, char** argv) {
  if (launched_by_mpi()) start_mpi(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA.csv [k] [reps] [threads]\n", argv[0]);
    return 2;
  }
  const Communicator& comm = world();
  const std::size_t k = argc > 2 ? static_cast<std::size_t>(std::atoi(argv[2])) : 3;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 3;
  set_num_threads(argc > 4 ? std::atoi(argv[4]) : 1);
  const Table table = read_csv(argv[1], CsvOptions{});
  const PrepResult prep = fit_prep(table, PrepParams{});
  const ViewD x = prep.features.view();
  KMeansParams kp;
  kp.n_clusters = k;
  kp.n_init = 1;
  kp.max_iter = 20;
  const std::vector<std::int32_t> labels = fit_kmeans<double>(x, kp).labels;
  const detail::RowSource<double> rows(x);
  std::vector<double> alone, shared;
  std::uint64_t bytes = 0;
  bool same = true;
  for (int r = 0; r < reps; ++r) {
    Stopwatch w;
    const double ch = detail::calinski_harabasz_rows<double>(rows, labels);
    const double db = detail::davies_bouldin_rows<double>(rows, labels);
    alone.push_back(w.seconds());
    const std::uint64_t b0 = comm.bytes_gathered();
    w.reset();
    const double sch = detail::calinski_harabasz_rows<double>(rows, labels, &comm);
    const double sdb = detail::davies_bouldin_rows<double>(rows, labels, &comm);
    shared.push_back(w.seconds());
    bytes = comm.bytes_gathered() - b0;
    same = same && same_bits(ch, sch) && same_bits(db, sdb);
  }
  const std::vector<std::string> lines = comm.allgather_bytes(fmt::format(
      "rank {}: {} rows x {} features, k = {}; Calinski-Harabasz + Davies-Bouldin alone {:.3f} s, shared "
      "{:.3f} s ({} bytes received); {}",
      comm.rank(), x.rows(), x.cols(), k, median(alone), median(shared), bytes, same ? "same bits" : "RESULTS DIFFER"));
  if (comm.rank() == 0)
    for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  finish_mpi();
  return 0;
}
