// The row blocks one rank computes in a fit shared across ranks, and the exchanges
// that combine per-block results (k-means, the latent-class model's EM).
//
// A fit's reduction blocks depend only on n. Rank r computes blocks
// [first, last) (rank_blocks). Sums over the blocks are folded along the ranks in
// block order (fold_blocks): rank 0 adds its blocks to the accumulator one process
// starts from, passes the running sums to rank 1, and so on, so the total is bit for
// bit that of one process and a rank receives O(width) values, whatever n. Values
// that are needed per row (labels, posteriors) are gathered (exchange_block_rows).
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"

namespace segmenta::cluster_detail {

struct RankShare {
  const Communicator* comm = nullptr;  // null: this process computes every block
  std::size_t first = 0, last = std::numeric_limits<std::size_t>::max();

  static RankShare of(const Communicator* comm, std::size_t block_count) {
    RankShare s;
    if (comm == nullptr || comm->size() <= 1) return s;
    const RankBlocks rb = rank_blocks(block_count, comm->rank(), comm->size());
    s.comm = comm;
    s.first = rb.first;
    s.last = rb.last;
    return s;
  }
  bool distributed() const noexcept { return comm != nullptr; }
  std::size_t begin_block(std::size_t count) const noexcept { return std::min(first, count); }
  std::size_t end_block(std::size_t count) const noexcept { return std::min(last, count); }
};

/// parallel_blocks over this rank's blocks only (all of them for one process).
inline void share_parallel_blocks(std::size_t n, std::size_t block, const RankShare& share,
                                  const std::function<void(std::size_t, std::size_t, std::size_t)>& fn) {
  if (!share.distributed()) {
    parallel_blocks(n, block, fn);
    return;
  }
  const Blocks b{n, block};
  const std::size_t first = share.begin_block(b.count()), last = share.end_block(b.count());
  parallel_for(last - first, [&](std::size_t t) { fn(b.begin(first + t), b.end(first + t), first + t); });
}

/// Adds the blocks' values in block order into `total`, which holds the accumulator
/// one process starts from (the same on every rank); add(b, total) adds block b's
/// values. One process adds every block; with several ranks each adds its share and
/// the running values travel along the ranks (Communicator::fold_in_rank_order), and
/// every rank returns the total. `arrived` (if given) receives the sum of the blocks
/// before this rank's share (the start values alone: for one process, or on rank 0).
template <class Add>
void fold_blocks(const RankShare& share, std::size_t block_count, std::span<double> total, Add&& add,
                 std::vector<double>* arrived = nullptr) {
  if (!share.distributed()) {
    if (arrived) arrived->assign(total.begin(), total.end());
    for (std::size_t b = 0; b < block_count; ++b) add(b, total);
    return;
  }
  const std::size_t first = share.begin_block(block_count), last = share.end_block(block_count);
  share.comm->fold_in_rank_order(
      total, [&](std::span<double> running) { for (std::size_t b = first; b < last; ++b) add(b, running); }, arrived);
}

/// Every row of `rows` (row-major, `width` values of T a row) from the rank whose
/// blocks hold it: each rank's rows, gathered in rank order, are the rows in order.
template <class T>
void exchange_block_rows(const RankShare& share, const Blocks& blocks, std::size_t width, T* rows, const char* what) {
  if (!share.distributed()) return;
  const std::size_t first = share.begin_block(blocks.count()), last = share.end_block(blocks.count());
  const std::size_t r0 = first < last ? blocks.begin(first) : 0, r1 = first < last ? blocks.end(last - 1) : 0;
  const std::size_t row_bytes = width * sizeof(T);
  const std::string_view mine(reinterpret_cast<const char*>(rows + r0 * width), (r1 - r0) * row_bytes);
  const std::vector<std::string> parts = share.comm->allgather_bytes(mine);
  std::size_t at = 0;
  for (const std::string& part : parts) {
    if (row_bytes == 0) break;
    if (part.size() % row_bytes != 0 || at + part.size() / row_bytes > blocks.n)
      throw Error(std::string(what) + ": the ranks' row counts differ");
    if (!part.empty()) std::memcpy(rows + at * width, part.data(), part.size());
    at += part.size() / row_bytes;
  }
  if (row_bytes != 0 && at != blocks.n) throw Error(std::string(what) + ": the ranks' row counts differ");
}

}  // namespace segmenta::cluster_detail
