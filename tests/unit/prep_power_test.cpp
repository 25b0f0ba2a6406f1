// Yeo-Johnson, the lambda fit, StandardScaler and PowerTransformer against direct
// formulas and naive oracles.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "prep/scalar_minimize.hpp"
#include "segmenta/prep.hpp"

using namespace segmenta;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The negative profile log-likelihood written out directly on every value, in long
// double: the oracle the lambda fit is checked against.
long double naive_nll(const std::vector<double>& x, double lambda) {
  std::vector<long double> y;
  long double log_term = 0;
  for (double v : x) {
    if (std::isnan(v)) continue;
    const long double lv = v;
    long double t;
    if (v >= 0)
      t = lambda == 0 ? std::log1p(lv) : (std::pow(lv + 1, (long double)lambda) - 1) / lambda;
    else
      t = lambda == 2 ? -std::log1p(-lv) : -(std::pow(1 - lv, (long double)(2 - lambda)) - 1) / (2 - lambda);
    y.push_back(t);
    log_term += (v > 0 ? 1 : (v < 0 ? -1 : 0)) * std::log1p(std::abs(lv));
  }
  long double mean = 0;
  for (long double t : y) mean += t;
  mean /= y.size();
  long double var = 0;
  for (long double t : y) var += (t - mean) * (t - mean);
  var /= y.size();
  return (long double)y.size() / 2 * std::log(var) - (lambda - 1) * log_term;
}

// Golden-section search of naive_nll on [lo, hi] down to 1e-12.
double naive_argmin(const std::vector<double>& x, double lo, double hi) {
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = lo, b = hi, c = b - g * (b - a), d = a + g * (b - a);
  while (b - a > 1e-12) {
    if (naive_nll(x, c) < naive_nll(x, d))
      b = d;
    else
      a = c;
    c = b - g * (b - a);
    d = a + g * (b - a);
  }
  return (a + b) / 2;
}

std::vector<double> skewed_sample(std::uint64_t seed, std::size_t n, double shift) {
  Rng r(seed);
  std::vector<double> x(n);
  for (auto& v : x) v = std::exp(1.2 * r.normal()) + shift;  // log-normal, long right tail
  return x;
}

}  // namespace

TEST(YeoJohnson, BranchesMatchDirectFormulas) {
  for (double x : {0.0, 0.5, 3.0, 1234.5}) {
    EXPECT_DOUBLE_EQ(yeo_johnson(x, 0.0), std::log1p(x)) << x;
    for (double l : {-1.5, 0.5, 1.0, 2.0, 2.7})
      EXPECT_DOUBLE_EQ(yeo_johnson(x, l), (std::pow(x + 1, l) - 1) / l) << x << " " << l;
  }
  for (double x : {-0.25, -1.0, -42.0}) {
    EXPECT_DOUBLE_EQ(yeo_johnson(x, 2.0), -std::log1p(-x)) << x;
    for (double l : {-1.0, 0.0, 0.5, 1.0, 3.0})
      EXPECT_DOUBLE_EQ(yeo_johnson(x, l), -(std::pow(1 - x, 2 - l) - 1) / (2 - l)) << x << " " << l;
  }
  EXPECT_EQ(yeo_johnson(5.0, 1.0), 5.0);
  EXPECT_EQ(yeo_johnson(-5.0, 1.0), -5.0);
  // lambda 1 skips pow; the result is the formula's, bit for bit.
  Rng r(8);
  for (int i = 0; i < 1000; ++i) {
    const double x = r.normal() * std::exp(4 * r.normal());
    const double want = x >= 0 ? (std::pow(x + 1, 1.0) - 1) / 1.0 : -(std::pow(-x + 1, 2 - 1.0) - 1) / (2 - 1.0);
    EXPECT_EQ(yeo_johnson(x, 1.0), want) << x;
  }
}

TEST(YeoJohnson, LogBranchThresholdsAreScikitLearns) {
  const double eps = std::numeric_limits<double>::epsilon();
  // Runtime operands: the expected values must come from the same C library calls,
  // not from the compiler's correctly rounded constant folding.
  volatile double two_v = 2.0, three_v = 3.0;
  const double two = two_v, three = three_v;
  // |lambda| < spacing(1) is lambda 0; lambda = spacing(1) already uses the power.
  EXPECT_EQ(yeo_johnson(two, 1e-17), std::log1p(two));
  EXPECT_EQ(yeo_johnson(two, eps), (std::pow(three, eps) - 1) / eps);
  // |lambda - 2| <= spacing(1) is lambda 2 on the negative side.
  EXPECT_EQ(yeo_johnson(-two, 2.0 + eps), -std::log1p(two));
  EXPECT_EQ(yeo_johnson(-two, 2.0 - 4 * eps), -(std::pow(three, 4 * eps) - 1) / (4 * eps));
  EXPECT_TRUE(std::isnan(yeo_johnson(kNaN, 0.5)));
}

