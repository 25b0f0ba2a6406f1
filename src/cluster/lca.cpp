// The latent-class model: a mixture of diagonal Gaussians (numeric columns) and
// multinomials (categorical columns) fitted by EM; see cluster.hpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>

#include <fmt/format.h>

#include "cluster/lca_isa.hpp"
#include "cluster/rank_share.hpp"
#include "kernels/variant.hpp"
#include "segmenta/cluster.hpp"

namespace segmenta {

namespace cluster_detail {

const LcaFunctions* lca_functions(kernels::Isa isa) noexcept {
  return kernels::variant_for(isa, isa_portable::lca_functions, isa_avx2::lca_functions, isa_avx512::lca_functions);
}

const LcaFunctions& lca_active() noexcept {
  static const LcaFunctions* const chosen = lca_functions(kernels::active_isa());
  return *chosen;
}

}  // namespace cluster_detail

namespace {

constexpr std::size_t kBlock = 1024;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

/// The data of a fit and what every iteration reuses.
struct Problem {
  ViewD x;                          // (n, p) NaN = missing
  MatrixView<std::int32_t> codes;   // (n, q) out of range = missing
  std::vector<std::size_t> levels;  // (q)
  std::vector<std::size_t> offset;  // (q) start of column c in the flattened category counts
  std::size_t total_levels = 0;
  // (n, q): offset[c] + level of row i's cell in column c, -1 where it is missing, so
  // that the E-step's categorical part is a gather and the statistics a scatter.
  std::vector<std::int32_t> flat;
  std::vector<double> mean, var, floor;  // overall, per numeric column (present cells)
  std::size_t n = 0, p = 0, q = 0;
  // The row blocks (of kBlock rows) this rank computes; every block for one process.
  cluster_detail::RankShare share;

  void flatten() {
    flat.assign(n * q, -1);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < q; ++c) {
        std::size_t l = 0;
        if (present(i, c, l)) flat[i * q + c] = static_cast<std::int32_t>(offset[c] + l);
      }
  }

