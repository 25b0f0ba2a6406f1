// Factor analysis of mixed data: PCA of X = [Xs, Zc], Xs the standardised numeric
// columns, Zc the indicators centred by their proportions p_j and divided by
// sqrt(w_j). The (p + J) x (p + J) matrix XᵀX / n is
//   [ XsᵀXs / n                      (S_cj - p_j T_c) / (n sqrt(w_j))           ]
//   [ ...                            (B_jl / n - p_j p_l) / sqrt(w_j w_l)        ]
// with S_cj the sum of column c over the rows of category j, T_c its total (0 up to
// rounding) and B the Burt matrix; the Lanczos path applies it as Xᵀ (X v) / n
// without forming X.
//
// With a communicator of several ranks (FamdParams::comm), rank r reads the r-th
// share of the 4,096-row blocks in the checks, the category counts, the Burt matrix
// (exact counts) and the projection, whose row coordinates stay on their rank (its
// share of the rounds of 4,096-row blocks: the rows it formats in maps.csv). The
// barycentres' sums over the coordinates are running sums in row order, added along
// the ranks round after round; the other sums over the rows (column means and
// variances, the cross-products) are running sums in row order that every rank
// computes whole.
#include <cmath>
#include <span>

#include <fmt/format.h>

#include "core/block_share.hpp"
#include "reduce/mca_internal.hpp"
#include "segmenta/comm.hpp"

