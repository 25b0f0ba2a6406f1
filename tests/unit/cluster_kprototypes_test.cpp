// k-prototypes against a plain re-statement of kmodes 0.12.2 written in the test
// (naive loops, dictionary-like category counts, stable sorts), plus properties of
// the batch variant, the sweep, thread independence, degenerate and bad inputs, and
// the mixed-distance silhouette against a naive O(n^2) oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "segmenta/cluster.hpp"

using namespace segmenta;

namespace {

// ---------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------

struct Mixed {
  MatrixD num;
  Matrix<std::int32_t> cat;
};

// n rows: numeric columns drawn around a few centres, categorical columns with the
// given numbers of levels, loosely tied to the centre so there is structure.
Mixed make_data(std::size_t n, std::size_t p, const std::vector<std::int32_t>& levels, std::uint64_t seed,
                std::size_t centres = 4) {
  Rng rng(seed);
  Mixed d{MatrixD(n, p), Matrix<std::int32_t>(n, levels.size())};
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = rng.below(centres);
    for (std::size_t j = 0; j < p; ++j) d.num(i, j) = static_cast<double>(c) * (j % 2 ? -1.5 : 2.0) + rng.normal();
    for (std::size_t j = 0; j < levels.size(); ++j) {
      const bool follow = rng.uniform() < 0.6;
      d.cat(i, j) = follow ? static_cast<std::int32_t>((c + j) % static_cast<std::size_t>(levels[j]))
                           : static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(levels[j])));
    }
  }
  return d;
}

// ---------------------------------------------------------------------------
// The oracle: kmodes 0.12.2's k-prototypes, restated plainly
// ---------------------------------------------------------------------------

// The oracle must round every product and sum separately, as numpy does; this file
// is compiled with floating-point contraction allowed, so products that feed a sum
// go through these.
double mul(double a, double b) {
  volatile double r = a * b;
  return r;
}
double add(double a, double b) {
  volatile double r = a + b;
  return r;
}

