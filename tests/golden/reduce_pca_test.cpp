// PCA against ../shared/golden/pca: prince.PCA (standardised) and scikit-learn's PCA
// on the 40,691 ECOD inliers of the blog matrix.
#include <cmath>

#include "segmenta/reduce.hpp"
#include "support.hpp"

using namespace segmenta;
using namespace segmenta::test;

namespace {

const MatrixD& inliers() {
  static const MatrixD x = golden_matrix_skip_first("kmeans/inlier_matrix.csv");
  return x;
}

void expect_rel(double got, double want, double tol, const std::string& what) {
  EXPECT_LE(std::abs(got - want), tol * std::abs(want)) << what << ": got " << got << ", want " << want;
}

}  // namespace

TEST(PcaGolden, PrinceStandardised) {
  const auto ref = golden_json("pca/prince_pca.json");
  const MatrixD& x = inliers();
  ASSERT_EQ(x.rows(), 40691u);
  ASSERT_EQ(x.cols(), 8u);
  PcaParams params;
  params.n_components = 3;
  params.standardize = true;
  const PcaModel m = fit_pca(x.view(), params);

  const auto eig = json_vector(ref["eigenvalues"]);
  const auto pct = json_vector(ref["percentage_of_variance"]);
  const auto cum = json_vector(ref["cumulative_percentage_of_variance"]);
  for (std::size_t c = 0; c < 3; ++c) {
    expect_rel(m.eigenvalues[c], eig[c], 1e-10, "eigenvalue " + std::to_string(c));
    expect_rel(m.percentage_of_variance[c], pct[c], 1e-10, "% of variance " + std::to_string(c));
    expect_rel(m.cumulative_percentage_of_variance[c], cum[c], 1e-10, "cumulative % " + std::to_string(c));
  }
  expect_rel(m.total_inertia, ref["total_inertia"].get<double>(), 1e-12, "total inertia");
  EXPECT_NEAR(m.cumulative_percentage_of_variance[2], 48.37, 0.005);  // the blog's figure

  // Signs are not adjusted: the svd_flip rule must give prince's signs.
  const MatrixD corr = json_matrix(ref["column_correlations"]["values"]);
  ASSERT_EQ(corr.rows(), 8u);
  for (std::size_t j = 0; j < 8; ++j)
    for (std::size_t c = 0; c < 3; ++c)
      EXPECT_NEAR(m.column_correlations(j, c), corr(j, c), 1e-9) << "column " << j << " component " << c;

  const MatrixD coords = golden_matrix("pca/prince_row_coordinates.csv", {"c0", "c1", "c2"});
  const MatrixD ids = golden_matrix("pca/prince_row_coordinates.csv", {"row"});
  const MatrixD inlier_ids = golden_matrix("kmeans/inlier_matrix.csv", {"row"});
  ASSERT_EQ(coords.rows(), x.rows());
  double worst = 0.0;
  for (std::size_t i = 0; i < x.rows(); ++i) {
    ASSERT_EQ(ids(i, 0), inlier_ids(i, 0));
    for (std::size_t c = 0; c < 3; ++c) worst = std::max(worst, std::abs(m.row_coordinates(i, c) - coords(i, c)));
  }
  EXPECT_LE(worst, 1e-9);

  // transform of the training rows is the stored row coordinates.
  const MatrixD again = m.transform(x.view());
  for (std::size_t i = 0; i < x.rows(); i += 97)
    for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(again(i, c), m.row_coordinates(i, c));
}

TEST(PcaGolden, AllEightEigenvaluesOfTheCorrelationMatrix) {
  const auto ref = golden_json("pca/prince_pca.json");
  PcaParams params;
  params.n_components = 8;
  params.standardize = true;
  const PcaModel m = fit_pca(inliers().view(), params);
  const auto eig = json_vector(ref["exact_eigenvalues_all8"]);
  for (std::size_t c = 0; c < 8; ++c) expect_rel(m.eigenvalues[c], eig[c], 1e-10, "eigenvalue " + std::to_string(c));
  EXPECT_NEAR(m.cumulative_percentage_of_variance[7], 100.0, 1e-10);
}

TEST(PcaGolden, ScikitLearnCentredOnly) {
  const auto ref = golden_json("pca/sklearn_pca.json");
  PcaParams params;
  params.n_components = 3;
  const PcaModel m = fit_pca(inliers().view(), params);
  const auto ratio = json_vector(ref["explained_variance_ratio"]);
  const auto var = json_vector(ref["explained_variance"]);
  const auto sv = json_vector(ref["singular_values"]);
  const auto mean = json_vector(ref["mean"]);
  const MatrixD comp = json_matrix(ref["components"]);
  for (std::size_t c = 0; c < 3; ++c) {
    expect_rel(m.explained_variance_ratio[c], ratio[c], 1e-10, "explained_variance_ratio");
    expect_rel(m.explained_variance[c], var[c], 1e-10, "explained_variance");
    expect_rel(m.singular_values[c], sv[c], 1e-10, "singular_values");
    for (std::size_t j = 0; j < 8; ++j) EXPECT_NEAR(m.components(c, j), comp(c, j), 1e-9) << c << "," << j;
  }
  for (std::size_t j = 0; j < 8; ++j) EXPECT_NEAR(m.mean[j], mean[j], 1e-12);  // sums of 40,691 values in another order
}

TEST(PcaGolden, FloatInputAgreesToFloatRounding) {
  const MatrixD& x = inliers();
  MatrixF xf(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.size(); ++i) xf.data()[i] = static_cast<float>(x.data()[i]);
  PcaParams params;
  params.n_components = 3;
  params.standardize = true;
  const PcaModel md = fit_pca(x.view(), params);
  const PcaModel mf = fit_pca(xf.view(), params);
  for (std::size_t c = 0; c < 3; ++c) expect_rel(mf.eigenvalues[c], md.eigenvalues[c], 1e-6, "float eigenvalue");
  double worst = 0.0;
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t c = 0; c < 3; ++c)
      worst = std::max(worst, std::abs(mf.row_coordinates(i, c) - md.row_coordinates(i, c)));
  EXPECT_LE(worst, 1e-5);
}
