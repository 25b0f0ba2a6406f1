// k-prototypes against kmodes 0.12.2 on the blog's 40,691 inliers
// (../shared/golden/kprototypes, see its README): from the same initial prototypes
// the labels, n_iter, modes and every epoch cost must be kmodes' own.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "segmenta/cluster.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

struct Input {
  MatrixD num;                      // age, balance
  Matrix<std::int32_t> cat;         // job .. loan, codes in sorted-value order
  std::vector<std::vector<std::string>> levels;
};

const Input& golden_input() {
  static const Input in = [] {
    const Table t = test::golden_table("kprototypes/input.csv");
    const std::vector<std::string> cats = {"job", "marital", "education", "default", "housing", "loan"};
    Input r;
    r.num = t.numeric_matrix({t.index_of("age"), t.index_of("balance")});
    r.cat = Matrix<std::int32_t>(t.rows(), cats.size());
    for (std::size_t j = 0; j < cats.size(); ++j) {
      const Column& c = t.column(t.index_of(cats[j]));
      // kmodes encodes a column by the index of the value in np.unique (sorted).
      const std::vector<std::string> sorted = c.sorted_levels();
      std::map<std::string, std::int32_t> code;
      for (std::size_t v = 0; v < sorted.size(); ++v) code[sorted[v]] = static_cast<std::int32_t>(v);
      for (std::size_t i = 0; i < t.rows(); ++i) r.cat(i, j) = code.at(c.levels.at(static_cast<std::size_t>(c.codes[i])));
      r.levels.push_back(sorted);
    }
    return r;
  }();
  return in;
}

}  // namespace

TEST(KPrototypesGolden, FixedInitReproducesKmodes) {
  const Input& in = golden_input();
  const auto ref = test::golden_json("kprototypes/k5_fixed_init.json");
  ASSERT_EQ(in.num.rows(), ref["n_rows_used"].get<std::size_t>());
  const std::vector<std::string> cats = {"job", "marital", "education", "default", "housing", "loan"};
  for (std::size_t j = 0; j < cats.size(); ++j)
    EXPECT_EQ(in.levels[j], ref["categorical_encoding"][cats[j]].get<std::vector<std::string>>()) << cats[j];

  const MatrixD init_num = test::json_matrix(ref["init_numeric"]);
  Matrix<std::int32_t> init_cat(5, 6);
  for (std::size_t l = 0; l < 5; ++l)
    for (std::size_t j = 0; j < 6; ++j) init_cat(l, j) = ref["init_categorical_codes"][l][j].get<std::int32_t>();

  // kmodes 0.12.2 as released pools the numeric values for gamma; the per-column
  // default differs from it in the last bits here (standardised columns).
  const double gamma = ref["gamma"].get<double>();
  EXPECT_EQ(kprototypes_pooled_gamma(in.num), gamma);
  EXPECT_NEAR(kprototypes_default_gamma(in.num), gamma, 1e-14);

  KPrototypesParams params;  // max_iter 100
  params.gamma = kprototypes_pooled_gamma(in.num);
  Diagnostics diag;
  const KPrototypesModel m = fit_kprototypes_from(in.num, in.cat, init_num, init_cat, params, &diag);
  EXPECT_EQ(m.gamma, gamma);
  EXPECT_EQ(m.n_iter, ref["n_iter"].get<std::size_t>());
  EXPECT_TRUE(m.converged);
  const double cost = ref["cost"].get<double>();
  EXPECT_NEAR(m.cost, cost, 1e-12 * cost);
  const auto epochs = ref["epoch_costs"].get<std::vector<double>>();
  ASSERT_EQ(m.epoch_costs.size(), epochs.size());
  for (std::size_t t = 0; t < epochs.size(); ++t) EXPECT_NEAR(m.epoch_costs[t], epochs[t], 1e-12 * epochs[t]) << t;

  const MatrixD cen = test::json_matrix(ref["final_centroids_numeric"]);
  for (std::size_t l = 0; l < 5; ++l) {
    for (std::size_t j = 0; j < 2; ++j) EXPECT_NEAR(m.centroids(l, j), cen(l, j), 1e-10);
    for (std::size_t j = 0; j < 6; ++j)
      EXPECT_EQ(m.modes(l, j), ref["final_centroids_categorical_codes"][l][j].get<std::int32_t>());
  }

  const MatrixD labels = test::golden_matrix("kprototypes/k5_fixed_init_labels.csv", {"label"});
  ASSERT_EQ(labels.rows(), m.labels.size());
  std::size_t differ = 0;
  std::vector<std::size_t> sizes(5, 0);
  for (std::size_t i = 0; i < labels.rows(); ++i) {
    differ += m.labels[i] != static_cast<std::int32_t>(labels(i, 0));
    ++sizes[static_cast<std::size_t>(m.labels[i])];
  }
  EXPECT_EQ(differ, 0u);
  EXPECT_EQ(sizes, ref["cluster_sizes"].get<std::vector<std::size_t>>());
  EXPECT_EQ(m.empty_reseeds, 0u);  // the README: kmodes never re-seeded in this run

  // The default gamma (7e-15 away) leads to the same partition.
  const KPrototypesModel d = fit_kprototypes_from(in.num, in.cat, init_num, init_cat, KPrototypesParams{});
  EXPECT_EQ(d.labels, m.labels);
  EXPECT_EQ(d.n_iter, m.n_iter);
  EXPECT_NEAR(d.cost, cost, 1e-12 * cost);
}

// The batch variant converges elsewhere; the README's sanity bar is a cost within 1 %
// of kmodes' online result from the same init.
TEST(KPrototypesGolden, BatchFromFixedInitIsWithinOnePercent) {
  const Input& in = golden_input();
  const auto ref = test::golden_json("kprototypes/k5_fixed_init.json");
  Matrix<std::int32_t> init_cat(5, 6);
  for (std::size_t l = 0; l < 5; ++l)
    for (std::size_t j = 0; j < 6; ++j) init_cat(l, j) = ref["init_categorical_codes"][l][j].get<std::int32_t>();
  KPrototypesParams params;
  params.algorithm = KPrototypesAlgorithm::batch;
  const KPrototypesModel m =
      fit_kprototypes_from(in.num, in.cat, test::json_matrix(ref["init_numeric"]), init_cat, params);
  EXPECT_LE(m.cost, 1.01 * ref["cost"].get<double>());
  for (std::size_t t = 1; t < m.epoch_costs.size(); ++t) EXPECT_LE(m.epoch_costs[t], m.epoch_costs[t - 1]);
}

// With its own random streams the blog's call (k=5, Huang, n_init=10) cannot repeat
// kmodes' draws; ANCHORS §1.14 asks for a best-of-restarts cost within 0.5 % of
// kmodes' 63420.9 (../shared/BASELINES.md, stage 10), or lower.
TEST(KPrototypesGolden, HuangRestartsReachKmodesCost) {
  const Input& in = golden_input();
  KPrototypesParams params;
  params.n_clusters = 5;
  params.init = KPrototypesInit::huang;
  params.n_init = 10;
  const KPrototypesModel m = fit_kprototypes(in.num, in.cat, params);
  EXPECT_LE(m.cost, 63420.9 * 1.005);
  EXPECT_EQ(m.predict(in.num, in.cat), m.labels);
}
