// Adjusted Rand index and adjusted mutual information: hand-computed contingency
// tables, a naive oracle (pair counting for ARI, scikit-learn's lgamma formula for
// the expected mutual information), and properties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "segmenta/metrics.hpp"

using namespace segmenta;

namespace {

using L = std::vector<std::int32_t>;

struct Table2 {
  std::map<std::pair<std::int32_t, std::int32_t>, double> cells;
  std::map<std::int32_t, double> a, b;
  double n = 0;
};

Table2 table(const L& a, const L& b) {
  Table2 t;
  for (std::size_t i = 0; i < a.size(); ++i) {
    t.cells[{a[i], b[i]}] += 1;
    t.a[a[i]] += 1;
    t.b[b[i]] += 1;
  }
  t.n = static_cast<double>(a.size());
  return t;
}

double comb2(double v) { return v * (v - 1) / 2; }

// Hubert & Arabie's ARI from pair counts.
double naive_ari(const L& a, const L& b) {
  const Table2 t = table(a, b);
  double index = 0, sa = 0, sb = 0;
  for (const auto& [k, v] : t.cells) index += comb2(v);
  for (const auto& [k, v] : t.a) sa += comb2(v);
  for (const auto& [k, v] : t.b) sb += comb2(v);
  const double expected = sa * sb / comb2(t.n), max_index = (sa + sb) / 2;
  if (max_index == expected) return 1.0;
  return (index - expected) / (max_index - expected);
}

// Vinh, Epps & Bailey's AMI with arithmetic normalisation; the expected MI by the
// hypergeometric terms in log space (scikit-learn's formula), fine for small n.
double naive_ami(const L& a, const L& b) {
  const Table2 t = table(a, b);
  const double n = t.n;
  double mi = 0;
  for (const auto& [k, v] : t.cells) mi += v / n * std::log(n * v / (t.a.at(k.first) * t.b.at(k.second)));
  auto entropy = [&](const std::map<std::int32_t, double>& m) {
    double h = 0;
    for (const auto& [k, v] : m) h -= v / n * std::log(v / n);
    return h;
  };
  double emi = 0;
  for (const auto& [ka, ai] : t.a)
    for (const auto& [kb, bj] : t.b)
      for (double nij = std::max(1.0, ai + bj - n); nij <= std::min(ai, bj); ++nij) {
        const double log_p = std::lgamma(ai + 1) + std::lgamma(bj + 1) + std::lgamma(n - ai + 1) +
                             std::lgamma(n - bj + 1) - std::lgamma(n + 1) - std::lgamma(nij + 1) -
                             std::lgamma(ai - nij + 1) - std::lgamma(bj - nij + 1) - std::lgamma(n - ai - bj + nij + 1);
        emi += nij / n * std::log(n * nij / (ai * bj)) * std::exp(log_p);
      }
  const double norm = (entropy(t.a) + entropy(t.b)) / 2;
  return (mi - emi) / (norm - emi);
}

L random_labels(Rng& rng, std::size_t n, std::size_t k, std::int32_t offset) {
  L out(n);
  for (auto& v : out) v = static_cast<std::int32_t>(rng.below(k)) * 13 + offset;
  return out;
}

}  // namespace

TEST(AdjustedRand, HandComputedTables) {
  // 2x2 table of ones: index 0, expected 2 * 2 / 6, max 2 -> (0 - 2/3) / (2 - 2/3).
  EXPECT_NEAR(adjusted_rand_score(L{0, 0, 1, 1}, L{0, 1, 0, 1}), -0.5, 1e-15);
  // [[2, 0, 0], [0, 1, 1]]: index 1, sums 2 and 1 over C(4, 2) = 6 -> (1 - 1/3) / (3/2 - 1/3).
  EXPECT_NEAR(adjusted_rand_score(L{0, 0, 1, 1}, L{0, 0, 1, 2}), 4.0 / 7.0, 1e-15);
  // [[2, 1, 0], [0, 1, 2]]: index 2, sums 6 and 3, C(6, 2) = 15 -> (2 - 1.2) / (4.5 - 1.2).
  EXPECT_NEAR(adjusted_rand_score(L{0, 0, 0, 1, 1, 1}, L{0, 0, 1, 1, 2, 2}), 8.0 / 33.0, 1e-15);
  // Label values are only names.
  EXPECT_NEAR(adjusted_rand_score(L{-5, -5, 900, 900}, L{7, 3, 7, 3}), -0.5, 1e-15);
}

