// The preparation (fit_prep) on MPI ranks, timed per rank. Reads a CSV (types
// inferred), then on every rank, alternating, `reps` times:
//   alone:  fit_prep without a communicator (what every rank computed before the
//           preparation was shared);
//   shared: fit_prep with the world communicator (each rank its rows' share; the
//           feature rows gathered at the end), and the bytes it received;
//   every_row: fit_prep with the world communicator and transform_every_row (the
//           statistics shared, every row transformed on every rank, nothing gathered);
//   gather: an allgather of this rank's share of the feature rows alone (what the
//           shared fit spends completing the rows on every rank);
//   transform: PrepModel::transform of all rows (what a rank would spend instead of
//           the gather, times (N - 1) / N: transforming the other ranks' rows itself).
// Prints per rank the medians and the features' FNV-1a hash (the same for any rank
// count). Built with SEGMENTA_MPI.
//   mpirun -np N build/default/bench/bench_mpi_prep_ranks DATA.csv [reps] [threads] [blog]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"
#include "segmenta/prep.hpp"

using namespace segmenta;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (launched_by_mpi()) start_mpi(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA.csv [reps] [threads] [blog]\n", argv[0]);
    return 2;
  }
  const Communicator& comm = world();
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  set_num_threads(argc > 3 ? std::atoi(argv[3]) : 1);
  PrepParams pp;
  if (argc > 4 && std::string(argv[4]) == "blog") pp.preset = PrepPreset::blog;
  const Table table = read_csv(argv[1], CsvOptions{});
  std::vector<double> alone, shared, every, gather, transform;
  std::uint64_t bytes = 0, hash = 0;
  std::size_t width = 0;
  for (int r = 0; r < reps; ++r) {
    Stopwatch w;
    const PrepResult a = fit_prep(table, pp);
    alone.push_back(w.seconds());
    PrepParams sp = pp;
    sp.comm = &comm;
    sp.transform_every_row = false;
    std::size_t mine = 0;
    sp.prepared_rows = &mine;
    const std::uint64_t b0 = comm.bytes_gathered();
    w.reset();
    const PrepResult s = fit_prep(table, sp);
    shared.push_back(w.seconds());
    bytes = comm.bytes_gathered() - b0;
    sp.transform_every_row = true;
    w.reset();
    const PrepResult e = fit_prep(table, sp);
    every.push_back(w.seconds());
    if (!(e.features.size() == s.features.size() &&
          std::equal(e.features.data(), e.features.data() + e.features.size(), s.features.data())))
      std::fprintf(stderr, "rank %d: the every-row features differ\n", comm.rank());
    width = s.features.cols();
    w.reset();  // as many bytes as this rank's rows (which rows does not matter to the time)
    comm.allgather_bytes(
        std::string_view(reinterpret_cast<const char*>(s.features.data()), mine * width * sizeof(double)));
    gather.push_back(w.seconds());
    w.reset();
    const MatrixD t = s.model.transform(table);
    transform.push_back(w.seconds());
    hash = fnv1a64(std::string_view(reinterpret_cast<const char*>(s.features.data()), s.features.size() * sizeof(double)));
    if (hash != fnv1a64(std::string_view(reinterpret_cast<const char*>(a.features.data()), a.features.size() * sizeof(double))))
      std::fprintf(stderr, "rank %d: the shared features differ from one process's\n", comm.rank());
  }
  const std::vector<std::string> lines = comm.allgather_bytes(fmt::format(
      "rank {}: {} rows, {} features; fit_prep alone {:.3f} s, shared {:.3f} s ({} bytes received), every row "
      "{:.3f} s; gather of its rows {:.3f} s; transform of all rows {:.3f} s; features {:016x}",
      comm.rank(), table.rows(), width, median(alone), median(shared), bytes, median(every), median(gather),
      median(transform), hash));
  if (comm.rank() == 0)
    for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  finish_mpi();
  return 0;
}