TEST(ScalarMinimize, BracketEnclosesAMinimumAndBrentFindsIt) {
  int calls = 0;
  auto f = [&](double x) {
    ++calls;
    return std::cosh(x - 7.5) + 0.1 * x;
  };
  const detail::Bracket br = detail::bracket_downhill(f, -2.0, 2.0);
  EXPECT_LE(br.fb, br.fa);
  EXPECT_LE(br.fb, br.fc);
  EXPECT_GT((br.xb - br.xa) * (br.xc - br.xb), 0.0);  // xb between xa and xc
  const detail::BrentResult r = detail::brent_minimize(f, br);
  const double exact = 7.5 + std::asinh(-0.1);  // f'(x) = sinh(x - 7.5) + 0.1 = 0
  EXPECT_NEAR(r.x, exact, 1e-7);
  EXPECT_LT(r.iterations, 500);
}

TEST(ScalarMinimize, QuadraticAndInfiniteRegion) {
  auto quad = [](double x) { return (x - 0.3) * (x - 0.3); };
  EXPECT_NEAR(detail::brent_minimize(quad, detail::bracket_downhill(quad, -2.0, 2.0)).x, 0.3, 1e-8);
  // +inf to the left (as the likelihood's variance guard produces) must not derail it.
  auto walled = [](double x) {
    return x < -1 ? std::numeric_limits<double>::infinity() : (x - 3) * (x - 3) * (x + 1.5);
  };
  EXPECT_NEAR(detail::brent_minimize(walled, detail::bracket_downhill(walled, -2.0, 2.0)).x, 3.0, 1e-7);
}

TEST(FitYeoJohnsonLambda, MatchesNaiveLikelihoodOptimum) {
  for (double shift : {0.0, -3.0}) {  // all positive, then both signs
    const std::vector<double> x = skewed_sample(11, 400, shift);
    const double got = fit_yeo_johnson_lambda(x.data(), x.size());
    const double want = naive_argmin(x, -3.0, 3.0);
    EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::abs(want))) << shift;
    // The fitted lambda is a minimum of the likelihood.
    EXPECT_LE(naive_nll(x, got), naive_nll(x, got + 1e-4));
    EXPECT_LE(naive_nll(x, got), naive_nll(x, got - 1e-4));
  }
}

TEST(FitYeoJohnsonLambda, NaNsAreSkippedAndStrideIsHonoured) {
  const std::vector<double> x = skewed_sample(5, 200, 0.0);
  std::vector<double> with_nan;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (i % 7 == 0) with_nan.push_back(kNaN);
    with_nan.push_back(x[i]);
  }
  const double clean = fit_yeo_johnson_lambda(x.data(), x.size());
  EXPECT_EQ(fit_yeo_johnson_lambda(with_nan.data(), with_nan.size()), clean);
  std::vector<double> strided(3 * x.size(), -99.0);
  for (std::size_t i = 0; i < x.size(); ++i) strided[3 * i + 1] = x[i];
  EXPECT_EQ(fit_yeo_johnson_lambda(strided.data() + 1, x.size(), 3), clean);
}

TEST(FitYeoJohnsonLambda, ConstantColumnsGiveOneAndInfinityThrows) {
  const std::vector<double> c(50, 4.25);
  EXPECT_EQ(fit_yeo_johnson_lambda(c.data(), c.size()), 1.0);
  const std::vector<double> one_value = {kNaN, 3.0, kNaN};
  EXPECT_EQ(fit_yeo_johnson_lambda(one_value.data(), one_value.size()), 1.0);
  const std::vector<double> bad = {1.0, std::numeric_limits<double>::infinity(), 2.0};
  EXPECT_THROW(fit_yeo_johnson_lambda(bad.data(), bad.size()), InvalidArgument);
  EXPECT_THROW(fit_yeo_johnson_lambda(c.data(), c.size(), 0), InvalidArgument);
}

TEST(StandardScaler, MatchesNaiveMeanAndPopulationStd) {
  Rng r(3);
  MatrixD x(301, 3);
  for (std::size_t i = 0; i < x.rows(); ++i) {
    x(i, 0) = 1000 + r.normal();
    x(i, 1) = i % 5 == 0 ? kNaN : 3 * r.normal();
    x(i, 2) = r.uniform();
  }
  const StandardScalerModel m = fit_standard_scaler(x);
  for (std::size_t j = 0; j < 3; ++j) {
    long double s = 0, s2 = 0;
    std::size_t c = 0;
    for (std::size_t i = 0; i < x.rows(); ++i)
      if (!std::isnan(x(i, j))) {
        s += x(i, j);
        ++c;
      }
    const long double mean = s / c;
    for (std::size_t i = 0; i < x.rows(); ++i)
      if (!std::isnan(x(i, j))) s2 += (x(i, j) - mean) * (x(i, j) - mean);
    EXPECT_NEAR(m.mean[j], (double)mean, 1e-13 * std::abs((double)mean)) << j;
    EXPECT_NEAR(m.scale[j], std::sqrt((double)(s2 / c)), 1e-13 * std::sqrt((double)(s2 / c))) << j;
  }
  const MatrixD z = m.transform(x);
  EXPECT_TRUE(std::isnan(z(0, 1)));
  EXPECT_EQ(z(1, 0), (x(1, 0) - m.mean[0]) / m.scale[0]);
  const MatrixD back = m.inverse_transform(z);
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t j = 0; j < 3; ++j)
      if (!std::isnan(x(i, j))) {
        EXPECT_NEAR(back(i, j), x(i, j), 1e-12 * std::max(1.0, std::abs(x(i, j))));
      }
}

