// Yeo-Johnson power transform, its lambda fit, and standard scaling
// (scikit-learn 1.2/1.3 PowerTransformer and StandardScaler semantics).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "prep/numeric.hpp"
#include "prep/scalar_minimize.hpp"
#include "segmenta/kernels.hpp"
#include "segmenta/prep.hpp"

namespace segmenta {
namespace {

// numpy's spacing(1.0): the thresholds scikit-learn uses to pick the log branches.
constexpr double kSpacingOne = std::numeric_limits<double>::epsilon();

std::string column_label(const std::vector<std::string>& names, std::size_t j) {
  return names.empty() ? fmt::format("column {}", j) : fmt::format("'{}'", names[j]);
}

/// The distinct present values of a column with their multiplicities. The
/// likelihood only depends on this multiset, and bank-style columns (ages, ordinal
/// codes, balances) have far fewer distinct values than rows, so each likelihood
/// evaluation costs one pow per distinct value instead of one per row.
struct DistinctValues {
  std::vector<double> value, count;
  double present = 0.0;
};

DistinctValues distinct_values(const double* values, std::size_t n, std::size_t stride) {
  double lo = 0, hi = 0;
  if (detail::small_integer_range(values, n, stride, detail::counting_limit(n), &lo, &hi)) {
    std::vector<std::uint32_t> count(static_cast<std::size_t>(hi - lo) + 1, 0);
    DistinctValues d;
    for (std::size_t i = 0; i < n; ++i) {
      const double x = values[i * stride];
      if (std::isnan(x)) continue;
      ++count[static_cast<std::size_t>(x - lo)];
      d.present += 1.0;
    }
    for (std::size_t k = 0; k < count.size(); ++k)
      if (count[k]) {
        d.value.push_back(lo + static_cast<double>(k));
        d.count.push_back(static_cast<double>(count[k]));
      }
    return d;
  }
  std::vector<double> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = values[i * stride];
    if (!std::isnan(x)) v.push_back(x);
  }
  std::sort(v.begin(), v.end());
  DistinctValues d;
  d.present = static_cast<double>(v.size());
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i + 1;
    while (j < v.size() && v[j] == v[i]) ++j;
    d.value.push_back(v[i]);
    d.count.push_back(static_cast<double>(j - i));
    i = j;
  }
  return d;
}

/// Negative Yeo-Johnson profile log-likelihood over a weighted sample, evaluated as
/// scikit-learn writes it: -(-(m/2) log var + (lambda - 1) sum sign(x) log1p|x|).
class YeoJohnsonLikelihood {
 public:
  explicit YeoJohnsonLikelihood(DistinctValues d) : d_(std::move(d)), y_(d_.value.size()) {
    const auto& u = d_.value;
    const auto& c = d_.count;
    // sign(0) = 0, so zeros contribute nothing.
    log_term_ = kernels::pairwise_sum(0, u.size(), [&](std::size_t k) {
      const double s = u[k] > 0 ? 1.0 : (u[k] < 0 ? -1.0 : 0.0);
      return c[k] * (s * std::log1p(std::abs(u[k])));
    });
  }

  double operator()(double lambda) {
    const auto& u = d_.value;
    const auto& c = d_.count;
    const std::size_t k_count = u.size();
    for (std::size_t k = 0; k < k_count; ++k) y_[k] = yeo_johnson(u[k], lambda);
    const double m = d_.present;
    const double mean = kernels::pairwise_sum(0, k_count, [&](std::size_t k) { return c[k] * y_[k]; }) / m;
    const double var = kernels::pairwise_sum(0, k_count, [&](std::size_t k) {
                         const double dev = y_[k] - mean;
                         return c[k] * (dev * dev);
                       }) /
                       m;
    // scikit-learn's guard: a vanishing variance makes the likelihood +inf.
    if (var < DBL_MIN) return std::numeric_limits<double>::infinity();
    double loglike = -m / 2 * std::log(var);
    loglike += (lambda - 1) * log_term_;
    return -loglike;
  }

 private:
  DistinctValues d_;
  std::vector<double> y_;
  double log_term_ = 0.0;
};