  bool present(std::size_t i, std::size_t c, std::size_t& level) const {
    const std::int32_t v = codes(i, c);
    if (v < 0 || static_cast<std::size_t>(v) >= levels[c]) return false;
    level = static_cast<std::size_t>(v);
    return true;
  }
};

/// The parameters in the form the E-step uses.
struct Params {
  std::size_t k = 0;
  std::vector<double> weight, log_weight;   // (k)
  std::vector<double> mu, var, inv_var, c;  // (p, k): column d, class j at d*k + j; c = -0.5 (log 2 pi + log var)
  std::vector<double> theta;                // (k, total_levels): class j, column c, level l at j*T + offset[c] + l
  std::vector<double> log_theta_t;          // (total_levels, k): transposed logs for row-wise access
};

/// Per-block scratch of the E-step: the rows' log joint densities (rows, k).
thread_local std::vector<double> t_log_joint;

/// Sufficient statistics of one block (or of all rows): responsibilities summed per
/// class, per numeric column and class (layout (p, k)) over the present cells (count, sum and sum of
/// squares of x - centre), per category level and class (layout (total_levels, k));
/// log-likelihood and entropy.
struct Stats {
  std::vector<double> nk, s0, s1, s2, counts;
  double ll = 0, entropy = 0;
  void reset(std::size_t k, std::size_t p, std::size_t t) {
    nk.assign(k, 0.0);
    s0.assign(k * p, 0.0);
    s1.assign(k * p, 0.0);
    s2.assign(k * p, 0.0);
    counts.assign(k * t, 0.0);
    ll = entropy = 0;
  }
  void add(const Stats& o) {
    for (std::size_t i = 0; i < nk.size(); ++i) nk[i] += o.nk[i];
    for (std::size_t i = 0; i < s0.size(); ++i) {
      s0[i] += o.s0[i];
      s1[i] += o.s1[i];
      s2[i] += o.s2[i];
    }
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
    ll += o.ll;
    entropy += o.entropy;
  }
  /// The values in one flat array of width() doubles (nk, s0, s1, s2, counts, ll,
  /// entropy), for the fold along the ranks.
  std::size_t width() const noexcept { return nk.size() + 3 * s0.size() + counts.size() + 2; }
  /// Adds these statistics to a flat array, each value as add() adds it.
  void add_to(double* out) const {
    for (const std::vector<double>* v : {&nk, &s0, &s1, &s2, &counts})
      for (double x : *v) *out++ += x;
    out[0] += ll;
    out[1] += entropy;
  }
  void unpack(const double* in) {
    for (std::vector<double>* v : {&nk, &s0, &s1, &s2, &counts}) {
      std::copy(in, in + v->size(), v->begin());
      in += v->size();
    }
    ll = in[0];
    entropy = in[1];
  }
};

/// Adds the blocks' statistics in block order into out. With several ranks each
/// holds its share's blocks: the sums, from zero as one process starts, are folded
/// along the ranks (every value takes the same additions in the same order as in
/// add()), so no block's statistics travel, only the running totals.
void combine_blocks(const Problem& pr, const std::vector<Stats>& part, std::size_t k, Stats& out) {
  out.reset(k, pr.p, pr.total_levels);
  if (!pr.share.distributed()) {
    for (const Stats& s : part) out.add(s);
    return;
  }
  std::vector<double> total(out.width(), 0.0);
  cluster_detail::fold_blocks(pr.share, part.size(), total,
                              [&](std::size_t b, std::span<double> running) { part[b].add_to(running.data()); });
  out.unpack(total.data());
}

/// The problem of a fit. With `comm` of several ranks, pr.share is this rank's share
/// of the row blocks, and the columns' means and variances are running sums over the
/// rows in order, folded along the ranks (each continues over its own rows), so a rank
/// reads only its rows' numbers for them and gets one process's bits.
Problem make_problem(ViewD x, MatrixView<std::int32_t> codes, std::span<const std::int32_t> n_categories,
                     double variance_floor, const Communicator* comm = nullptr) {
  Problem pr;
  pr.x = x;
  pr.codes = codes;
  pr.n = std::max(x.rows(), codes.rows());
  pr.p = x.cols();
  pr.q = codes.cols();
  for (std::size_t c = 0; c < pr.q; ++c) {
    pr.offset.push_back(pr.total_levels);
    pr.levels.push_back(static_cast<std::size_t>(std::max<std::int32_t>(n_categories[c], 0)));
    pr.total_levels += pr.levels.back();
  }
  pr.share = cluster_detail::RankShare::of(comm, Blocks{pr.n, kBlock}.count());
  const Blocks blocks{pr.n, kBlock};
  const std::size_t r0 = pr.share.begin_row(blocks), r1 = pr.share.end_row(blocks);  // all rows for one process
  // Running values over the rows in row order (each column's its own): this rank's
  // rows continue the sums of the ranks before it.
  const auto over_rows = [&](std::span<double> running, auto&& add_rows) {
    if (pr.share.distributed())
      pr.share.comm->fold_in_rank_order(running, [&](std::span<double> v) { add_rows(v, r0, r1); });
    else
      add_rows(running, r0, r1);
  };
  std::vector<double> sum_count(2 * pr.p, 0.0);  // column d: sum at 2d, count at 2d + 1
  over_rows(sum_count, [&](std::span<double> v, std::size_t b, std::size_t e) {
    for (std::size_t d = 0; d < pr.p; ++d) {
      double s = v[2 * d], m = v[2 * d + 1];
      for (std::size_t i = b; i < e; ++i)
        if (!std::isnan(x(i, d))) {
          s += x(i, d);
          m += 1;
        }
      v[2 * d] = s;
      v[2 * d + 1] = m;
    }
  });
  std::vector<double> mean_of(pr.p), squares(pr.p, 0.0);
  for (std::size_t d = 0; d < pr.p; ++d)
    mean_of[d] = sum_count[2 * d + 1] > 0 ? sum_count[2 * d] / sum_count[2 * d + 1] : 0.0;
  over_rows(squares, [&](std::span<double> v, std::size_t b, std::size_t e) {
    for (std::size_t d = 0; d < pr.p; ++d) {
      const double mean = mean_of[d];
      double ss = v[d];
      for (std::size_t i = b; i < e; ++i)
        if (!std::isnan(x(i, d))) ss += (x(i, d) - mean) * (x(i, d) - mean);
      v[d] = ss;
    }
  });
  for (std::size_t d = 0; d < pr.p; ++d) {
    const double m = sum_count[2 * d + 1], mean = mean_of[d], ss = squares[d];
    const double var = m > 0 ? ss / m : 0.0;
    pr.mean.push_back(mean);
    pr.var.push_back(var > 0 ? var : 1.0);
    pr.floor.push_back(var > 0 ? variance_floor * var : variance_floor);
  }
  pr.flatten();
  return pr;
}

/// Adds row i with responsibilities ri to s, numeric sums centred on `centre` (p, k).
/// K > 0: the class count as a compile-time constant (the loops over classes unroll);
/// K = 0: k at run time. Both do the same operations in the same order.
template <std::size_t K = 0>
void add_row(const Problem& pr, std::size_t i, const double* ri, std::size_t k_run, const std::vector<double>& centre,
             Stats& s) {
  const std::size_t k = K ? K : k_run;
  for (std::size_t j = 0; j < k; ++j) s.nk[j] += ri[j];
  for (std::size_t d = 0; d < pr.p; ++d) {
    const double v = pr.x(i, d);
    if (std::isnan(v)) continue;
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t a = d * k + j;
      const double dv = v - centre[a];
      s.s0[a] += ri[j];
      s.s1[a] += ri[j] * dv;
      s.s2[a] += ri[j] * dv * dv;
    }
  }
  const std::int32_t* f = pr.flat.data() + i * pr.q;  // (no categorical column: q = 0, flat empty)
  for (std::size_t c = 0; c < pr.q; ++c) {
    if (f[c] < 0) continue;
    double* counts = &s.counts[static_cast<std::size_t>(f[c]) * k];
    for (std::size_t j = 0; j < k; ++j) counts[j] += ri[j];
  }
}