TEST(StandardScaler, NearConstantColumnsGetScaleOne) {
  MatrixD x(100, 3);
  for (std::size_t i = 0; i < 100; ++i) {
    x(i, 0) = 0.1;                                     // constant (the mean itself is inexact)
    x(i, 1) = 1e6 + (i == 7 ? 1e-9 : 0.0);             // var ~1e-20 <= (n mean eps)^2 ~ 4.9e-16
    x(i, 2) = 1e-3 * static_cast<double>(i % 2);       // small but genuine spread
  }
  const StandardScalerModel m = fit_standard_scaler(x);
  EXPECT_EQ(m.scale[0], 1.0);
  EXPECT_EQ(m.scale[1], 1.0);
  EXPECT_DOUBLE_EQ(m.scale[2], 5e-4);
  EXPECT_THROW(fit_standard_scaler(MatrixD(0, 2)), InvalidArgument);
  EXPECT_THROW(m.transform(MatrixD(3, 2)), InvalidArgument);
}

TEST(PowerTransformer, FitTransformSemanticsAndNaN) {
  std::vector<double> a = skewed_sample(21, 250, 0.0), b = skewed_sample(22, 250, -2.0);
  MatrixD x(250, 2);
  for (std::size_t i = 0; i < 250; ++i) {
    x(i, 0) = a[i];
    x(i, 1) = i % 9 == 4 ? kNaN : b[i];
  }
  const PowerTransformerModel m = fit_power_transformer(x);
  EXPECT_EQ(m.lambdas[0], fit_yeo_johnson_lambda(a.data(), a.size()));
  EXPECT_EQ(m.lambdas[1], fit_yeo_johnson_lambda(x.data() + 1, 250, 2));
  // The scaler is fitted on the transformed columns.
  PowerTransformerModel raw = m;
  raw.standardize = false;
  const StandardScalerModel s = fit_standard_scaler(raw.transform(x));
  EXPECT_EQ(s.mean, m.scaler.mean);
  EXPECT_EQ(s.scale, m.scaler.scale);
  const MatrixD z = m.transform(x);
  for (std::size_t i = 0; i < 250; ++i) {
    EXPECT_EQ(z(i, 0), (yeo_johnson(x(i, 0), m.lambdas[0]) - m.scaler.mean[0]) / m.scaler.scale[0]);
    EXPECT_EQ(std::isnan(z(i, 1)), std::isnan(x(i, 1)));
  }
}

TEST(PowerTransformer, ConstantColumnIsZeroWithWarning) {
  MatrixD x(30, 2);
  for (std::size_t i = 0; i < 30; ++i) {
    x(i, 0) = 0.1;
    x(i, 1) = static_cast<double>(i * i);
  }
  Diagnostics diag;
  const PowerTransformerModel m = fit_power_transformer(x, {}, &diag, {"flat", "square"});
  EXPECT_EQ(m.lambdas[0], 1.0);
  const MatrixD z = m.transform(x);
  for (std::size_t i = 0; i < 30; ++i) EXPECT_EQ(z(i, 0), 0.0);
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.items()[0].level, Diagnostic::Level::warning);
  EXPECT_EQ(diag.items()[0].code, "constant_column");
  EXPECT_NE(diag.items()[0].message.find("'flat'"), std::string::npos);
}

TEST(PowerTransformer, BadInputsThrow) {
  MatrixD x(4, 2, 1.0);
  x(1, 1) = 2.0;
  EXPECT_THROW(fit_power_transformer(MatrixD(0, 2)), InvalidArgument);
  EXPECT_THROW(fit_power_transformer(x, {}, nullptr, {"only one"}), InvalidArgument);
  x(2, 0) = -std::numeric_limits<double>::infinity();
  EXPECT_THROW(fit_power_transformer(x), InvalidArgument);
  x(2, 0) = 1.0;
  const PowerTransformerModel m = fit_power_transformer(x);
  EXPECT_THROW(m.transform(MatrixD(2, 3)), InvalidArgument);
}
