// MCA / FAMD: indicator structure and symmetric eigensolvers.
#include <algorithm>
#include <cmath>
#include <span>

#include "reduce/mca_internal.hpp"

namespace segmenta::mca_detail {

Indicators build_indicators(MatrixView<std::int32_t> codes, bool rows, const detail::BlockShare* share) {
  Indicators ind;
  ind.n = codes.rows();
  ind.K = codes.cols();
  const std::size_t n = ind.n, K = ind.K;
  const Blocks blocks{n, kRowBlock};
  const bool shared = share != nullptr && share->distributed() && !rows;
  const std::size_t r0 = shared ? share->begin_row(blocks) : 0, r1 = shared ? share->end_row(blocks) : n;
  std::vector<std::int64_t> top(K, 0);
  for (std::size_t a = 0; a < K; ++a)
    for (std::size_t i = r0; i < r1; ++i) top[a] = std::max<std::int64_t>(top[a], codes(i, a));
  if (shared) {
    const std::vector<std::int64_t> all = share->comm->allgather(top);
    for (std::size_t at = K; at < all.size(); at += K)
      for (std::size_t a = 0; a < K; ++a) top[a] = std::max(top[a], all[at + a]);
  }
  std::vector<std::vector<std::size_t>> per_code(K);
  for (std::size_t a = 0; a < K; ++a) {
    per_code[a].assign(static_cast<std::size_t>(top[a]) + 1, 0);
    for (std::size_t i = r0; i < r1; ++i) ++per_code[a][static_cast<std::size_t>(codes(i, a))];
  }
  if (shared) {  // the ranks' counts added (integers: any order)
    std::vector<std::int64_t> mine;
    for (const auto& v : per_code) mine.insert(mine.end(), v.begin(), v.end());
    const std::vector<std::int64_t> total = share->comm->allreduce_sum(mine);
    std::size_t at = 0;
    for (auto& v : per_code)
      for (std::size_t& c : v) c = static_cast<std::size_t>(total[at++]);
  }
  ind.column_of.resize(K);
  for (std::size_t a = 0; a < K; ++a) {
    ind.column_of[a].assign(per_code[a].size(), -1);
    for (std::size_t v = 0; v < per_code[a].size(); ++v) {
      if (per_code[a][v] == 0) continue;
      ind.column_of[a][v] = static_cast<std::int32_t>(ind.J++);
      ind.var.push_back(static_cast<std::int32_t>(a));
      ind.code.push_back(static_cast<std::int32_t>(v));
      ind.count.push_back(per_code[a][v]);
    }
  }
  ind.col_start.assign(ind.J + 1, 0);
  for (std::size_t j = 0; j < ind.J; ++j) ind.col_start[j + 1] = ind.col_start[j] + ind.count[j];
  if (rows) index_rows(ind, codes);
  return ind;
}

void index_rows(Indicators& ind, MatrixView<std::int32_t> codes) {
  const std::size_t n = ind.n, K = ind.K;
  ind.cell.resize(n * K);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < K; ++a) ind.cell[i * K + a] = ind.column_of[a][static_cast<std::size_t>(codes(i, a))];
  ind.col_rows.resize(n * K);
  std::vector<std::size_t> fill(ind.col_start.begin(), ind.col_start.end() - 1);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < K; ++a)
      ind.col_rows[fill[static_cast<std::size_t>(ind.cell[i * K + a])]++] = static_cast<std::int32_t>(i);
}

