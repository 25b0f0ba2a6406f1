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

#include <algorithm>
#include <cmath>
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

/// The ranks' share of the rows of a per-row output file and of the per-row results
/// that go into it (the maps' coordinates): blocks of kRowRoundBlock (4,096) rows,
/// cut into rounds of `per_rank` blocks a rank (at least the thread count); rank r
/// takes the r-th share of each round's blocks (rank_blocks). A function of the row
/// count, the rank count, per_rank and (above per_rank) the thread count, so the
/// projection that keeps a row's coordinates and the writing that formats its line
/// pick the same rank. A rank's rows, in row order, are its "local" rows: those of
/// earlier rounds, then those of earlier blocks of the round. One process (a null or
/// one-rank comm): every row, local rows = rows.
inline constexpr std::size_t kRowRoundBlock = 4096;

struct RowRounds {
  const Communicator* comm = nullptr;  // null: this process holds every row
  Blocks blocks{0, kRowRoundBlock};
  std::size_t round_blocks = 1;  // blocks of a round, all ranks together
  int rank = 0, size = 1;

  static RowRounds of(const Communicator* comm, std::size_t rows, std::size_t per_rank = 16) {
    RowRounds s;
    s.blocks = Blocks{rows, kRowRoundBlock};
    const bool several = comm != nullptr && comm->size() > 1;
    s.comm = several ? comm : nullptr;
    s.rank = several ? comm->rank() : 0;
    s.size = several ? comm->size() : 1;
    s.round_blocks = std::max<std::size_t>({per_rank, static_cast<std::size_t>(num_threads()), 1}) *
                     static_cast<std::size_t>(s.size);
    return s;
  }
  bool distributed() const noexcept { return comm != nullptr; }
  std::size_t rounds() const noexcept { return (blocks.count() + round_blocks - 1) / round_blocks; }
  /// Rank r's blocks of round t, as absolute block indices [first, last).
  RankBlocks of_rank(std::size_t t, int r) const noexcept {
    const std::size_t first = t * round_blocks;
    const std::size_t count = std::min(round_blocks, blocks.count() - std::min(first, blocks.count()));
    const RankBlocks rb = rank_blocks(count, r, size);
    return {first + rb.first, first + rb.last};
  }
  RankBlocks mine(std::size_t t) const noexcept { return of_rank(t, rank); }
  /// The rank that holds row i.
  int owner(std::size_t i) const noexcept {
    const std::size_t b = i / kRowRoundBlock, t = b / round_blocks;
    for (int r = 0; r < size; ++r)
      if (b < of_rank(t, r).last) return r;
    return size - 1;
  }
  bool owns(std::size_t i) const noexcept { return i < blocks.n && owner(i) == rank; }
  /// This rank's rows.
  std::size_t own_rows() const noexcept {
    std::size_t rows = 0;
    for (std::size_t t = 0; t < rounds(); ++t) {
      const RankBlocks m = mine(t);
      if (m.first < m.last) rows += blocks.end(m.last - 1) - blocks.begin(m.first);
    }
    return rows;
  }
  /// The local index of row i (one of this rank's rows): every block but the last
  /// is full, so the rows before it are those of the full rounds before its round
  /// and of this rank's blocks before its block.
  std::size_t local_row(std::size_t i) const noexcept {
    const std::size_t b = i / kRowRoundBlock, t = b / round_blocks;
    const RankBlocks full = rank_blocks(round_blocks, rank, size);
    return (t * (full.last - full.first) + (b - mine(t).first)) * kRowRoundBlock + i % kRowRoundBlock;
  }
  /// fn(begin, end, block, local_begin) for each of this rank's blocks, in order.
  template <class Fn>
  void for_each_own_block(Fn&& fn) const {
    std::size_t local = 0;
    for (std::size_t t = 0; t < rounds(); ++t) {
      const RankBlocks m = mine(t);
      for (std::size_t b = m.first; b < m.last; ++b) {
        fn(blocks.begin(b), blocks.end(b), b, local);
        local += blocks.size(b);
      }
    }
  }
  /// The same on this rank's threads (a block to a thread).
  template <class Fn>
  void parallel_own_blocks(Fn&& fn) const {
    std::vector<std::pair<std::size_t, std::size_t>> own;  // (block, local_begin)
    for_each_own_block([&](std::size_t, std::size_t, std::size_t b, std::size_t local) { own.emplace_back(b, local); });
    parallel_for(own.size(), [&](std::size_t t) {
      const auto [b, local] = own[t];
      fn(blocks.begin(b), blocks.end(b), b, local);
    });
  }
};