// numpy's pairwise summation (np.sum along a contiguous axis).
double np_sum(const std::vector<double>& a, std::size_t b, std::size_t n) {
  if (n < 8) {
    double r = 0.0;
    for (std::size_t i = 0; i < n; ++i) r += a[b + i];
    return r;
  }
  if (n <= 128) {
    double r[8];
    for (int t = 0; t < 8; ++t) r[t] = a[b + t];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (int t = 0; t < 8; ++t) r[t] += a[b + i + t];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[b + i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return np_sum(a, b, n2) + np_sum(a, b + n2, n - n2);
}

struct OracleRun {
  std::vector<double> cen;  // k x p
  std::vector<int> mode;    // k x q
  std::vector<int> labels;
  double cost = std::numeric_limits<double>::infinity();
  std::size_t n_iter = 0;
  std::vector<double> epochs;
  bool failed = false;
  std::size_t reseeds = 0;
};

class Oracle {
 public:
  Oracle(const Mixed& d, double gamma) : d_(d), n_(d.num.rows()), p_(d.num.cols()), q_(d.cat.cols()), gamma_(gamma) {
    levels_.assign(q_, 0);
    for (std::size_t i = 0; i < n_; ++i)
      for (std::size_t j = 0; j < q_; ++j) levels_[j] = std::max(levels_[j], d.cat(i, j) + 1);
  }

  double dissim(std::size_t i, std::size_t l) const {
    std::vector<double> sq(p_);
    for (std::size_t j = 0; j < p_; ++j) {
      const double t = cen_[l * p_ + j] - d_.num(i, j);
      sq[j] = mul(t, t);
    }
    int mism = 0;
    for (std::size_t j = 0; j < q_; ++j) mism += d_.cat(i, j) != mode_[l * q_ + j];
    return add(np_sum(sq, 0, p_), mul(gamma_, mism));
  }

  std::size_t argmin(std::size_t i, double* dmin = nullptr) const {
    std::size_t best = 0;
    double bv = dissim(i, 0);
    for (std::size_t l = 1; l < k_; ++l) {
      const double v = dissim(i, l);
      if (v < bv) {
        bv = v;
        best = l;
      }
    }
    if (dmin) *dmin = bv;
    return best;
  }

  // Categorical inits, restated from kmodes' init_cao / init_huang.
  std::vector<int> cao(std::size_t k) const {
    std::vector<double> dens(n_, 0.0);
    for (std::size_t j = 0; j < q_; ++j) {
      std::map<int, int> freq;
      for (std::size_t i = 0; i < n_; ++i) ++freq[d_.cat(i, j)];
      for (std::size_t i = 0; i < n_; ++i)
        dens[i] += static_cast<double>(freq[d_.cat(i, j)]) / static_cast<double>(n_) / static_cast<double>(q_);
    }
    std::vector<int> c(k * q_);
    const auto set_row = [&](std::size_t l, std::size_t i) {
      for (std::size_t j = 0; j < q_; ++j) c[l * q_ + j] = d_.cat(i, j);
    };
    set_row(0, static_cast<std::size_t>(std::max_element(dens.begin(), dens.end()) - dens.begin()));
    for (std::size_t ik = 1; ik < k; ++ik) {
      std::vector<double> mn(n_, std::numeric_limits<double>::infinity());
      for (std::size_t ikk = 0; ikk < ik; ++ikk)
        for (std::size_t i = 0; i < n_; ++i) {
          int mism = 0;
          for (std::size_t j = 0; j < q_; ++j) mism += d_.cat(i, j) != c[ikk * q_ + j];
          mn[i] = std::min(mn[i], mism * dens[i]);
        }
      set_row(ik, static_cast<std::size_t>(std::max_element(mn.begin(), mn.end()) - mn.begin()));
    }
    return c;
  }

  std::vector<int> huang(std::size_t k, Rng& rng) const {
    std::vector<int> c(k * q_);
    for (std::size_t j = 0; j < q_; ++j) {
      std::vector<int> sorted(n_);
      for (std::size_t i = 0; i < n_; ++i) sorted[i] = d_.cat(i, j);
      std::sort(sorted.begin(), sorted.end());
      for (std::size_t l = 0; l < k; ++l) c[l * q_ + j] = sorted[rng.below(n_)];
    }
    for (std::size_t ik = 0; ik < k; ++ik) {
      std::vector<std::size_t> ndx(n_);
      std::iota(ndx.begin(), ndx.end(), 0);
      std::vector<int> dist(n_, 0);
      for (std::size_t i = 0; i < n_; ++i)
        for (std::size_t j = 0; j < q_; ++j) dist[i] += d_.cat(i, j) != c[ik * q_ + j];
      std::stable_sort(ndx.begin(), ndx.end(), [&](std::size_t a, std::size_t b) { return dist[a] < dist[b]; });
      const auto equals_a_centroid = [&](std::size_t i) {
        for (std::size_t l = 0; l < k; ++l) {
          bool eq = true;
          for (std::size_t j = 0; j < q_; ++j) eq = eq && d_.cat(i, j) == c[l * q_ + j];
          if (eq) return true;
        }
        return false;
      };
      std::size_t at = 0;
      while (equals_a_centroid(ndx[at]) && at + 1 < n_) ++at;
      for (std::size_t j = 0; j < q_; ++j) c[ik * q_ + j] = d_.cat(ndx[at], j);
    }
    return c;
  }

  std::vector<double> numeric_init(std::size_t k, Rng& rng) const {
    std::vector<double> mean(p_, 0.0), sd(p_, 0.0);
    for (std::size_t i = 0; i < n_; ++i)
      for (std::size_t j = 0; j < p_; ++j) mean[j] += d_.num(i, j);
    for (auto& m : mean) m /= static_cast<double>(n_);
    for (std::size_t i = 0; i < n_; ++i)
      for (std::size_t j = 0; j < p_; ++j) sd[j] += mul(d_.num(i, j) - mean[j], d_.num(i, j) - mean[j]);
    for (auto& s : sd) s = std::sqrt(s / static_cast<double>(n_));
    std::vector<double> c(k * p_);
    for (std::size_t l = 0; l < k; ++l)
      for (std::size_t j = 0; j < p_; ++j) c[l * p_ + j] = add(mean[j], mul(rng.normal(), sd[j]));
    return c;
  }

  // One run from explicit prototypes (kmodes' _k_prototypes_single after the init).
  OracleRun run(const std::vector<double>& cen, const std::vector<int>& mode, std::size_t max_iter, Rng& rng) {
    k_ = cen.size() / p_;
    cen_ = cen;
    mode_ = mode;
    OracleRun out;
    memb_.assign(n_, 0);
    sums_.assign(k_ * p_, 0.0);
    size_.assign(k_, 0);
    counts_.assign(k_, std::vector<std::map<int, long>>(q_));
    for (std::size_t i = 0; i < n_; ++i) {
      const std::size_t l = argmin(i);
      memb_[i] = static_cast<int>(l);
      ++size_[l];
      for (std::size_t j = 0; j < p_; ++j) sums_[l * p_ + j] += d_.num(i, j);
      for (std::size_t j = 0; j < q_; ++j) counts_[l][j][d_.cat(i, j)] += 1;
    }
    for (std::size_t l = 0; l < k_; ++l)
      if (size_[l] == 0) {
        out.failed = true;
        return out;
      }
    for (std::size_t l = 0; l < k_; ++l) {
      for (std::size_t j = 0; j < p_; ++j) cen_[l * p_ + j] = sums_[l * p_ + j] / static_cast<double>(size_[l]);
      for (std::size_t j = 0; j < q_; ++j) mode_[l * q_ + j] = max_key(counts_[l][j]);
    }
    std::vector<int> L;
    double cost = labels_cost(L);
    out.epochs.push_back(cost);
    bool converged = false;
    while (out.n_iter < max_iter && !converged) {
      ++out.n_iter;
      std::size_t moves = 0;
      for (std::size_t i = 0; i < n_; ++i) {
        const std::size_t to = argmin(i);
        const std::size_t from = static_cast<std::size_t>(memb_[i]);
        if (to == from) continue;
        ++moves;
        move(i, to, from);
        for (std::size_t j = 0; j < p_; ++j)
          for (std::size_t c : {to, from})
            cen_[c * p_ + j] = size_[c] ? sums_[c * p_ + j] / static_cast<double>(size_[c]) : 0.0;
        if (size_[from] == 0) {
          const std::size_t donor = static_cast<std::size_t>(std::max_element(size_.begin(), size_.end()) - size_.begin());
          std::vector<std::size_t> choices;
          for (std::size_t r = 0; r < n_; ++r)
            if (static_cast<std::size_t>(memb_[r]) == donor) choices.push_back(r);
          const std::size_t pick = choices[rng.below(choices.size())];
          move(pick, from, donor);
          ++out.reseeds;
        }
      }
      const double ncost = labels_cost(L);
      converged = moves == 0 || ncost >= cost;
      out.epochs.push_back(ncost);
      cost = ncost;
    }
    out.cen = cen_;
    out.mode = mode_;
    out.labels = L;
    out.cost = cost;
    return out;
  }

  // kmodes' k_prototypes for string inits: n_init restarts from Rng::stream(seed, r).
  OracleRun fit(std::size_t k, std::size_t n_init, bool use_huang, std::size_t max_iter, std::uint64_t seed) {
    OracleRun best;
    for (std::size_t r = 0; r < n_init; ++r) {
      Rng rng = Rng::stream(seed, r);
      OracleRun res;
      for (std::size_t tries = 1;; ++tries) {
        std::vector<int> modes;
        if (tries > 20) {
          modes.resize(k * q_);
          for (std::size_t l = 0; l < k; ++l) {
            const std::size_t i = rng.below(n_);
            for (std::size_t j = 0; j < q_; ++j) modes[l * q_ + j] = d_.cat(i, j);
          }
        } else {
          modes = use_huang ? huang(k, rng) : cao(k);
        }
        const std::vector<double> cen = numeric_init(k, rng);
        res = run(cen, modes, max_iter, rng);
        if (!res.failed || tries == 100) break;
      }
      if (!res.failed && res.cost < best.cost) best = res;
    }
    return best;
  }

 private:
  // kmodes' get_max_value_key: the largest count, smallest key on ties, over the keys
  // the dictionary holds (keys stay after their count drops to 0).
  static int max_key(const std::map<int, long>& m) {
    int best = m.begin()->first;
    long bv = m.begin()->second;
    for (const auto& [key, v] : m)
      if (v > bv) {
        bv = v;
        best = key;
      }
    return best;
  }

  double labels_cost(std::vector<int>& L) const {
    L.assign(n_, 0);
    double cost = 0.0;
    for (std::size_t i = 0; i < n_; ++i) {
      double dv;
      L[i] = static_cast<int>(argmin(i, &dv));
      cost += dv;
    }
    return cost;
  }

  void move(std::size_t i, std::size_t to, std::size_t from) {
    for (std::size_t j = 0; j < p_; ++j) {
      sums_[to * p_ + j] += d_.num(i, j);
      sums_[from * p_ + j] -= d_.num(i, j);
    }
    ++size_[to];
    --size_[from];
    memb_[i] = static_cast<int>(to);
    for (std::size_t j = 0; j < q_; ++j) {
      const int v = d_.cat(i, j);
      auto& tc = counts_[to][j];
      auto& fc = counts_[from][j];
      tc[v] += 1;
      if (tc[mode_[to * q_ + j]] < tc[v]) mode_[to * q_ + j] = v;  // operator[] inserts, as defaultdict does
      fc[v] -= 1;
      if (mode_[from * q_ + j] == v) mode_[from * q_ + j] = max_key(fc);
    }
  }

  const Mixed& d_;
  std::size_t n_, p_, q_, k_ = 0;
  double gamma_;
  std::vector<int> levels_;
  std::vector<double> cen_, sums_;
  std::vector<int> mode_, memb_;
  std::vector<long> size_;
  std::vector<std::vector<std::map<int, long>>> counts_;
};

double naive_gamma(const MatrixD& x) {
  double s = 0.0;
  for (std::size_t j = 0; j < x.cols(); ++j) {
    double m = 0.0, v = 0.0;
    for (std::size_t i = 0; i < x.rows(); ++i) m += x(i, j);
    m /= static_cast<double>(x.rows());
    for (std::size_t i = 0; i < x.rows(); ++i) v += (x(i, j) - m) * (x(i, j) - m);
    s += std::sqrt(v / static_cast<double>(x.rows()));
  }
  return 0.5 * s / static_cast<double>(x.cols());
}

void expect_same_run(const KPrototypesModel& m, const OracleRun& o, std::size_t p, std::size_t q) {
  ASSERT_FALSE(o.failed);
  EXPECT_EQ(m.n_iter, o.n_iter);
  EXPECT_EQ(m.cost, o.cost);  // same operations in the same order: bit for bit
  ASSERT_EQ(m.epoch_costs.size(), o.epochs.size());
  for (std::size_t t = 0; t < o.epochs.size(); ++t) EXPECT_EQ(m.epoch_costs[t], o.epochs[t]) << "epoch " << t;
  ASSERT_EQ(m.labels.size(), o.labels.size());
  for (std::size_t i = 0; i < o.labels.size(); ++i) ASSERT_EQ(m.labels[i], o.labels[i]) << "row " << i;
  const std::size_t k = m.n_clusters();
  for (std::size_t l = 0; l < k; ++l) {
    for (std::size_t j = 0; j < p; ++j) EXPECT_EQ(m.centroids(l, j), o.cen[l * p + j]);
    for (std::size_t j = 0; j < q; ++j) EXPECT_EQ(m.modes(l, j), o.mode[l * q + j]);
  }
  EXPECT_EQ(m.empty_reseeds, o.reseeds);
}

struct Case {
  std::size_t n, p;
  std::vector<std::int32_t> levels;
  std::size_t k;
};

}  // namespace

// From explicit prototypes: few distinct categorical rows (mismatch table), many
// (direct comparison), >= 8 numeric columns (numpy's pairwise summation), k large
// enough that clusters empty and get refilled.
TEST(KPrototypes, FromInitMatchesNaiveKmodesOracle) {
  const std::vector<Case> cases = {
      {400, 2, {3, 2, 4}, 4}, {300, 3, {9, 11, 13, 7}, 5}, {250, 9, {3, 5}, 3}, {60, 2, {2, 3, 2}, 12},
      {90, 1, {4, 4}, 9},     {200, 12, {6}, 6},
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      SCOPED_TRACE(::testing::Message() << "case " << c << " seed " << seed);
      const Case& cs = cases[c];
      const Mixed d = make_data(cs.n, cs.p, cs.levels, 100 * c + seed);
      const double gamma = naive_gamma(d.num) * (seed == 3 ? 3.0 : 1.0);
      // Initial prototypes: random rows, numeric part jittered.
      Rng rng(seed * 7 + c);
      MatrixD cen(cs.k, cs.p);
      Matrix<std::int32_t> modes(cs.k, cs.levels.size());
      for (std::size_t l = 0; l < cs.k; ++l) {
        const std::size_t i = rng.below(cs.n);
        for (std::size_t j = 0; j < cs.p; ++j) cen(l, j) = d.num(i, j) + 0.3 * rng.normal();
        for (std::size_t j = 0; j < cs.levels.size(); ++j) modes(l, j) = d.cat(i, j);
      }
      KPrototypesParams params;
      params.gamma = gamma;
      params.random_state = seed;
      Oracle oracle(d, gamma);
      Rng orng = Rng::stream(seed, 0);
      const OracleRun o = oracle.run(std::vector<double>(cen.data(), cen.data() + cen.size()),
                                     std::vector<int>(modes.data(), modes.data() + modes.size()), params.max_iter, orng);
      if (o.failed) {
        EXPECT_THROW(fit_kprototypes_from(d.num, d.cat, cen, modes, params), InvalidArgument);
        continue;
      }
      const KPrototypesModel m = fit_kprototypes_from(d.num, d.cat, cen, modes, params);
      expect_same_run(m, o, cs.p, cs.levels.size());
      EXPECT_EQ(m.gamma, gamma);
    }
  }
}

