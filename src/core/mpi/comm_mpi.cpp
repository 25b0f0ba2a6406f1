// The MPI communicator (SEGMENTA_MPI builds): MPI_COMM_WORLD behind the Communicator
// interface. Only the main thread calls MPI (MPI_THREAD_FUNNELED); the row blocks of
// a rank still run on its OpenMP threads.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"

namespace segmenta {
namespace {

bool g_started = false;
// The tag of the ordered fold's messages between neighbouring ranks.
constexpr int kFoldTag = 17;
// The tag of gather_bytes' pieces when a part is too large for one MPI_Gatherv.
constexpr int kGatherTag = 18;
// The largest piece sent at once by gather_bytes' point-to-point path and by broadcast.
constexpr std::size_t kGatherPiece = std::size_t{1} << 30;

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(fmt::format("MPI {} failed: {}", what, std::string(text, static_cast<std::size_t>(len))));
}

/// Waits for `request` by testing it every 2 ms: a rank that may wait long for
/// another leaves its core to it (MPI's own wait polls without pause).
void wait_sleeping(MPI_Request& request, const char* what) {
  int done = 0;
  for (;;) {
    const int rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) check(rc, what);
    if (done) return;
    const timespec pause{0, 2'000'000};
    nanosleep(&pause, nullptr);
  }
}

