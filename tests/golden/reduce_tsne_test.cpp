// t-SNE quality bar on the 5,000-row sample of ../shared/golden/tsne: t-SNE has no
// unique answer, so the embedding is judged by its KL divergence and its
// trustworthiness against scikit-learn 1.2.1's run on the same rows.
#include <cmath>

#include "reduce/tsne_internal.hpp"
#include "segmenta/reduce.hpp"
#include "support.hpp"

using namespace segmenta;
using namespace segmenta::test;

namespace {

struct Sample {
  MatrixD x;        // (5000, 8) rows of the inlier matrix
  MatrixD sklearn;  // (5000, 2) scikit-learn's embedding
};

const Sample& sample() {
  static const Sample s = [] {
    Sample r;
    const MatrixD all = golden_matrix_skip_first("kmeans/inlier_matrix.csv");
    const MatrixD ids = golden_matrix("tsne/subsample_embedding.csv", {"inlier_index"});
    r.sklearn = golden_matrix("tsne/subsample_embedding.csv", {"y0", "y1"});
    std::vector<std::size_t> rows(ids.rows());
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::size_t>(ids(i, 0));
    r.x = take_rows(all.view(), std::span<const std::size_t>(rows));
    return r;
  }();
  return s;
}

// KL(P || Q) with the exact normaliser Z = Σ_{i≠j} (1 + |y_i - y_j|²)^-1 (2-D).
double exact_kl(const tsne_detail::SparseP& p, const MatrixD& y) {
  std::vector<double> rep(y.size());
  const double z = tsne_detail::repulsion_exact(y.data(), y.rows(), 2, rep.data());
  std::vector<double> attr(y.size());
  return tsne_detail::attractive_forces(p, y.data(), 2, 1.0, true, z, attr.data());
}

}  // namespace

TEST(TsneGolden, TrustworthinessOfScikitLearnsEmbedding) {
  const auto ref = golden_json("tsne/tsne_quality.json");
  const Sample& s = sample();
  ASSERT_EQ(s.x.rows(), 5000u);
  // Ties in the input distances (duplicate rows) are ranked by index here and in
  // numpy's argsort order there: 1.6e-8 apart on this sample.
  EXPECT_NEAR(trustworthiness(s.x.view(), s.sklearn.view(), 10), ref["trustworthiness_k10"].get<double>(), 1e-6);
}

TEST(TsneGolden, QualityBarBarnesHut) {
  const auto ref = golden_json("tsne/tsne_quality.json");
  const double sk_kl = ref["kl_divergence"].get<double>();
  const double sk_tw = ref["trustworthiness_k10"].get<double>();
  const Sample& s = sample();
  const TsneParams params;  // scikit-learn's defaults, as in the reference run
  const TsneResult r = fit_tsne(s.x.view(), params);
  EXPECT_EQ(r.method, TsneMethod::barnes_hut);
  EXPECT_EQ(r.n_iter, 1000u);
  EXPECT_EQ(r.n_neighbors, 91u);
  EXPECT_NEAR(r.learning_rate, 5000.0 / 48.0, 1e-12);
  const double tw = trustworthiness(s.x.view(), r.embedding.view(), 10);
  std::printf("barnes_hut: KL %.5f (scikit-learn %.5f), trustworthiness %.6f (%.6f), %.2f s\n", r.kl_divergence, sk_kl,
              tw, sk_tw, r.seconds_neighbors + r.seconds_affinities + r.seconds_optimize);
  EXPECT_LE(r.kl_divergence, sk_kl * 1.03);
  EXPECT_GE(tw, sk_tw - 0.01);
  EXPECT_GE(tw, 0.9985);  // the bar of the golden README

  // Like for like: both embeddings scored with the same P and the exact Z.
  const auto nn = tsne_detail::exact_knn(s.x.view(), 91);
  const auto p = tsne_detail::joint_probabilities_nn(nn, 30.0);
  const double ours = exact_kl(p, r.embedding), theirs = exact_kl(p, s.sklearn);
  std::printf("exact-Z KL: ours %.5f, scikit-learn's embedding %.5f\n", ours, theirs);
  EXPECT_LE(ours, theirs * 1.03);
}
