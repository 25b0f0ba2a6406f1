// The latent-class model's EM and k-prototypes on MPI ranks, timed per rank. Reads a
// CSV (every column, types inferred), numeric columns standardised (missing: NaN),
// categorical and binary columns as codes (missing: its own level for k-prototypes,
// left out by lca), then with the world communicator:
//   lca:         fit_lca (k classes, n_init starts), then fit_lca_from the result's
//                posterior of every row (predict_proba: each rank holds only its own
//                rows' posterior) with tol 0 for 1 and for 11 iterations: the difference of the bytes
//                received / 10 is the traffic of one EM iteration;
//   kprototypes: fit_kprototypes (k clusters, n_init restarts, kmodes' online order).
// Prints per rank the fit's wall and CPU time (the process's: its share of the work
// plus MPI's polling while it waits), the bytes received from the other ranks and
// the labels' FNV-1a hash (the same for any rank count). Built with SEGMENTA_MPI.
//   mpirun -np N build/default/bench/bench_mpi_fit_ranks DATA.csv lca|kprototypes [k] [n_init] [threads]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include <fmt/format.h>

#include "segmenta/cluster.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"

using namespace segmenta;

namespace {

struct Clock {
  Stopwatch wall;
  std::clock_t cpu0 = std::clock();
  std::uint64_t bytes0;
  explicit Clock(const Communicator& c) : bytes0(c.bytes_gathered()) {}
  double cpu() const { return static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC; }
};

std::uint64_t hash_labels(const std::vector<std::int32_t>& labels) {
  return fnv1a64(std::string_view(reinterpret_cast<const char*>(labels.data()), labels.size() * sizeof(std::int32_t)));
}

}  // namespace

int main(int argc, char** argv) {
  if (launched_by_mpi()) start_mpi(&argc, &argv);
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DATA.csv lca|kprototypes [k] [n_init] [threads]\n", argv[0]);
    return 2;
  }
  const Communicator& comm = world();
  const std::string method = argv[2];
  const std::size_t k = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 4;
  const std::size_t n_init = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 10;
  set_num_threads(argc > 5 ? std::atoi(argv[5]) : 1);
  const Table table = read_csv(argv[1], CsvOptions{});
  const std::size_t n = table.rows();
  std::vector<const Column*> num, cat;
  for (const Column& c : table.columns()) {
    if (c.type == ColumnType::numeric) num.push_back(&c);
    if (c.type == ColumnType::categorical || c.type == ColumnType::binary) cat.push_back(&c);
  }
  MatrixD x(n, num.size());
  for (std::size_t d = 0; d < num.size(); ++d) {
    double s = 0, m = 0;
    for (double v : num[d]->numbers)
      if (!std::isnan(v)) s += v, m += 1;
    const double mean = s / m;
    double ss = 0;
    for (double v : num[d]->numbers)
      if (!std::isnan(v)) ss += (v - mean) * (v - mean);
    const double sd = std::sqrt(ss / m) > 0 ? std::sqrt(ss / m) : 1.0;
    for (std::size_t i = 0; i < n; ++i) x(i, d) = (num[d]->numbers[i] - mean) / sd;
  }
  Matrix<std::int32_t> codes(n, cat.size());
  std::vector<std::int32_t> levels;
  for (std::size_t c = 0; c < cat.size(); ++c) {
    const auto L = static_cast<std::int32_t>(cat[c]->levels.size());
    levels.push_back(method == "lca" ? L : L + 1);
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t v = cat[c]->codes[i];
      codes(i, c) = v >= 0 && v < L ? v : (method == "lca" ? -1 : L);
    }
  }
  std::string line;
  if (method == "lca") {
    LcaParams lp;
    lp.n_components = k;
    lp.n_init = n_init;
    lp.comm = &comm;
    const Clock fit(comm);
    const LcaModel m = fit_lca(x.view(), codes.view(), levels, lp);
    const double wall = fit.wall.seconds(), cpu = fit.cpu();
    const std::uint64_t received = comm.bytes_gathered() - fit.bytes0;
    // The fitted model's posterior of every row (each rank keeps only its own rows').
    const MatrixD start = m.predict_proba(x.view(), codes.view());
    LcaParams fixed = lp;
    fixed.tol = 0;
    std::uint64_t per_run[2];
    for (int a = 0; a < 2; ++a) {
      fixed.max_iter = a == 0 ? 1 : 11;
      const std::uint64_t b0 = comm.bytes_gathered();
      (void)fit_lca_from(x.view(), codes.view(), levels, start.view(), fixed);
      per_run[a] = comm.bytes_gathered() - b0;
    }
    line = fmt::format(
        "rank {} of {}: lca {} rows, {} numeric + {} categorical columns, k {}, {} starts: fit {:.3f} s wall, {:.3f} s "
        "CPU, {} iterations of the kept start, received {} bytes ({} per EM iteration), labels fnv1a64 {:016x}, "
        "log-likelihood {:.17g}",
        comm.rank(), comm.size(), n, num.size(), cat.size(), k, n_init, wall, cpu, m.n_iter, received,
        (per_run[1] - per_run[0]) / 10, hash_labels(m.labels), m.log_likelihood);
  } else {
    KPrototypesParams kp;
    kp.n_clusters = k;
    kp.n_init = n_init;
    kp.comm = &comm;
    const Clock fit(comm);
    const KPrototypesModel m = fit_kprototypes(x.view(), codes.view(), kp);
    line = fmt::format(
        "rank {} of {}: kprototypes {} rows, {} numeric + {} categorical columns, k {}, {} restarts: fit {:.3f} s "
        "wall, {:.3f} s CPU, received {} bytes, labels fnv1a64 {:016x}, cost {:.17g}",
        comm.rank(), comm.size(), n, num.size(), cat.size(), k, n_init, fit.wall.seconds(), fit.cpu(),
        comm.bytes_gathered() - fit.bytes0, hash_labels(m.labels), m.cost);
  }
  std::printf("%s\n", line.c_str());
  finish_mpi();
  return 0;
}
