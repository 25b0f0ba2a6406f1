// The single-process communicator, the process's world, the fixed-order sums and the
// agreement on a failure. The MPI communicator is in mpi/comm_mpi.cpp (SEGMENTA_MPI).
#include "segmenta/comm.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <new>

#include <fmt/format.h>

#include "segmenta/core.hpp"

namespace segmenta {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const noexcept override { return 0; }
  int size() const noexcept override { return 1; }
  std::vector<double> allgather(std::span<const double> mine) const override { return {mine.begin(), mine.end()}; }
  std::vector<std::int64_t> allgather(std::span<const std::int64_t> mine) const override {
    return {mine.begin(), mine.end()};
  }
  std::vector<std::string> allgather_bytes(std::string_view mine) const override { return {std::string(mine)}; }
  std::vector<std::string> gather_bytes(std::string_view mine, int) const override { return {std::string(mine)}; }
  void broadcast(std::string&, int) const override {}
  // One rank has no neighbour: fold_in_rank_order never sends or receives here.
  void send(std::span<const double>, int) const override { throw Error("send: one process has no other rank"); }
  void receive(std::span<double>, int) const override { throw Error("receive: one process has no other rank"); }
  void broadcast_values(std::span<double>, int) const override {}
};

std::unique_ptr<Communicator>& world_slot() {
  static std::unique_ptr<Communicator> comm;
  return comm;
}

// Fields of an encoded error, separated by '\x1f' (unit separator).
constexpr char kSep = '\x1f';

std::vector<std::string> split_fields(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == kSep)
      out.emplace_back();
    else
      out.back().push_back(c);
  }
  return out;
}

}  // namespace

std::vector<double> Communicator::allreduce_sum_in_order(std::span<const double> mine) const {
  const std::vector<double> all = allgather(mine);
  const std::size_t m = mine.size(), n = static_cast<std::size_t>(size());
  if (all.size() != m * n) throw Error("allreduce_sum_in_order: the ranks gave different counts");
  std::vector<double> sum(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(m));
  for (std::size_t r = 1; r < n; ++r)
    for (std::size_t j = 0; j < m; ++j) sum[j] += all[r * m + j];
  return sum;
}

std::vector<std::int64_t> Communicator::allreduce_sum(std::span<const std::int64_t> mine) const {
  const std::vector<std::int64_t> all = allgather(mine);
  const std::size_t m = mine.size(), n = static_cast<std::size_t>(size());
  if (all.size() != m * n) throw Error("allreduce_sum: the ranks gave different counts");
  std::vector<std::int64_t> sum(m, 0);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < m; ++j) sum[j] += all[r * m + j];
  return sum;
}

std::int64_t Communicator::allreduce_max(std::int64_t mine) const {
  const std::vector<std::int64_t> all = allgather(std::span<const std::int64_t>(&mine, 1));
  return *std::max_element(all.begin(), all.end());
}

void Communicator::fold_in_rank_order(std::span<double> running,
                                      const std::function<void(std::span<double>)>& add_mine,
                                      std::vector<double>* arrived) const {
  const int r = rank(), n = size();
  if (r > 0) receive(running, r - 1);
  if (arrived) arrived->assign(running.begin(), running.end());
  add_mine(running);
  if (r + 1 < n) send(running, r + 1);
  if (n > 1) broadcast_values(running, n - 1);
}

const Communicator& single_process_communicator() noexcept {
  static const SingleProcess single;
  return single;
}

const Communicator& world() noexcept {
  const auto& comm = world_slot();
  return comm ? *comm : single_process_communicator();
}

void set_world_communicator(std::unique_ptr<Communicator> comm) { world_slot() = std::move(comm); }

bool launched_by_mpi() noexcept {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return true;
  return false;
}

#ifndef SEGMENTA_HAVE_MPI
bool mpi_built() noexcept { return false; }
void start_mpi(int*, char***) {
  throw InvalidArgument(
      "this segmenta was built without MPI (SEGMENTA_MPI=OFF): it runs as one process; build it with OpenMPI "
      "(libopenmpi-dev) to run under mpirun");
}
void finish_mpi() noexcept {}
#endif

RankBlocks rank_blocks(std::size_t block_count, int rank, int size) noexcept {
  const std::size_t r = static_cast<std::size_t>(rank), s = static_cast<std::size_t>(std::max(size, 1));
  return {block_count * r / s, block_count * (r + 1) / s};
}

std::string encode_current_error() {
  const auto join = [](std::initializer_list<std::string> parts) {
    std::string s;
    for (const std::string& p : parts) {
      if (!s.empty()) s.push_back(kSep);
      s += p;
    }
    return s;
  };
  try {
    throw;
  } catch (const ParseError& e) {
    const std::string prefix = fmt::format("{}:{}:{}: ", e.file(), e.line(), e.column());
    const std::string what = e.what();
    return join({"parse", e.file(), std::to_string(e.line()), std::to_string(e.column()),
                 what.substr(std::min(prefix.size(), what.size()))});
  } catch (const ParameterError& e) {
    return join({"parameter", e.parameter(), e.message()});
  } catch (const InvalidArgument& e) {
    return join({"invalid", e.what()});
  } catch (const DataError& e) {
    return join({"data", e.what()});
  } catch (const IoError& e) {
    return join({"io", e.what()});
  } catch (const ModelFormatError& e) {
    return join({"model", e.what()});
  } catch (const Error& e) {
    return join({"error", e.what()});
  } catch (const std::bad_alloc&) {
    return join({"memory", "out of memory"});
  } catch (const std::exception& e) {
    return join({"error", std::string("unexpected failure: ") + e.what()});
  }
}

void agree_on_failure_encoded(const Communicator& comm, const std::string& failure) {
  // One byte per rank says whether it failed; only then the messages travel.
  const std::int64_t failed = failure.empty() ? 0 : 1;
  if (comm.allreduce_max(failed) == 0) return;
  const std::vector<std::string> all = comm.allgather_bytes(failure);
  const auto first = std::find_if(all.begin(), all.end(), [](const std::string& s) { return !s.empty(); });
  rethrow_encoded_error(*first);
}

void rethrow_encoded_error(const std::string& failure) {
  if (failure.empty()) return;
  const std::vector<std::string> f = split_fields(failure);
  const std::string& kind = f[0];
  if (kind == "parse" && f.size() == 5)
    throw ParseError(f[1], std::stoull(f[2]), std::stoull(f[3]), f[4]);
  if (kind == "parameter" && f.size() == 3) throw ParameterError(f[1], f[2]);
  if (kind == "invalid") throw InvalidArgument(f.at(1));
  if (kind == "data") throw DataError(f.at(1));
  if (kind == "io") throw IoError(f.at(1));
  if (kind == "model") throw ModelFormatError(f.at(1));
  if (kind == "memory") throw std::bad_alloc();
  throw Error(f.size() > 1 ? f[1] : std::string("failure on another rank"));
}

}  // namespace segmenta
