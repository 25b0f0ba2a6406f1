// Multiple correspondence analysis (prince 0.12.1 semantics, exact decomposition).
//
// With P = Z / (n K), r = 1/n and c_j = N_j / (n K), the standardised residuals
// S = D_r^-1/2 (P - r cᵀ) D_c^-1/2 have the J x J cross-product
//   SᵀS = D_c^-1/2 (B / (n K²) - c cᵀ) D_c^-1/2,  B = ZᵀZ (the Burt matrix),
// whose eigenpairs are (σ², V). The dense path builds it from co-occurrence counts;
// the Lanczos path applies v -> D_c^-1/2 (Zᵀ (Z (D_c^-1/2 v))) / (n K²) - √c (√cᵀ v)
// with Z read from the codes, O(n K) per product.
//
// With a communicator of several ranks (McaParams::comm), rank r reads the r-th
// share of the 4,096-row blocks in the passes over the rows: the checks, the
// category counts and the Burt matrix (exact counts); the projection keeps each
// rank's rows on it (its share of the rounds of 4,096-row blocks, the rows it
// formats in maps.csv), the signs agreed from each rank's largest coordinate.
#include <cmath>

#include <fmt/format.h>

#include "reduce/mca_internal.hpp"
#include "segmenta/comm.hpp"

namespace segmenta {
namespace {

using mca_detail::Indicators;

constexpr const char* kStage = "mca";
constexpr std::int32_t kMaxCode = (1 << 24) - 1;
constexpr std::size_t kDenseMax = 400;
using mca_detail::kRowBlock;

// Rows [r0, r1) of the codes.
void check_codes(MatrixView<std::int32_t> codes, const char* what, std::size_t r0, std::size_t r1) {
  for (std::size_t i = r0; i < r1; ++i)
    for (std::size_t a = 0; a < codes.cols(); ++a) {
      const std::int32_t v = codes(i, a);
      if (v < 0)
        throw InvalidArgument(fmt::format(
            "{}: code {} at row {}, column {} (missing values must be encoded as a category of their own)", what, v,
            i, a));
      if (v > kMaxCode)
        throw InvalidArgument(fmt::format("{}: code {} at row {}, column {} exceeds {}", what, v, i, a, kMaxCode));
    }
}

}  // namespace

McaModel fit_mca(MatrixView<std::int32_t> codes, const McaParams& params, Diagnostics* diag) {
  const std::size_t n = codes.rows(), K = codes.cols();
  if (K == 0) throw InvalidArgument("codes: MCA needs at least one categorical column");
  if (n < 2) throw InvalidArgument("codes: MCA needs at least 2 rows");
  if (params.n_components < 1) throw InvalidArgument("n_components: must be >= 1");
  if (!(params.tol > 0.0)) throw InvalidArgument("tol: must be > 0");
  const Blocks blocks{n, kRowBlock};
  const detail::BlockShare share = detail::BlockShare::of(params.comm, blocks.count());
  // Each rank checks its rows; the lowest rank's error (the first in row order) is every rank's.
  detail::agree_on_share(share, [&] { check_codes(codes, "codes", share.begin_row(blocks), share.end_row(blocks)); });

  // The per-row structure (cell, col_rows: 2 n K codes) only for the Lanczos path.
  Indicators ind = mca_detail::build_indicators(codes, false, &share);
  const std::size_t J = ind.J;
  if (J == K) throw InvalidArgument("codes: every variable has a single category, there is no inertia to decompose");
  if (diag)
    for (std::size_t a = 0; a < K; ++a) {
      std::size_t present = 0;
      for (std::int32_t c : ind.column_of[a]) present += c >= 0;
      if (present == 1)
        diag->info(kStage, "constant_variable", fmt::format("variable {} has a single category; it adds no inertia", a));
    }
  // S has rank at most min(n - 1, J - K).
  const std::size_t k = std::min({params.n_components, n - 1, J - K});
  if (k < params.n_components && diag)
    diag->warn(kStage, "n_components_reduced",
               fmt::format("n_components reduced from {} to {}, the rank bound of the indicator matrix",
                           params.n_components, k));

  const double dn = static_cast<double>(n), dK = static_cast<double>(K);
  std::vector<double> mass(J), sqrt_mass(J);
  for (std::size_t j = 0; j < J; ++j) {
    mass[j] = static_cast<double>(ind.count[j]) / (dn * dK);
    sqrt_mass[j] = std::sqrt(mass[j]);
  }
  const double scale = 1.0 / (dn * dK * dK);

  const bool dense = params.solver == EigenSolver::dense || (params.solver == EigenSolver::automatic && J <= kDenseMax);
  mca_detail::TopEigen eig;
  if (dense) {
    Eigen::MatrixXd a = mca_detail::burt_matrix(ind, codes, &share);
    for (std::size_t j = 0; j < J; ++j)
      for (std::size_t l = 0; l < J; ++l) {
        const double cc = sqrt_mass[j] * sqrt_mass[l];
        a(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(l)) =
            a(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(l)) * scale / cc - cc;
      }
    eig = mca_detail::top_eigen_dense(a, k);
  } else {
    mca_detail::index_rows(ind, codes);
    std::vector<double> wv(J), y(n);
    // One product is O(n K) memory-bound work of about a millisecond; it runs on the
    // calling thread (a parallel region per product costs more than it saves on a
    // busy machine).
    const mca_detail::Operator op = [&](const double* v, double* out) {
      for (std::size_t j = 0; j < J; ++j) wv[j] = v[j] / sqrt_mass[j];
      for (std::size_t i = 0; i < n; ++i) {
        const std::int32_t* c = ind.cell.data() + i * K;
        double s = 0.0;
        for (std::size_t a = 0; a < K; ++a) s += wv[static_cast<std::size_t>(c[a])];
        y[i] = s;
      }
      double proj = 0.0;
      for (std::size_t j = 0; j < J; ++j) proj += sqrt_mass[j] * v[j];
      for (std::size_t j = 0; j < J; ++j) {
        double t = 0.0;
        for (std::size_t r = ind.col_start[j]; r < ind.col_start[j + 1]; ++r)
          t += y[static_cast<std::size_t>(ind.col_rows[r])];
        out[j] = t * scale / sqrt_mass[j] - sqrt_mass[j] * proj;
      }
    };
    eig = mca_detail::top_eigen_lanczos(J, op, k, params.tol);
    if (!eig.converged && diag)
      diag->warn(kStage, "lanczos_not_converged",
                 fmt::format("the Lanczos iteration stopped after {} products before reaching tol {}", eig.matvecs,
                             params.tol));
    std::vector<std::int32_t>().swap(ind.cell);
    std::vector<std::int32_t>().swap(ind.col_rows);
  }

  McaModel m;
  m.n_rows = n;
  m.n_variables = K;
  m.indicator_variable = ind.var;
  m.indicator_code = ind.code;
  m.column_masses = mass;
  m.solver_matvecs = eig.matvecs;
  for (double v : eig.values) m.eigenvalues.push_back(std::max(v, 0.0));
  // Total inertia ||S||² = sum_j (1 - N_j / n) / K, which is (J - K) / K.
  for (std::size_t j = 0; j < J; ++j) m.total_inertia += (1.0 - static_cast<double>(ind.count[j]) / dn) / dK;
  mca_detail::percentages(m.eigenvalues, m.total_inertia, m.percentage_of_variance,
                          m.cumulative_percentage_of_variance);

  // Standard column coordinates D_c^-1/2 V; rows F = (z_i / K - c) D_c^-1/2 V.
  m.column_standard_coordinates = MatrixD(J, k);
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t t = 0; t < k; ++t)
      m.column_standard_coordinates(j, t) =
          eig.vectors(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(t)) / sqrt_mass[j];
  std::vector<double> offset(k, 0.0);
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t t = 0; t < k; ++t) offset[t] += mass[j] * m.column_standard_coordinates(j, t);
  // This rank's rows only (detail::RowRounds: the rows it formats in maps.csv).
  const detail::RowRounds rounds = detail::RowRounds::of(params.comm, n);
  m.row_coordinates = MatrixD(rounds.own_rows(), k);
  rounds.parallel_own_blocks([&](std::size_t b, std::size_t e, std::size_t, std::size_t local) {
    std::vector<std::int32_t> c(K);
    for (std::size_t i = b; i < e; ++i) {
      for (std::size_t a = 0; a < K; ++a) c[a] = ind.column_of[a][static_cast<std::size_t>(codes(i, a))];
      for (std::size_t t = 0; t < k; ++t) {
        double s = 0.0;
        for (std::size_t a = 0; a < K; ++a) s += m.column_standard_coordinates(static_cast<std::size_t>(c[a]), t);
        m.row_coordinates(local + (i - b), t) = s / dK - offset[t];
      }
    }
  });
  if (params.projected_rows) *params.projected_rows = m.row_coordinates.rows();
  mca_detail::flip_signs(m.row_coordinates, {&m.column_standard_coordinates}, rounds);
  m.column_coordinates = MatrixD(J, k);
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t t = 0; t < k; ++t)
      m.column_coordinates(j, t) = m.column_standard_coordinates(j, t) * std::sqrt(m.eigenvalues[t]);
  return m;
}