/// Statistics of given responsibilities r (n, k), numeric sums centred on `centre` (p, k).
/// r holds the rows [r_first, r_first + r.rows()), which cover this rank's blocks.
void accumulate(const Problem& pr, ViewD r, std::size_t k, const std::vector<double>& centre, Stats& out,
                std::size_t r_first = 0) {
  const Blocks blocks{pr.n, kBlock};
  std::vector<Stats> part(blocks.count());
  cluster_detail::share_parallel_blocks(pr.n, kBlock, pr.share, [&](std::size_t b, std::size_t e, std::size_t bi) {
    Stats& s = part[bi];
    s.reset(k, pr.p, pr.total_levels);
    for (std::size_t i = b; i < e; ++i) add_row<>(pr, i, r.row(i - r_first), k, centre, s);
  });
  combine_blocks(pr, part, k, out);
}

/// The M-step: parameters from statistics whose numeric sums are centred on `centre`.
Params m_step(const Problem& pr, const Stats& s, std::size_t k, const std::vector<double>& centre, double smoothing) {
  Params th;
  th.k = k;
  const std::size_t p = pr.p, t = pr.total_levels;
  double total = 0;
  for (std::size_t j = 0; j < k; ++j) total += s.nk[j];
  th.weight.resize(k);
  th.log_weight.resize(k);
  for (std::size_t j = 0; j < k; ++j) {
    th.weight[j] = s.nk[j] > 0 ? s.nk[j] / total : 0.0;
    th.log_weight[j] = th.weight[j] > 0 ? std::log(th.weight[j]) : kNegInf;
  }
  th.mu.resize(k * p);
  th.var.resize(k * p);
  th.inv_var.resize(k * p);
  th.c.resize(k * p);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t d = 0; d < p; ++d) {
      const std::size_t a = d * k + j;
      double mu = pr.mean[d], var = pr.var[d];
      if (s.s0[a] > 0) {
        const double shift = s.s1[a] / s.s0[a];
        mu = centre[a] + shift;
        var = s.s2[a] / s.s0[a] - shift * shift;
      }
      var = std::max(var, pr.floor[d]);
      th.mu[a] = mu;
      th.var[a] = var;
      th.inv_var[a] = 1.0 / var;
      th.c[a] = -0.5 * (std::log(2.0 * std::numbers::pi) + std::log(var));
    }
  th.theta.resize(k * t);
  th.log_theta_t.resize(t * k);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t c = 0; c < pr.q; ++c) {
      const std::size_t L = pr.levels[c], o = j * t + pr.offset[c];
      double sum = 0;
      const double* counts = &s.counts[pr.offset[c] * k + j];  // level l at counts[l * k]
      for (std::size_t l = 0; l < L; ++l) sum += counts[l * k];
      const double denom = sum + smoothing * static_cast<double>(L);
      for (std::size_t l = 0; l < L; ++l) {
        const double v = denom > 0 ? (counts[l * k] + smoothing) / denom : 1.0 / static_cast<double>(L);
        th.theta[o + l] = v;
        th.log_theta_t[(pr.offset[c] + l) * k + j] = std::log(v);
      }
    }
  return th;
}

