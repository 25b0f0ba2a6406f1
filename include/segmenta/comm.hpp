// segmenta/comm.hpp — the processes of one run and what they exchange.
//
// A run started by `mpirun -np N segmenta ...` is N processes (ranks). A
// Communicator is their shared channel: every rank calls the same operations in the
// same order (collectives), and every collective returns the same bytes on every
// rank. The single-process communicator is one rank whose collectives return its own
// contribution; the MPI one (built with SEGMENTA_MPI) is the only code that includes
// mpi.h. Sums across ranks are never left to MPI's reduction order: they are added
// in a fixed order (block order), either by gathering the parts and adding them on
// every rank or by an ordered fold along the ranks (fold_in_rank_order), so a result
// does not depend on the number of ranks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace segmenta {

class Communicator {
 public:
  virtual ~Communicator() = default;
  /// This process's index, 0 .. size() - 1; rank 0 writes the outputs.
  virtual int rank() const noexcept = 0;
  virtual int size() const noexcept = 0;
  /// Every rank's values, concatenated in rank order (ranks may give different counts).
  virtual std::vector<double> allgather(std::span<const double> mine) const = 0;
  virtual std::vector<std::int64_t> allgather(std::span<const std::int64_t> mine) const = 0;
  /// Every rank's bytes, one string per rank, in rank order.
  virtual std::vector<std::string> allgather_bytes(std::string_view mine) const = 0;
  /// Every rank's bytes on `root` alone, one string per rank in rank order (root's own
  /// included); the other ranks get an empty vector. Parts of any size (beyond 2 GiB
  /// they travel in pieces); root counts what it receives in bytes_gathered.
  virtual std::vector<std::string> gather_bytes(std::string_view mine, int root) const = 0;
  /// Root's bytes, on every rank (`bytes` is read on root and replaced elsewhere).
  virtual void broadcast(std::string& bytes, int root) const = 0;
  /// The same, for a rank that may wait long for root (root finishing its outputs):
  /// a waiting rank sleeps between checks instead of polling, leaving its core to the
  /// others on a shared machine.
  virtual void broadcast_after_wait(std::string& bytes, int root) const { broadcast(bytes, root); }
  /// Bytes this rank has received from the other ranks so far (for measurements).
  virtual std::uint64_t bytes_gathered() const noexcept { return 0; }

  /// The element-wise sum of every rank's values (all ranks give the same count),
  /// added in rank order: ((v_0 + v_1) + v_2) ..., identical on every rank.
  std::vector<double> allreduce_sum_in_order(std::span<const double> mine) const;
  /// The same for integers (exact, so the order does not matter).
  std::vector<std::int64_t> allreduce_sum(std::span<const std::int64_t> mine) const;
  /// The largest of every rank's value.
  std::int64_t allreduce_max(std::int64_t mine) const;

  // ---- Ordered fold along the ranks -------------------------------------------
  // Point to point between neighbouring ranks and a broadcast of doubles, and the
  // fold built on them. Each call of send is matched by one receive of the same
  // count on the other rank; one process never calls them.
  /// Sends `values` to rank `to`.
  virtual void send(std::span<const double> values, int to) const = 0;
  /// Receives exactly values.size() doubles from rank `from` into `values`.
  virtual void receive(std::span<double> values, int from) const = 0;
  /// Root's `values` on every rank (every rank gives the same count).
  virtual void broadcast_values(std::span<double> values, int root) const = 0;

  /// A sum in block order when rank r holds the contiguous blocks [first_r, last_r)
  /// (rank_blocks): `running` holds the accumulator one process starts from (the same
  /// on every rank); rank 0 applies add_mine(running) (its blocks, in order) and passes
  /// the running values to rank 1, which applies its add_mine, and so on; the last
  /// rank's values, the total, are returned in `running` on every rank. The operations
  /// on each value are those of one process adding every block in order, so the total
  /// is bit for bit that of one process. `arrived` (if given) receives the values as
  /// they reached this rank (the initial ones on rank 0): the sum of the blocks before
  /// this rank's. Each rank receives 2 * running.size() doubles at most, whatever the
  /// number of blocks.
  void fold_in_rank_order(std::span<double> running, const std::function<void(std::span<double>)>& add_mine,
                          std::vector<double>* arrived = nullptr) const;
  // ---- end of the ordered fold ------------------------------------------------
};