int as_count(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) throw Error("MPI: a message over 2^31 elements is not supported");
  return static_cast<int>(n);
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "Comm_size");
  }
  int rank() const noexcept override { return rank_; }
  int size() const noexcept override { return size_; }

  std::vector<double> allgather(std::span<const double> mine) const override {
    return gather_v<double>(mine, MPI_DOUBLE);
  }
  std::vector<std::int64_t> allgather(std::span<const std::int64_t> mine) const override {
    return gather_v<std::int64_t>(mine, MPI_INT64_T);
  }
  std::vector<std::string> allgather_bytes(std::string_view mine) const override {
    std::vector<int> counts, displs;
    const std::vector<char> all =
        gather_v<char>(std::span<const char>(mine.data(), mine.size()), MPI_CHAR, &counts, &displs);
    std::vector<std::string> out(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r)
      out[static_cast<std::size_t>(r)].assign(all.data() + displs[static_cast<std::size_t>(r)],
                                              static_cast<std::size_t>(counts[static_cast<std::size_t>(r)]));
    return out;
  }
  std::vector<std::string> gather_bytes(std::string_view mine, int root) const override {
    // The sizes first; then one MPI_Gatherv when every count and the total fit its
    // int counts, else each rank's part sent to root in pieces of 1 GiB.
    const std::int64_t n = static_cast<std::int64_t>(mine.size());
    std::vector<std::int64_t> sizes(rank_ == root ? static_cast<std::size_t>(size_) : 0);
    check(MPI_Gather(&n, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, root, MPI_COMM_WORLD), "Gather");
    // Every rank must take the same path: root says which.
    std::int64_t total = 0;
    for (std::int64_t s : sizes) total += s;
    std::int64_t small = total <= INT_MAX ? 1 : 0;
    check(MPI_Bcast(&small, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "Bcast");
    std::vector<std::string> out;
    if (small) {
      std::vector<int> counts(sizes.size()), displs(sizes.size());
      for (std::size_t r = 0, at = 0; r < sizes.size(); ++r) {
        counts[r] = static_cast<int>(sizes[r]);
        displs[r] = static_cast<int>(at);
        at += static_cast<std::size_t>(sizes[r]);
      }
      std::vector<char> all(static_cast<std::size_t>(total));
      check(MPI_Gatherv(mine.data(), static_cast<int>(mine.size()), MPI_CHAR, all.data(), counts.data(), displs.data(),
                        MPI_CHAR, root, MPI_COMM_WORLD),
            "Gatherv");
      if (rank_ != root) return out;
      out.resize(sizes.size());
      for (std::size_t r = 0; r < sizes.size(); ++r)
        out[r].assign(all.data() + displs[r], static_cast<std::size_t>(counts[r]));
    } else if (rank_ != root) {
      for (std::size_t at = 0; at < mine.size(); at += kGatherPiece) {
        const std::size_t len = std::min(kGatherPiece, mine.size() - at);
        check(MPI_Send(mine.data() + at, static_cast<int>(len), MPI_CHAR, root, kGatherTag, MPI_COMM_WORLD), "Send");
      }
      return out;
    } else {
      out.resize(sizes.size());
      for (std::size_t r = 0; r < sizes.size(); ++r) {
        if (static_cast<int>(r) == root) {
          out[r].assign(mine);
          continue;
        }
        out[r].resize(static_cast<std::size_t>(sizes[r]));
        for (std::size_t at = 0; at < out[r].size(); at += kGatherPiece) {
          const std::size_t len = std::min(kGatherPiece, out[r].size() - at);
          check(MPI_Recv(out[r].data() + at, static_cast<int>(len), MPI_CHAR, static_cast<int>(r), kGatherTag,
                         MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                "Recv");
        }
      }
    }
    received_ += static_cast<std::uint64_t>(total - n);
    return out;
  }
  std::uint64_t bytes_gathered() const noexcept override { return received_; }
  void send(std::span<const double> values, int to) const override {
    check(MPI_Send(values.data(), as_count(values.size()), MPI_DOUBLE, to, kFoldTag, MPI_COMM_WORLD), "Send");
  }
  void receive(std::span<double> values, int from) const override {
    MPI_Status status;
    check(MPI_Recv(values.data(), as_count(values.size()), MPI_DOUBLE, from, kFoldTag, MPI_COMM_WORLD, &status),
          "Recv");
    int got = 0;
    check(MPI_Get_count(&status, MPI_DOUBLE, &got), "Get_count");
    if (static_cast<std::size_t>(got) != values.size())
      throw Error(fmt::format("MPI Recv: {} values from rank {}, {} expected", got, from, values.size()));
    received_ += values.size() * sizeof(double);
  }
  void broadcast_values(std::span<double> values, int root) const override {
    if (values.empty()) return;
    check(MPI_Bcast(values.data(), as_count(values.size()), MPI_DOUBLE, root, MPI_COMM_WORLD), "Bcast");
    if (root != rank_) received_ += values.size() * sizeof(double);
  }
  void broadcast_after_wait(std::string& bytes, int root) const override {
    // The size travels by a non-blocking broadcast waited for with pauses; the bytes
    // (once root has arrived) by the ordinary one.
    std::int64_t n = static_cast<std::int64_t>(bytes.size());
    MPI_Request request;
    check(MPI_Ibcast(&n, 1, MPI_INT64_T, root, MPI_COMM_WORLD, &request), "Ibcast");
    wait_sleeping(request, "Ibcast");
    bytes.resize(static_cast<std::size_t>(n));
    if (root != rank_) received_ += static_cast<std::uint64_t>(n);
    broadcast_pieces(bytes, root);
  }
  void broadcast(std::string& bytes, int root) const override {
    std::int64_t n = static_cast<std::int64_t>(bytes.size());
    check(MPI_Bcast(&n, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "Bcast");
    bytes.resize(static_cast<std::size_t>(n));
    if (root != rank_) received_ += static_cast<std::uint64_t>(n);
    broadcast_pieces(bytes, root);
  }

 private:
  /// Root's bytes (their count already known everywhere) in pieces of at most 1 GiB,
  /// so that a table over 2 GiB travels too (MPI's counts are ints).
  static void broadcast_pieces(std::string& bytes, int root) {
    for (std::size_t at = 0; at < bytes.size(); at += kGatherPiece) {
      const std::size_t len = std::min(kGatherPiece, bytes.size() - at);
      check(MPI_Bcast(bytes.data() + at, static_cast<int>(len), MPI_CHAR, root, MPI_COMM_WORLD), "Bcast");
    }
  }
  /// Every rank's elements in rank order: the counts first, then MPI_Allgatherv.
  template <class T, class Span>
  std::vector<T> gather_v(Span mine, MPI_Datatype type, std::vector<int>* counts_out = nullptr,
                          std::vector<int>* displs_out = nullptr) const {
    std::int64_t n = static_cast<std::int64_t>(mine.size());
    std::vector<std::int64_t> sizes(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&n, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, MPI_COMM_WORLD), "Allgather");
    std::vector<int> counts(sizes.size()), displs(sizes.size());
    std::size_t total = 0;
    for (std::size_t r = 0; r < sizes.size(); ++r) {
      counts[r] = as_count(static_cast<std::size_t>(sizes[r]));
      displs[r] = as_count(total);
      total += static_cast<std::size_t>(sizes[r]);
    }
    as_count(total);
    received_ += (total - static_cast<std::size_t>(n)) * sizeof(T);
    std::vector<T> all(total);
    check(MPI_Allgatherv(mine.data(), counts[static_cast<std::size_t>(rank_)], type, all.data(), counts.data(),
                         displs.data(), type, MPI_COMM_WORLD),
          "Allgatherv");
    if (counts_out) *counts_out = std::move(counts);
    if (displs_out) *displs_out = std::move(displs);
    return all;
  }

  int rank_ = 0, size_ = 1;
  mutable std::uint64_t received_ = 0;  // payload bytes from other ranks (counts not included)
};

}  // namespace

bool mpi_built() noexcept { return true; }

void start_mpi(int* argc, char*** argv) {
  if (g_started) return;
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "Init");
  g_started = true;
  // Errors come back as return codes (turned into exceptions), not as aborts.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  set_world_communicator(std::make_unique<MpiWorld>());
}

void finish_mpi() noexcept {
  if (!g_started) return;
  set_world_communicator(nullptr);
  // The other ranks finish long before rank 0 (which explains, maps and writes) and
  // MPI_Finalize waits for every rank by polling, which takes a core from rank 0 on
  // a shared machine. Waiting here on a non-blocking barrier, tested every 2 ms,
  // leaves the cores to rank 0.
  MPI_Request barrier;
  if (MPI_Ibarrier(MPI_COMM_WORLD, &barrier) == MPI_SUCCESS) {
    int done = 0;
    while (MPI_Test(&barrier, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) {
      const timespec pause{0, 2'000'000};
      nanosleep(&pause, nullptr);
    }
  }
  MPI_Finalize();
  g_started = false;
}

}  // namespace segmenta