/// Sums over the blocks of `rounds` in block order: `total` holds the accumulator
/// one process starts from, add(begin, end, local_begin, running) adds a block's
/// rows. One process adds every block; with several ranks, each round's blocks are
/// added along the ranks (fold_in_rank_order: each rank adds its blocks of the round
/// to the running values it receives), so every value takes exactly the additions
/// of one process, and every rank returns the total.
template <class Add>
void fold_row_rounds(const RowRounds& rounds, std::span<double> total, Add&& add) {
  if (!rounds.distributed()) {
    for (std::size_t b = 0; b < rounds.blocks.count(); ++b)
      add(rounds.blocks.begin(b), rounds.blocks.end(b), rounds.blocks.begin(b), total);
    return;
  }
  std::size_t local = 0;
  for (std::size_t t = 0; t < rounds.rounds(); ++t) {
    const RankBlocks m = rounds.mine(t);
    rounds.comm->fold_in_rank_order(total, [&](std::span<double> running) {
      for (std::size_t b = m.first; b < m.last; ++b) {
        add(rounds.blocks.begin(b), rounds.blocks.end(b), local, running);
        local += rounds.blocks.size(b);
      }
    });
  }
}

/// For each column of `local` (this rank's rows of `rounds`, in row order): whether a
/// non-NaN entry exists in any rank's rows, the value of the entry with the largest
/// absolute value (the first in row order on ties, as a scan of every row keeps it:
/// each rank's first largest, then the largest of those, the lowest row on ties, so
/// the same entry for any rank count) and the value of row 0. The sign conventions
/// of the projections (svd_flip) follow from these. Each rank receives 4 doubles a
/// column a rank.
struct LargestEntry {
  bool found = false;
  double value = 0.0;  // the largest |entry|'s value (when found)
  double first = 0.0;  // row 0's value
};
inline std::vector<LargestEntry> largest_entries(const RowRounds& rounds, const MatrixD& local) {
  const std::size_t k = local.cols();
  std::vector<double> mine(4 * k, 0.0);  // per column: found, row, value, row 0's value
  for (std::size_t c = 0; c < k; ++c) {
    double best = -1.0;
    rounds.for_each_own_block([&](std::size_t b, std::size_t e, std::size_t, std::size_t l) {
      for (std::size_t i = b; i < e; ++i) {
        const double v = local(l + i - b, c);
        if (std::abs(v) > best) {
          best = std::abs(v);
          mine[4 * c] = 1.0;
          mine[4 * c + 1] = static_cast<double>(i);
          mine[4 * c + 2] = v;
        }
      }
    });
    if (rounds.owns(0)) mine[4 * c + 3] = local(0, c);  // row 0 is its first local row
  }
  const std::vector<double> all = rounds.distributed() ? rounds.comm->allgather(mine) : mine;
  std::vector<LargestEntry> out(k);
  const std::size_t first_owner = rounds.blocks.n > 0 ? static_cast<std::size_t>(rounds.owner(0)) : 0;
  for (std::size_t c = 0; c < k; ++c) {
    double best = -1.0, row = 0.0;
    for (std::size_t r = 0; r < all.size() / (4 * k); ++r) {
      const double* a = all.data() + 4 * k * r + 4 * c;
      if (r == first_owner) out[c].first = a[3];
      if (a[0] == 0.0) continue;
      const double v = std::abs(a[2]);
      if (!out[c].found || v > best || (v == best && a[1] < row)) {
        out[c].found = true;
        out[c].value = a[2];
        best = v;
        row = a[1];
      }
    }
  }
  return out;
}

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
