// The row blocks one rank computes in a fit shared across ranks, and the exchanges
// that complete per-block results (the latent-class model's EM, k-prototypes).
//
// A fit's reduction blocks depend only on n. Rank r computes blocks
// [first, last) (rank_blocks); every block's partial results are then gathered and
// every rank adds all blocks in block order, exactly as one process adds them, so
// the result does not depend on the number of ranks.
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

/// Completes per-block values across ranks: each rank packs `width` doubles for
/// each block of its share (pack(block, out)); the shares, gathered in rank order,
/// are the blocks in order, and unpack(block, in) stores every other rank's block.
/// Nothing is summed here: callers add all blocks in block order.
template <class Pack, class Unpack>
void exchange_block_values(const RankShare& share, std::size_t block_count, std::size_t width, const char* what,
                           Pack&& pack, Unpack&& unpack) {
  if (!share.distributed() || width == 0) return;
  const std::size_t first = share.begin_block(block_count), last = share.end_block(block_count);
  std::vector<double> mine((last - first) * width);
  for (std::size_t b = first; b < last; ++b) pack(b, mine.data() + (b - first) * width);
  const std::vector<double> all = share.comm->allgather(mine);
  if (all.size() != block_count * width) throw Error(std::string(what) + ": the ranks' block counts differ");
  for (std::size_t b = 0; b < block_count; ++b)
    if (b < first || b >= last) unpack(b, all.data() + b * width);
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
