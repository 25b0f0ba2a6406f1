// ECOD's fit and the preparation's imputation medians on MPI ranks, timed per rank.
// Reads a CSV (types inferred), prepares it once (fit_prep, one process), then on
// every rank, alternating, `reps` times:
//   ecod alone:   fit_ecod without a communicator (every column sorted whole);
//   ecod shared:  fit_ecod with the world communicator (each rank sorts its rows'
//                 values, the distinct values and counts merged), and the bytes it
//                 received;
//   medians nth:  std::nth_element over every numeric column's present values (the
//                 selection every rank ran whole before);
//   medians alone / shared: detail::medians_on_ranks over every row, and with the
//                 world communicator over this rank's share of 1,024-row blocks.
// Checks that the shared results are the one-process bits. Built with SEGMENTA_MPI.
//   mpirun -np N build/default/bench/bench_mpi_ecod_ranks DATA.csv [reps] [threads]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/order_select.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"
#include "segmenta/outliers.hpp"
#include "segmenta/prep.hpp"

using namespace segmenta;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double nth_median(const std::vector<double>& values) {
  std::vector<double> v;
  for (double x : values)
    if (!std::isnan(x)) v.push_back(x);
  const std::size_t m = v.size(), mid = m / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (m % 2 == 1) return upper;
  return (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)) + upper) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (launched_by_mpi()) start_mpi(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA.csv [reps] [threads]\n", argv[0]);
    return 2;
  }
  const Communicator& comm = world();
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  set_num_threads(argc > 3 ? std::atoi(argv[3]) : 1);
  const Table table = read_csv(argv[1], CsvOptions{});
  const PrepResult prep = fit_prep(table, PrepParams{});
  const ViewD x = prep.features.view();
  std::vector<const std::vector<double>*> numeric;
  for (const Column& c : table.columns())
    if (c.type == ColumnType::numeric) numeric.push_back(&c.numbers);
  const Blocks blocks{table.rows(), 1024};
  const RankBlocks rb = rank_blocks(blocks.count(), comm.rank(), comm.size());
  const std::size_t r0 = rb.first < rb.last ? blocks.begin(rb.first) : 0;
  const std::size_t r1 = rb.first < rb.last ? blocks.end(rb.last - 1) : 0;
  std::vector<std::span<const double>> whole, mine;
  for (const auto* v : numeric) {
    whole.emplace_back(*v);
    mine.emplace_back(v->data() + r0, r1 - r0);
  }
  std::vector<double> ecod_alone, ecod_shared, med_nth, med_alone, med_shared;
  std::uint64_t ecod_bytes = 0, med_bytes = 0;
  bool same = true;
  for (int r = 0; r < reps; ++r) {
    EcodParams ep;
    Stopwatch w;
    const EcodModel a = fit_ecod(x, ep);
    ecod_alone.push_back(w.seconds());
    ep.comm = &comm;
    std::uint64_t b0 = comm.bytes_gathered();
    w.reset();
    const EcodModel s = fit_ecod(x, ep);
    ecod_shared.push_back(w.seconds());
    ecod_bytes = comm.bytes_gathered() - b0;
    same = same && a.skew_sign() == s.skew_sign() && a.labels() == s.labels() &&
           std::memcmp(a.decision_scores().data(), s.decision_scores().data(), a.decision_scores().size() * 8) == 0;
    w.reset();
    std::vector<double> nth;
    for (const auto* v : numeric) nth.push_back(nth_median(*v));
    med_nth.push_back(w.seconds());
    w.reset();
    const std::vector<double> ma = detail::medians_on_ranks(nullptr, whole);
    med_alone.push_back(w.seconds());
    b0 = comm.bytes_gathered();
    w.reset();
    const std::vector<double> ms = detail::medians_on_ranks(&comm, mine);
    med_shared.push_back(w.seconds());
    med_bytes = comm.bytes_gathered() - b0;
    same = same && std::memcmp(ma.data(), ms.data(), ma.size() * 8) == 0 && ma == nth;
  }
  const std::vector<std::string> lines = comm.allgather_bytes(fmt::format(
      "rank {}: {} rows x {} features; fit_ecod alone {:.3f} s, shared {:.3f} s ({} bytes received); {} medians: "
      "nth_element {:.4f} s, selection alone {:.4f} s, shared {:.4f} s ({} bytes received); {}",
      comm.rank(), x.rows(), x.cols(), median(ecod_alone), median(ecod_shared), ecod_bytes, numeric.size(),
      median(med_nth), median(med_alone), median(med_shared), med_bytes, same ? "same bits" : "RESULTS DIFFER"));
  if (comm.rank() == 0)
    for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  finish_mpi();
  return 0;
}
