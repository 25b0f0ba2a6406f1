// The dense MCA and FAMD paths read the codes and the numeric columns row by row
// (blocks of rows, no indicator matrix, no standardised copy). Here they are
// compared bit for bit with a naive computation on the full matrices: the explicit
// (n, J) indicator matrix Z and the (n, p) standardised matrix Xs, every sum taken
// over all n rows in ascending order, as the fit did before it streamed. A product
// with a 0/1 indicator adds the term or an exact zero, so the sums agree to the bit
// only if the streaming path keeps each sum's order.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>

#include "reduce/mca_internal.hpp"
#include "segmenta/reduce.hpp"

using namespace segmenta;

namespace {

using Index = Eigen::Index;

// More rows than one block of the streaming path (4096), with a partial last block.
constexpr std::size_t kRows = 10'000;

Matrix<std::int32_t> make_codes(std::size_t n, const std::vector<std::int32_t>& levels, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<std::int32_t> c(n, levels.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t z = rng.below(4);
    for (std::size_t a = 0; a < levels.size(); ++a) {
      // Code 1 of variable 0 never occurs: a gap in the codes.
      std::int32_t v = rng.uniform() < 0.4 ? static_cast<std::int32_t>((z + a) % static_cast<std::uint64_t>(levels[a]))
                                           : static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(levels[a])));
      if (a == 0 && v == 1) v = 0;
      c(i, a) = v;
    }
  }
  return c;
}

MatrixD make_numeric(const Matrix<std::int32_t>& codes, std::size_t p, std::uint64_t seed) {
  Rng rng(seed);
  MatrixD x(codes.rows(), p);
  for (std::size_t i = 0; i < codes.rows(); ++i)
    for (std::size_t c = 0; c < p; ++c)
      x(i, c) = c + 1 == p ? 2.5  // a constant column
                           : 1000.0 * rng.normal() + 37.0 * codes(i, c % codes.cols()) + 1e6 * static_cast<double>(c);
  return x;
}

// The indicator matrix of the categories present, (variable, code) order, with each
// column's variable and count.
struct Full {
  MatrixD z;
  std::vector<std::size_t> var, count;
};

Full full_indicators(const Matrix<std::int32_t>& codes) {
  std::vector<std::pair<std::size_t, std::int32_t>> cols;
  for (std::size_t a = 0; a < codes.cols(); ++a) {
    std::map<std::int32_t, int> present;
    for (std::size_t i = 0; i < codes.rows(); ++i) present[codes(i, a)] = 1;
    for (const auto& [v, one] : present) cols.emplace_back(a, v);
  }
  Full f;
  f.z = MatrixD(codes.rows(), cols.size(), 0.0);
  f.count.assign(cols.size(), 0);
  for (const auto& col : cols) f.var.push_back(col.first);
  for (std::size_t i = 0; i < codes.rows(); ++i)
    for (std::size_t j = 0; j < cols.size(); ++j)
      if (codes(i, cols[j].first) == cols[j].second) {
        f.z(i, j) = 1.0;
        ++f.count[j];
      }
  return f;
}

void expect_bits(const std::vector<double>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t t = 0; t < got.size(); ++t)
    EXPECT_EQ(std::bit_cast<std::uint64_t>(got[t]), std::bit_cast<std::uint64_t>(want[t]))
        << what << "[" << t << "]: " << got[t] << " vs " << want[t];
}

void expect_bits(const MatrixD& got, const MatrixD& want, const char* what) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  std::size_t differ = 0;
  for (std::size_t t = 0; t < got.size(); ++t)
    differ += std::bit_cast<std::uint64_t>(got.data()[t]) != std::bit_cast<std::uint64_t>(want.data()[t]);
  EXPECT_EQ(differ, 0u) << what << ": " << differ << " of " << got.size() << " entries differ";
}

struct NaiveMca {
  std::vector<double> eig;
  MatrixD rows, csc;
};

