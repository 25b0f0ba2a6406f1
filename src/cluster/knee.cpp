// Knee detection: yellowbrick 1.5's port of Kneedle (yellowbrick.utils.kneed),
// ../shared/ANCHORS.md §1.6. Every arithmetic step is the one numpy performs, in the
// same order (this file is compiled without floating-point contraction), so equal
// inputs give the same knee even where a comparison is decided by the last bit.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "segmenta/cluster.hpp"
#include "segmenta/kernels.hpp"

namespace segmenta {
namespace {

/// (a - min(a)) / (max(a) - min(a)); a constant array gives NaNs, as numpy does.
std::vector<double> normalize(std::span<const double> a) {
  const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
  const double mn = *lo, range = *hi - *lo;
  std::vector<double> out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = (a[i] - mn) / range;
  return out;
}

/// numpy's max: NaN as soon as one element is NaN.
double nan_max(const std::vector<double>& a) {
  double m = a[0];
  for (double v : a) {
    if (std::isnan(v)) return v;
    if (v > m) m = v;
  }
  return m;
}

/// scipy.signal.argrelextrema(d, cmp, order=1, mode='clip'): each point compared
/// with its neighbours, the end points with their single neighbour (the clipped
/// index points back at themselves).
template <class Cmp>
std::vector<int> rel_extrema(const std::vector<double>& d, Cmp cmp) {
  const std::size_t n = d.size();
  std::vector<int> out(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const double prev = d[i == 0 ? 0 : i - 1];
    const double next = d[i + 1 < n ? i + 1 : n - 1];
    out[i] = cmp(d[i], next) && cmp(d[i], prev);
  }
  return out;
}

void insert_sorted_unique(std::vector<double>& v, double value) {
  const auto it = std::lower_bound(v.begin(), v.end(), value);
  if (it == v.end() || *it != value) v.insert(it, value);
}

}  // namespace

KneeResult find_knee(std::span<const double> x, std::span<const double> y, CurveNature nature,
                     CurveDirection direction, double sensitivity) {
  const std::size_t n = x.size();
  if (y.size() != n)
    throw InvalidArgument(fmt::format("y: has {} values, x has {}", y.size(), n));
  if (n < 2) throw InvalidArgument(fmt::format("x: a knee needs at least 2 points, got {}", n));
  if (!std::isfinite(sensitivity))
    throw InvalidArgument(fmt::format("sensitivity: must be finite, got {}", sensitivity));
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) throw InvalidArgument(fmt::format("x: non-finite value at index {}", i));
    if (!std::isfinite(y[i])) throw InvalidArgument(fmt::format("y: non-finite value at index {}", i));
    if (i > 0 && !(x[i] > x[i - 1]))
      throw InvalidArgument(fmt::format("x: must be strictly increasing (index {})", i));
  }

  // Step 1: the "smoothed" curve is np.interp(x, x, y), which returns y itself at
  // the nodes. Step 2: normalise both axes.
  const std::vector<double> xn = normalize(x);
  std::vector<double> yn = normalize(y);

  // Step 3: turn the curve into a concave increasing one.
  if (direction == CurveDirection::decreasing) {
    if (nature == CurveNature::concave) {
      std::reverse(yn.begin(), yn.end());
    } else {
      const double m = nan_max(yn);
      for (double& v : yn) v = m - v;
    }
  } else if (nature == CurveNature::convex) {
    const double m = nan_max(yn);
    for (double& v : yn) v = m - v;
    std::reverse(yn.begin(), yn.end());
  }

  // Step 4: difference curve and its local extrema.
  std::vector<double> diff(n);
  for (std::size_t i = 0; i < n; ++i) diff[i] = yn[i] - xn[i];
  const std::vector<int> is_max = rel_extrema(diff, [](double a, double b) { return a >= b; });
  const std::vector<int> is_min = rel_extrema(diff, [](double a, double b) { return a <= b; });

  // Step 5: threshold of each maximum, d_max - S * |mean(diff(x_norm))| with numpy's
  // pairwise summation for the mean.
  std::vector<double> steps(n - 1);
  for (std::size_t i = 0; i + 1 < n; ++i) steps[i] = xn[i + 1] - xn[i];
  const double step = std::abs(kernels::pairwise_sum(steps.data(), n - 1) / static_cast<double>(n - 1));
  const double drop = sensitivity * step;

  KneeResult result;
  const auto first_max = std::find(is_max.begin(), is_max.end(), 1);
  if (first_max == is_max.end()) return result;

  // Step 6: scan from the first maximum. The threshold is set at every maximum and
  // reset to 0 at every minimum (yellowbrick's port keeps detecting after a
  // minimum, unlike upstream kneed); a knee is the last maximum before the curve
  // falls below the threshold.
  const bool flipped = (nature == CurveNature::convex) != (direction == CurveDirection::decreasing);
  double threshold = 0.0;
  std::size_t threshold_index = 0;
  for (std::size_t i = static_cast<std::size_t>(first_max - is_max.begin()); i + 1 < n; ++i) {
    if (xn[i] == 1.0) break;
    if (is_max[i]) {
      threshold = diff[i] - drop;
      threshold_index = i;
    }
    if (is_min[i]) threshold = 0.0;
    if (diff[i + 1] < threshold) {
      const double knee = flipped ? x[n - 1 - threshold_index] : x[threshold_index];
      if (!result.knee) {
        result.knee = knee;
        result.all_knees.push_back(knee);
      }
      insert_sorted_unique(result.local_knees, knee);
    }
  }
  return result;
}

}  // namespace segmenta