// A cluster empties in the online rule only through exact ties (its last row finds
// a lower-index prototype at the same dissimilarity), so this runs many tiny
// integer-valued problems, among them three (found by search) that refill a cluster.
TEST(KPrototypes, EmptyClusterRefillMatchesOracle) {
  std::vector<std::uint64_t> seeds = {197188, 245646, 245979};
  for (std::uint64_t s = 1; s <= 1500; ++s) seeds.push_back(s);
  std::size_t reseeds = 0, runs = 0;
  for (const std::uint64_t seed : seeds) {
    Rng rng(seed);
    const std::size_t n = 5 + rng.below(8), k = 2 + rng.below(3);
    Mixed d{MatrixD(n, 2), Matrix<std::int32_t>(n, 1)};
    for (std::size_t i = 0; i < n; ++i) {
      d.num(i, 0) = static_cast<double>(rng.below(5)) - 2;
      d.num(i, 1) = static_cast<double>(rng.below(5)) - 2;
      d.cat(i, 0) = static_cast<std::int32_t>(rng.below(2));
    }
    std::vector<double> cen(k * 2);
    std::vector<int> modes(k);
    for (std::size_t l = 0; l < k; ++l) {
      cen[2 * l] = 0.5 * static_cast<double>(rng.below(9)) - 2;
      cen[2 * l + 1] = 0.5 * static_cast<double>(rng.below(9)) - 2;
      modes[l] = static_cast<int>(rng.below(2));
    }
    KPrototypesParams params;
    params.gamma = 0.5 * static_cast<double>(1 + rng.below(4));
    params.random_state = seed;
    Oracle oracle(d, *params.gamma);
    Rng orng = Rng::stream(seed, 0);
    const OracleRun o = oracle.run(cen, modes, params.max_iter, orng);
    MatrixD c(k, 2);
    Matrix<std::int32_t> md(k, 1);
    std::copy(cen.begin(), cen.end(), c.data());
    std::copy(modes.begin(), modes.end(), md.data());
    // Initial modes may name a level no row has; both sides must then agree on the error.
    bool valid = true;
    for (int v : modes) valid = valid && v < 1 + *std::max_element(d.cat.data(), d.cat.data() + n);
    if (o.failed || !valid) {
      EXPECT_THROW(fit_kprototypes_from(d.num, d.cat, c, md, params), InvalidArgument);
      continue;
    }
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    const KPrototypesModel m = fit_kprototypes_from(d.num, d.cat, c, md, params);
    expect_same_run(m, o, 2, 1);
    reseeds += m.empty_reseeds;
    ++runs;
  }
  EXPECT_GT(runs, 500u);
  EXPECT_GE(reseeds, 3u) << "the empty-cluster refill was not exercised";
}