NaiveMca naive_mca(const Matrix<std::int32_t>& codes, std::size_t k) {
  const Full f = full_indicators(codes);
  const std::size_t n = codes.rows(), K = codes.cols(), J = f.z.cols();
  const double dn = static_cast<double>(n), dK = static_cast<double>(K);
  std::vector<double> mass(J), sqrt_mass(J);
  for (std::size_t j = 0; j < J; ++j) {
    mass[j] = static_cast<double>(f.count[j]) / (dn * dK);
    sqrt_mass[j] = std::sqrt(mass[j]);
  }
  const double scale = 1.0 / (dn * dK * dK);
  Eigen::MatrixXd a(static_cast<Index>(J), static_cast<Index>(J));
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t l = 0; l < J; ++l) {
      double b = 0.0;  // the Burt matrix ZᵀZ
      for (std::size_t i = 0; i < n; ++i) b += f.z(i, j) * f.z(i, l);
      const double cc = sqrt_mass[j] * sqrt_mass[l];
      a(static_cast<Index>(j), static_cast<Index>(l)) = b * scale / cc - cc;
    }
  const mca_detail::TopEigen e = mca_detail::top_eigen_dense(a, k);
  NaiveMca out;
  for (double v : e.values) out.eig.push_back(std::max(v, 0.0));
  out.csc = MatrixD(J, k);
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t t = 0; t < k; ++t) out.csc(j, t) = e.vectors(static_cast<Index>(j), static_cast<Index>(t)) / sqrt_mass[j];
  std::vector<double> offset(k, 0.0);
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t t = 0; t < k; ++t) offset[t] += mass[j] * out.csc(j, t);
  out.rows = MatrixD(n, k);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < k; ++t) {
      double s = 0.0;
      for (std::size_t j = 0; j < J; ++j) s += f.z(i, j) * out.csc(j, t);
      out.rows(i, t) = s / dK - offset[t];
    }
  mca_detail::flip_signs(out.rows, {&out.csc});
  return out;
}

struct NaiveFamd {
  std::vector<double> eig;
  MatrixD rows, loadings, categories, variables;
};

NaiveFamd naive_famd(const MatrixD& num, const Matrix<std::int32_t>& codes, std::size_t k) {
  const Full f = full_indicators(codes);
  const std::size_t n = num.rows(), p = num.cols(), K = codes.cols(), J = f.z.cols(), P = p + J;
  const double dn = static_cast<double>(n);
  MatrixD xs(n, p);
  std::vector<double> scale(p, 1.0);
  for (std::size_t c = 0; c < p; ++c) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += num(i, c);
    const double mean = s / dn;
    double v = 0.0;
    for (std::size_t i = 0; i < n; ++i) v += (num(i, c) - mean) * (num(i, c) - mean);
    const double sd = std::sqrt(v / dn);
    if (sd > 0.0) scale[c] = sd;
    for (std::size_t i = 0; i < n; ++i) xs(i, c) = (num(i, c) - mean) / scale[c];
  }
  std::vector<double> prop(J), inv_sqrt_w(J), col_total(p, 0.0);
  for (std::size_t j = 0; j < J; ++j) {
    prop[j] = static_cast<double>(f.count[j]) / dn;
    inv_sqrt_w[j] = 1.0 / std::sqrt(prop[j]);  // FactoMineR's scaling
  }
  for (std::size_t c = 0; c < p; ++c)
    for (std::size_t i = 0; i < n; ++i) col_total[c] += xs(i, c);
  Eigen::MatrixXd g(static_cast<Index>(P), static_cast<Index>(P));
  for (std::size_t c = 0; c < p; ++c)
    for (std::size_t d = 0; d < p; ++d) {
      double s = 0.0;
      for (std::size_t i = 0; i < n; ++i) s += xs(i, c) * xs(i, d);
      g(static_cast<Index>(c), static_cast<Index>(d)) = s / dn;
    }
  for (std::size_t c = 0; c < p; ++c)
    for (std::size_t j = 0; j < J; ++j) {
      double s = 0.0;
      for (std::size_t i = 0; i < n; ++i) s += xs(i, c) * f.z(i, j);
      g(static_cast<Index>(c), static_cast<Index>(p + j)) = g(static_cast<Index>(p + j), static_cast<Index>(c)) =
          (s - prop[j] * col_total[c]) / dn * inv_sqrt_w[j];
    }
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t l = 0; l < J; ++l) {
      double b = 0.0;
      for (std::size_t i = 0; i < n; ++i) b += f.z(i, j) * f.z(i, l);
      g(static_cast<Index>(p + j), static_cast<Index>(p + l)) = (b / dn - prop[j] * prop[l]) * inv_sqrt_w[j] * inv_sqrt_w[l];
    }
  const mca_detail::TopEigen e = mca_detail::top_eigen_dense(g, k);
  NaiveFamd out;
  for (double v : e.values) out.eig.push_back(std::max(v, 0.0));
  out.loadings = MatrixD(P, k);
  for (std::size_t r = 0; r < P; ++r)
    for (std::size_t t = 0; t < k; ++t) out.loadings(r, t) = e.vectors(static_cast<Index>(r), static_cast<Index>(t));
  for (std::size_t c = 0; c < p; ++c) {
    bool zero = true;
    for (std::size_t i = 0; i < n; ++i) zero = zero && xs(i, c) == 0.0;
    if (zero)
      for (std::size_t t = 0; t < k; ++t) out.loadings(c, t) = 0.0;
  }
  std::vector<double> s0(k, 0.0);
  MatrixD lc(J, k);
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t t = 0; t < k; ++t) {
      lc(j, t) = out.loadings(p + j, t) / std::sqrt(prop[j]);
      s0[t] += prop[j] * lc(j, t);
    }
  out.rows = MatrixD(n, k);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < k; ++t) {
      double s = 0.0;
      for (std::size_t c = 0; c < p; ++c) s += xs(i, c) * out.loadings(c, t);
      for (std::size_t j = 0; j < J; ++j) s += f.z(i, j) * lc(j, t);
      out.rows(i, t) = s - s0[t];
    }
  mca_detail::flip_signs(out.rows, {&out.loadings});
  out.categories = MatrixD(J, k);
  out.variables = MatrixD(p + K, k);
  for (std::size_t t = 0; t < k; ++t) {
    double mean = 0.0, total = 0.0;
    for (std::size_t i = 0; i < n; ++i) mean += out.rows(i, t);
    mean /= dn;
    for (std::size_t i = 0; i < n; ++i) total += (out.rows(i, t) - mean) * (out.rows(i, t) - mean);
    std::vector<double> between(K, 0.0);
    for (std::size_t j = 0; j < J; ++j) {
      double s = 0.0;
      for (std::size_t i = 0; i < n; ++i) s += f.z(i, j) * out.rows(i, t);
      const double gj = s / static_cast<double>(f.count[j]);
      out.categories(j, t) = gj;
      between[f.var[j]] += static_cast<double>(f.count[j]) * (gj - mean) * (gj - mean);
    }
    for (std::size_t c = 0; c < p; ++c) {
      const double r = std::sqrt(out.eig[t]) * out.loadings(c, t);
      out.variables(c, t) = r * r;
    }
    for (std::size_t a = 0; a < K; ++a) out.variables(p + a, t) = total > 0.0 ? between[a] / total : 0.0;
  }
  return out;
}

