// Yeo-Johnson power transform, its lambda fit, and standard scaling
// (scikit-learn 1.2/1.3 PowerTransformer and StandardScaler semantics).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

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

void check_finite(ViewD x, const char* what) {
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const double* r = x.row(i);
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (std::isinf(r[j]))
        throw InvalidArgument(fmt::format("{}: infinite value at row {}, column {} (only finite values or NaN)", what, i, j));
  }
}

/// True when a column holds fewer than two distinct present values.
bool is_constant_column(const double* values, std::size_t n, std::size_t stride, double* value) {
  bool seen = false;
  double first = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < n; ++i) {
    const double x = values[i * stride];
    if (std::isnan(x)) continue;
    if (!seen) {
      first = x;
      seen = true;
    } else if (x != first) {
      return false;
    }
  }
  if (value) *value = first;
  return true;
}

/// Yeo-Johnson with per-column lambdas on x (n, p) into out (n, p), row blocks in
/// parallel. out may be x's own storage: each value is read before it is replaced.
void apply_lambdas_into(ViewD x, const std::vector<double>& lambdas, MatrixD& out) {
  const std::size_t n = x.rows(), p = x.cols();
  parallel_blocks(n, 2048, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t i = begin; i < end; ++i) {
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
void standardize_in_place(MatrixD& y, const StandardScalerModel& scaler) {
  const std::size_t p = y.cols();
  parallel_blocks(y.rows(), 2048, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t i = begin; i < end; ++i) {
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

template <class Term>
void column_pairwise_sums(ViewD x, Term&& term, double* out) {
  column_pairwise_sums(x, 0, x.rows(), term, out);
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
  DistinctValues d = distinct_values(values, n, stride);
  if (d.value.size() < 2) return 1.0;
  YeoJohnsonLikelihood nll(std::move(d));
  const detail::Bracket br = detail::bracket_downhill(nll, -2.0, 2.0);
  return detail::brent_minimize(nll, br).x;
}

StandardScalerModel fit_standard_scaler(ViewD x) {
  if (x.rows() == 0 || x.cols() == 0)
    throw InvalidArgument(fmt::format("x: needs at least one row and one column, got shape ({}, {})", x.rows(), x.cols()));
  const std::size_t n = x.rows(), p = x.cols();
  std::vector<double> count(p, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double* r = x.row(i);
    for (std::size_t j = 0; j < p; ++j) count[j] += std::isnan(r[j]) ? 0.0 : 1.0;
  }
  // numpy.nansum semantics: a missing value is a zero term of the same sum tree.
  std::vector<double> sum(p), mean(p), correction(p), squares(p);
  column_pairwise_sums(x, [](double v, std::size_t) { return std::isnan(v) ? 0.0 : v; }, sum.data());
  for (std::size_t j = 0; j < p; ++j) mean[j] = count[j] > 0 ? sum[j] / count[j] : 0.0;
  column_pairwise_sums(x, [&](double v, std::size_t j) { return std::isnan(v) ? 0.0 : v - mean[j]; }, correction.data());
  column_pairwise_sums(
      x,
      [&](double v, std::size_t j) {
        const double d = v - mean[j];
        return std::isnan(v) ? 0.0 : d * d;
      },
      squares.data());
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

PowerTransformerModel fit_power_columns(ViewD x, const std::vector<char>& fit_lambda, bool standardize,
                                        Diagnostics* diag, const std::vector<std::string>& names, MatrixD* output) {
  const std::size_t p = x.cols();
  PowerTransformerModel model;
  model.standardize = standardize;
  model.lambdas.assign(p, 1.0);
  std::vector<char> constant(p, 0);
  std::vector<double> constant_value(p, 0.0);
  parallel_for(p, [&](std::size_t j) {
    double value = 0.0;
    if (is_constant_column(x.data() + j, x.rows(), x.stride(), &value)) {
      constant[j] = 1;
      constant_value[j] = value;
      return;
    }
    if (fit_lambda[j]) model.lambdas[j] = fit_yeo_johnson_lambda(x.data() + j, x.rows(), x.stride());
  });
  if (diag)
    for (std::size_t j = 0; j < p; ++j)
      if (constant[j])
        diag->warn("prep", "constant_column",
                   std::isnan(constant_value[j])
                       ? fmt::format("column {} has no value; its feature is set to 0", column_label(names, j))
                       : standardize
                           ? fmt::format("column {} is constant ({}); Yeo-Johnson lambda 1 and its feature is set to 0",
                                         column_label(names, j), format_double(constant_value[j]))
                           : fmt::format("column {} is constant ({})", column_label(names, j),
                                         format_double(constant_value[j])));
  // output may hold x itself (fit_prep hands its encoded matrix over): the features
  // then replace it in place, without a second n x p matrix.
  const bool in_place = output && output->data() == x.data() && output->rows() == x.rows() &&
                        output->cols() == p && x.stride() == p;
  MatrixD fresh;
  if (!in_place) fresh = MatrixD(x.rows(), p);
  MatrixD& y = in_place ? *output : fresh;
  apply_lambdas_into(x, model.lambdas, y);
  if (standardize) {
    model.scaler = fit_standard_scaler(y);
    // The mean of m copies of a value need not round back to that value; pin it so
    // a constant column comes out as exactly 0.
    for (std::size_t j = 0; j < p; ++j)
      if (constant[j]) {
        model.scaler.mean[j] = std::isnan(constant_value[j]) ? 0.0 : yeo_johnson(constant_value[j], 1.0);
        model.scaler.scale[j] = 1.0;
      }
    // The same two steps as PowerTransformerModel::transform, so the fit output and
    // a later transform of the training data agree bit for bit.
    if (output) standardize_in_place(y, model.scaler);
  }
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
