// Row blocks shared by the ranks of a run for the stages after the fits (outlier
// scores, silhouettes): which blocks this rank computes, and the gathering of
// per-block rows into every rank's copy.
//
// Every rank keeps the one process's blocks (a function of the data's size alone);
// rank r computes the r-th share of them in order (rank_blocks). Whatever a block
// computes depends on that block only, so gathering the blocks' rows in block order
// gives every rank the one process's bits whatever the number of ranks. (The fits
// use the same share, and src/cluster/rank_share.hpp adds the fold of per-block
// partial sums.)
#pragma once

#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"

namespace segmenta::detail {

struct BlockShare {
  const Communicator* comm = nullptr;  // null: this process computes every block
  std::size_t first = 0, last = std::numeric_limits<std::size_t>::max();

  /// This rank's share of `count` blocks; every block for a null or one-rank comm.
  static BlockShare of(const Communicator* comm, std::size_t count) {
    BlockShare s;
    if (comm == nullptr || comm->size() <= 1) return s;
    const RankBlocks rb = rank_blocks(count, comm->rank(), comm->size());
    s.comm = comm;
    s.first = rb.first;
    s.last = rb.last;
    return s;
  }
  bool distributed() const noexcept { return comm != nullptr; }
  /// This rank's blocks of `count` blocks, [begin_block, end_block).
  std::size_t begin_block(std::size_t count) const noexcept { return first < count ? first : count; }
  std::size_t end_block(std::size_t count) const noexcept { return last < count ? last : count; }
  /// This rank's blocks of `blocks`, [begin_block, end_block).
  std::size_t begin_block(const Blocks& blocks) const noexcept { return begin_block(blocks.count()); }
  std::size_t end_block(const Blocks& blocks) const noexcept { return end_block(blocks.count()); }
  /// The rows [begin, end) of this rank's blocks (empty when it has none).
  std::size_t begin_row(const Blocks& blocks) const noexcept {
    return begin_block(blocks) < end_block(blocks) ? blocks.begin(begin_block(blocks)) : 0;
  }
  std::size_t end_row(const Blocks& blocks) const noexcept {
    return begin_block(blocks) < end_block(blocks) ? blocks.end(end_block(blocks) - 1) : 0;
  }
};

/// fn(begin, end, block) for each of this rank's blocks, on its threads.
template <class Fn>
void parallel_own_blocks(const Blocks& blocks, const BlockShare& share, Fn&& fn) {
  const std::size_t first = share.begin_block(blocks), last = share.end_block(blocks);
  parallel_for(last - first, [&](std::size_t t) { fn(blocks.begin(first + t), blocks.end(first + t), first + t); });
}

/// Sums over blocks in block order: `total` holds the accumulator one process starts
/// from (the same on every rank) and add(b, total) adds block b's part to it. One
/// process adds every block; with several ranks each adds its own blocks to the
/// running values that reach it along the ranks (Communicator::fold_in_rank_order),
/// so every value takes exactly the additions of one process, and every rank returns
/// the total. `arrived` (if given) receives the sum of the blocks before this rank's.
template <class Add>
void fold_own_blocks(const BlockShare& share, std::size_t block_count, std::span<double> total, Add&& add,
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

/// Runs `step` (this rank's part of a check) and, with several ranks, agrees on its
/// outcome: every rank throws the error of the lowest rank that failed, which for
/// checks over rows in order is the one process's first error.
template <class Step>
void agree_on_share(const BlockShare& share, Step&& step) {
  if (share.distributed())
    agree_on_failure(*share.comm, std::forward<Step>(step));
  else
    step();
}

/// Completes `rows` (row-major, `width` values of T a row, blocks.n rows) on every
/// rank: each rank sends the rows of its blocks, and the ranks' rows, in rank order,
/// are all the rows in order. Nothing to do for one process.
template <class T>
void gather_block_rows(const BlockShare& share, const Blocks& blocks, std::size_t width, T* rows, const char* what) {
  if (!share.distributed()) return;
  const std::size_t row_bytes = width * sizeof(T);
  const std::size_t r0 = share.begin_row(blocks), r1 = share.end_row(blocks);
  const std::vector<std::string> parts = share.comm->allgather_bytes(
      std::string_view(reinterpret_cast<const char*>(rows + r0 * width), (r1 - r0) * row_bytes));
  if (row_bytes == 0) return;
  std::size_t at = 0;
  for (const std::string& part : parts) {
    if (part.size() % row_bytes != 0 || at + part.size() / row_bytes > blocks.n)
      throw Error(std::string(what) + ": the ranks' row counts differ");
    if (!part.empty()) std::memcpy(rows + at * width, part.data(), part.size());
    at += part.size() / row_bytes;
  }
  if (at != blocks.n) throw Error(std::string(what) + ": the ranks' row counts differ");
}

}  // namespace segmenta::detail