TEST(McaStream, DensePathEqualsTheFullIndicatorMatrixBitForBit) {
  const Matrix<std::int32_t> codes = make_codes(kRows, {4, 3, 7, 2, 5}, 11);
  McaParams mp;
  mp.n_components = 3;
  mp.solver = EigenSolver::dense;
  const McaModel m = fit_mca(codes.view(), mp);
  const NaiveMca ref = naive_mca(codes, 3);
  expect_bits(m.eigenvalues, ref.eig, "eigenvalues");
  expect_bits(m.row_coordinates, ref.rows, "row coordinates");
  expect_bits(m.column_standard_coordinates, ref.csc, "column standard coordinates");
  // The fit's rows are the transform of its own data.
  expect_bits(m.transform(codes.view()), ref.rows, "transform");
}

TEST(FamdStream, DensePathEqualsTheFullMatricesBitForBit) {
  const Matrix<std::int32_t> codes = make_codes(kRows, {4, 3, 6}, 23);
  const MatrixD num = make_numeric(codes, 4, 29);
  FamdParams fp;
  fp.n_components = 3;
  fp.solver = EigenSolver::dense;
  const FamdModel m = fit_famd(num.view(), codes.view(), fp);
  const NaiveFamd ref = naive_famd(num, codes, 3);
  expect_bits(m.eigenvalues, ref.eig, "eigenvalues");
  expect_bits(m.loadings, ref.loadings, "loadings");
  expect_bits(m.row_coordinates, ref.rows, "row coordinates");
  expect_bits(m.category_coordinates, ref.categories, "category coordinates");
  expect_bits(m.variable_coordinates, ref.variables, "variable coordinates");
}

}  // namespace