TEST(KPrototypes, RestartsWithCaoAndHuangMatchOracle) {
  const Mixed d = make_data(300, 2, {4, 3, 5, 2}, 11);
  for (const bool huang : {false, true}) {
    for (std::size_t k : {2u, 5u, 8u}) {
      SCOPED_TRACE(::testing::Message() << (huang ? "huang" : "cao") << " k=" << k);
      KPrototypesParams params;
      params.n_clusters = k;
      params.n_init = 4;
      params.init = huang ? KPrototypesInit::huang : KPrototypesInit::cao;
      params.random_state = 5;
      const KPrototypesModel m = fit_kprototypes(d.num, d.cat, params);
      const double gamma = kprototypes_default_gamma(d.num);
      EXPECT_EQ(m.gamma, gamma);
      Oracle oracle(d, gamma);
      const OracleRun o = oracle.fit(k, params.n_init, huang, params.max_iter, params.random_state);
      expect_same_run(m, o, 2, 4);
      ASSERT_EQ(m.init_costs.size(), params.n_init);
      EXPECT_EQ(m.cost, *std::min_element(m.init_costs.begin(), m.init_costs.end()));
      EXPECT_EQ(m.init_costs[m.best_init], m.cost);
    }
  }
}

TEST(KPrototypes, DefaultGammaIsHalfTheMeanPopulationStd) {
  for (std::size_t p : {1u, 2u, 3u, 9u}) {
    const Mixed d = make_data(500, p, {2}, 40 + p);
    EXPECT_NEAR(kprototypes_default_gamma(d.num), naive_gamma(d.num), 1e-14 * naive_gamma(d.num)) << "p=" << p;
  }
  MatrixD x(4, 2);
  for (std::size_t i = 0; i < 4; ++i) {
    x(i, 0) = static_cast<double>(i);  // population std sqrt(1.25)
    x(i, 1) = 3.0;                     // constant
  }
  EXPECT_DOUBLE_EQ(kprototypes_default_gamma(x), 0.25 * std::sqrt(1.25));
  // Pooled: the 8 values 0, 1, 2, 3, 3, 3, 3, 3 have mean 2.25 and variance 1.1875.
  EXPECT_DOUBLE_EQ(kprototypes_pooled_gamma(x), 0.5 * std::sqrt(1.1875));
  EXPECT_THROW(kprototypes_default_gamma(MatrixD(0, 2)), InvalidArgument);
  EXPECT_THROW(kprototypes_pooled_gamma(MatrixD(3, 0)), InvalidArgument);
}