MatrixD McaModel::transform(MatrixView<std::int32_t> codes) const {
  if (eigenvalues.empty()) throw NotFitted("MCA model: not fitted");
  if (codes.cols() != n_variables)
    throw InvalidArgument(fmt::format("codes: {} columns, the model has {}", codes.cols(), n_variables));
  const std::size_t k = n_components(), J = n_indicators();
  // column of (variable, code)
  std::vector<std::vector<std::int32_t>> column_of(n_variables);
  for (std::size_t j = 0; j < J; ++j) {
    auto& v = column_of[static_cast<std::size_t>(indicator_variable[j])];
    const std::size_t c = static_cast<std::size_t>(indicator_code[j]);
    if (v.size() <= c) v.resize(c + 1, -1);
    v[c] = static_cast<std::int32_t>(j);
  }
  std::vector<double> offset(k, 0.0);
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t t = 0; t < k; ++t) offset[t] += column_masses[j] * column_standard_coordinates(j, t);
  const double dK = static_cast<double>(n_variables);
  MatrixD out(codes.rows(), k);
  parallel_blocks(codes.rows(), kRowBlock, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t i = b; i < e; ++i)
      for (std::size_t t = 0; t < k; ++t) {
        double s = 0.0;
        for (std::size_t a = 0; a < n_variables; ++a) {
          const std::int32_t v = codes(i, a);
          if (v < 0 || static_cast<std::size_t>(v) >= column_of[a].size() || column_of[a][static_cast<std::size_t>(v)] < 0)
            continue;
          s += column_standard_coordinates(static_cast<std::size_t>(column_of[a][static_cast<std::size_t>(v)]), t);
        }
        out(i, t) = s / dK - offset[t];
      }
  });
  return out;
}

}  // namespace segmenta