namespace segmenta {
namespace {

using detail::BlockShare;
using mca_detail::Indicators;

constexpr const char* kStage = "famd";
constexpr std::int32_t kMaxCode = (1 << 24) - 1;
constexpr std::size_t kDenseMax = 400;
using mca_detail::kRowBlock;

// The row coordinates of the rows of `rounds` this rank holds into out (its rows, k),
// in row order (every row for one process).
void project_rows(const FamdModel& model, ViewD numeric, MatrixView<std::int32_t> categorical,
                  const detail::RowRounds& rounds, MatrixD& out) {
  const std::size_t p = model.n_numeric, K = model.n_categorical,
                    J = model.indicator_code.size(), k = model.loadings.cols();
  std::vector<std::vector<std::int32_t>> column_of(K);
  for (std::size_t j = 0; j < J; ++j) {
    auto& v = column_of[static_cast<std::size_t>(model.indicator_variable[j])];
    const std::size_t c = static_cast<std::size_t>(model.indicator_code[j]);
    if (v.size() <= c) v.resize(c + 1, -1);
    v[c] = static_cast<std::int32_t>(j);
  }
  // Loadings of the indicators divided by sqrt(w_j), and the centring term.
  MatrixD lc(J, k);
  std::vector<double> s0(k, 0.0);
  for (std::size_t j = 0; j < J; ++j)
    for (std::size_t t = 0; t < k; ++t) {
      lc(j, t) = model.loadings(p + j, t) / std::sqrt(model.indicator_weights[j]);
      s0[t] += model.indicator_proportions[j] * lc(j, t);
    }
  const MatrixD& loadings = model.loadings;
  const std::vector<double>&numeric_mean = model.numeric_mean, &numeric_scale = model.numeric_scale;
  rounds.parallel_own_blocks([&](std::size_t b, std::size_t e, std::size_t, std::size_t local) {
    for (std::size_t i = b; i < e; ++i)
      for (std::size_t t = 0; t < k; ++t) {
        double s = 0.0;
        for (std::size_t c = 0; c < p; ++c) s += (numeric(i, c) - numeric_mean[c]) / numeric_scale[c] * loadings(c, t);
        for (std::size_t a = 0; a < K; ++a) {
          const std::int32_t v = categorical(i, a);
          if (v < 0 || static_cast<std::size_t>(v) >= column_of[a].size() || column_of[a][static_cast<std::size_t>(v)] < 0)
            continue;
          s += lc(static_cast<std::size_t>(column_of[a][static_cast<std::size_t>(v)]), t);
        }
        out(local + (i - b), t) = s - s0[t];
      }
  });
}

}  // namespace

FamdModel fit_famd(ViewD numeric, MatrixView<std::int32_t> categorical, const FamdParams& params, Diagnostics* diag) {
  const std::size_t n = numeric.rows(), p = numeric.cols(), K = categorical.cols();
  if (categorical.rows() != n)
    throw InvalidArgument(fmt::format("categorical: {} rows, but numeric has {}", categorical.rows(), n));
  if (p == 0) throw InvalidArgument("numeric: FAMD needs numeric columns (all-categorical data: use MCA)");
  if (K == 0) throw InvalidArgument("categorical: FAMD needs categorical columns (all-numeric data: use PCA)");
  if (n < 2) throw InvalidArgument("numeric: FAMD needs at least 2 rows");
  if (params.n_components < 1) throw InvalidArgument("n_components: must be >= 1");
  if (!(params.tol > 0.0)) throw InvalidArgument("tol: must be > 0");
  const Blocks blocks{n, kRowBlock};
  const BlockShare share = BlockShare::of(params.comm, blocks.count());
  const std::size_t first_row = share.begin_row(blocks), end_row = share.end_row(blocks);
  // Running sums over the rows in row order, on every rank over every row: cut into
  // the ranks' blocks they would run one rank after the other (an ordered fold of
  // running sums), which measured slower than each rank adding all rows, and block
  // partials would change the one process's bits.
  const detail::BlockShare whole;
  const auto fold_rows = [&](std::span<double> total, auto&& add_rows) {
    detail::fold_own_blocks(whole, blocks.count(), total,
                            [&](std::size_t b, std::span<double> run) { add_rows(blocks.begin(b), blocks.end(b), run); });
  };
  // Each rank checks its rows; the lowest rank's error (the first in row order) is every rank's.
  detail::agree_on_share(share, [&] {
    for (std::size_t i = first_row; i < end_row; ++i) {
      for (std::size_t c = 0; c < p; ++c)
        if (!std::isfinite(numeric(i, c)))
          throw InvalidArgument(fmt::format("numeric: value at row {}, column {} is not finite", i, c));
      for (std::size_t a = 0; a < K; ++a) {
        const std::int32_t v = categorical(i, a);
        if (v < 0 || v > kMaxCode)
          throw InvalidArgument(fmt::format(
              "categorical: code {} at row {}, column {} (codes are 0..{}; encode missing values as a category)", v,
              i, a, kMaxCode));
      }
    }
  });

  FamdModel m;
  m.n_rows = n;
  m.n_numeric = p;
  m.n_categorical = K;
  m.scaling = params.scaling;
  const double dn = static_cast<double>(n);

  // StandardScaler (ddof 0, scale 1 for a constant column). The standardised value
  // of a cell, std_at(i, c), is recomputed where it is needed (the same expression,
  // so the same double): the dense path keeps no per-row copy of the data.
  m.numeric_mean.assign(p, 0.0);
  m.numeric_scale.assign(p, 1.0);
  std::size_t constant = 0;
  std::vector<double> column_sum(p, 0.0), column_ss(p, 0.0);
  fold_rows(column_sum, [&](std::size_t b, std::size_t e, std::span<double> run) {
    for (std::size_t c = 0; c < p; ++c) {
      double s = run[c];
      for (std::size_t i = b; i < e; ++i) s += numeric(i, c);
      run[c] = s;
    }
  });
  for (std::size_t c = 0; c < p; ++c) m.numeric_mean[c] = column_sum[c] / dn;
  fold_rows(column_ss, [&](std::size_t b, std::size_t e, std::span<double> run) {
    for (std::size_t c = 0; c < p; ++c) {
      const double mean = m.numeric_mean[c];
      double v = run[c];
      for (std::size_t i = b; i < e; ++i) v += (numeric(i, c) - mean) * (numeric(i, c) - mean);
      run[c] = v;
    }
  });
  for (std::size_t c = 0; c < p; ++c) {
    const double sd = std::sqrt(column_ss[c] / dn);
    if (sd > 0.0) {
      m.numeric_scale[c] = sd;
    } else {
      ++constant;
      if (diag) diag->info(kStage, "constant_numeric", fmt::format("numeric column {} is constant; it adds no inertia", c));
    }
  }
  const std::vector<double>& mean = m.numeric_mean;
  const std::vector<double>& scale = m.numeric_scale;
  const auto std_at = [&](std::size_t i, std::size_t c) { return (numeric(i, c) - mean[c]) / scale[c]; };

  // The per-row structure (cell, col_rows) only for the Lanczos path.
  Indicators ind = mca_detail::build_indicators(categorical, false, &share);
  const std::size_t J = ind.J, P = p + J;
  if (diag)
    for (std::size_t a = 0; a < K; ++a) {
      std::size_t present = 0;
      for (std::int32_t c : ind.column_of[a]) present += c >= 0;
      if (present == 1)
        diag->info(kStage, "constant_variable", fmt::format("variable {} has a single category; it adds no inertia", a));
    }
  m.indicator_variable = ind.var;
  m.indicator_code = ind.code;
  m.indicator_proportions.resize(J);
  m.indicator_weights.resize(J);
  std::vector<double> inv_sqrt_w(J);
  for (std::size_t j = 0; j < J; ++j) {
    const double pj = static_cast<double>(ind.count[j]) / dn;
    m.indicator_proportions[j] = pj;
    m.indicator_weights[j] = params.scaling == FamdScaling::factominer ? pj : 2.0 * pj / static_cast<double>(K);
    inv_sqrt_w[j] = 1.0 / std::sqrt(m.indicator_weights[j]);
  }
  const std::vector<double>& prop = m.indicator_proportions;

  const std::size_t rank = std::min(n - 1, (p - constant) + (J - K));
  if (rank == 0) throw InvalidArgument("numeric: the data has no variance to decompose");
  const std::size_t k = std::min(params.n_components, rank);
  if (k < params.n_components && diag)
    diag->warn(kStage, "n_components_reduced",
               fmt::format("n_components reduced from {} to {}, the rank bound of the data", params.n_components, k));

  std::vector<double> col_total(p, 0.0);
  fold_rows(col_total, [&](std::size_t b, std::size_t e, std::span<double> run) {
    for (std::size_t c = 0; c < p; ++c)
      for (std::size_t i = b; i < e; ++i) run[c] += std_at(i, c);
  });

  const bool dense = params.solver == EigenSolver::dense || (params.solver == EigenSolver::automatic && P <= kDenseMax);
  mca_detail::TopEigen eig;
  if (dense) {
    // XsᵀXs and the sums S_cj of each column over the rows of each category, over
    // blocks of rows: every sum still adds its terms in ascending row order, as a
    // sum over a whole standardised column (or over a category's rows) would.
    std::vector<double> sums(p * p + p * J, 0.0);
    std::vector<double> xb(p * kRowBlock);
    std::vector<std::int32_t> cb(K * kRowBlock);
    fold_rows(sums, [&](std::size_t b, std::size_t e, std::span<double> run) {
      double* gram = run.data();
      double* cross = run.data() + p * p;
      const std::size_t len = e - b;
      for (std::size_t c = 0; c < p; ++c)
        for (std::size_t r = 0; r < len; ++r) xb[c * kRowBlock + r] = std_at(b + r, c);
      for (std::size_t r = 0; r < len; ++r)
        for (std::size_t a = 0; a < K; ++a)
          cb[r * K + a] = ind.column_of[a][static_cast<std::size_t>(categorical(b + r, a))];
      for (std::size_t c = 0; c < p; ++c)
        for (std::size_t d = c; d < p; ++d) {
          double s = gram[c * p + d];
          const double* xc = xb.data() + c * kRowBlock;
          const double* xd = xb.data() + d * kRowBlock;
          for (std::size_t r = 0; r < len; ++r) s += xc[r] * xd[r];
          gram[c * p + d] = s;
        }
      for (std::size_t c = 0; c < p; ++c) {
        double* sc = cross + c * J;
        const double* xc = xb.data() + c * kRowBlock;
        for (std::size_t r = 0; r < len; ++r)
          for (std::size_t a = 0; a < K; ++a) sc[static_cast<std::size_t>(cb[r * K + a])] += xc[r];
      }
    });
    const double* gram = sums.data();
    const double* cross = sums.data() + p * p;
    Eigen::MatrixXd g(static_cast<Eigen::Index>(P), static_cast<Eigen::Index>(P));
    for (std::size_t c = 0; c < p; ++c)
      for (std::size_t d = c; d < p; ++d)
        g(static_cast<Eigen::Index>(c), static_cast<Eigen::Index>(d)) = g(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(c)) = gram[c * p + d] / dn;
    for (std::size_t c = 0; c < p; ++c)
      for (std::size_t j = 0; j < J; ++j) {
        const double v = (cross[c * J + j] - prop[j] * col_total[c]) / dn * inv_sqrt_w[j];
        g(static_cast<Eigen::Index>(c), static_cast<Eigen::Index>(p + j)) = g(static_cast<Eigen::Index>(p + j), static_cast<Eigen::Index>(c)) = v;
      }
    const Eigen::MatrixXd b = mca_detail::burt_matrix(ind, categorical, &share);
    for (std::size_t j = 0; j < J; ++j)
      for (std::size_t l = 0; l < J; ++l)
        g(static_cast<Eigen::Index>(p + j), static_cast<Eigen::Index>(p + l)) =
            (b(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(l)) / dn - prop[j] * prop[l]) * inv_sqrt_w[j] *
            inv_sqrt_w[l];
    eig = mca_detail::top_eigen_dense(g, k);
  } else {
    // The Lanczos path reads the standardised columns and the indicator structure
    // once per product: they are formed here, and freed after.
    std::vector<double> xs(p * n);
    for (std::size_t c = 0; c < p; ++c)
      for (std::size_t i = 0; i < n; ++i) xs[c * n + i] = std_at(i, c);
    mca_detail::index_rows(ind, categorical);
    std::vector<double> vc(J), y(n);
    // O(n (p + K)) per product, on the calling thread (see mca.cpp).
    const mca_detail::Operator op = [&](const double* v, double* out) {
      double s0 = 0.0;
      for (std::size_t j = 0; j < J; ++j) {
        vc[j] = v[p + j] * inv_sqrt_w[j];
        s0 += prop[j] * vc[j];
      }
      for (std::size_t i = 0; i < n; ++i) {
        double s = 0.0;
        for (std::size_t c = 0; c < p; ++c) s += xs[c * n + i] * v[c];
        const std::int32_t* cell = ind.cell.data() + i * K;
        for (std::size_t a = 0; a < K; ++a) s += vc[static_cast<std::size_t>(cell[a])];
        y[i] = s - s0;
      }
      double ysum = 0.0;
      for (std::size_t i = 0; i < n; ++i) ysum += y[i];
      for (std::size_t c = 0; c < p; ++c) {
        double s = 0.0;
        for (std::size_t i = 0; i < n; ++i) s += xs[c * n + i] * y[i];
        out[c] = s / dn;
      }
      for (std::size_t j = 0; j < J; ++j) {
        double t = 0.0;
        for (std::size_t r = ind.col_start[j]; r < ind.col_start[j + 1]; ++r)
          t += y[static_cast<std::size_t>(ind.col_rows[r])];
        out[p + j] = (t - prop[j] * ysum) / dn * inv_sqrt_w[j];
      }
    };
    eig = mca_detail::top_eigen_lanczos(P, op, k, params.tol);
    if (!eig.converged && diag)
      diag->warn(kStage, "lanczos_not_converged",
                 fmt::format("the Lanczos iteration stopped after {} products before reaching tol {}", eig.matvecs,
                             params.tol));
    std::vector<std::int32_t>().swap(ind.cell);
    std::vector<std::int32_t>().swap(ind.col_rows);
  }
  m.solver_matvecs = eig.matvecs;
  for (double v : eig.values) m.eigenvalues.push_back(std::max(v, 0.0));
  m.total_inertia = static_cast<double>(p - constant);
  for (std::size_t j = 0; j < J; ++j) m.total_inertia += prop[j] * (1.0 - prop[j]) / m.indicator_weights[j];
  mca_detail::percentages(m.eigenvalues, m.total_inertia, m.percentage_of_variance,
                          m.cumulative_percentage_of_variance);

  m.loadings = MatrixD(P, k);
  for (std::size_t r = 0; r < P; ++r)
    for (std::size_t t = 0; t < k; ++t)
      m.loadings(r, t) = eig.vectors(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(t));
  // A constant column is a zero column of X: its loadings are exactly 0 (the solver
  // leaves rounding noise there).
  for (std::size_t c = 0; c < p; ++c)
    if (m.numeric_scale[c] == 1.0 && col_total[c] == 0.0) {
      std::int64_t nonzero = 0;
      for (std::size_t i = first_row; i < end_row && !nonzero; ++i) nonzero = std_at(i, c) != 0.0;
      if (share.distributed()) nonzero = share.comm->allreduce_max(nonzero);
      if (!nonzero)
        for (std::size_t t = 0; t < k; ++t) m.loadings(c, t) = 0.0;
    }
  // The rows were checked above: the projection of the transform, without its checks,
  // of this rank's rows only (detail::RowRounds: the rows it formats in maps.csv), the
  // signs agreed from each rank's largest coordinate.
  const detail::RowRounds rounds = detail::RowRounds::of(params.comm, n);
  m.row_coordinates = MatrixD(rounds.own_rows(), k);
  project_rows(m, numeric, categorical, rounds, m.row_coordinates);
  if (params.projected_rows) *params.projected_rows = m.row_coordinates.rows();
  mca_detail::flip_signs(m.row_coordinates, {&m.loadings}, rounds);

  m.numeric_correlations = MatrixD(p, k);
  for (std::size_t c = 0; c < p; ++c)
    for (std::size_t t = 0; t < k; ++t) m.numeric_correlations(c, t) = std::sqrt(m.eigenvalues[t]) * m.loadings(c, t);
  // Category barycentres and the correlation ratios η² of the categorical variables.
  // The sums of the row coordinates over each category's rows, in ascending row
  // order as before, in one pass over the codes; then the coordinates' means and
  // their sums of squares about them. The coordinates are on their ranks: each
  // round's blocks are added along the ranks (detail::fold_row_rounds), so every sum
  // takes the additions of one process.
  std::vector<double> row_sums(J * k + k, 0.0), row_ss(k, 0.0);
  {
    std::vector<std::int32_t> c(K);
    detail::fold_row_rounds(rounds, row_sums, [&](std::size_t b, std::size_t e, std::size_t l, std::span<double> run) {
      double* cat_sum = run.data();
      for (std::size_t i = b; i < e; ++i) {
        for (std::size_t a = 0; a < K; ++a) c[a] = ind.column_of[a][static_cast<std::size_t>(categorical(i, a))];
        for (std::size_t a = 0; a < K; ++a)
          for (std::size_t t = 0; t < k; ++t)
            cat_sum[static_cast<std::size_t>(c[a]) * k + t] += m.row_coordinates(l + (i - b), t);
      }
      for (std::size_t t = 0; t < k; ++t)
        for (std::size_t i = b; i < e; ++i) run[J * k + t] += m.row_coordinates(l + (i - b), t);
    });
  }
  const double* cat_sum = row_sums.data();
  std::vector<double> means(k);
  for (std::size_t t = 0; t < k; ++t) means[t] = row_sums[J * k + t] / dn;
  detail::fold_row_rounds(rounds, row_ss, [&](std::size_t b, std::size_t e, std::size_t l, std::span<double> run) {
    for (std::size_t t = 0; t < k; ++t)
      for (std::size_t i = b; i < e; ++i)
        run[t] += (m.row_coordinates(l + (i - b), t) - means[t]) * (m.row_coordinates(l + (i - b), t) - means[t]);
  });
  m.category_coordinates = MatrixD(J, k);
  m.variable_coordinates = MatrixD(p + K, k);
  for (std::size_t t = 0; t < k; ++t) {
    const double mean = means[t], total = row_ss[t];
    std::vector<double> between(K, 0.0);
    for (std::size_t j = 0; j < J; ++j) {
      const double g = cat_sum[j * k + t] / static_cast<double>(ind.count[j]);
      m.category_coordinates(j, t) = g;
      between[static_cast<std::size_t>(ind.var[j])] += static_cast<double>(ind.count[j]) * (g - mean) * (g - mean);
    }
    for (std::size_t c = 0; c < p; ++c)
      m.variable_coordinates(c, t) = m.numeric_correlations(c, t) * m.numeric_correlations(c, t);
    for (std::size_t a = 0; a < K; ++a) m.variable_coordinates(p + a, t) = total > 0.0 ? between[a] / total : 0.0;
  }
  return m;
}

MatrixD FamdModel::transform(ViewD numeric, MatrixView<std::int32_t> categorical) const {
  if (loadings.rows() == 0) throw NotFitted("FAMD model: not fitted");
  const std::size_t m = numeric.rows(), p = n_numeric, K = n_categorical;
  if (categorical.rows() != m)
    throw InvalidArgument(fmt::format("categorical: {} rows, but numeric has {}", categorical.rows(), m));
  if (numeric.cols() != p) throw InvalidArgument(fmt::format("numeric: {} columns, the model has {}", numeric.cols(), p));
  if (categorical.cols() != K)
    throw InvalidArgument(fmt::format("categorical: {} columns, the model has {}", categorical.cols(), K));
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t c = 0; c < p; ++c)
      if (!std::isfinite(numeric(i, c)))
        throw InvalidArgument(fmt::format("numeric: value at row {}, column {} is not finite", i, c));
  MatrixD out(m, loadings.cols());
  project_rows(*this, numeric, categorical, detail::RowRounds::of(nullptr, m), out);
  return out;
}

}  // namespace segmenta