TEST(KPrototypes, ThreadCountDoesNotChangeResults) {
  const Mixed d = make_data(3000, 3, {5, 4, 6}, 21);
  for (const auto algo : {KPrototypesAlgorithm::online, KPrototypesAlgorithm::batch}) {
    KPrototypesParams params;
    params.n_clusters = 6;
    params.n_init = 5;
    params.init = KPrototypesInit::huang;
    params.algorithm = algo;
    set_num_threads(1);
    const KPrototypesModel a = fit_kprototypes(d.num, d.cat, params);
    set_num_threads(2);
    const KPrototypesModel b = fit_kprototypes(d.num, d.cat, params);
    set_num_threads(0);
    EXPECT_EQ(a.cost, b.cost);
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_EQ(a.init_costs, b.init_costs);
    EXPECT_EQ(a.best_init, b.best_init);
    for (std::size_t t = 0; t < a.centroids.size(); ++t) EXPECT_EQ(a.centroids.data()[t], b.centroids.data()[t]);
  }
}

TEST(KPrototypes, SweepEqualsSeparateFitsAndFindsAnElbow) {
  const Mixed d = make_data(1500, 2, {3, 4, 2}, 31);
  KPrototypesParams params;
  params.n_init = 3;
  params.init = KPrototypesInit::huang;
  const std::vector<std::size_t> ks = {2, 3, 4, 5, 6, 7, 8};
  const KPrototypesSweep s = sweep_kprototypes(d.num, d.cat, ks, params);
  ASSERT_EQ(s.models.size(), ks.size());
  std::vector<double> x;
  for (std::size_t i = 0; i < ks.size(); ++i) {
    params.n_clusters = ks[i];
    const KPrototypesModel m = fit_kprototypes(d.num, d.cat, params);
    EXPECT_EQ(s.cost[i], m.cost) << "k=" << ks[i];
    EXPECT_EQ(s.models[i].labels, m.labels);
    EXPECT_EQ(s.models[i].n_clusters(), ks[i]);
    x.push_back(static_cast<double>(ks[i]));
  }
  const KneeResult knee = find_knee(x, s.cost, CurveNature::convex, CurveDirection::decreasing);
  ASSERT_EQ(s.elbow_k.has_value(), knee.knee.has_value());
  if (knee.knee) {
    EXPECT_EQ(static_cast<double>(*s.elbow_k), *knee.knee);
  }
}

TEST(KPrototypes, BatchCostNeverIncreasesAndEndsAtAFixedPoint) {
  for (std::uint64_t seed : {3u, 4u, 5u}) {
    const Mixed d = make_data(2000, 3, {4, 6, 3}, seed);
    KPrototypesParams params;
    params.n_clusters = 7;
    params.n_init = 3;
    params.algorithm = KPrototypesAlgorithm::batch;
    params.init = KPrototypesInit::huang;
    params.random_state = seed;
    const KPrototypesModel m = fit_kprototypes(d.num, d.cat, params);
    ASSERT_TRUE(m.converged);
    ASSERT_EQ(m.epoch_costs.size(), m.n_iter + 1);
    for (std::size_t t = 1; t < m.epoch_costs.size(); ++t)
      EXPECT_LE(m.epoch_costs[t], m.epoch_costs[t - 1] * (1 + 1e-13)) << "pass " << t;
    // Fixed point: prototypes are the means and modes (smallest code on ties) of their
    // clusters and every row sits with its nearest prototype.
    const std::size_t k = m.n_clusters(), p = d.num.cols(), q = d.cat.cols();
    for (std::size_t l = 0; l < k; ++l) {
      std::vector<double> sum(p, 0.0);
      std::vector<std::map<int, int>> cnt(q);
      std::size_t size = 0;
      for (std::size_t i = 0; i < d.num.rows(); ++i) {
        if (m.labels[i] != static_cast<int>(l)) continue;
        ++size;
        for (std::size_t j = 0; j < p; ++j) sum[j] += d.num(i, j);
        for (std::size_t j = 0; j < q; ++j) ++cnt[j][d.cat(i, j)];
      }
      ASSERT_GT(size, 0u);
      for (std::size_t j = 0; j < p; ++j) EXPECT_NEAR(m.centroids(l, j), sum[j] / size, 1e-12);
      for (std::size_t j = 0; j < q; ++j) {
        int best = cnt[j].begin()->first, bv = cnt[j].begin()->second;
        for (auto [v, c] : cnt[j])
          if (c > bv) best = v, bv = c;
        EXPECT_EQ(m.modes(l, j), best);
      }
    }
    EXPECT_EQ(m.predict(d.num, d.cat), m.labels);
    double cost = 0.0;
    const MatrixD dd = m.dissimilarities(d.num, d.cat);
    for (std::size_t i = 0; i < dd.rows(); ++i) cost += dd(i, static_cast<std::size_t>(m.labels[i]));
    EXPECT_NEAR(cost, m.cost, 1e-9 * m.cost);
  }
}