TEST(AdjustedRand, IdenticalPartitionsScoreOne) {
  EXPECT_EQ(adjusted_rand_score(L{0, 0, 1, 2}, L{5, 5, 9, 1}), 1.0);
  EXPECT_EQ(adjusted_rand_score(L{0, 1, 2, 3}, L{3, 2, 1, 0}), 1.0);
  EXPECT_EQ(adjusted_rand_score(L{4, 4, 4}, L{0, 0, 0}), 1.0);
  // One cluster against singletons: no agreement beyond chance.
  EXPECT_EQ(adjusted_rand_score(L{0, 0, 0, 0}, L{0, 1, 2, 3}), 0.0);
}

TEST(AdjustedRand, MatchesPairCountingOracleAndIsSymmetric) {
  Rng rng(17);
  for (int t = 0; t < 40; ++t) {
    const std::size_t n = 5 + rng.below(300), ka = 1 + rng.below(8), kb = 1 + rng.below(8);
    const L a = random_labels(rng, n, ka, -100), b = random_labels(rng, n, kb, 7);
    EXPECT_NEAR(adjusted_rand_score(a, b), naive_ari(a, b), 1e-13) << "trial " << t;
    EXPECT_EQ(adjusted_rand_score(a, b), adjusted_rand_score(b, a));
  }
}

TEST(AdjustedRand, PermutationInvariant) {
  Rng rng(5);
  L a = random_labels(rng, 500, 6, 0), b = random_labels(rng, 500, 4, 0);
  for (std::size_t i = 0; i < 500; ++i)
    if (i % 3) b[i] = a[i] % 4;  // some agreement
  const double ref = adjusted_rand_score(a, b);
  const auto perm = rng.permutation(500);
  L pa(500), pb(500);
  for (std::size_t i = 0; i < 500; ++i) {
    pa[i] = a[perm[i]];
    pb[i] = b[perm[i]];
  }
  EXPECT_EQ(adjusted_rand_score(pa, pb), ref);
  EXPECT_GT(ref, 0.2);
}

TEST(AdjustedMutualInfo, HandComputedTables) {
  // [[1, 1], [1, 1]]: MI = 0; every cell's n_ij is hypergeometric(4, 2, 2) with
  // P(2) = 1/6 and term (2/4) log 2, so EMI = 4 * log(2) / 12; H = log 2 on both
  // sides -> (0 - log2/3) / (log2 - log2/3) = -1/2.
  EXPECT_NEAR(adjusted_mutual_info_score(L{0, 0, 1, 1}, L{0, 1, 0, 1}), -0.5, 1e-14);
  // [[2, 0, 0], [0, 1, 1]]: MI = log 2, H = log 2 and 1.5 log 2; EMI = 2 * log2/12
  // (cells with sizes 2, 2) + 4 * log2/8 (cells with sizes 2, 1: P(1) = 1/2, term
  // log(2)/4) = 2/3 log 2 -> (1 - 2/3) / (1.25 - 2/3) = 4/7.
  EXPECT_NEAR(adjusted_mutual_info_score(L{0, 0, 1, 1}, L{0, 0, 1, 2}), 4.0 / 7.0, 1e-14);
  EXPECT_NEAR(adjusted_mutual_info_score(L{9, 9, -2, -2}, L{1, 1, 0, 3}), 4.0 / 7.0, 1e-14);
}