/// Log joint densities log pi_j + log f_j(x_i) of row i into lp (k); K as for add_row.
template <std::size_t K = 0>
void log_joint(const Problem& pr, const Params& th, std::size_t i, double* lp) {
  const std::size_t k = K ? K : th.k, p = pr.p;
  for (std::size_t j = 0; j < k; ++j) lp[j] = th.log_weight[j];
  for (std::size_t d = 0; d < p; ++d) {
    const double v = pr.x(i, d);
    if (std::isnan(v)) continue;
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t a = d * k + j;
      const double z = v - th.mu[a];
      lp[j] += th.c[a] - 0.5 * z * z * th.inv_var[a];
    }
  }
  const std::int32_t* f = pr.flat.data() + i * pr.q;  // (no categorical column: q = 0, flat empty)
  for (std::size_t c = 0; c < pr.q; ++c) {
    if (f[c] < 0) continue;
    const double* lt = &th.log_theta_t[static_cast<std::size_t>(f[c]) * k];
    for (std::size_t j = 0; j < k; ++j) lp[j] += lt[j];
  }
}

/// Responsibilities of rows [b, e) into r from their log joints (overwritten with
/// the log joints minus the row's maximum); returns each row's log sum exp in lse.
/// The exponentials of the whole block go through one vectorised call.
template <std::size_t K = 0>
void normalise_rows(const Problem& pr, const Params& th, std::size_t b, std::size_t e, MatrixD& r, double* lp,
                    double* lse, std::size_t r_first = 0) {
  const std::size_t k = K ? K : th.k, m = e - b;
  for (std::size_t i = b; i < e; ++i) {
    double* row = lp + (i - b) * k;
    log_joint<K>(pr, th, i, row);
    double mx = kNegInf;
    for (std::size_t j = 0; j < k; ++j) mx = std::max(mx, row[j]);
    double* ri = r.row(i - r_first);
    for (std::size_t j = 0; j < k; ++j) ri[j] = row[j] - mx;
    lse[i - b] = mx;
  }
  cluster_detail::lca_active().exp_nonpositive(r.row(b - r_first), m * k);
  for (std::size_t i = b; i < e; ++i) {
    double* ri = r.row(i - r_first);
    double sum = 0;
    for (std::size_t j = 0; j < k; ++j) sum += ri[j];
    for (std::size_t j = 0; j < k; ++j) ri[j] /= sum;
    lse[i - b] += std::log(sum);
  }
}

/// One block [b, e) of the E-step into the block's statistics s; K as for add_row.
template <std::size_t K>
void e_block(const Problem& pr, const Params& th, std::size_t b, std::size_t e, MatrixD& r, Stats& s) {
  const std::size_t k = K ? K : th.k;
  std::vector<double>& lp = t_log_joint;
  lp.resize(kBlock * (k + 1));
  double* lse = lp.data() + kBlock * k;
  normalise_rows<K>(pr, th, b, e, r, lp.data(), lse);
  // Local sums (the stores through ri would otherwise force them to memory).
  double ll = s.ll, entropy = s.entropy;
  for (std::size_t i = b; i < e; ++i) {
    const double* ri = r.row(i);
    const double* row = lp.data() + (i - b) * k;
    const double l = lse[i - b];
    ll += l;
    for (std::size_t j = 0; j < k; ++j)
      if (ri[j] > 0) entropy -= ri[j] * (row[j] - l);
  }
  s.ll = ll;
  s.entropy = entropy;
  for (std::size_t i = b; i < e; ++i) add_row<K>(pr, i, r.row(i), k, th.mu, s);
}

/// The E-step: responsibilities r (n, k) and the statistics for the next M-step
/// (numeric sums centred on the current means), log-likelihood and entropy.
void e_step(const Problem& pr, const Params& th, MatrixD& r, Stats& out) {
  const std::size_t k = th.k;
  const Blocks blocks{pr.n, kBlock};
  std::vector<Stats> part(blocks.count());
  using Block = void (*)(const Problem&, const Params&, std::size_t, std::size_t, MatrixD&, Stats&);
  static constexpr Block by_k[] = {e_block<0>, e_block<1>, e_block<2>, e_block<3>,  e_block<4>,  e_block<5>, e_block<6>,
                                   e_block<7>, e_block<8>, e_block<9>, e_block<10>, e_block<11>, e_block<12>};
  const Block block = k < std::size(by_k) ? by_k[k] : e_block<0>;
  cluster_detail::share_parallel_blocks(pr.n, kBlock, pr.share, [&](std::size_t b, std::size_t e, std::size_t bi) {
    Stats& s = part[bi];
    s.reset(k, pr.p, pr.total_levels);
    block(pr, th, b, e, r, s);
  });
  combine_blocks(pr, part, k, out);
}

double log_prior(const Params& th, double smoothing) {
  if (smoothing == 0) return 0;
  double s = 0;
  for (double v : th.theta) s += std::log(v);
  return smoothing * s;
}