TEST(KPrototypes, PredictTreatsUnseenCategoriesAsMismatches) {
  const Mixed d = make_data(500, 2, {3, 3}, 8);
  KPrototypesParams params;
  params.n_clusters = 4;
  params.n_init = 2;
  const KPrototypesModel m = fit_kprototypes(d.num, d.cat, params);
  // Online: labels come from the last labels/cost pass with the final prototypes.
  EXPECT_EQ(m.predict(d.num, d.cat), m.labels);
  MatrixD x(3, 2);
  Matrix<std::int32_t> c(3, 2);
  const std::int32_t codes[3][2] = {{-1, 0}, {7, -1}, {-1, -1}};
  for (std::size_t i = 0; i < 3; ++i) {
    x(i, 0) = 0.5 * static_cast<double>(i);
    x(i, 1) = -1.0;
    c(i, 0) = codes[i][0];
    c(i, 1) = codes[i][1];
  }
  const MatrixD dd = m.dissimilarities(x, c);
  const auto labels = m.predict(x, c);
  for (std::size_t i = 0; i < 3; ++i) {
    std::size_t best = 0;
    for (std::size_t l = 0; l < m.n_clusters(); ++l) {
      double num = 0.0;
      for (std::size_t j = 0; j < 2; ++j) num += (m.centroids(l, j) - x(i, j)) * (m.centroids(l, j) - x(i, j));
      int mism = 0;
      for (std::size_t j = 0; j < 2; ++j) mism += c(i, j) != m.modes(l, j);
      EXPECT_DOUBLE_EQ(dd(i, l), num + m.gamma * mism);
      if (dd(i, l) < dd(i, best)) best = l;
    }
    EXPECT_EQ(labels[i], static_cast<std::int32_t>(best));
  }
  EXPECT_THROW(m.predict(MatrixD(2, 3), Matrix<std::int32_t>(2, 2)), InvalidArgument);
  EXPECT_THROW(m.predict(MatrixD(2, 2), Matrix<std::int32_t>(2, 1)), InvalidArgument);
  EXPECT_THROW(KPrototypesModel().predict(x, c), NotFitted);
}

TEST(KPrototypes, FewerDistinctRowsThanClustersReducesK) {
  // 40 rows, only 3 distinct ones.
  Mixed d{MatrixD(40, 1), Matrix<std::int32_t>(40, 2)};
  for (std::size_t i = 0; i < 40; ++i) {
    const std::size_t r = (i * 7) % 3;
    d.num(i, 0) = static_cast<double>(r) * 1.5;
    d.cat(i, 0) = static_cast<std::int32_t>(r % 2);
    d.cat(i, 1) = 1;
  }
  KPrototypesParams params;
  params.n_clusters = 5;
  Diagnostics diag;
  const KPrototypesModel m = fit_kprototypes(d.num, d.cat, params, &diag);
  EXPECT_EQ(m.n_clusters(), 3u);
  EXPECT_EQ(m.cost, 0.0);
  EXPECT_EQ(m.n_iter, 0u);
  for (std::size_t i = 0; i < 40; ++i) {
    const std::size_t l = static_cast<std::size_t>(m.labels[i]);
    EXPECT_EQ(m.centroids(l, 0), d.num(i, 0));
    EXPECT_EQ(m.modes(l, 0), d.cat(i, 0));
  }
  // Distinct rows in order of first appearance: rows 0, 1, 2 hold r = 0, 1, 2.
  EXPECT_EQ(m.labels[0], 0);
  EXPECT_EQ(m.labels[1], 1);
  EXPECT_EQ(m.labels[2], 2);
  bool reduced = false, constant = false;
  for (const auto& it : diag.items()) {
    reduced |= it.code == "k_reduced" && it.level == Diagnostic::Level::warning;
    constant |= it.code == "constant_categorical";
  }
  EXPECT_TRUE(reduced);
  EXPECT_TRUE(constant);
}