/// One process: rank 0 of 1.
const Communicator& single_process_communicator() noexcept;

/// The communicator of this process's run: the one given to set_world_communicator
/// (the command gives the MPI one when started by mpirun), else the single-process one.
const Communicator& world() noexcept;
/// Makes `comm` the world of this process (null: back to the single process).
void set_world_communicator(std::unique_ptr<Communicator> comm);

/// True when this build can run on several ranks (SEGMENTA_MPI).
bool mpi_built() noexcept;
/// True when the environment says this process was started by an MPI launcher
/// (mpirun / mpiexec: OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK are set).
bool launched_by_mpi() noexcept;
/// Starts MPI and makes its world communicator the world (SEGMENTA_MPI builds only;
/// elsewhere throws InvalidArgument). Call once, before any thread is started.
void start_mpi(int* argc, char*** argv);
/// Ends MPI if start_mpi started it (at the end of main, on every path).
void finish_mpi() noexcept;

/// Rows [begin, end) of row blocks: rank r of size ranks takes blocks
/// [count * r / size, count * (r + 1) / size).
struct RankBlocks {
  std::size_t first = 0, last = 0;  // block indices, [first, last)
};
RankBlocks rank_blocks(std::size_t block_count, int rank, int size) noexcept;

/// Runs `step` on every rank and agrees on its outcome: when any rank's step threw
/// a segmenta::Error, every rank throws the error of the lowest such rank (same type
/// and message); otherwise every rank returns. For work whose failure may differ
/// between ranks (each reads its own part of a file).
template <class Step>
void agree_on_failure(const Communicator& comm, Step&& step);
/// Runs `step` on `root` alone while the other ranks wait (broadcast_after_wait), and
/// agrees on its outcome: a segmenta::Error on root is thrown on every rank (same type
/// and message). For a long step of root's whose failure must stop every rank (the
/// outputs written and committed by rank 0).
template <class Step>
void agree_on_root_outcome(const Communicator& comm, int root, Step&& step);
/// Throws the error that `failure` encodes (encode_current_error); nothing when empty.
void rethrow_encoded_error(const std::string& failure);
/// Non-template part of agree_on_failure: `failure` is "" on success, else an encoded
/// error (encode_error); rethrows the lowest rank's.
void agree_on_failure_encoded(const Communicator& comm, const std::string& failure);
/// The exception being handled as bytes agree_on_failure_encoded can rethrow anywhere.
std::string encode_current_error();

/// Runs `step` on rank 0, then on the other ranks, each time agreeing on its outcome
/// (agree_on_failure): for a step whose first run fills a cache the others read (a
/// model download), so it is done once on a machine the ranks share.
template <class Step>
void root_first(const Communicator& comm, Step&& step) {
  agree_on_failure(comm, [&] {
    if (comm.rank() == 0) step();
  });
  agree_on_failure(comm, [&] {
    if (comm.rank() != 0) step();
  });
}

template <class Step>
void agree_on_root_outcome(const Communicator& comm, int root, Step&& step) {
  std::string failure;
  if (comm.rank() == root) {
    try {
      step();
    } catch (...) {
      failure = encode_current_error();
    }
  }
  if (comm.size() > 1) comm.broadcast_after_wait(failure, root);
  rethrow_encoded_error(failure);
}

template <class Step>
void agree_on_failure(const Communicator& comm, Step&& step) {
  std::string failure;
  try {
    step();
  } catch (...) {
    failure = encode_current_error();
  }
  agree_on_failure_encoded(comm, failure);
}

}  // namespace segmenta