void check_inputs(ViewD x, MatrixView<std::int32_t> codes, std::span<const std::int32_t> n_categories, std::size_t k,
                  const LcaParams& params) {
  if (x.cols() > 0 && codes.cols() > 0 && x.rows() != codes.rows())
    throw InvalidArgument(fmt::format("lca: numeric part has {} rows, categorical part {}", x.rows(), codes.rows()));
  if (x.cols() + codes.cols() == 0) throw InvalidArgument("lca: no columns");
  if (n_categories.size() != codes.cols())
    throw InvalidArgument(
        fmt::format("lca: {} category counts for {} categorical columns", n_categories.size(), codes.cols()));
  const std::size_t n = std::max(x.rows(), codes.rows());
  if (k < 1 || k > n) throw InvalidArgument(fmt::format("lca: n_components = {} must be in 1..{}", k, n));
  if (!(params.variance_floor > 0) || !std::isfinite(params.variance_floor))
    throw InvalidArgument("lca: variance_floor must be positive");
  if (!(params.smoothing >= 0) || !std::isfinite(params.smoothing))
    throw InvalidArgument("lca: smoothing must be >= 0");
  if (!(params.tol >= 0)) throw InvalidArgument("lca: tol must be >= 0");
  if (params.max_iter == 0) throw InvalidArgument("lca: max_iter must be >= 1");
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t d = 0; d < x.cols(); ++d)
      if (std::isinf(x(i, d))) throw InvalidArgument(fmt::format("lca: row {}, numeric column {} is infinite", i, d));
}

LcaModel run_em(const Problem& pr, ViewD init, std::size_t k, const LcaParams& params, std::size_t init_first = 0) {
  LcaModel m;
  std::vector<double> centre(k * pr.p);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t d = 0; d < pr.p; ++d) centre[d * k + j] = pr.mean[d];
  Stats s;
  accumulate(pr, init, k, centre, s, init_first);
  Params th = m_step(pr, s, k, centre, params.smoothing);
  m.n_iter = 1;
  m.posterior.resize(pr.n, k);
  double previous = kNegInf;
  for (;;) {
    e_step(pr, th, m.posterior, s);
    const double objective = s.ll + log_prior(th, params.smoothing);
    m.objective_trace.push_back(objective);
    m.log_likelihood = s.ll;
    m.objective = objective;
    m.entropy = s.entropy;
    Progress::iteration(m.n_iter, previous == kNegInf ? std::string()
                                                      : fmt::format("objective change {:.2g} of its size (tol {:.2g})",
                                                                    (objective - previous) / std::abs(objective), params.tol));
    if (previous != kNegInf && objective - previous <= params.tol * std::abs(objective)) {
      m.converged = true;
      break;
    }
    if (m.n_iter >= params.max_iter) break;
    previous = objective;
    th = m_step(pr, s, k, th.mu, params.smoothing);
    ++m.n_iter;
  }
  m.weights = th.weight;
  m.means.resize(k, pr.p);
  m.variances.resize(k, pr.p);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t d = 0; d < pr.p; ++d) {
      m.means(j, d) = th.mu[d * k + j];
      m.variances(j, d) = th.var[d * k + j];
    }
  for (std::size_t c = 0; c < pr.q; ++c) {
    MatrixD t(k, pr.levels[c]);
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t l = 0; l < pr.levels[c]; ++l) t(j, l) = th.theta[j * pr.total_levels + pr.offset[c] + l];
    m.probabilities.push_back(std::move(t));
  }
  m.variance_floors = pr.floor;
  m.smoothing = params.smoothing;
  std::size_t free_categories = 0;
  for (std::size_t L : pr.levels) free_categories += L > 0 ? L - 1 : 0;
  m.n_parameters = (k - 1) + 2 * k * pr.p + k * free_categories;
  const double n = static_cast<double>(pr.n), npar = static_cast<double>(m.n_parameters);
  m.bic = -2.0 * m.log_likelihood + npar * std::log(n);
  m.aic = -2.0 * m.log_likelihood + 2.0 * npar;
  m.icl = m.bic + 2.0 * m.entropy;
  m.entropy_r2 = k > 1 ? 1.0 - m.entropy / (n * std::log(static_cast<double>(k))) : 1.0;
  return m;
}