TEST(KPrototypes, SingleValueCategoricalColumnChangesNothing) {
  const Mixed d = make_data(400, 2, {3, 4}, 9);
  Mixed e{d.num, Matrix<std::int32_t>(400, 3)};
  for (std::size_t i = 0; i < 400; ++i) {
    e.cat(i, 0) = d.cat(i, 0);
    e.cat(i, 1) = 2;  // one value (codes 0 and 1 unused)
    e.cat(i, 2) = d.cat(i, 1);
  }
  MatrixD cen(4, 2);
  Matrix<std::int32_t> m2(4, 2), m3(4, 3);
  for (std::size_t l = 0; l < 4; ++l) {
    const std::size_t i = 37 * l + 5;
    cen(l, 0) = d.num(i, 0);
    cen(l, 1) = d.num(i, 1);
    m2(l, 0) = m3(l, 0) = d.cat(i, 0);
    m2(l, 1) = m3(l, 2) = d.cat(i, 1);
    m3(l, 1) = 2;
  }
  KPrototypesParams params;
  Diagnostics diag;
  const KPrototypesModel a = fit_kprototypes_from(d.num, d.cat, cen, m2, params);
  const KPrototypesModel b = fit_kprototypes_from(e.num, e.cat, cen, m3, params, &diag);
  EXPECT_EQ(a.cost, b.cost);
  EXPECT_EQ(a.labels, b.labels);
  for (std::size_t l = 0; l < 4; ++l) EXPECT_EQ(b.modes(l, 1), 2);
  ASSERT_FALSE(diag.empty());
  EXPECT_EQ(diag.items()[0].code, "constant_categorical");
}

// No numeric column: k-modes. The cost is gamma (1 by default) times the mismatches
// to the modes, counted here directly, and the fit is the one a column of zeros gives
// (a column that adds nothing to any dissimilarity); the model has no numeric part and
// predicts its own labels.
TEST(KPrototypes, WithoutNumericColumnsItIsKModes) {
  const Mixed d = make_data(200, 1, {3, 4, 2, 5}, 7);
  KPrototypesParams params;
  params.n_clusters = 3;
  params.init = KPrototypesInit::huang;
  const KPrototypesModel m = fit_kprototypes(MatrixD(200, 0), d.cat, params);
  EXPECT_EQ(m.centroids.rows(), 3u);
  EXPECT_EQ(m.centroids.cols(), 0u);
  EXPECT_EQ(m.gamma, 1.0);
  double mismatches = 0;
  for (std::size_t i = 0; i < 200; ++i)
    for (std::size_t j = 0; j < d.cat.cols(); ++j)
      mismatches += d.cat(i, j) != m.modes(static_cast<std::size_t>(m.labels[i]), j);
  EXPECT_EQ(m.cost, mismatches);
  KPrototypesParams with_gamma = params;
  with_gamma.gamma = 1.0;
  const KPrototypesModel z = fit_kprototypes(MatrixD(200, 1, 0.0), d.cat, with_gamma);
  EXPECT_EQ(m.labels, z.labels);
  EXPECT_EQ(m.cost, z.cost);
  EXPECT_EQ(m.predict(MatrixD(200, 0), d.cat), m.labels);
  const std::vector<std::size_t> ks = {2, 3};
  const KPrototypesSweep s = sweep_kprototypes(MatrixD(200, 0), d.cat, ks, params);
  EXPECT_EQ(s.models[1].labels, m.labels);
}