Eigen::MatrixXd burt_matrix(const Indicators& ind, MatrixView<std::int32_t> codes, const detail::BlockShare* share) {
  Eigen::MatrixXd b = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(ind.J), static_cast<Eigen::Index>(ind.J));
  std::vector<std::int32_t> c(ind.K);
  const Blocks blocks{ind.n, kRowBlock};
  const bool shared = share != nullptr && share->distributed();
  const std::size_t r0 = shared ? share->begin_row(blocks) : 0, r1 = shared ? share->end_row(blocks) : ind.n;
  for (std::size_t i = r0; i < r1; ++i) {
    for (std::size_t a = 0; a < ind.K; ++a) c[a] = ind.column_of[a][static_cast<std::size_t>(codes(i, a))];
    for (std::size_t a = 0; a < ind.K; ++a)
      for (std::size_t e = 0; e < ind.K; ++e) b(c[a], c[e]) += 1.0;
  }
  if (shared) {  // the ranks' counts added (whole numbers below 2^53: exact in any order)
    const std::size_t JJ = ind.J * ind.J;
    std::vector<double> total(JJ, 0.0);
    share->comm->fold_in_rank_order(total, [&](std::span<double> run) {
      for (std::size_t t = 0; t < JJ; ++t) run[t] += b.data()[t];
    });
    std::copy(total.begin(), total.end(), b.data());
  }
  return b;
}

TopEigen top_eigen_dense(const Eigen::MatrixXd& a, std::size_t k) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(a);
  const Eigen::Index N = a.rows();
  TopEigen out;
  out.vectors.resize(N, static_cast<Eigen::Index>(k));
  for (std::size_t t = 0; t < k; ++t) {
    const Eigen::Index idx = N - 1 - static_cast<Eigen::Index>(t);
    out.values.push_back(es.eigenvalues()(idx));
    out.vectors.col(static_cast<Eigen::Index>(t)) = es.eigenvectors().col(idx);
  }
  return out;
}

namespace {

// Gram-Schmidt twice ("twice is enough") of w against the first `cols` columns of V;
// returns the coefficients.
Eigen::VectorXd orthogonalize(const Eigen::MatrixXd& V, Eigen::Index cols, Eigen::VectorXd& w) {
  const auto B = V.leftCols(cols);
  Eigen::VectorXd h = B.transpose() * w;
  w.noalias() -= B * h;
  const Eigen::VectorXd h2 = B.transpose() * w;
  w.noalias() -= B * h2;
  h += h2;
  return h;
}

}  // namespace

