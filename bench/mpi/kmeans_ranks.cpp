// k-means on MPI ranks, timed per rank: the blog's preparation of a bank CSV (its
// first eight columns, OrdinalEncoder + Yeo-Johnson), then fit_kmeans (k-means++,
// Lloyd) with the world communicator, as `segmenta run --preset blog --method kmeans`
// fits it. Prints, per rank, the fit's wall time, the Lloyd passes, the bytes it
// received from the other ranks, the CPU time of the process during the fit (its share
// of the passes, plus waiting in MPI, which polls), and the labels' FNV-1a hash (the same for any rank
// count). Built with SEGMENTA_MPI (bench/CMakeLists.txt).
//   mpirun -np N build/default/bench/bench_mpi_kmeans_ranks DATA.csv [k] [n_init] [threads]
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "segmenta/cluster.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"
#include "segmenta/prep.hpp"

using namespace segmenta;

int main(int argc, char** argv) {
  if (launched_by_mpi()) start_mpi(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA.csv [k] [n_init] [threads]\n", argv[0]);
    return 2;
  }
  const Communicator& comm = world();
  const std::size_t k = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5;
  const std::size_t n_init = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 10;
  set_num_threads(argc > 4 ? std::atoi(argv[4]) : 1);
  CsvOptions csv;
  csv.columns = "0:8";
  const Table table = read_csv(argv[1], csv);
  PrepParams pp;
  pp.preset = PrepPreset::blog;
  const PrepResult prep = fit_prep(table, pp);
  KMeansParams kp;
  kp.n_clusters = k;
  kp.n_init = n_init;
  kp.comm = &comm;
  const std::uint64_t before = comm.bytes_gathered();
  Stopwatch clock;
  const std::clock_t cpu0 = std::clock();
  const KMeansModel<double> m = fit_kmeans<double>(prep.features.view(), kp);
  const double seconds = clock.seconds();
  const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  const std::uint64_t received = comm.bytes_gathered() - before;
  const std::string_view labels(reinterpret_cast<const char*>(m.labels.data()), m.labels.size() * sizeof(std::int32_t));
  std::printf("rank %d of %d: %zu x %zu rows, k %zu, n_init %zu: fit %.3f s wall, %.3f s CPU, winning restart %zu iterations, "
              "received %llu bytes, labels fnv1a64 %016llx, inertia %.17g\n",
              comm.rank(), comm.size(), prep.features.rows(), prep.features.cols(), k, n_init, seconds, cpu, m.n_iter,
              static_cast<unsigned long long>(received), static_cast<unsigned long long>(fnv1a64(labels)), m.inertia);
  finish_mpi();
  return 0;
}