/// The fitted lambda of a column given as its distinct values (1 for fewer than two).
double lambda_of(DistinctValues d) {
  if (d.value.size() < 2) return 1.0;
  YeoJohnsonLikelihood nll(std::move(d));
  const detail::Bracket br = detail::bracket_downhill(nll, -2.0, 2.0);
  return detail::brent_minimize(nll, br).x;
}

void check_finite(ViewD x, const char* what) {
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const double* r = x.row(i);
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (std::isinf(r[j]))
        throw InvalidArgument(fmt::format("{}: infinite value at row {}, column {} (only finite values or NaN)", what, i, j));
  }
}

/// Yeo-Johnson with per-column lambdas on x (n, p) into out (n, p), row blocks in
/// parallel. out may be x's own storage: each value is read before it is replaced.
void apply_lambdas_into(ViewD x, const std::vector<double>& lambdas, MatrixD& out, std::size_t first = 0,
                        std::size_t last = std::numeric_limits<std::size_t>::max()) {
  const std::size_t p = x.cols();
  last = std::min(last, x.rows());
  parallel_blocks(last - first, 2048, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t i = first + begin; i < first + end; ++i) {
      const double* xr = x.row(i);
      double* o = out.row(i);
      for (std::size_t j = 0; j < p; ++j) o[j] = yeo_johnson(xr[j], lambdas[j]);
    }
  });
}

/// Yeo-Johnson with per-column lambdas on x (n, p), row blocks in parallel.
MatrixD apply_lambdas(ViewD x, const std::vector<double>& lambdas) {
  MatrixD out(x.rows(), x.cols());
  apply_lambdas_into(x, lambdas, out);
  return out;
}

/// (y - mean) / scale in place, as scikit-learn's StandardScaler.transform does it.
void standardize_in_place(MatrixD& y, const StandardScalerModel& scaler, std::size_t first = 0,
                          std::size_t last = std::numeric_limits<std::size_t>::max()) {
  const std::size_t p = y.cols();
  last = std::min(last, y.rows());
  parallel_blocks(last - first, 2048, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t i = first + begin; i < first + end; ++i) {
      double* r = y.row(i);
      for (std::size_t j = 0; j < p; ++j) {
        r[j] -= scaler.mean[j];
        r[j] /= scaler.scale[j];
      }
    }
  });
}