/// The returned model's rows: with several ranks each holds the posterior of its own
/// blocks' rows after run_em, and keeps only those (posterior_first_row says where
/// they start); each rank takes its rows' labels, and the labels alone are gathered
/// (4 bytes a row: the later stages read every row's segment).
void finish_rows(const Problem& pr, LcaModel& m) {
  const std::size_t k = m.posterior.cols();
  const Blocks blocks{pr.n, kBlock};
  const bool several = pr.share.distributed();
  const std::size_t first = pr.share.begin_row(blocks), last = pr.share.end_row(blocks);
  m.labels.resize(pr.n);
  for (std::size_t i = first; i < last; ++i) {
    const double* ri = m.posterior.row(i);
    m.labels[i] = static_cast<std::int32_t>(std::max_element(ri, ri + k) - ri);
  }
  if (!several) return;
  cluster_detail::exchange_block_rows(pr.share, blocks, 1, m.labels.data(), "lca");
  MatrixD own(last - first, k);
  if (last > first) std::memcpy(own.data(), m.posterior.row(first), (last - first) * k * sizeof(double));
  m.posterior = std::move(own);
  m.posterior_first_row = first;
}

}  // namespace

namespace {

/// Start `start`'s seeding (k-means++ on the mixed distance over the cells present in
/// both rows): the hard responsibilities of the rows of this rank's blocks, rows
/// [first, first + rows) of the (n, k) matrix lca_initial_responsibilities returns
/// (every row for one process). With several ranks each rank measures its own rows;
/// a seed row's cells come from the rank that holds it, the distances' running sum is
/// folded along the ranks in row order and the draw lands on the lowest row whose
/// running sum passes it: one process's seeds.
MatrixD initial_responsibilities(const Problem& pr, std::size_t k, std::uint64_t random_state, std::size_t start,
                                 std::size_t& first) {
  const std::size_t n = pr.n;
  const Blocks blocks{n, kBlock};
  const bool several = pr.share.distributed();
  const std::size_t r0 = pr.share.begin_row(blocks), r1 = pr.share.end_row(blocks);
  first = r0;
  Rng rng = Rng::stream(random_state, start);
  // A seed's cells: its p numbers, then its q levels (-1: missing).
  std::vector<double> seed(pr.p + pr.q);
  const auto take_seed = [&](std::size_t s) {
    const auto fill = [&] {
      for (std::size_t d = 0; d < pr.p; ++d) seed[d] = pr.x(s, d);
      for (std::size_t c = 0; c < pr.q; ++c) {
        std::size_t l = 0;
        seed[pr.p + c] = pr.present(s, c, l) ? static_cast<double>(l) : -1.0;
      }
    };
    if (!several) {
      fill();
      return;
    }
    int owner = 0;
    const int ranks = pr.share.comm->size();
    for (int r = 0; r < ranks; ++r)
      if (const RankBlocks rb = rank_blocks(blocks.count(), r, ranks); rb.first < rb.last && s >= blocks.begin(rb.first))
        owner = r;
    if (owner == pr.share.comm->rank()) fill();
    pr.share.comm->broadcast_values(seed, owner);
  };
  // Mixed distance between row i and the seed over the cells present in both.
  auto dist = [&](std::size_t i) {
    double d2 = 0;
    for (std::size_t d = 0; d < pr.p; ++d) {
      const double a = pr.x(i, d), b = seed[d];
      if (!std::isnan(a) && !std::isnan(b)) d2 += (a - b) * (a - b);
    }
    for (std::size_t c = 0; c < pr.q; ++c) {
      std::size_t la = 0;
      const double lb = seed[pr.p + c];
      if (pr.present(i, c, la) && lb >= 0 && static_cast<double>(la) != lb) d2 += 1.0;
    }
    return d2;
  };
  std::vector<double> best_d(r1 - r0);
  std::vector<std::int32_t> owner(r1 - r0, 0);
  auto update = [&](std::size_t s, std::int32_t j) {
    take_seed(s);
    cluster_detail::share_parallel_blocks(n, kBlock, pr.share, [&](std::size_t b, std::size_t e, std::size_t) {
      for (std::size_t i = b; i < e; ++i) {
        const double d2 = dist(i);
        if (j == 0 || d2 < best_d[i - r0]) {
          best_d[i - r0] = d2;
          owner[i - r0] = j;
        }
      }
    });
  };
  std::size_t seeds = 1;
  update(static_cast<std::size_t>(rng.below(n)), 0);
  while (seeds < k) {
    double total = 0;
    std::vector<double> before(1, 0.0);  // the running sum at this rank's first row
    const auto add_mine = [&](std::span<double> running) {
      for (double v : best_d) running[0] += v;
    };
    if (several)
      pr.share.comm->fold_in_rank_order(std::span<double>(&total, 1), add_mine, &before);
    else
      add_mine(std::span<double>(&total, 1));
    std::size_t pick = 0;
    if (total > 0) {
      const double u = rng.uniform() * total;
      double acc = before[0];
      std::size_t found = n;  // this rank's first row past the draw (n: none)
      for (std::size_t i = r0; i < r1; ++i) {
        acc += best_d[i - r0];
        if (acc > u && best_d[i - r0] > 0) {
          found = i;
          break;
        }
      }
      if (several) found = static_cast<std::size_t>(-pr.share.comm->allreduce_max(-static_cast<std::int64_t>(found)));
      pick = found < n ? found : n - 1;
    } else {
      pick = static_cast<std::size_t>(rng.below(n));
    }
    update(pick, static_cast<std::int32_t>(seeds++));
  }
  MatrixD r(r1 - r0, k, 0.0);
  for (std::size_t i = r0; i < r1; ++i) r(i - r0, static_cast<std::size_t>(owner[i - r0])) = 1.0;
  return r;
}

}  // namespace