TopEigen top_eigen_lanczos(std::size_t n, const Operator& op, std::size_t k, double tol, std::size_t max_matvecs) {
  const Eigen::Index N = static_cast<Eigen::Index>(n), K = static_cast<Eigen::Index>(k);
  // Basis size: room for the wanted pairs plus a generous search space; the restart
  // keeps half of it.
  const Eigen::Index m = std::min<Eigen::Index>(N, std::max<Eigen::Index>(3 * K + 60, 120));
  Eigen::MatrixXd V(N, m + 1);
  Eigen::MatrixXd H = Eigen::MatrixXd::Zero(m, m);
  Rng rng(0x4d43412d4c616eULL);
  const auto random_unit = [&](Eigen::Index cols) {
    Eigen::VectorXd w(N);
    for (Eigen::Index i = 0; i < N; ++i) w(i) = rng.normal();
    if (cols > 0) orthogonalize(V, cols, w);
    return Eigen::VectorXd(w / w.norm());
  };
  V.col(0) = random_unit(0);

  TopEigen out;
  Eigen::VectorXd w(N);
  Eigen::Index kept = 0;
  double anorm = 0.0;
  for (;;) {
    Eigen::Index used = m;
    double beta = 0.0;
    for (Eigen::Index j = kept; j < m; ++j) {
      op(V.col(j).data(), w.data());
      ++out.matvecs;
      const Eigen::VectorXd h = orthogonalize(V, j + 1, w);
      H.block(0, j, j + 1, 1) = h;
      beta = w.norm();
      anorm = std::max({anorm, h.cwiseAbs().maxCoeff(), beta});
      if (beta <= 1e-13 * anorm) {
        if (j + 1 == N) {  // the whole space is spanned: the decomposition is exact
          used = j + 1;
          beta = 0.0;
          break;
        }
        // An invariant subspace: continue from a fresh direction, uncoupled.
        V.col(j + 1) = random_unit(j + 1);
        beta = 0.0;
      } else {
        V.col(j + 1) = w / beta;
      }
    }
    Eigen::MatrixXd Hs = H.topLeftCorner(used, used).triangularView<Eigen::Upper>();
    Hs.triangularView<Eigen::StrictlyLower>() = Hs.transpose().triangularView<Eigen::StrictlyLower>();
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Hs);
    const Eigen::VectorXd& theta = es.eigenvalues();
    const Eigen::MatrixXd& S = es.eigenvectors();
    const double top = std::max(std::abs(theta(used - 1)), std::numeric_limits<double>::min());
    bool converged = true;
    for (Eigen::Index t = 0; t < K; ++t)
      converged = converged && std::abs(beta * S(used - 1, used - 1 - t)) <= tol * top;
    const bool exhausted = used == N && beta == 0.0;
    if (converged || exhausted || out.matvecs >= max_matvecs) {
      out.converged = converged || exhausted;
      out.vectors = V.leftCols(used) * S.rightCols(K).rowwise().reverse();
      for (Eigen::Index t = 0; t < K; ++t) out.values.push_back(theta(used - 1 - t));
      return out;
    }
    // Thick restart: keep the best Ritz vectors and the residual direction.
    const Eigen::Index keep = std::min<Eigen::Index>(used - 1, K + (m - K) / 2);
    const Eigen::MatrixXd Y = V.leftCols(used) * S.rightCols(keep);
    V.col(keep) = V.col(used);
    V.leftCols(keep) = Y;
    H.setZero();
    for (Eigen::Index t = 0; t < keep; ++t) H(t, t) = theta(used - keep + t);
    kept = keep;
  }
}

std::vector<double> flip_signs(MatrixD& rows, std::vector<MatrixD*> others) {
  const std::size_t k = rows.cols();
  std::vector<double> signs(k, 1.0);
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < rows.rows(); ++i)
      if (std::abs(rows(i, c)) > std::abs(rows(best, c))) best = i;
    if (rows.rows() == 0 || rows(best, c) >= 0.0) continue;
    signs[c] = -1.0;
    for (std::size_t i = 0; i < rows.rows(); ++i) rows(i, c) = -rows(i, c);
    for (MatrixD* m : others)
      for (std::size_t i = 0; i < m->rows(); ++i) (*m)(i, c) = -(*m)(i, c);
  }
  return signs;
}

std::vector<double> flip_signs(MatrixD& rows, std::vector<MatrixD*> others, const detail::RowRounds& rounds) {
  const std::size_t k = rows.cols();
  std::vector<double> signs(k, 1.0);
  if (rounds.blocks.n == 0) return signs;
  const std::vector<detail::LargestEntry> largest = detail::largest_entries(rounds, rows);
  for (std::size_t c = 0; c < k; ++c) {
    // The scan starts from row 0: a NaN there stays the entry (and is not >= 0).
    const double decides = std::isnan(largest[c].first) || !largest[c].found ? largest[c].first : largest[c].value;
    if (decides >= 0.0) continue;
    signs[c] = -1.0;
    for (std::size_t i = 0; i < rows.rows(); ++i) rows(i, c) = -rows(i, c);
    for (MatrixD* m : others)
      for (std::size_t i = 0; i < m->rows(); ++i) (*m)(i, c) = -(*m)(i, c);
  }
  return signs;
}

void percentages(const std::vector<double>& eig, double total, std::vector<double>& pct, std::vector<double>& cum) {
  pct.clear();
  cum.clear();
  double run = 0.0;
  for (double e : eig) {
    pct.push_back(total > 0.0 ? 100.0 * e / total : 0.0);
    run += pct.back();
    cum.push_back(run);
  }
}

}  // namespace segmenta::mca_detail
