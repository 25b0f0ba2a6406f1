// Order statistics of values spread over the ranks of a run, found exactly without
// gathering the values: a radix selection on order-preserving 64-bit keys.
//
// Each value is mapped to a key with the same order (order_key: -0.0 just below
// +0.0). The k-th smallest key is found a byte at a time from the top: every rank
// counts its candidates' next byte (256 counts), the counts are added across the
// ranks (integers: exact in any order), and the bin holding the k-th key fixes that
// byte; the candidates outside it are dropped. Eight rounds give the whole key, so
// the value is exactly the one a sort of all the values holds at rank k, whatever
// the number of ranks or how the values are dealt to them. The histograms travel as
// their non-empty bins, with each group's smallest and largest candidate key: where
// those are equal on every rank the key is found and its rounds stop (ties and
// thinned-out candidates end in 2-4 rounds rather than 8). One process, holding every
// key, selects them by nth_element on the keys: the same keys, nothing exchanged.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <vector>

#include "segmenta/comm.hpp"

namespace segmenta::detail {

/// An unsigned key with the order of the doubles (NaN aside): -0.0 is just below
/// +0.0, which compare equal as doubles and end up adjacent.
inline std::uint64_t order_key(double v) noexcept {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  return (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
}

/// The double of an order key (order_key's inverse).
inline double key_value(std::uint64_t u) noexcept {
  const std::uint64_t bits = (u >> 63) ? (u & 0x7FFFFFFFFFFFFFFFULL) : ~u;
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

/// The order statistics of several sets of values, each set spread over the ranks
/// (`parts[s]` is this rank's share of set s; NaN values are left out). For each set,
/// `ranks_of(s, count)` gives the 0-based positions wanted in the ascending order of
/// the set's `count` non-NaN values on all ranks (each < count; none when count is
/// 0). Returns, per set, the values at those positions, in the order asked: the
/// values of a sort by order key (a sort by value, with -0.0 before +0.0). `counts`,
/// when given, receives each set's count. Every rank calls it with the same number of
/// sets; with a null or one-rank communicator nothing is exchanged. Traffic: one
/// allreduce of the counts, then at most 8 rounds in which each rank sends the
/// non-empty bins of 256 counts per distinct position prefix of a set still unknown
/// (16 bytes a bin, or 8 bytes for every bin where more than half are filled) and its
/// smallest and largest candidate (16 bytes), whatever the number of values.
std::vector<std::vector<double>> select_order_statistics(
    const Communicator* comm, std::span<const std::span<const double>> parts,
    const std::function<std::vector<std::uint64_t>(std::size_t set, std::uint64_t count)>& ranks_of,
    std::vector<std::uint64_t>* counts = nullptr);

/// numpy.median of a set's non-NaN values (the mean of the two middle values for an
/// even count; the middle values as select_order_statistics finds them), per set;
/// NaN for a set without a value.
std::vector<double> medians_on_ranks(const Communicator* comm, std::span<const std::span<const double>> parts);

}  // namespace segmenta::detail