MatrixD lca_initial_responsibilities(ViewD numeric, MatrixView<std::int32_t> codes,
                                     std::span<const std::int32_t> n_categories, std::size_t k,
                                     std::uint64_t random_state, std::size_t start) {
  const Problem pr = make_problem(numeric, codes, n_categories, 1.0);
  std::size_t first = 0;
  return initial_responsibilities(pr, k, random_state, start, first);
}

LcaModel fit_lca_from(ViewD numeric, MatrixView<std::int32_t> codes, std::span<const std::int32_t> n_categories,
                      ViewD init, const LcaParams& params) {
  const std::size_t k = init.cols();
  check_inputs(numeric, codes, n_categories, k, params);
  if (init.rows() != std::max(numeric.rows(), codes.rows()))
    throw InvalidArgument(fmt::format("lca: initial responsibilities have {} rows, data {}", init.rows(),
                                      std::max(numeric.rows(), codes.rows())));
  const Problem pr = make_problem(numeric, codes, n_categories, params.variance_floor, params.comm);
  LcaModel m = run_em(pr, init, k, params);
  finish_rows(pr, m);
  return m;
}

LcaModel fit_lca(ViewD numeric, MatrixView<std::int32_t> codes, std::span<const std::int32_t> n_categories,
                 const LcaParams& params, Diagnostics* diag) {
  const std::size_t k = params.n_components;
  check_inputs(numeric, codes, n_categories, k, params);
  if (params.n_init == 0) throw InvalidArgument("lca: n_init must be >= 1");
  const Problem pr = make_problem(numeric, codes, n_categories, params.variance_floor, params.comm);
  // Several starts: each runs at most short_iter iterations, the best of them goes on
  // to convergence (EM restarted from a posterior is the same EM continued).
  LcaParams first = params;
  if (params.n_init > 1 && params.short_iter > 0) first.max_iter = std::min(params.max_iter, params.short_iter);
  LcaModel best;
  bool have = false;
  for (std::size_t s = 0; s < params.n_init; ++s) {
    std::size_t init_first = 0;
    const MatrixD init = initial_responsibilities(pr, k, params.random_state, s, init_first);
    LcaModel m = run_em(pr, init.view(), k, first, init_first);
    m.best_start = s;
    if (!have || m.log_likelihood > best.log_likelihood) {
      best = std::move(m);
      have = true;
    }
  }
  if (!best.converged && best.n_iter < params.max_iter) {
    LcaParams rest = params;
    rest.max_iter = params.max_iter - best.n_iter;
    const MatrixD posterior = std::move(best.posterior);
    LcaModel m = run_em(pr, posterior.view(), k, rest);
    m.n_iter += best.n_iter;
    m.best_start = best.best_start;
    m.objective_trace.insert(m.objective_trace.begin(), best.objective_trace.begin(), best.objective_trace.end());
    best = std::move(m);
  }
  finish_rows(pr, best);
  if (diag) {
    std::size_t empty = 0;
    for (double w : best.weights) empty += w == 0 ? 1 : 0;
    if (empty)
      diag->warn("lca", "empty_class",
                 fmt::format("k = {}: {} class(es) of the best start are empty (weight 0)", k, empty));
    if (!best.converged)
      diag->info(
          "lca", "not_converged",
          fmt::format("k = {}: EM stopped after max_iter = {} iterations before converging", k, params.max_iter));
  }
  return best;
}

