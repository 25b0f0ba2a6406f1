// The exact selection of order statistics over the ranks (order_select.hpp).
#include "core/order_select.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "segmenta/core.hpp"

namespace segmenta::detail {
namespace {

constexpr int kDigitBits = 8, kRounds = 64 / kDigitBits;
constexpr std::size_t kBins = std::size_t{1} << kDigitBits;

/// Whether `key` has the top `round` bytes of `prefix` (the bytes fixed so far).
inline bool has_prefix(std::uint64_t key, std::uint64_t prefix, int round) noexcept {
  return round == 0 || (key >> (64 - kDigitBits * round)) == prefix;
}

/// The ranks' histograms added (exact integer sums). Most bins are empty (the top
/// bytes of a column's keys take few values, and the candidates thin out in the
/// lower bytes), so each rank sends its non-empty bins as (bin, count) pairs, or the
/// dense counts where those would be fewer: a header (-1: dense, else the pair count)
/// and the entries. `extremes` (each group's smallest and largest candidate key on
/// this rank) travel with them and become the smallest and largest on any rank.
std::vector<std::int64_t> add_histograms(const Communicator& comm, const std::vector<std::int64_t>& hist,
                                         std::vector<std::uint64_t>& extremes) {
  std::size_t filled = 0;
  for (const std::int64_t c : hist) filled += c != 0;
  std::vector<std::int64_t> mine;
  if (2 * filled < hist.size()) {
    mine.reserve(1 + 2 * filled);
    mine.push_back(static_cast<std::int64_t>(filled));
    for (std::size_t b = 0; b < hist.size(); ++b)
      if (hist[b] != 0) {
        mine.push_back(static_cast<std::int64_t>(b));
        mine.push_back(hist[b]);
      }
  } else {
    mine.reserve(1 + hist.size());
    mine.push_back(-1);
    mine.insert(mine.end(), hist.begin(), hist.end());
  }
  for (const std::uint64_t e : extremes) mine.push_back(static_cast<std::int64_t>(e));
  const std::vector<std::int64_t> all = comm.allgather(mine);
  const std::vector<std::uint64_t> own = extremes;
  std::vector<std::int64_t> total(hist.size(), 0);
  auto malformed = [] { return Error("order statistics: the ranks' histograms are malformed"); };
  std::size_t at = 0;
  for (int r = 0; r < comm.size(); ++r) {
    if (at >= all.size()) throw malformed();
    const std::int64_t head = all[at++];
    if (head < 0) {
      if (all.size() - at < total.size()) throw malformed();
      for (std::size_t b = 0; b < total.size(); ++b) total[b] += all[at + b];
      at += total.size();
    } else {
      const auto pairs = static_cast<std::size_t>(head);
      if ((all.size() - at) / 2 < pairs) throw malformed();
      for (std::size_t e = 0; e < pairs; ++e, at += 2) {
        const auto b = static_cast<std::size_t>(all[at]);
        if (all[at] < 0 || b >= total.size()) throw malformed();
        total[b] += all[at + 1];
      }
    }
    if (all.size() - at < own.size()) throw malformed();
    for (std::size_t e = 0; e < own.size(); e += 2, at += 2) {
      extremes[e] = std::min(r == 0 ? ~std::uint64_t{0} : extremes[e], static_cast<std::uint64_t>(all[at]));
      extremes[e + 1] = std::max(r == 0 ? std::uint64_t{0} : extremes[e + 1], static_cast<std::uint64_t>(all[at + 1]));
    }
  }
  if (at != all.size()) throw malformed();
  return total;
}

/// Puts the key of sorted position p at keys[p] for each p of [at_begin, at_end)
/// (ascending, distinct, within [first, last)).
void select_keys(std::vector<std::uint64_t>& keys, std::size_t first, std::size_t last, const std::uint64_t* at_begin,
                 const std::uint64_t* at_end) {
  if (at_begin == at_end) return;
  const std::uint64_t* mid = at_begin + (at_end - at_begin) / 2;
  const auto k = static_cast<std::size_t>(*mid);
  std::nth_element(keys.begin() + static_cast<std::ptrdiff_t>(first), keys.begin() + static_cast<std::ptrdiff_t>(k),
                   keys.begin() + static_cast<std::ptrdiff_t>(last));
  select_keys(keys, first, k, at_begin, mid);
  select_keys(keys, k + 1, last, mid + 1, at_end);
}

}  // namespace

std::vector<std::vector<double>> select_order_statistics(
    const Communicator* comm, std::span<const std::span<const double>> parts,
    const std::function<std::vector<std::uint64_t>(std::size_t, std::uint64_t)>& ranks_of,
    std::vector<std::uint64_t>* counts) {
  const bool distributed = comm != nullptr && comm->size() > 1;
  const std::size_t sets = parts.size();

  // This rank's keys per set (its non-NaN values), then each set's count on every
  // rank (exact integer sums).
  std::vector<std::vector<std::uint64_t>> cand(sets);
  std::vector<std::int64_t> local(sets, 0);
  parallel_for(sets, [&](std::size_t s) {
    std::vector<std::uint64_t>& c = cand[s];
    c.reserve(parts[s].size());
    for (double v : parts[s])
      if (!std::isnan(v)) c.push_back(order_key(v));
    local[s] = static_cast<std::int64_t>(c.size());
  });
  const std::vector<std::int64_t> total = distributed ? comm->allreduce_sum(local) : local;
  if (counts) counts->assign(total.begin(), total.end());

  // The positions wanted: per target its set, its prefix (the key's bytes fixed so
  // far) and its position among the keys with that prefix.
  struct Target {
    std::size_t set;
    std::uint64_t prefix = 0, rank;
    bool done = false;  // prefix is the whole key (found before the last round)
  };
  std::vector<Target> targets;
  std::vector<std::size_t> first_target(sets + 1, 0);
  for (std::size_t s = 0; s < sets; ++s) {
    first_target[s] = targets.size();
    const std::uint64_t count = static_cast<std::uint64_t>(total[s]);
    for (const std::uint64_t k : ranks_of(s, count)) {
      if (k >= count)
        throw InvalidArgument(fmt::format("order statistics: position {} asked among {} values", k, count));
      targets.push_back({s, 0, k, false});
    }
  }
  first_target[sets] = targets.size();

  if (!distributed) {
    // One process holds every key: a selection per distinct position (nth_element on
    // the keys, narrowing the range between positions), the same keys the rounds find.
    parallel_for(sets, [&](std::size_t s) {
      const std::size_t t0 = first_target[s], t1 = first_target[s + 1];
      if (t0 == t1) return;
      std::vector<std::uint64_t>& c = cand[s];
      std::vector<std::uint64_t> at;
      for (std::size_t t = t0; t < t1; ++t) at.push_back(targets[t].rank);
      std::sort(at.begin(), at.end());
      at.erase(std::unique(at.begin(), at.end()), at.end());
      select_keys(c, 0, c.size(), at.data(), at.data() + at.size());
      for (std::size_t t = t0; t < t1; ++t) targets[t].prefix = c[targets[t].rank];
    });
    std::vector<std::vector<double>> out(sets);
    for (std::size_t s = 0; s < sets; ++s)
      for (std::size_t t = first_target[s]; t < first_target[s + 1]; ++t) out[s].push_back(key_value(targets[t].prefix));
    return out;
  }

  // The candidates per set: the keys that can still be a target's.
  std::vector<std::int64_t> hist;
  std::vector<std::size_t> group_of(targets.size()), first_group(sets + 1, 0);
  for (int round = 0; round < kRounds; ++round) {
    // The targets of a set that share a prefix share one histogram (a group).
    std::vector<std::uint64_t> group_prefix;
    for (std::size_t s = 0; s < sets; ++s) {
      first_group[s] = group_prefix.size();
      for (std::size_t t = first_target[s]; t < first_target[s + 1]; ++t) {
        if (targets[t].done) continue;
        std::size_t g = first_group[s];
        while (g < group_prefix.size() && group_prefix[g] != targets[t].prefix) ++g;
        if (g == group_prefix.size()) group_prefix.push_back(targets[t].prefix);
        group_of[t] = g;
      }
    }
    const std::size_t groups = group_prefix.size();
    first_group[sets] = groups;
    if (groups == 0) break;  // every key found (the same on every rank)
    hist.assign(groups * kBins, 0);
    std::vector<std::uint64_t> extremes(2 * groups);
    for (std::size_t g = 0; g < groups; ++g) extremes[2 * g] = ~std::uint64_t{0}, extremes[2 * g + 1] = 0;
    const int shift = 64 - kDigitBits * (round + 1);
    parallel_for(sets, [&](std::size_t s) {
      const std::size_t g0 = first_group[s], g1 = first_group[s + 1];
      if (g0 == g1) return;
      if (g1 - g0 == 1) {  // one prefix: every candidate has it
        std::int64_t* h = hist.data() + g0 * kBins;
        std::uint64_t lo = ~std::uint64_t{0}, hi = 0;
        for (std::uint64_t key : cand[s]) {
          ++h[(key >> shift) & (kBins - 1)];
          lo = std::min(lo, key);
          hi = std::max(hi, key);
        }
        extremes[2 * g0] = lo;
        extremes[2 * g0 + 1] = hi;
        return;
      }
      for (std::uint64_t key : cand[s])
        for (std::size_t g = g0; g < g1; ++g)
          if (has_prefix(key, group_prefix[g], round)) {
            ++hist[g * kBins + ((key >> shift) & (kBins - 1))];
            extremes[2 * g] = std::min(extremes[2 * g], key);
            extremes[2 * g + 1] = std::max(extremes[2 * g + 1], key);
            break;
          }
    });
    hist = add_histograms(*comm, hist, extremes);
    // Each target's byte: the bin where its position falls.
    for (Target& t : targets) {
      if (t.done) continue;
      const std::size_t g = group_of[&t - targets.data()];
      if (extremes[2 * g] == extremes[2 * g + 1]) {
        // Every key with the group's prefix, on every rank, is this one.
        t.prefix = extremes[2 * g];
        t.done = true;
        continue;
      }
      const std::int64_t* h = hist.data() + g * kBins;
      std::uint64_t below = 0;
      std::size_t b = 0;
      while (b + 1 < kBins && below + static_cast<std::uint64_t>(h[b]) <= t.rank) below += static_cast<std::uint64_t>(h[b++]);
      t.rank -= below;
      t.prefix = (t.prefix << kDigitBits) | b;
      if (round + 1 == kRounds) t.done = true;
    }
    if (round + 1 == kRounds) break;
    // Keep the candidates that still share a target's prefix (each distinct one tested once).
    parallel_for(sets, [&](std::size_t s) {
      const std::size_t t0 = first_target[s], t1 = first_target[s + 1];
      std::vector<std::uint64_t>& c = cand[s];
      if (t0 == t1) {
        std::vector<std::uint64_t>().swap(c);
        return;
      }
      std::vector<std::uint64_t> prefixes;
      for (std::size_t t = t0; t < t1; ++t)
        if (!targets[t].done && std::find(prefixes.begin(), prefixes.end(), targets[t].prefix) == prefixes.end())
          prefixes.push_back(targets[t].prefix);
      if (prefixes.empty()) {
        std::vector<std::uint64_t>().swap(c);
        return;
      }
      const int drop = 64 - kDigitBits * (round + 1);
      std::size_t w = 0;
      for (std::uint64_t key : c) {
        const std::uint64_t top = key >> drop;
        for (const std::uint64_t p : prefixes)
          if (top == p) {
            c[w++] = key;
            break;
          }
      }
      c.resize(w);
    });
  }

  std::vector<std::vector<double>> out(sets);
  for (std::size_t s = 0; s < sets; ++s)
    for (std::size_t t = first_target[s]; t < first_target[s + 1]; ++t) out[s].push_back(key_value(targets[t].prefix));
  return out;
}

std::vector<double> medians_on_ranks(const Communicator* comm, std::span<const std::span<const double>> parts) {
  const std::vector<std::vector<double>> middle =
      select_order_statistics(comm, parts, [](std::size_t, std::uint64_t count) -> std::vector<std::uint64_t> {
        if (count == 0) return {};
        if (count % 2 == 1) return {count / 2};
        return {count / 2 - 1, count / 2};
      });
  std::vector<double> medians(parts.size());
  for (std::size_t s = 0; s < parts.size(); ++s) {
    const std::vector<double>& m = middle[s];
    medians[s] = m.empty() ? std::nan("") : m.size() == 1 ? m[0] : (m[0] + m[1]) / 2;
  }
  return medians;
}

}  // namespace segmenta::detail
