// The maps' projections (FAMD, MCA and PCA of every row) on MPI ranks, timed per
// rank against the same fits computed whole (no communicator: what rank 0 did alone
// before the ranks shared them). Reads a CSV (types inferred): numeric columns
// (missing: the column mean) and categorical and binary columns as codes (missing: a
// level of its own). Each repetition runs the whole fits, then the shared ones
// (FamdParams/McaParams/PcaParams::comm = the world), alternating; prints per rank
// the minimum and median wall time of each, the bytes received by the shared fits,
// and whether their row coordinates and eigenvalues are the whole fits' bits.
//   mpirun -np N build/default/bench/bench_mpi_maps_ranks DATA.csv [repetitions] [threads]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"
#include "segmenta/reduce.hpp"

using namespace segmenta;

namespace {

bool same(const MatrixD& a, const MatrixD& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}
bool same(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

std::string summary(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return fmt::format("min {:.3f} s, median {:.3f} s", t.front(), t[t.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  if (launched_by_mpi()) start_mpi(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA.csv [repetitions] [threads]\n", argv[0]);
    return 2;
  }
  const Communicator& comm = world();
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  set_num_threads(argc > 3 ? std::atoi(argv[3]) : 1);
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
    for (std::size_t i = 0; i < n; ++i) x(i, d) = std::isnan(num[d]->numbers[i]) ? s / m : num[d]->numbers[i];
  }
  Matrix<std::int32_t> codes(n, cat.size());
  for (std::size_t c = 0; c < cat.size(); ++c) {
    const auto L = static_cast<std::int32_t>(cat[c]->levels.size());
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t v = cat[c]->codes[i];
      codes(i, c) = v >= 0 && v < L ? v : L;
    }
  }
  std::vector<double> whole_t, shared_t;
  std::uint64_t received = 0;
  bool identical = true;
  for (int r = 0; r < reps; ++r) {
    for (const bool shared : {false, true}) {
      FamdParams fp;
      fp.n_components = 3;
      McaParams mp;
      mp.n_components = 3;
      PcaParams pp;
      pp.n_components = 3;
      pp.standardize = true;
      if (shared) fp.comm = mp.comm = pp.comm = &comm;
      const std::uint64_t b0 = comm.bytes_gathered();
      Stopwatch clock;
      const FamdModel f = fit_famd(x.view(), codes.view(), fp);
      const McaModel m = fit_mca(codes.view(), mp);
      const PcaModel p = fit_pca<double>(x.view(), pp);
      (shared ? shared_t : whole_t).push_back(clock.seconds());
      if (!shared) continue;
      received = comm.bytes_gathered() - b0;
      fp.comm = mp.comm = pp.comm = nullptr;
      if (r == 0) {
        const FamdModel fa = fit_famd(x.view(), codes.view(), fp);
        const McaModel ma = fit_mca(codes.view(), mp);
        const PcaModel pa = fit_pca<double>(x.view(), pp);
        identical = same(fa.row_coordinates, f.row_coordinates) && same(fa.eigenvalues, f.eigenvalues) &&
                    same(ma.row_coordinates, m.row_coordinates) && same(ma.eigenvalues, m.eigenvalues) &&
                    same(pa.row_coordinates, p.row_coordinates) && same(pa.eigenvalues, p.eigenvalues);
      }
    }
  }
  const std::string line = fmt::format(
      "rank {} of {}: {} rows, {} numeric + {} categorical columns, FAMD + MCA + PCA, {} repetitions: whole {}; "
      "shared {}; shared received {} bytes; shared {} the whole fits' bits",
      comm.rank(), comm.size(), n, num.size(), cat.size(), reps, summary(whole_t), summary(shared_t), received,
      identical ? "give" : "DO NOT give");
  const std::vector<std::string> lines = comm.allgather_bytes(line);
  if (comm.rank() == 0)
    for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  finish_mpi();
  return identical ? 0 : 1;
}
