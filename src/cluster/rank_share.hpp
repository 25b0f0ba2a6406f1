// The row blocks one rank computes in a fit shared across ranks, and the exchanges
// that combine per-block results (k-means, the latent-class model's EM).
//
// A fit's reduction blocks depend only on n. Rank r computes blocks
// [first, last) (rank_blocks). Sums over the blocks are folded along the ranks in
// block order (fold_blocks): rank 0 adds its blocks to the accumulator one process
// starts from, passes the running sums to rank 1, and so on, so the total is bit for
// bit that of one process and a rank receives O(width) values, whatever n. Values
// that every rank needs per row (labels) are gathered (exchange_block_rows); the
// latent-class model's posterior stays on the rank that computed its rows.
#pragma once

#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/block_share.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"

namespace segmenta::cluster_detail {

using RankShare = detail::BlockShare;

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
  detail::fold_own_blocks(share, block_count, total, std::forward<Add>(add), arrived);
}

/// Every row of `rows` (row-major, `width` values of T a row) from the rank whose
/// blocks hold it: each rank's rows, gathered in rank order, are the rows in order.
template <class T>
void exchange_block_rows(const RankShare& share, const Blocks& blocks, std::size_t width, T* rows, const char* what) {
  detail::gather_block_rows(share, blocks, width, rows, what);
}

}  // namespace segmenta::cluster_detail
