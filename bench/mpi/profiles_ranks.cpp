// The segment profiles on MPI ranks, timed per rank: a bank CSV read whole, labels of
// k segments (row i in segment (i * 7 / 3) mod k, every 13th row left out), the
// blog's encoded features as the representatives' space, then profile_segments with
// the world communicator, `repeats` times. Prints, per rank, the fastest wall time,
// the CPU time of all repeats, the bytes received from the other ranks in one call,
// and the FNV-1a hash of profiles.csv's text (the same for any rank count). With
// "alone" the communicator is not given (one process's path, on rank 0 of 1).
// Built with SEGMENTA_MPI (bench/CMakeLists.txt).
//   mpirun -np N build/default/bench/bench_mpi_profiles_ranks DATA.csv [k] [repeats] [threads] [alone]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "segmenta/comm.hpp"
#include "segmenta/explain.hpp"
#include "segmenta/io.hpp"
#include "segmenta/prep.hpp"

using namespace segmenta;

int main(int argc, char** argv) {
  if (launched_by_mpi()) start_mpi(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA.csv [k] [repeats] [threads] [alone]\n", argv[0]);
    return 2;
  }
  const Communicator& comm = world();
  const std::size_t k = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  set_num_threads(argc > 4 ? std::atoi(argv[4]) : 1);
  const bool alone = argc > 5 && std::string(argv[5]) == "alone";
  const Table table = read_csv(argv[1], CsvOptions{});
  PrepParams pp;
  pp.preset = PrepPreset::blog;
  CsvOptions eight;
  eight.columns = "0:8";
  const PrepResult prep = fit_prep(read_csv(argv[1], eight), pp);
  std::vector<std::int32_t> labels(table.rows());
  for (std::size_t i = 0; i < labels.size(); ++i)
    labels[i] = i % 13 == 12 ? -1 : static_cast<std::int32_t>((i * 7 / 3) % k);
  ProfileParams params;
  params.comm = alone ? nullptr : &comm;
  double best = 1e300;
  std::uint64_t received = 0;
  std::string csv;
  const std::clock_t cpu0 = std::clock();
  for (int r = 0; r < repeats; ++r) {
    const std::uint64_t before = comm.bytes_gathered();
    Stopwatch clock;
    const Profiles p = profile_segments(table, labels, params, prep.features.view());
    best = std::min(best, clock.seconds());
    received = comm.bytes_gathered() - before;
    if (r == 0) csv = profiles_to_csv(p);
  }
  const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  std::printf("rank %d of %d%s: %zu rows, %zu columns, k %zu, features %zu: profiles %.3f s wall (fastest of %d), "
              "%.3f s CPU in all, received %llu bytes a call, profiles.csv fnv1a64 %016llx\n",
              comm.rank(), comm.size(), alone ? " (no communicator)" : "", table.rows(), table.cols(), k,
              prep.features.cols(), best, repeats, cpu, static_cast<unsigned long long>(received),
              static_cast<unsigned long long>(fnv1a64(csv)));
  finish_mpi();
  return 0;
}
