// The exact silhouette engine behind silhouette_samples / silhouette_samples_many.
//
// How it works:
//  * Rows are sorted by their tuple of labels over all labelings evaluated together;
//    runs of equal tuples are "cells". Bitwise-identical rows inside a cell are merged
//    into one weighted unit. Every cell is padded to a multiple of 8 units (weight 0),
//    so that per-cell distance sums are sums over whole SIMD vectors.
//  * Symmetric evaluation: the units are cut into fixed superblocks (their size
//    depends on the data, never on the thread count); every unordered pair of
//    superblocks is one task that computes each distance once and adds it to the
//    per-row cluster sums of both rows. Each superblock's tasks run in a fixed
//    round-robin order (a task starts once the previous tasks of both its
//    superblocks are done), so every sum is accumulated in the same order whatever
//    the thread count. Memory: O(units x sum of k).
//  * Streaming evaluation (one labeling whose per-row sums would not fit the budget):
//    each row block sweeps all columns in cluster order and keeps only running
//    minima. Twice the distance evaluations, O(n p) memory.
//  * Distances: direct differences in double (the SIMD kernels of src/kernels, chosen
//    at run time: AVX-512, AVX2 + FMA or portable, bit-identical; two rows per sweep
//    of a column panel) for small p; for large p, BLAS GEMM on centred rows with the
//    norm identity (as scikit-learn), near pairs recomputed directly. Distance sums
//    are always accumulated in double.
//
// Internal header: the options exist so that tests and benchmarks can exercise
// every path; the public functions always use the defaults.
#pragma once

#include <cstddef>
#include <vector>

#include "metrics/labels.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"

namespace segmenta::detail {

enum class DistancePath { automatic, direct, gemm };

struct SilhouetteEngineOptions {
  DistancePath path = DistancePath::automatic;
  /// The plain C++ reference kernels of this file instead of the dispatched SIMD ones of
  /// src/kernels (whose instruction set SEGMENTA_KERNEL caps); they sum in another order.
  bool portable = false;
  /// Force the streaming evaluation (one labeling at a time).
  bool streaming = false;
  /// Merge bitwise-identical rows of the same cell into weighted units.
  bool merge_duplicates = true;
  /// Upper bound in bytes for the per-unit cluster sums of the symmetric evaluation.
  std::size_t accumulator_budget = std::size_t{256} << 20;
  /// Ranks sharing the evaluation (null or one rank: this process computes every row).
  /// The units are cut into the same superblocks (streaming: row tiles) as in one
  /// process; rank r owns the r-th share of them in order (rank_blocks). Symmetric:
  /// it runs, in the one-process order, every task that touches one of its
  /// superblocks, so its rows receive the same contributions in the same order;
  /// streaming: it sweeps its own row tiles. The silhouettes of every rank's units
  /// are then gathered in rank order: the bits of one process for any rank count.
  const Communicator* comm = nullptr;
  /// When set, receives the number of real units (rows, duplicates merged) whose
  /// silhouette this rank computed (a test's measure of the share).
  std::size_t* computed_units = nullptr;
};

/// Largest p for which the automatic choice uses direct differences rather than GEMM.
inline constexpr std::size_t direct_max_features = 32;

/// Silhouette value of every row for each labeling (already validated: sizes match,
/// 2 <= k <= n - 1, x finite with p >= 1).
template <class T>
std::vector<std::vector<double>> silhouette_engine(MatrixView<T> x, const std::vector<const EncodedLabels*>& labelings,
                                                   const SilhouetteEngineOptions& options);

/// silhouette_score's mean of the per-row values (blocked summation).
double silhouette_mean(const std::vector<double>& values);

}  // namespace segmenta::detail
