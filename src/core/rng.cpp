#include <cmath>
#include <numeric>
#include <unordered_map>

#include "segmenta/core.hpp"

namespace segmenta {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(std::uint64_t seed) noexcept {
  std::uint64_t sm = seed;
  for (auto& s : s_) s = splitmix64(sm);
}

Rng Rng::stream(std::uint64_t seed, std::uint64_t stream_id) noexcept {
  // Mix the stream id through splitmix64 first so that neighbouring (seed, id)
  // pairs start from unrelated states.
  std::uint64_t sm = stream_id ^ 0x5851f42d4c957f2dULL;
  std::uint64_t mixed = splitmix64(sm);
  return Rng(seed ^ mixed);
}

std::uint64_t Rng::next_u64() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::uint64_t Rng::below(std::uint64_t n) noexcept {
  // Lemire's nearly divisionless method on 128-bit products.
  std::uint64_t x = next_u64();
  __uint128_t m = static_cast<__uint128_t>(x) * n;
  std::uint64_t low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      x = next_u64();
      m = static_cast<__uint128_t>(x) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

double Rng::normal() noexcept {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return u * f;
}

std::vector<std::size_t> Rng::permutation(std::size_t n) {
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), std::size_t{0});
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[below(i)]);
  return p;
}

std::vector<std::size_t> Rng::sample_without_replacement(std::size_t n, std::size_t count) {
  if (count > n)
    throw InvalidArgument("count: a sample of " + std::to_string(count) + " from a population of " + std::to_string(n));
  if (count * 4 >= n) {
    auto p = permutation(n);
    p.resize(count);
    return p;
  }
  // Partial Fisher-Yates over a sparse map of displaced entries: O(count), draw order kept.
  std::vector<std::size_t> out;
  out.reserve(count);
  std::unordered_map<std::size_t, std::size_t> moved;
  moved.reserve(count * 2);
  auto get = [&](std::size_t i) {
    auto it = moved.find(i);
    return it == moved.end() ? i : it->second;
  };
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t j = i + below(n - i);
    const std::size_t vi = get(i), vj = get(j);
    moved[j] = vi;
    out.push_back(vj);
  }
  return out;
}

}  // namespace segmenta