TEST(AdjustedMutualInfo, SpecialCases) {
  EXPECT_EQ(adjusted_mutual_info_score(L{3, 3, 3}, L{1, 1, 1}), 1.0);
  EXPECT_EQ(adjusted_mutual_info_score(L{0, 0, 1, 2, 2}, L{4, 4, 0, 1, 1}), 1.0);
  // All singletons on both sides: 0/0 in the formula, identical partitions -> 1.
  EXPECT_EQ(adjusted_mutual_info_score(L{0, 1, 2, 3}, L{3, 2, 1, 0}), 1.0);
  // One cluster against any split: MI = EMI = 0.
  EXPECT_EQ(adjusted_mutual_info_score(L{0, 0, 0, 0}, L{0, 1, 1, 2}), 0.0);
  // Singletons against a split: MI equals its expectation.
  EXPECT_NEAR(adjusted_mutual_info_score(L{0, 0, 1, 1, 2, 2, 3}, L{0, 1, 2, 3, 4, 5, 6}), 0.0, 1e-14);
}

TEST(AdjustedMutualInfo, MatchesLgammaOracleAndIsSymmetric) {
  Rng rng(23);
  for (int t = 0; t < 40; ++t) {
    const std::size_t n = 10 + rng.below(150), ka = 2 + rng.below(6), kb = 2 + rng.below(6);
    const L a = random_labels(rng, n, ka, 3), b = random_labels(rng, n, kb, -9);
    EXPECT_NEAR(adjusted_mutual_info_score(a, b), naive_ami(a, b), 1e-11) << "trial " << t;
    EXPECT_NEAR(adjusted_mutual_info_score(a, b), adjusted_mutual_info_score(b, a), 1e-14);
  }
}

// Large n: the hypergeometric expectation stays accurate (no cancellation of huge
// lgamma values). For independent labelings E[AMI] = 0 by construction, and a
// noisy copy of a labeling sits strictly between 0 and 1.
TEST(AdjustedMutualInfo, LargeSamples) {
  Rng rng(31);
  const std::size_t n = 200000;
  const L a = random_labels(rng, n, 10, 0), b = random_labels(rng, n, 12, 0);
  const double indep = adjusted_mutual_info_score(a, b);
  EXPECT_LT(std::abs(indep), 2e-4);
  L c = a;
  for (std::size_t i = 0; i < n; i += 4) c[i] = b[i];
  const double noisy = adjusted_mutual_info_score(a, c);
  EXPECT_GT(noisy, 0.3);
  EXPECT_LT(noisy, 0.9);
  EXPECT_EQ(adjusted_mutual_info_score(a, a), 1.0);
}

TEST(AdjustedMutualInfo, PermutationInvariant) {
  Rng rng(8);
  const L a = random_labels(rng, 300, 5, 0);
  L b = random_labels(rng, 300, 3, 0);
  for (std::size_t i = 0; i < 300; i += 2) b[i] = a[i] % 3;
  const double ref = adjusted_mutual_info_score(a, b);
  const auto perm = rng.permutation(300);
  L pa(300), pb(300);
  for (std::size_t i = 0; i < 300; ++i) {
    pa[i] = a[perm[i]];
    pb[i] = b[perm[i]];
  }
  EXPECT_NEAR(adjusted_mutual_info_score(pa, pb), ref, 1e-15);
}

TEST(Agreement, BadInputThrows) {
  EXPECT_THROW(adjusted_rand_score(L{0, 1, 1}, L{0, 1}), InvalidArgument);
  EXPECT_THROW(adjusted_mutual_info_score(L{0, 1, 1}, L{0, 1}), InvalidArgument);
  EXPECT_THROW(adjusted_rand_score(L{}, L{}), InvalidArgument);
  EXPECT_THROW(adjusted_mutual_info_score(L{}, L{}), InvalidArgument);
}