TEST(KPrototypes, BadInputsAreRejected) {
  const Mixed d = make_data(50, 2, {3}, 1);
  KPrototypesParams params;
  params.n_clusters = 3;
  EXPECT_THROW(fit_kprototypes(d.num, Matrix<std::int32_t>(50, 0), params), InvalidArgument);   // all numeric
  EXPECT_THROW(fit_kprototypes(MatrixD(49, 2), d.cat, params), InvalidArgument);                // row counts
  EXPECT_THROW(fit_kprototypes(MatrixD(0, 2), Matrix<std::int32_t>(0, 1), params), InvalidArgument);
  Mixed bad = d;
  bad.num(7, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(fit_kprototypes(bad.num, bad.cat, params), InvalidArgument);
  bad = d;
  bad.cat(3, 0) = -1;
  EXPECT_THROW(fit_kprototypes(bad.num, bad.cat, params), InvalidArgument);
  for (auto mutate : std::vector<void (*)(KPrototypesParams&)>{
           [](KPrototypesParams& p) { p.n_clusters = 0; }, [](KPrototypesParams& p) { p.n_init = 0; },
           [](KPrototypesParams& p) { p.max_iter = 0; }, [](KPrototypesParams& p) { p.gamma = -1.0; },
           [](KPrototypesParams& p) { p.gamma = std::numeric_limits<double>::infinity(); }}) {
    KPrototypesParams p = params;
    mutate(p);
    EXPECT_THROW(fit_kprototypes(d.num, d.cat, p), InvalidArgument);
  }
  MatrixD cen(3, 2);
  Matrix<std::int32_t> modes(3, 1);
  EXPECT_THROW(fit_kprototypes_from(d.num, d.cat, MatrixD(3, 1), modes, params), InvalidArgument);
  EXPECT_THROW(fit_kprototypes_from(d.num, d.cat, cen, Matrix<std::int32_t>(2, 1), params), InvalidArgument);
  modes(1, 0) = 3;  // levels are 0..2
  EXPECT_THROW(fit_kprototypes_from(d.num, d.cat, cen, modes, params), InvalidArgument);
  // Prototypes far away from every row but one leave clusters empty.
  modes(1, 0) = 0;
  for (std::size_t l = 0; l < 3; ++l) cen(l, 0) = 1e6 * static_cast<double>(l);
  EXPECT_THROW(fit_kprototypes_from(d.num, d.cat, cen, modes, params), InvalidArgument);
  const std::vector<std::size_t> no_k;
  EXPECT_THROW(sweep_kprototypes(d.num, d.cat, no_k, params), InvalidArgument);
}

// ---------------------------------------------------------------------------
// Mixed-distance silhouette
// ---------------------------------------------------------------------------

namespace {

std::vector<double> naive_silhouette(const Mixed& d, const std::vector<std::size_t>& rows,
                                     const std::vector<std::int32_t>& labels, double gamma, bool embedded) {
  const std::size_t m = rows.size(), p = d.num.cols(), q = d.cat.cols();
  // The embedded form: numeric columns plus sqrt(gamma / 2) * one-hot indicators.
  std::vector<std::int32_t> levels(q, 0);
  for (std::size_t i = 0; i < d.cat.rows(); ++i)
    for (std::size_t j = 0; j < q; ++j) levels[j] = std::max(levels[j], d.cat(i, j) + 1);
  const auto dist = [&](std::size_t a, std::size_t b) {
    double s = 0.0;
    for (std::size_t j = 0; j < p; ++j) s += (d.num(a, j) - d.num(b, j)) * (d.num(a, j) - d.num(b, j));
    if (!embedded) {
      int mism = 0;
      for (std::size_t j = 0; j < q; ++j) mism += d.cat(a, j) != d.cat(b, j);
      return std::sqrt(s + gamma * mism);
    }
    const double w = std::sqrt(gamma / 2);
    for (std::size_t j = 0; j < q; ++j)
      for (std::int32_t v = 0; v < levels[j]; ++v) {
        const double t = w * (d.cat(a, j) == v) - w * (d.cat(b, j) == v);
        s += t * t;
      }
    return std::sqrt(s);
  };
  std::vector<double> out(m);
  for (std::size_t t = 0; t < m; ++t) {
    std::map<std::int32_t, std::pair<double, std::size_t>> per;
    for (std::size_t u = 0; u < m; ++u) {
      auto& e = per[labels[rows[u]]];
      if (u != t) e.first += dist(rows[t], rows[u]);
      ++e.second;
    }
    const std::int32_t own = labels[rows[t]];
    if (per[own].second == 1) {
      out[t] = 0.0;
      continue;
    }
    const double a = per[own].first / static_cast<double>(per[own].second - 1);
    double b = std::numeric_limits<double>::infinity();
    for (const auto& [l, e] : per)
      if (l != own) b = std::min(b, e.first / static_cast<double>(e.second));
    out[t] = (b - a) / std::max(a, b);
  }
  return out;
}

}  // namespace

TEST(KPrototypesSilhouette, MatchesNaiveOracleAndTheEmbeddedEuclideanForm) {
  for (const auto& levels : {std::vector<std::int32_t>{3, 4}, std::vector<std::int32_t>{60, 70, 80}}) {
    // {60, 70, 80} on 3500 rows: more distinct categorical rows than the table takes.
    const std::size_t n = levels.size() == 2 ? 700 : 3500;
    const Mixed d = make_data(n, 2, levels, 77);
    std::vector<std::int32_t> labels(n);
    Rng rng(3);
    for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<std::int32_t>(10 + 3 * ((d.cat(i, 0) + rng.below(2)) % 4));
    labels[5] = 99;  // a singleton cluster scores 0
    const double gamma = 0.7;
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), 0);
    const MixedSilhouette s = kprototypes_silhouette(d.num, d.cat, labels, gamma);
    EXPECT_EQ(s.rows, all);
    const auto naive = naive_silhouette(d, all, labels, gamma, false);
    double mean = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(s.samples[i], naive[i], 1e-12) << "row " << i;
      mean += naive[i];
    }
    EXPECT_EQ(s.samples[5], 0.0);
    EXPECT_NEAR(s.score, mean / static_cast<double>(n), 1e-12);
    if (levels.size() == 2) {
      const auto embedded = naive_silhouette(d, all, labels, gamma, true);
      for (std::size_t i = 0; i < n; ++i) ASSERT_NEAR(s.samples[i], embedded[i], 1e-12) << "row " << i;
    }
  }
}

TEST(KPrototypesSilhouette, SampledThreadIndependentAndValidated) {
  const Mixed d = make_data(3000, 3, {4, 3}, 5);
  KPrototypesParams params;
  params.n_clusters = 4;
  params.n_init = 2;
  const KPrototypesModel m = fit_kprototypes(d.num, d.cat, params);
  set_num_threads(1);
  const MixedSilhouette a = kprototypes_silhouette(d.num, d.cat, m.labels, m.gamma, 500, 9);
  set_num_threads(2);
  const MixedSilhouette b = kprototypes_silhouette(d.num, d.cat, m.labels, m.gamma, 500, 9);
  set_num_threads(0);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.score, b.score);
  ASSERT_EQ(a.rows.size(), 500u);
  EXPECT_TRUE(std::is_sorted(a.rows.begin(), a.rows.end()));
  EXPECT_EQ(std::set<std::size_t>(a.rows.begin(), a.rows.end()).size(), 500u);
  const auto naive = naive_silhouette(d, a.rows, m.labels, m.gamma, false);
  for (std::size_t t = 0; t < 500; ++t) ASSERT_NEAR(a.samples[t], naive[t], 1e-12);

  std::vector<std::int32_t> one(3000, 0);
  EXPECT_THROW(kprototypes_silhouette(d.num, d.cat, one, 0.5), InvalidArgument);
  EXPECT_THROW(kprototypes_silhouette(d.num, d.cat, std::vector<std::int32_t>(10, 0), 0.5), InvalidArgument);
  EXPECT_THROW(kprototypes_silhouette(d.num, d.cat, m.labels, -1.0), InvalidArgument);
  std::vector<std::int32_t> distinct(3000);
  std::iota(distinct.begin(), distinct.end(), 0);
  EXPECT_THROW(kprototypes_silhouette(d.num, d.cat, distinct, 0.5), InvalidArgument);
}