/// Per-column sums of term(x(i, j), j) over the rows of x, each column summed with
/// numpy's pairwise tree (kernels::pairwise_sum) but walking the matrix row by row,
/// so every column shares one pass over memory.
template <class Term>
void column_pairwise_sums(ViewD x, std::size_t begin, std::size_t n, Term& term, double* out) {
  const std::size_t p = x.cols();
  if (n < 8) {
    std::fill(out, out + p, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      const double* r = x.row(begin + i);
      for (std::size_t j = 0; j < p; ++j) out[j] += term(r[j], j);
    }
    return;
  }
  if (n <= 128) {
    std::vector<double> acc(8 * p);
    for (std::size_t k = 0; k < 8; ++k) {
      const double* r = x.row(begin + k);
      for (std::size_t j = 0; j < p; ++j) acc[k * p + j] = term(r[j], j);
    }
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (std::size_t k = 0; k < 8; ++k) {
        const double* r = x.row(begin + i + k);
        for (std::size_t j = 0; j < p; ++j) acc[k * p + j] += term(r[j], j);
      }
    for (std::size_t j = 0; j < p; ++j) {
      const double* a = acc.data() + j;
      out[j] = ((a[0] + a[p]) + (a[2 * p] + a[3 * p])) + ((a[4 * p] + a[5 * p]) + (a[6 * p] + a[7 * p]));
    }
    for (; i < n; ++i) {
      const double* r = x.row(begin + i);
      for (std::size_t j = 0; j < p; ++j) out[j] += term(r[j], j);
    }
    return;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  std::vector<double> right(p);
  column_pairwise_sums(x, begin, half, term, out);
  column_pairwise_sums(x, begin + half, n - half, term, right.data());
  for (std::size_t j = 0; j < p; ++j) out[j] += right[j];
}

/// The nodes of the pairwise tree over rows [begin, begin + n) at depth kPrepCutDepth
/// (or leaves above it), their first rows in order.
void cut_bounds(std::size_t begin, std::size_t n, int depth, std::vector<std::size_t>& bounds) {
  if (n <= 128 || depth == detail::kPrepCutDepth) {
    bounds.push_back(begin);
    return;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  cut_bounds(begin, half, depth + 1, bounds);
  cut_bounds(begin + half, n - half, depth + 1, bounds);
}

/// Adds the nodes' column sums (p values each, in node order from `node`) up the
/// tree over n rows, as column_pairwise_sums adds its halves.
void combine_nodes(std::size_t n, int depth, const double*& node, std::size_t p, double* out) {
  if (n <= 128 || depth == detail::kPrepCutDepth) {
    std::copy(node, node + p, out);
    node += p;
    return;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  combine_nodes(half, depth + 1, node, p, out);
  std::vector<double> right(p);
  combine_nodes(n - half, depth + 1, node, p, right.data());
  for (std::size_t j = 0; j < p; ++j) out[j] += right[j];
}

/// Per-column pairwise sums of term over all the rows of the share: this rank's
/// nodes summed (on its threads), every node's sums gathered in node order, then
/// combined up the tree: column_pairwise_sums over all rows, bit for bit.
template <class Term>
std::vector<double> shared_column_sums(ViewD x, const detail::PrepShare& share, Term term) {
  const std::size_t p = x.cols(), mine = share.last - share.first;
  std::vector<double> sums(mine * p);
  parallel_for(mine, [&](std::size_t t) {
    const std::size_t k = share.first + t;
    column_pairwise_sums(x, share.bounds[k], share.bounds[k + 1] - share.bounds[k], term, sums.data() + t * p);
  });
  if (share.distributed()) sums = share.comm->allgather(sums);
  if (sums.size() != share.nodes() * p) throw Error("the preparation: the ranks' column sums differ in size");
  std::vector<double> out(p);
  const double* node = sums.data();
  combine_nodes(share.n, 0, node, p, out.data());
  return out;
}

/// StandardScaler's fit on the rows of the share (x holds at least this rank's).
StandardScalerModel scaler_on_share(ViewD x, const detail::PrepShare& share) {
  const std::size_t p = x.cols();
  // Counts are whole numbers: adding them in any order is exact.
  const std::size_t mine = share.last - share.first;
  std::vector<std::int64_t> node_present(mine * p, 0), present(p, 0);
  parallel_for(mine, [&](std::size_t t) {
    std::int64_t* c = node_present.data() + t * p;
    for (std::size_t i = share.bounds[share.first + t]; i < share.bounds[share.first + t + 1]; ++i) {
      const double* r = x.row(i);
      for (std::size_t j = 0; j < p; ++j) c[j] += std::isnan(r[j]) ? 0 : 1;
    }
  });
  for (std::size_t t = 0; t < mine; ++t)
    for (std::size_t j = 0; j < p; ++j) present[j] += node_present[t * p + j];
  if (share.distributed()) present = share.comm->allreduce_sum(present);
  std::vector<double> count(p), mean(p);
  for (std::size_t j = 0; j < p; ++j) count[j] = static_cast<double>(present[j]);
  // numpy.nansum semantics: a missing value is a zero term of the same sum tree.
  const std::vector<double> sum =
      shared_column_sums(x, share, [](double v, std::size_t) { return std::isnan(v) ? 0.0 : v; });
  for (std::size_t j = 0; j < p; ++j) mean[j] = count[j] > 0 ? sum[j] / count[j] : 0.0;
  const std::vector<double> correction =
      shared_column_sums(x, share, [&](double v, std::size_t j) { return std::isnan(v) ? 0.0 : v - mean[j]; });
  const std::vector<double> squares = shared_column_sums(x, share, [&](double v, std::size_t j) {
    const double d = v - mean[j];
    return std::isnan(v) ? 0.0 : d * d;
  });
  StandardScalerModel m;
  m.mean = mean;
  m.scale.assign(p, 1.0);
  constexpr double eps = std::numeric_limits<double>::epsilon();
  for (std::size_t j = 0; j < p; ++j) {
    if (count[j] == 0) continue;
    const double c = count[j];
    const double var = (squares[j] - correction[j] * correction[j] / c) / c;
    const double bound = c * eps * var + (c * mean[j] * eps) * (c * mean[j] * eps);
    if (!(var <= bound)) m.scale[j] = std::sqrt(var);
  }
  return m;
}

/// Every rank's transformed rows (its nodes' rows, contiguous), in rank order: the
/// rows of y on every rank.
void gather_rows(const detail::PrepShare& share, MatrixD& y) {
  const std::size_t row_bytes = y.cols() * sizeof(double), r0 = share.begin_row(), r1 = share.end_row();
  const std::vector<std::string> parts = share.comm->allgather_bytes(
      std::string_view(reinterpret_cast<const char*>(y.data() + r0 * y.cols()), (r1 - r0) * row_bytes));
  if (row_bytes == 0) return;
  std::size_t at = 0;
  for (const std::string& part : parts) {
    if (part.size() % row_bytes != 0 || at + part.size() / row_bytes > y.rows())
      throw Error("the preparation: the ranks' row counts differ");
    if (!part.empty()) std::memcpy(y.data() + at * y.cols(), part.data(), part.size());
    at += part.size() / row_bytes;
  }
  if (at != y.rows()) throw Error("the preparation: the ranks' row counts differ");
}

/// What a rank knows of one column of its rows for the lambda fit and the constant
/// test: its first present value, its distinct values with counts (a fitted column)
/// or at most two of them (another column), and its first infinite row.
struct ColumnFacts {
  double first = std::numeric_limits<double>::quiet_NaN();
  DistinctValues d;
  std::int64_t first_infinite = -1;  // a row of the whole table
};

ColumnFacts column_facts(ViewD x, std::size_t j, std::size_t begin, std::size_t end, bool fitted) {
  ColumnFacts f;
  const double* values = x.data() + begin * x.stride() + j;
  const std::size_t n = end - begin, stride = x.stride();
  if (fitted) {
    for (std::size_t i = 0; i < n; ++i)
      if (std::isinf(values[i * stride])) {
        f.first_infinite = static_cast<std::int64_t>(begin + i);
        break;
      }
    f.d = distinct_values(values, n, stride);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double v = values[i * stride];
    if (std::isnan(v)) continue;
    if (std::isnan(f.first)) {
      f.first = v;
      if (fitted) break;
      f.d.value.push_back(v);
    } else if (v != f.first) {
      f.d.value.push_back(v);
      break;
    }
  }
  return f;
}

/// Every rank's facts of every column (p records each, in rank order) combined into
/// those of all the rows: distinct values merged with their counts added (whole
/// numbers, exact), the first present value and first infinite row of the lowest rank
/// that has one.
std::vector<ColumnFacts> merge_facts(const Communicator& comm, std::vector<ColumnFacts> mine,
                                     const std::vector<char>& fitted) {
  const std::size_t p = mine.size();
  std::vector<double> out;
  for (const ColumnFacts& f : mine) {
    out.push_back(f.first);
    out.push_back(static_cast<double>(f.first_infinite));
    out.push_back(f.d.present);
    out.push_back(static_cast<double>(f.d.value.size()));
    out.insert(out.end(), f.d.value.begin(), f.d.value.end());
    if (!f.d.count.empty()) out.insert(out.end(), f.d.count.begin(), f.d.count.end());
  }
  const std::vector<double> all = comm.allgather(out);
  std::vector<ColumnFacts> merged(p);
  std::vector<std::vector<std::pair<double, double>>> pairs(p);
  std::size_t at = 0;
  const auto take = [&] {
    if (at >= all.size()) throw Error("the preparation: the ranks' column facts are cut short");
    return all[at++];
  };
  for (int r = 0; r < comm.size(); ++r)
    for (std::size_t j = 0; j < p; ++j) {
      ColumnFacts& m = merged[j];
      const double first = take(), infinite = take(), present = take();
      const auto k = static_cast<std::size_t>(take());
      if (std::isnan(m.first)) m.first = first;
      if (m.first_infinite < 0) m.first_infinite = static_cast<std::int64_t>(infinite);
      m.d.present += present;
      if (at + (fitted[j] ? 2 * k : k) > all.size())
        throw Error("the preparation: the ranks' column facts are cut short");
      for (std::size_t q = 0; q < k; ++q) pairs[j].emplace_back(all[at + q], fitted[j] ? all[at + k + q] : 0.0);
      at += fitted[j] ? 2 * k : k;
    }
  parallel_for(p, [&](std::size_t j) {
    auto& v = pairs[j];
    // Equal values (under ==) are one value, as in a sort of all the rows.
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    DistinctValues& d = merged[j].d;
    for (const auto& [value, count] : v) {
      if (!d.value.empty() && d.value.back() == value) {
        if (fitted[j]) d.count.back() += count;
        continue;
      }
      d.value.push_back(value);
      if (fitted[j]) d.count.push_back(count);
    }
  });
  return merged;
}

}  // namespace

double yeo_johnson(double x, double lambda) noexcept {
  // lambda 1 (indicators, constant columns): pow(y, 1) is y itself, so skip the call.
  if (lambda == 1.0) return x >= 0 ? (x + 1) - 1 : -((-x + 1) - 1);
  if (x >= 0) {
    if (std::abs(lambda) < kSpacingOne) return std::log1p(x);
    return (std::pow(x + 1, lambda) - 1) / lambda;
  }
  if (std::abs(lambda - 2) > kSpacingOne) return -(std::pow(-x + 1, 2 - lambda) - 1) / (2 - lambda);
  return -std::log1p(-x);
}

double fit_yeo_johnson_lambda(const double* values, std::size_t n, std::size_t stride) {
  if (n > 0 && values == nullptr) throw InvalidArgument(fmt::format("values: null, for {} values", n));
  if (stride == 0) throw ParameterError("stride", "must be >= 1");
  for (std::size_t i = 0; i < n; ++i)
    if (std::isinf(values[i * stride]))
      throw InvalidArgument(fmt::format("values: the value at row {} is infinite (only finite values or NaN)", i));
  return lambda_of(distinct_values(values, n, stride));
}

StandardScalerModel fit_standard_scaler(ViewD x) {
  if (x.rows() == 0 || x.cols() == 0)
    throw InvalidArgument(fmt::format("x: needs at least one row and one column, got shape ({}, {})", x.rows(), x.cols()));
  return scaler_on_share(x, detail::PrepShare::of(x.rows(), nullptr));
}

MatrixD StandardScalerModel::transform(ViewD x) const {
  if (x.cols() != mean.size() || scale.size() != mean.size())
    throw InvalidArgument(
        fmt::format("x: {} columns, the scaler was fitted on {}", x.cols(), mean.size()));
  MatrixD out(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const double* r = x.row(i);
    double* o = out.row(i);
    for (std::size_t j = 0; j < x.cols(); ++j) {
      double v = r[j];
      v -= mean[j];
      v /= scale[j];
      o[j] = v;
    }
  }
  return out;
}

MatrixD StandardScalerModel::inverse_transform(ViewD z) const {
  if (z.cols() != mean.size() || scale.size() != mean.size())
    throw InvalidArgument(
        fmt::format("z: {} columns, the scaler was fitted on {}", z.cols(), mean.size()));
  MatrixD out(z.rows(), z.cols());
  for (std::size_t i = 0; i < z.rows(); ++i) {
    const double* r = z.row(i);
    double* o = out.row(i);
    for (std::size_t j = 0; j < z.cols(); ++j) {
      double v = r[j];
      v *= scale[j];
      v += mean[j];
      o[j] = v;
    }
  }
  return out;
}

MatrixD PowerTransformerModel::transform(ViewD x) const {
  if (x.cols() != lambdas.size())
    throw InvalidArgument(
        fmt::format("x: {} columns, the power transformer was fitted on {}", x.cols(), lambdas.size()));
  if (standardize && (scaler.mean.size() != lambdas.size() || scaler.scale.size() != lambdas.size()))
    throw NotFitted("the power transformer's scaler is not fitted");
  MatrixD y = apply_lambdas(x, lambdas);
  if (standardize) standardize_in_place(y, scaler);
  return y;
}

namespace detail {

PrepShare PrepShare::of(std::size_t n, const Communicator* comm) {
  PrepShare s;
  s.n = n;
  cut_bounds(0, n, 0, s.bounds);
  s.bounds.push_back(n);
  s.last = s.nodes();
  if (comm != nullptr && comm->size() > 1) {
    const RankBlocks rb = rank_blocks(s.nodes(), comm->rank(), comm->size());
    s.comm = comm;
    s.first = rb.first;
    s.last = rb.last;
  }
  return s;
}

PowerTransformerModel fit_power_columns(ViewD x, const std::vector<char>& fit_lambda, bool standardize,
                                        Diagnostics* diag, const std::vector<std::string>& names, MatrixD* output,
                                        const PrepShare* shared) {
  const std::size_t p = x.cols();
  const PrepShare share = shared ? *shared : PrepShare::of(x.rows(), nullptr);
  if (share.n != x.rows()) throw Error("the preparation: its row share is not of this matrix");
  // output may hold x itself (fit_prep hands its encoded matrix over): the features
  // then replace it in place, without a second n x p matrix.
  const bool in_place = output && output->data() == x.data() && output->rows() == x.rows() &&
                        output->cols() == p && x.stride() == p;
  // On ranks the features are transformed in place (or not at all: the model alone).
  if (share.distributed() && output && !in_place) throw Error("the preparation on ranks transforms its matrix in place");
  PowerTransformerModel model;
  model.standardize = standardize;
  model.lambdas.assign(p, 1.0);
  // The constant test and the lambdas only depend on each column's distinct values
  // (and first value): this rank's rows', merged across the ranks.
  std::vector<ColumnFacts> facts(p);
  parallel_for(p, [&](std::size_t j) { facts[j] = column_facts(x, j, share.begin_row(), share.end_row(), fit_lambda[j]); });
  if (share.distributed()) facts = merge_facts(*share.comm, std::move(facts), fit_lambda);
  std::vector<char> constant(p, 0);
  for (std::size_t j = 0; j < p; ++j) {
    constant[j] = facts[j].d.value.size() < 2;
    if (!constant[j] && fit_lambda[j] && facts[j].first_infinite >= 0)
      throw InvalidArgument(
          fmt::format("values: the value at row {} is infinite (only finite values or NaN)", facts[j].first_infinite));
  }
  parallel_for(p, [&](std::size_t j) {
    if (!constant[j] && fit_lambda[j]) model.lambdas[j] = lambda_of(std::move(facts[j].d));
  });
  if (diag)
    for (std::size_t j = 0; j < p; ++j)
      if (constant[j])
        diag->warn("prep", "constant_column",
                   std::isnan(facts[j].first)
                       ? fmt::format("column {} has no value; its feature is set to 0", column_label(names, j))
                       : standardize
                           ? fmt::format("column {} is constant ({}); Yeo-Johnson lambda 1 and its feature is set to 0",
                                         column_label(names, j), format_double(facts[j].first))
                           : fmt::format("column {} is constant ({})", column_label(names, j),
                                         format_double(facts[j].first)));
  MatrixD fresh;
  if (!in_place) fresh = MatrixD(x.rows(), p);
  MatrixD& y = in_place ? *output : fresh;
  const std::size_t r0 = share.begin_transform(), r1 = share.end_transform();
  apply_lambdas_into(x, model.lambdas, y, r0, r1);
  if (standardize) {
    model.scaler = scaler_on_share(y.view(), share);
    // The mean of m copies of a value need not round back to that value; pin it so
    // a constant column comes out as exactly 0.
    for (std::size_t j = 0; j < p; ++j)
      if (constant[j]) {
        model.scaler.mean[j] = std::isnan(facts[j].first) ? 0.0 : yeo_johnson(facts[j].first, 1.0);
        model.scaler.scale[j] = 1.0;
      }
    // The same two steps as PowerTransformerModel::transform, so the fit output and
    // a later transform of the training data agree bit for bit.
    if (output) standardize_in_place(y, model.scaler, r0, r1);
  }
  if (output && share.distributed() && !share.every_row) gather_rows(share, y);
  if (output && !in_place) *output = std::move(fresh);
  return model;
}

}  // namespace detail

PowerTransformerModel fit_power_transformer(ViewD x, const PowerTransformerParams& params, Diagnostics* diag,
                                            const std::vector<std::string>& names) {
  if (x.rows() == 0 || x.cols() == 0)
    throw InvalidArgument(fmt::format("x: needs at least one row and one column, got shape ({}, {})", x.rows(), x.cols()));
  if (!names.empty() && names.size() != x.cols())
    throw InvalidArgument(fmt::format("names: {} entries for the {} columns of x", names.size(), x.cols()));
  check_finite(x, "x");
  return detail::fit_power_columns(x, std::vector<char>(x.cols(), 1), params.standardize, diag, names, nullptr);
}

}  // namespace segmenta