namespace {

/// A fitted model's parameters in the E-step's form, for the columns of `pr` (whose
/// layout must be the model's).
Params params_of(const LcaModel& model, const Problem& pr) {
  const std::size_t k = model.weights.size();
  Params th;
  th.k = k;
  th.weight = model.weights;
  for (double w : model.weights) th.log_weight.push_back(w > 0 ? std::log(w) : kNegInf);
  for (std::size_t d = 0; d < pr.p; ++d)
    for (std::size_t j = 0; j < k; ++j) {
      th.mu.push_back(model.means(j, d));
      th.var.push_back(model.variances(j, d));
    }
  for (double v : th.var) {
    th.inv_var.push_back(1.0 / v);
    th.c.push_back(-0.5 * (std::log(2.0 * std::numbers::pi) + std::log(v)));
  }
  th.log_theta_t.assign(pr.total_levels * k, 0.0);
  for (std::size_t c = 0; c < pr.q; ++c)
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t l = 0; l < pr.levels[c]; ++l)
        th.log_theta_t[(pr.offset[c] + l) * k + j] = std::log(model.probabilities[c](j, l));
  return th;
}

void check_model_columns(const LcaModel& model, ViewD numeric, MatrixView<std::int32_t> codes) {
  if (numeric.cols() != model.means.cols() || codes.cols() != model.probabilities.size())
    throw InvalidArgument(fmt::format("lca: the model has {} numeric and {} categorical columns, the data {} and {}",
                                      model.means.cols(), model.probabilities.size(), numeric.cols(), codes.cols()));
}

}  // namespace

LcaModel fit_lca_from_model(ViewD numeric, MatrixView<std::int32_t> codes,
                            std::span<const std::int32_t> n_categories, const LcaModel& start,
                            const LcaParams& params) {
  const std::size_t k = start.n_components();
  check_inputs(numeric, codes, n_categories, k, params);
  check_model_columns(start, numeric, codes);
  for (std::size_t c = 0; c < codes.cols(); ++c)
    if (static_cast<std::int64_t>(start.probabilities[c].cols()) != std::max<std::int64_t>(n_categories[c], 0))
      throw InvalidArgument(fmt::format("lca: categorical column {} has {} categories, the model {}", c,
                                        n_categories[c], start.probabilities[c].cols()));
  const Problem pr = make_problem(numeric, codes, n_categories, params.variance_floor, params.comm);
  // The starting posterior of this rank's rows only (every row for one process), over
  // the same blocks as the E-step, so each row has the bits predict_proba gives it.
  const Blocks blocks{pr.n, kBlock};
  const std::size_t first = pr.share.begin_row(blocks), last = pr.share.end_row(blocks);
  const Params th = params_of(start, pr);
  MatrixD init(last - first, k);
  cluster_detail::share_parallel_blocks(pr.n, kBlock, pr.share, [&](std::size_t b, std::size_t e, std::size_t) {
    std::vector<double>& lp = t_log_joint;
    lp.resize(kBlock * (k + 1));
    normalise_rows(pr, th, b, e, init, lp.data(), lp.data() + kBlock * k, first);
  });
  LcaModel m = run_em(pr, init.view(), k, params, first);
  finish_rows(pr, m);
  return m;
}

MatrixD LcaModel::predict_proba(ViewD numeric, MatrixView<std::int32_t> codes) const {
  const std::size_t k = weights.size();
  check_model_columns(*this, numeric, codes);
  std::vector<std::int32_t> levels;
  for (const auto& t : probabilities) levels.push_back(static_cast<std::int32_t>(t.cols()));
  Problem pr;
  pr.x = numeric;
  pr.codes = codes;
  pr.n = std::max(numeric.rows(), codes.rows());
  pr.p = numeric.cols();
  pr.q = codes.cols();
  for (std::size_t c = 0; c < pr.q; ++c) {
    pr.offset.push_back(pr.total_levels);
    pr.levels.push_back(static_cast<std::size_t>(levels[c]));
    pr.total_levels += pr.levels.back();
  }
  pr.flatten();
  const Params th = params_of(*this, pr);
  MatrixD r(pr.n, k);
  parallel_blocks(pr.n, kBlock, [&](std::size_t b, std::size_t e, std::size_t) {
    std::vector<double>& lp = t_log_joint;
    lp.resize(kBlock * (k + 1));
    normalise_rows(pr, th, b, e, r, lp.data(), lp.data() + kBlock * k);
  });
  return r;
}

std::vector<std::int32_t> LcaModel::predict(ViewD numeric, MatrixView<std::int32_t> codes) const {
  const MatrixD r = predict_proba(numeric, codes);
  std::vector<std::int32_t> labels(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    labels[i] = static_cast<std::int32_t>(std::max_element(r.row(i), r.row(i) + r.cols()) - r.row(i));
  return labels;
}

}  // namespace segmenta
